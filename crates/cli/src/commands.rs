//! The subcommands: each returns the process exit code.

use std::path::Path;

use datafusion::arrow::array::{Array, BooleanArray, RecordBatch};
use datafusion::arrow::compute::{
    concat_batches, filter_record_batch, is_not_null, sort_to_indices, take_record_batch,
};
use datafusion::arrow::util::pretty::pretty_format_batches;
use datafusion::physical_plan::displayable;
use segmint_engine::lake_gen::{LakeGenConfig, generate_lake};
use segmint_engine::{EngineError, RunOptions, RunSummary};

use crate::cluster::{self, Target};
use crate::{Cli, Command, Emit, ErrorFormat, LogFormat, history, library, progress, sql};

/// Logs go to stderr, as text or JSON; `RUST_LOG` sets the level (default `warn`).
pub fn init_logging(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = match format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().try_init(),
    };
}

/// Print an error the way the user asked; return its exit code.
fn report(error: EngineError, format: ErrorFormat) -> u8 {
    let code = error.exit_code() as u8;
    match (&error, format) {
        (EngineError::Spec(d), ErrorFormat::Human) => {
            eprintln!(
                "{}",
                d.render(std::io::IsTerminal::is_terminal(&std::io::stderr()))
            );
            eprintln!("error: {} problem(s) in the specs", d.0.len());
        }
        (EngineError::Spec(d), ErrorFormat::Json) => eprintln!("{}", d.to_json()),
        (
            EngineError::LakeMismatch {
                object,
                diagnostics,
            },
            ErrorFormat::Human,
        ) => {
            eprintln!(
                "{}",
                diagnostics.render(std::io::IsTerminal::is_terminal(&std::io::stderr()))
            );
            eprintln!("error: the lake at {object} does not match the specs (exit 3)");
        }
        (
            EngineError::LakeMismatch {
                object,
                diagnostics,
            },
            ErrorFormat::Json,
        ) => {
            let mut value = diagnostics.to_json();
            value["status"] = serde_json::json!("error");
            value["exit_code"] = serde_json::json!(code);
            value["object"] = serde_json::json!(object);
            eprintln!("{value}");
        }
        (_, ErrorFormat::Json) => eprintln!(
            "{}",
            serde_json::json!({"status": "error", "exit_code": code, "error": error.to_string()})
        ),
        (_, ErrorFormat::Human) => eprintln!("error: {error}"),
    }
    code
}

/// Run the chosen command.
pub async fn dispatch(cli: &Cli) -> u8 {
    let target = Target {
        cluster: cli.cluster.clone(),
        settings: cli.cluster_config.clone(),
    };
    let target = &target;
    let result = match &cli.command {
        Command::Validate { offline } => validate(&cli.project, *offline, target).await,
        Command::Compile {
            as_of,
            segments,
            emit,
        } => compile(target, &cli.project, *as_of, segments, *emit).await,
        Command::Run {
            as_of,
            from,
            to,
            segments,
            max_change,
            allow_empty_day,
            json,
        } => {
            let options = RunOptions {
                max_change_pct: *max_change,
                allow_empty_day: *allow_empty_day,
            };
            match (as_of, from, to) {
                (Some(day), _, _) => {
                    run(target, &cli.project, *day, segments, options, *json).await
                }
                (None, Some(from), Some(to)) => {
                    return backfill(
                        target,
                        &cli.project,
                        (*from, *to),
                        segments,
                        options,
                        *json,
                        cli,
                    )
                    .await;
                }
                _ => Err(EngineError::Usage(
                    "give --as-of, or --from and --to".into(),
                )),
            }
        }
        Command::Diff {
            as_of,
            segments,
            json,
        } => history::diff(&cli.project, *as_of, segments, *json).await,
        Command::Gc { retention, json } => history::gc(&cli.project, retention, *json).await,
        Command::Preview {
            segment,
            as_of,
            limit,
        } => preview(target, &cli.project, segment, *as_of, *limit).await,
        Command::GenerateLake {
            out,
            users,
            days,
            end,
            seed,
        } => generate(
            out,
            &LakeGenConfig {
                users: *users,
                days: *days,
                end: *end,
                seed: *seed,
            },
        ),
        Command::Demo { dir, users } => demo(dir, *users).await,
        Command::Sql {
            query,
            file,
            format,
        } => {
            sql::sql(
                target,
                &cli.project,
                query.as_deref(),
                file.as_deref(),
                *format,
            )
            .await
        }
        Command::Scheduler {
            bind,
            executor_timeout_seconds,
        } => cluster::scheduler(bind, *executor_timeout_seconds).await,
        Command::Executor {
            scheduler,
            bind,
            advertise_host,
            concurrent_tasks,
            work_dir,
        } => {
            cluster::executor(
                scheduler,
                bind,
                advertise_host.as_deref(),
                *concurrent_tasks,
                work_dir.as_deref(),
            )
            .await
        }
    };
    match result {
        Ok(()) => 0,
        Err(e) => report(e, cli.error_format),
    }
}

async fn validate(project: &Path, offline: bool, target: &Target) -> Result<(), EngineError> {
    let checked = if offline {
        segmint_engine::check_offline(project)?
    } else {
        target.open(project).await?.checked
    };
    println!(
        "ok: {} segment(s) valid{}",
        checked.segments.len(),
        if offline {
            " (offline: columns not checked)"
        } else {
            ""
        }
    );
    Ok(())
}

async fn compile(
    target: &Target,
    project: &Path,
    as_of: chrono::NaiveDate,
    segments: &[String],
    emit: Emit,
) -> Result<(), EngineError> {
    let session = target.open(project).await?;
    let compiled = segmint_engine::compile_for(&session, as_of, segments, false)?;
    let state = session.ctx.state();
    let internal = |e: datafusion::error::DataFusionError| EngineError::Internal(e.to_string());
    match emit {
        Emit::Logical => {
            let plan = state.optimize(&compiled.plan).map_err(internal)?;
            println!("{}", plan.display_indent());
        }
        Emit::Physical => {
            let plan = state
                .create_physical_plan(&compiled.plan)
                .await
                .map_err(internal)?;
            println!("{}", displayable(plan.as_ref()).indent(true));
        }
        Emit::Sql => {
            // DataFusion 55's unparser drops the GROUP BY below the profiles join of a fused
            // plan; printing SQL that computes something else would mislead reviewers.
            return Err(EngineError::Usage(
                "`--emit sql` cannot render fused plans correctly yet (DataFusion's unparser \
                 drops the aggregate); use `--emit logical` or `--emit physical`"
                    .into(),
            ));
        }
    }
    Ok(())
}

fn print_summary(summary: &RunSummary) {
    println!(
        "{:<32} {:>9} {:>9} {:>9}  tiers",
        "segment", "size", "entered", "exited"
    );
    for (name, s) in &summary.segments {
        let opt = |v: Option<u64>| v.map_or("-".to_string(), |v| v.to_string());
        let tiers = s
            .tiers
            .as_ref()
            .map(|t| {
                t.iter()
                    .map(|(k, v)| format!("{k}={v}"))
                    .collect::<Vec<_>>()
                    .join(" ")
            })
            .unwrap_or_default();
        println!(
            "{name:<32} {:>9} {:>9} {:>9}  {tiers}",
            s.size,
            opt(s.entered),
            opt(s.exited)
        );
    }
    println!(
        "as-of {} committed as run {} under {}",
        summary.as_of, summary.run_id, summary.output
    );
}

async fn run(
    target: &Target,
    project: &Path,
    as_of: chrono::NaiveDate,
    segments: &[String],
    options: RunOptions,
    json: bool,
) -> Result<(), EngineError> {
    let progress = progress::Progress::start(&format!("as-of {as_of}: opening the project"));
    let session = target.open(project).await?;
    progress.say(&format!("as-of {as_of}: evaluating"));
    let summary = segmint_engine::run_with(&session, as_of, segments, options).await;
    progress.finish();
    let summary = summary?;
    if json {
        let line =
            serde_json::to_string(&summary).map_err(|e| EngineError::Internal(e.to_string()))?;
        println!("{line}");
    } else {
        print_summary(&summary);
    }
    Ok(())
}

async fn preview(
    target: &Target,
    project: &Path,
    segment: &str,
    as_of: chrono::NaiveDate,
    limit: usize,
) -> Result<(), EngineError> {
    let session = target.open(project).await?;
    let selected = vec![segment.to_string()];
    let compiled = segmint_engine::compile_for(&session, as_of, &selected, true)?;
    let batches = segmint_engine::execute(&session, &compiled).await?;
    let tiered = compiled.segments.first().is_some_and(|s| s.tiered);
    let internal = |e: datafusion::arrow::error::ArrowError| EngineError::Internal(e.to_string());
    let mut members: Vec<RecordBatch> = Vec::new();
    let mut size = 0usize;
    for b in &batches {
        let Some(col) = b.column_by_name(segment) else {
            continue;
        };
        let mask = if tiered {
            is_not_null(col).map_err(internal)?
        } else {
            match col.as_any().downcast_ref::<BooleanArray>() {
                Some(m) => m.iter().map(|v| Some(v == Some(true))).collect(),
                None => continue,
            }
        };
        let rows = filter_record_batch(b, &mask).map_err(internal)?;
        size += rows.num_rows();
        members.push(rows);
    }
    println!("segment {segment}: {size} member(s) at as-of {as_of}");
    let description = session
        .checked
        .segment(segment)
        .map(|s| s.description.clone())
        .unwrap_or_default();
    println!("{description}\n");
    println!("leaves:");
    for l in &compiled.leaves {
        if l.segment == segment {
            println!("  {:<8} {}", l.column, l.label);
        } else {
            println!(
                "  {:<8} {}   (via in_segment: {})",
                l.column, l.label, l.segment
            );
        }
    }
    // The first members by entity, so a preview reads the same on every run and target.
    let mut shown = Vec::new();
    if let Some(first) = members.first() {
        let all = concat_batches(&first.schema(), &members).map_err(internal)?;
        let order = sort_to_indices(all.column(0), None, Some(limit)).map_err(internal)?;
        let sample = take_record_batch(&all, &order).map_err(internal)?;
        if sample.num_rows() > 0 {
            shown.push(sample);
        }
    }
    if !shown.is_empty() {
        let table = pretty_format_batches(&shown).map_err(internal)?;
        println!("\n{table}");
    }
    Ok(())
}

/// `run --from --to`: the exit code; with `--json`, one line whether it worked or not.
async fn backfill(
    target: &Target,
    project: &Path,
    (from, to): (chrono::NaiveDate, chrono::NaiveDate),
    segments: &[String],
    options: RunOptions,
    json: bool,
    cli: &Cli,
) -> u8 {
    let session = match target.open(project).await {
        Ok(s) => s,
        Err(e) => return report(e, cli.error_format),
    };
    let progress = progress::Progress::start(&format!("backfill {from}..{to}"));
    let result = segmint_engine::history::backfill(&session, from, to, segments, options, |day| {
        progress.say(&format!("backfill {from}..{to}: as-of {day}"));
    })
    .await;
    progress.finish();
    let (report_json, error) = match result {
        Ok(r) => (r, None),
        Err((e, r)) => (r, Some(e)),
    };
    if json {
        let mut value = serde_json::to_value(&report_json).unwrap_or_default();
        if let Some(e) = &error {
            value["error"] = serde_json::json!(e.to_string());
            value["exit_code"] = serde_json::json!(e.exit_code());
        }
        println!("{value}");
    } else {
        for day in &report_json.skipped {
            println!("as-of {day}: already committed, skipped");
        }
        for summary in &report_json.runs {
            println!(
                "as-of {} committed as run {}",
                summary.as_of, summary.run_id
            );
        }
    }
    match error {
        Some(e) => report(e, cli.error_format),
        None => 0,
    }
}

fn generate(out: &Path, config: &LakeGenConfig) -> Result<(), EngineError> {
    let report = generate_lake(out, config).map_err(|e| EngineError::Output {
        object: out.display().to_string(),
        message: e.to_string(),
    })?;
    println!(
        "wrote {} events of {} users in {} files ({} bytes) under {}",
        report.events,
        report.users,
        report.files,
        report.bytes,
        out.display()
    );
    Ok(())
}

async fn demo(dir: &Path, users: usize) -> Result<(), EngineError> {
    let write = |path: &Path, text: &str| {
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(|e| EngineError::Output {
                object: parent.display().to_string(),
                message: e.to_string(),
            })?;
        }
        std::fs::write(path, text).map_err(|e| EngineError::Output {
            object: path.display().to_string(),
            message: e.to_string(),
        })
    };
    write(&dir.join("segmint.yaml"), library::DEMO_PROJECT)?;
    for (name, text) in library::SEGMENTS {
        write(&dir.join("segments").join(name), text)?;
    }
    let config = LakeGenConfig {
        users,
        ..LakeGenConfig::default()
    };
    generate(&dir.join("lake"), &config)?;
    let session = segmint_engine::open(&dir.join("segmint.yaml")).await?;
    let summary = segmint_engine::run(&session, config.end, &[]).await?;
    println!();
    print_summary(&summary);
    println!(
        "\nnext: segmint -p {} preview heavy_users --as-of {}",
        dir.join("segmint.yaml").display(),
        config.end
    );
    Ok(())
}
