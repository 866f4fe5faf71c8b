//! `segmint` — behavioral segments over Parquet event lakes.
//!
//! The only crate that prints. Exit codes: 0 ok, 1 internal error, 2 invalid spec or usage,
//! 3 source data unreadable or not matching the spec, 4 output not written, 5 a guard
//! tripped (`--max-change`, an oversized person), 6 over the memory limit.
#![allow(clippy::print_stdout, clippy::print_stderr)]

mod activation;
mod allocator;
mod cluster;
mod commands;
mod exit;
mod fit;
mod history;
mod identity;
mod progress;
mod report;
mod sql;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};

/// segmint evaluates behavioral segments — people grouped by what they do — written as YAML,
/// over a Parquet event lake, and writes reproducible membership tables.
///
/// Quick start:  segmint demo
/// Your project: segmint validate && segmint run --as-of 2026-11-22 --json
#[derive(Parser)]
#[command(name = "segmint", version, about, long_about, max_term_width = 100)]
pub struct Cli {
    /// The project file (lake, output, timezone, segments folder).
    #[arg(
        long,
        short,
        global = true,
        default_value = "segmint.yaml",
        env = "SEGMINT_PROJECT"
    )]
    pub project: PathBuf,
    /// How spec errors are printed: `human` (with source snippets) or `json` (one document).
    #[arg(long, global = true, value_enum, default_value_t = ErrorFormat::Human)]
    pub error_format: ErrorFormat,
    /// Log format on stderr.
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
    /// Evaluate on a Ballista cluster: the scheduler's `df://host:port`. Results are still
    /// committed by this process to the output tables, as for a local run.
    #[arg(
        long,
        global = true,
        env = "SEGMINT_CLUSTER",
        value_name = "df://HOST:PORT"
    )]
    pub cluster: Option<String>,
    /// A session setting for the cluster, `key=value`, e.g.
    /// `ballista.planner.adaptive.enabled=true` (segmint defaults to the static planner). Repeatable.
    #[arg(long, global = true, value_name = "KEY=VALUE")]
    pub cluster_config: Vec<String>,
    /// The most memory a local evaluation's operators may hold (`512MB`, `2GiB`); beyond it
    /// the aggregation spills to the OS temp folder. A run that does not fit even so exits
    /// 6 and commits nothing. Overrides `memory_limit:` in segmint.yaml.
    #[arg(
        long,
        global = true,
        env = "SEGMINT_MEMORY_LIMIT",
        value_name = "SIZE",
        value_parser = memory_size
    )]
    pub memory_limit: Option<usize>,
    #[command(subcommand)]
    pub command: Command,
}

/// `segmint archetypes …`.
#[derive(Subcommand)]
pub enum ArchetypesAction {
    /// Fit the set as of a day and store it as its next version.
    Fit {
        name: String,
        #[arg(long)]
        as_of: chrono::NaiveDate,
        #[arg(long)]
        json: bool,
    },
    /// Describe the latest fit: sizes and the features that set each archetype apart.
    Describe {
        name: String,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Clone, Copy, ValueEnum)]
pub enum ErrorFormat {
    Human,
    Json,
}

#[derive(Clone, Copy, ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Clone, Copy, ValueEnum)]
pub enum Emit {
    /// The plan as SQL (not available yet: exits 2 with an explanation).
    Sql,
    /// The optimized logical plan.
    Logical,
    /// The physical plan as a run executes it: the single events scan, pruned partitions,
    /// and string tests through `value_code` (the logical plan shows them as written).
    Physical,
    /// Execute the plan (nothing is committed) and print the physical plan with each
    /// operator's metrics — rows, time, memory, spills — as `EXPLAIN ANALYZE` does.
    Analyze,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LakeFormat {
    /// Parquet files in hive-partitioned folders.
    Parquet,
    /// Delta Lake tables.
    Delta,
}

#[derive(Clone, Copy, ValueEnum)]
pub enum SqlFormat {
    /// An aligned text table.
    Table,
    /// CSV with a header row.
    Csv,
    /// Newline-delimited JSON: one object per row.
    Json,
}

#[derive(Subcommand)]
pub enum Command {
    /// Check the project and every segment: YAML, names, references, windows, and — unless
    /// `--offline` — columns and value types against the lake's schema. Exit 2 on problems.
    Validate {
        /// Do not read the lake; skip column and type checks.
        #[arg(long)]
        offline: bool,
    },
    /// Show the fused plan that evaluates the segments (all, or `--segment`).
    Compile {
        /// The day whose end is "now" (YYYY-MM-DD, project timezone).
        #[arg(long)]
        as_of: chrono::NaiveDate,
        /// Only these segments (and what they reference). Repeatable.
        #[arg(long = "segment")]
        segments: Vec<String>,
        #[arg(long, value_enum, default_value_t = Emit::Logical)]
        emit: Emit,
    },
    /// Evaluate segments for an as-of (or every day of --from..--to) and commit them to the
    /// output's Delta tables (`members`, `runs`). Re-running an as-of replaces it in one
    /// commit (with `--segment`, only those segments' rows); a backfill resumes after the
    /// last day of the range already committed. A run that loses a commit race to another
    /// run of the same as-of exits 4 and leaves the winner's result.
    Run {
        /// The day whose end is "now" (YYYY-MM-DD, project timezone).
        #[arg(long, required_unless_present_all = ["from", "to"], conflicts_with_all = ["from", "to"])]
        as_of: Option<chrono::NaiveDate>,
        /// Backfill: first day (with --to).
        #[arg(long, requires = "to")]
        from: Option<chrono::NaiveDate>,
        /// Backfill: last day (with --from).
        #[arg(long, requires = "from")]
        to: Option<chrono::NaiveDate>,
        /// Only these segments (and what they reference). Repeatable.
        #[arg(long = "segment")]
        segments: Vec<String>,
        /// Refuse to commit, with exit code 5, when a segment's size moves by more than this
        /// many percent since the previous committed run (a guard against broken upstream
        /// data). E.g. `--max-change 50`.
        #[arg(long, value_name = "PCT")]
        max_change: Option<f64>,
        /// Run even when the as-of day has no events (by default that is exit 3: the day's
        /// partition has probably not landed yet).
        #[arg(long)]
        allow_empty_day: bool,
        /// With `incremental:` in the project: evaluate from every event of the windows
        /// instead of merging daily summaries (the summaries are neither read nor written).
        #[arg(long)]
        full: bool,
        /// Print exactly one JSON summary line on stdout (for Airflow XCom).
        #[arg(long)]
        json: bool,
    },
    /// List who entered and who exited each segment at a committed as-of, compared with the
    /// previous committed as-of. Reads only the committed output tables.
    Diff {
        #[arg(long)]
        as_of: chrono::NaiveDate,
        /// Only these segments. Repeatable.
        #[arg(long = "segment")]
        segments: Vec<String>,
        /// One JSON document on stdout instead of `+`/`-` lines.
        #[arg(long)]
        json: bool,
    },
    /// Deliver membership changes at a committed as-of to the project's destinations
    /// (webhooks, files): who entered (with their outputs) and who exited since each
    /// destination's last delivery — the full list the first time, nothing when already up to
    /// date. Holdout members are left out unless a destination asks for them. A destination
    /// that does not accept a batch after its retries stops the sync with exit 4; the next
    /// sync sends it again with the same idempotency keys.
    Sync {
        #[arg(long)]
        as_of: chrono::NaiveDate,
        /// Only this destination.
        #[arg(long)]
        destination: Option<String>,
        /// One JSON line on stdout.
        #[arg(long)]
        json: bool,
    },
    /// Measure a segment with a holdout group: entrants (members new at a committed as-of)
    /// treated vs held out, on a goal reached within `--days` after entry — group sizes,
    /// conversion rates, absolute and relative lift with 95% confidence intervals, the
    /// p-value and the minimum detectable effect (80% power). Entrants whose window reaches
    /// past the latest committed as-of are pending and left out. See docs/activation.md.
    Impact {
        /// The segment (it needs `holdout:`).
        segment: String,
        /// The goal, a `performed` leaf in YAML, e.g. `{event: purchase}` or
        /// `{event: purchase, where: {category: camping}}` (also with the `performed:` key).
        #[arg(long)]
        goal: String,
        /// Days after entry the goal counts in.
        #[arg(long)]
        days: u32,
        /// A numeric events column summed over the goal events, compared per entrant
        /// (e.g. `revenue`).
        #[arg(long)]
        value: Option<String>,
        /// First entry as-of (default: the segment's first committed as-of).
        #[arg(long)]
        from: Option<chrono::NaiveDate>,
        /// Last entry as-of (default: the latest).
        #[arg(long)]
        to: Option<chrono::NaiveDate>,
        /// Also append the result to the output's `impact` table (shown by `segmint report`).
        #[arg(long)]
        save: bool,
        /// One JSON document on stdout.
        #[arg(long)]
        json: bool,
    },
    /// Train a propensity model (`models/NAME.yaml`): features as of `--as-of` minus the
    /// horizon, labels from the horizon up to `--as-of`; evaluate on a held-out share (AUC
    /// against recency alone, lift in the top decile, calibration) and, when the lake
    /// reaches that far, out of time; store the parameters as the model's next version.
    Train {
        model: String,
        #[arg(long)]
        as_of: chrono::NaiveDate,
        /// One JSON document on stdout.
        #[arg(long)]
        json: bool,
    },
    /// Behavioral archetypes (`archetypes/NAME.yaml`): `fit` clusters entities by their
    /// features (k-means++, fixed seed) and stores the centroids; `describe` says what sets
    /// each archetype apart.
    Archetypes {
        #[command(subcommand)]
        action: ArchetypesAction,
    },
    /// Write one self-contained HTML report from the output tables: segment sizes, entered
    /// and exited over time, tier composition and flows, overlaps (Jaccard) and saved
    /// impact results, each chart with a table view. It needs no network to open.
    Report {
        /// Where to write the page.
        #[arg(long, default_value = "report.html")]
        out: PathBuf,
        /// First as-of (default: the first committed).
        #[arg(long)]
        from: Option<chrono::NaiveDate>,
        /// Last as-of (default: the last committed).
        #[arg(long)]
        to: Option<chrono::NaiveDate>,
        /// Only these segments (repeatable; default: every committed segment).
        #[arg(long = "segment")]
        segments: Vec<String>,
        /// The as-of of the overlap heatmap (default: `--to`).
        #[arg(long)]
        overlap_on: Option<chrono::NaiveDate>,
    },
    /// Vacuum the output tables (members, runs, and the summaries of incremental runs):
    /// delete files no table version younger than the retention needs (replaced as-ofs,
    /// replaced summaries) and files of runs that never committed (only once older than an
    /// hour, so a run still writing keeps its files). Files the current version reads are
    /// never deleted; time travel reaches back as far as the retention. Summary sets that
    /// spec changes left behind (no run within the retention read them, not the newest
    /// incremental run's) are deleted whole.
    Gc {
        /// Keep files that versions younger than this need (e.g. `24h`, `7d`; `0`: only the
        /// current version's).
        #[arg(long, default_value = "24h")]
        retention: String,
        #[arg(long)]
        json: bool,
    },
    /// Show a segment's size, sample members and, for each, the value of every leaf — why
    /// they are in.
    Preview {
        /// The segment to preview.
        segment: String,
        #[arg(long)]
        as_of: chrono::NaiveDate,
        /// How many members to show (the first by entity id).
        #[arg(long, default_value_t = 10)]
        limit: usize,
    },
    /// Run SQL over the lake: the tables `events` and `profiles` from the project file (and,
    /// with `identity:` and a built map, `identity`: id_type, id_value, person_id, …), with
    /// segmint's functions (window_funnel, retention, sequence_match, sequence_count,
    /// session_id, rank_count, session_stats, cadence, momentum, distinct_count, dominant,
    /// rfm_class, day_of, value_code; docs/functions.md). Segment files are not read, so SQL
    /// works while a spec is being edited.
    ///
    /// Example: segmint sql "SELECT user_id, window_funnel(INTERVAL '1 day', '', event_time,
    /// event_name = 'product_view', event_name = 'add_to_cart', event_name = 'purchase') AS
    /// steps FROM events GROUP BY user_id ORDER BY steps DESC LIMIT 10"
    Sql {
        /// The query (or use `--file`).
        #[arg(required_unless_present = "file", conflicts_with = "file")]
        query: Option<String>,
        /// Read the query from this file.
        #[arg(long)]
        file: Option<PathBuf>,
        /// Output format on stdout.
        #[arg(long, value_enum, default_value_t = SqlFormat::Table)]
        format: SqlFormat,
    },
    /// Run a Ballista scheduler with segmint's functions, until killed. Start executors
    /// with `segmint executor`, then run with `--cluster df://HOST:PORT`.
    Scheduler {
        /// Address to listen on.
        #[arg(long, default_value = "127.0.0.1:50050")]
        bind: String,
        /// An executor silent this long is declared lost and its tasks are rescheduled on
        /// the others (executors send a heartbeat every 5 seconds).
        #[arg(long, default_value_t = 20)]
        executor_timeout_seconds: u64,
    },
    /// Run a Ballista executor with segmint's functions, until killed. Object-store
    /// credentials come from this process's environment.
    Executor {
        /// The scheduler's `host:port` (a host name or an IP address).
        #[arg(long, default_value = "127.0.0.1:50050")]
        scheduler: String,
        /// Arrow Flight (shuffle) address; the executor's gRPC service takes the next port.
        #[arg(long, default_value = "127.0.0.1:50051")]
        bind: String,
        /// The host name the scheduler and other executors reach this executor by (e.g. a
        /// container's service name). Default: the `--bind` address, or with `0.0.0.0` the
        /// address the scheduler sees this executor connect from.
        #[arg(long)]
        advertise_host: Option<String>,
        /// Tasks run at once.
        #[arg(long, default_value_t = 2)]
        concurrent_tasks: usize,
        /// Folder for shuffle files (default: a temporary folder).
        #[arg(long)]
        work_dir: Option<PathBuf>,
    },
    /// Write a deterministic synthetic lake (events partitioned by date, and profiles) with
    /// planted personas: daily, weekly, monthly, fading, dormant, new and returning users.
    /// `--format delta` makes `events/` and `profiles/` Delta tables (same files, plus a
    /// Delta log); read them with `format: delta` in segmint.yaml.
    GenerateLake {
        /// Folder to write `events/` and `profiles/` into.
        #[arg(long)]
        out: PathBuf,
        #[arg(long, default_value_t = 2000)]
        users: usize,
        #[arg(long, default_value_t = 120)]
        days: u32,
        /// Last day of the lake (UTC).
        #[arg(long, default_value = "2026-11-22")]
        end: chrono::NaiveDate,
        #[arg(long, default_value_t = 42)]
        seed: u64,
        /// `parquet` (hive-partitioned folders) or `delta` (Delta Lake tables).
        #[arg(long, value_enum, default_value_t = LakeFormat::Parquet)]
        format: LakeFormat,
        /// Plant a campaign with this lift, two weeks before `--end`: 30% of users get a
        /// `campaign_eligible` event; members of a segment `campaign_targets` (performed
        /// `campaign_eligible` within 1d, `holdout: 20%`) redeem an offer (`offer_redeemed`)
        /// within 7 days with probability 10%, plus the lift unless held out — for trying
        /// `segmint impact`.
        #[arg(long, value_name = "LIFT")]
        campaign_lift: Option<f64>,
        /// Plant identities: events gain `anonymous_id` (1–3 devices per person), some
        /// sessions are logged out (`user_id` empty), ~2% of people share a household device
        /// and ~10% of logged-in events carry a junk placeholder id — for trying
        /// `identity:` and `segmint identity build`.
        #[arg(long)]
        identities: bool,
    },
    /// Stitch devices, anonymous visitors and logins into people (`identity:` in
    /// segmint.yaml; see docs/identity.md). Exit 5 when a person would exceed
    /// `identity.max_person_size` (nothing committed).
    Identity {
        #[command(subcommand)]
        command: IdentityCommand,
    },
    /// Generate a small lake in a folder, train the shipped propensity model
    /// (`will_purchase_30d`) and fit the shipped archetypes (`activity_styles`) on it, run
    /// the shipped segment library plus `likely_buyers` (the model's top decile), and print
    /// the model's metrics, the archetypes and a table of segment sizes.
    Demo {
        /// Where the demo project, lake and output go.
        #[arg(long, default_value = "demo")]
        dir: PathBuf,
        #[arg(long, default_value_t = 2000)]
        users: usize,
        /// Plant identities in the lake (see `generate-lake --identities`), configure
        /// `identity:`, build the map and print raw identifiers against people.
        #[arg(long)]
        identities: bool,
    },
}

/// `segmint identity …`
#[derive(Debug, Subcommand)]
pub enum IdentityCommand {
    /// Stitch every event up to the end of `--as-of` (and every edge table and profile) into
    /// people and commit the identity map (replacing the previous one; merges are recorded).
    Build {
        #[arg(long)]
        as_of: chrono::NaiveDate,
        /// Print the summary as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Add the events since the last build or update, up to the end of `--as-of`,
    /// re-stitching only the people they touch; the result equals a build.
    Update {
        #[arg(long)]
        as_of: chrono::NaiveDate,
        #[arg(long)]
        json: bool,
    },
    /// One person: by person id, `type:value` or a bare identifier value.
    Show {
        id: String,
        #[arg(long)]
        json: bool,
    },
    /// The committed map's statistics: people, identifiers, the size histogram, the largest
    /// people and dropped edges by reason.
    Stats {
        #[arg(long)]
        json: bool,
    },
}

/// `--memory-limit`: a size such as `512MB` or `2GiB`.
fn memory_size(text: &str) -> Result<usize, String> {
    segmint_spec::parse_size(text)
        .ok_or_else(|| format!("`{text}` is not a memory size (e.g. 512MB, 2GiB)"))
}

fn main() -> ExitCode {
    allocator::one_malloc_arena();
    let cli = Cli::parse();
    commands::init_logging(cli.log_format);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            return ExitCode::from(1);
        }
    };
    // Never end in a panic's backtrace: a bug (ours or a dependency's, e.g. a decoder
    // meeting a damaged file) becomes exit code 1 with one line, like any internal error.
    std::panic::set_hook(Box::new(|info| {
        let message = info
            .payload()
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| info.payload().downcast_ref::<String>().cloned())
            .unwrap_or_default();
        let place = info
            .location()
            .map(|l| format!(" at {}:{}", l.file(), l.line()))
            .unwrap_or_default();
        eprintln!("error: internal error: {message}{place}");
    }));
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        runtime.block_on(commands::dispatch(&cli))
    }));
    ExitCode::from(outcome.unwrap_or(1))
}
