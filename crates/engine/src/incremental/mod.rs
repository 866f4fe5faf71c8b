//! Incremental runs: the run's aggregates merged from per-(entity, day) summaries instead of
//! computed from every event of their windows (docs/incremental.md).
//!
//! 1. The compiler splits each aggregate into an as-of-free part — the aggregate and its
//!    event predicate — and the days its window covers ([`segmint_compiler::daily`]); runs it
//!    cannot split are full, with the reason in the run summary.
//! 2. A summary is `state_of[f](args) FILTER (predicate)` per entity and local day: the
//!    partial state of every distinct part, one struct column each, one Delta table per set
//!    of parts ([`table`]).
//! 3. Days without a summary, days whose lake files changed ([`lake_days`]) and the
//!    `lookback_days` before the as-of are summarised from their events.
//! 4. The run's `GROUP BY entity` becomes `merge_of[f](state) FILTER (day in window)` over
//!    the summaries of the read days; everything above it (profiles, ranks, segment columns)
//!    is the compiled plan as it is, so members equal a full run's.

mod blocks;
mod fresh;
mod inner;
mod lake_days;
mod merge;
mod merge_of;
mod state_of;
mod stored;
mod summarise;
mod table;

pub(crate) use table::SUMMARIES;

use std::collections::BTreeMap;
use std::sync::Arc;

use std::time::Duration;

use chrono::NaiveDate;
use datafusion::arrow::datatypes::{DataType, SchemaRef};
use datafusion::logical_expr::expr::AggregateFunction;
use datafusion::logical_expr::{Expr, LogicalPlan};
use segmint_compiler::{AsOf, Compiled, Daily};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::{EngineError, Result};
use crate::session::ProjectSession;
use fresh::Fresh;
use inner::InnerCall;
use merge::{entity_type, merged_plan, with_merged};
use state_of::StateOf;
use summarise::{merge_calls, one_pass, summarise_days, summarise_fresh, summary_plan};
use table::SummaryTable;

/// How a run was evaluated (in its summary).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct IncrementalUse {
    /// `incremental` (merged from summaries) or `full` (from every event of the window).
    pub mode: String,
    /// Why a run of a project with `incremental:` was full.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Days summarised from their events by this run.
    pub days_summarised: u64,
    /// Days whose summaries were merged.
    pub days_merged: u64,
    /// Summary files the merge read (a block of days is one file; a file read for two
    /// windows counts twice).
    #[serde(default)]
    pub files_read: u64,
    /// The summary set the run merged (`summaries/<set>`): `gc` keeps the sets of the
    /// newest run and of the runs within its retention.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub summary_set: Option<String>,
}

/// What merging the summaries took: its time, and the memory of its branches (counted with
/// the run's).
#[derive(Debug, Clone, Default)]
pub struct Merging {
    pub time: Duration,
    /// The most the branches had reserved at once.
    pub peak_bytes: Option<u64>,
    /// Times a branch wrote state to disk, and how much.
    pub spills: u64,
    pub spilled_bytes: u64,
}

impl Merging {
    /// Count the merge's memory in the run's.
    pub fn add_to(&self, memory: &mut crate::memory::MemoryUse) {
        memory.spills += self.spills;
        memory.spilled_bytes += self.spilled_bytes;
        memory.peak_bytes = match (memory.peak_bytes, self.peak_bytes) {
            (Some(a), Some(b)) => Some(a.max(b)),
            (a, b) => a.or(b),
        };
    }
}

/// A run prepared from summaries: the compiled run with its `GROUP BY` replaced by the
/// merged rows, what was done, and what merging took.
pub struct Prepared {
    pub compiled: Compiled,
    pub used: IncrementalUse,
    pub merging: Merging,
}

/// Why a project with identity resolution runs in full.
pub(crate) const IDENTITY_IS_FULL: &str =
    "identity resolution: a person's identifiers change with each map update";

impl IncrementalUse {
    /// A full run, and why.
    pub fn full(reason: impl Into<String>) -> Self {
        IncrementalUse {
            mode: "full".into(),
            reason: Some(reason.into()),
            ..Default::default()
        }
    }
}

/// One distinct summarised part: its column and how it is computed and merged.
struct Part {
    column: String,
    /// `state_of[f](args) FILTER (predicate)`.
    state: Expr,
}

/// The run's parts and the summary set they form.
struct Parts {
    parts: Vec<Part>,
    /// Summary column of each aggregate's key.
    by_key: BTreeMap<String, String>,
    /// Names the set: the parts, the timezone, the segmint version and [`STATE_FORMAT`].
    set: String,
}

/// The layout of the functions' states, part of a summary set's name: a layout change
/// starts a new set instead of reading states it cannot merge. 2: `cadence` keeps day
/// bitmaps (`support::day_sets`) instead of lists of days. 3 (commit 3e567a3 only):
/// funnels and sequences keep their events as varint bytes. 4: as fixed-width bytes
/// (`support::event_bytes`) instead of two lists.
const STATE_FORMAT: u32 = 4;

fn hash16(text: &str) -> String {
    hex::encode(&Sha256::digest(text.as_bytes())[..8])
}

fn parts_of(daily: &Daily, timezone: &str) -> Parts {
    let mut by_key = BTreeMap::new();
    let mut parts = Vec::new();
    for aggregate in &daily.aggregates {
        if by_key.contains_key(&aggregate.key) {
            continue;
        }
        let column = format!("s_{}", hash16(&aggregate.key));
        by_key.insert(aggregate.key.clone(), column.clone());
        let Expr::AggregateFunction(call) = &aggregate.aggregate else {
            continue;
        };
        let state = Expr::AggregateFunction(AggregateFunction::new_udf(
            Arc::new(StateOf::udaf(call.func.clone())),
            call.params.args.clone(),
            false,
            aggregate.predicate.clone().map(Box::new),
            vec![],
            None,
        ));
        parts.push(Part { column, state });
    }
    parts.sort_by(|a, b| a.column.cmp(&b.column));
    let mut identity = format!(
        "{}\n{STATE_FORMAT}\n{timezone}\n",
        env!("CARGO_PKG_VERSION")
    );
    for key in by_key.keys() {
        identity.push_str(key);
        identity.push('\n');
    }
    Parts {
        parts,
        by_key,
        set: hash16(&identity),
    }
}

/// The memory-limit error, when `e` is one.
fn memory_error(
    session: &ProjectSession,
    e: &datafusion::error::DataFusionError,
) -> Option<EngineError> {
    match e.find_root() {
        datafusion::error::DataFusionError::ResourcesExhausted(message) => {
            Some(EngineError::MemoryLimit {
                limit: session
                    .memory
                    .as_ref()
                    .and_then(|p| p.limit())
                    .map(|l| l as u64),
                message: message.clone(),
            })
        }
        _ => None,
    }
}

/// The error of a plan over the summaries: a memory limit's, or one naming the summaries.
fn execution_error(session: &ProjectSession, e: datafusion::error::DataFusionError) -> EngineError {
    memory_error(session, &e)
        .unwrap_or_else(|| EngineError::output(session.output.describe(table::SUMMARIES), e))
}

/// What merging a run's summaries needs besides the files.
struct MergeInputs<'a> {
    daily: &'a Daily,
    parts: &'a Parts,
    calls: &'a BTreeMap<String, InnerCall>,
    /// The summary and block schemas.
    schemas: (&'a SchemaRef, &'a SchemaRef),
    /// The first day read and the as-of.
    days: (NaiveDate, NaiveDate),
    /// The compiled `GROUP BY`'s entity type.
    entities: &'a DataType,
}

/// A run's merged rows: the plan over them, the branches' (spills, spilled bytes), the
/// summary files read and the time from the branches' start to the rows lined up.
struct Merged {
    plan: LogicalPlan,
    spills: (u64, u64),
    files_read: u64,
    time: Duration,
}

impl MergeInputs<'_> {
    /// Merge the files of `readable` (and `fresh`'s days, from memory).
    async fn merge(
        &self,
        session: &ProjectSession,
        table: &SummaryTable,
        readable: &blocks::Readable,
        fresh: Option<&Fresh>,
    ) -> Result<Merged> {
        let merge = merged_plan(
            self.daily,
            self.parts,
            self.calls,
            table,
            self.schemas,
            (readable, fresh),
            self.days,
        )
        .map_err(EngineError::Plan)?;
        let files_read = merge.files_read;
        let started = std::time::Instant::now();
        if let Some(pool) = &session.memory {
            pool.reset_peak();
        }
        let (plan, spills) = merge.evaluate(session, self.entities).await?;
        Ok(Merged {
            plan,
            spills,
            files_read,
            time: started.elapsed(),
        })
    }
}

/// `compiled` evaluated from daily summaries (made first where missing or stale).
/// `Ok(Err(reason))`: this run cannot be incremental.
///
/// `(compiled, next)` is the run's selection compiled for the as-of and the next day;
/// `project` every segment of the project, likewise, when the run selects some (`None`: the
/// run is the project). The summaries hold the whole project's parts, so runs of different
/// selections share one summary table.
pub async fn prepare(
    session: &ProjectSession,
    (compiled, next): (&Compiled, &Compiled),
    project: Option<(&Compiled, &Compiled)>,
    as_of: NaiveDate,
    lookback_days: u32,
) -> Result<std::result::Result<Prepared, String>> {
    let checked = &session.checked;
    let clock = AsOf::new(as_of, &checked.project.timezone)?;
    if session.memory.is_none() {
        return Ok(Err(
            "incremental runs are local; this session runs on a cluster".into(),
        ));
    }
    let daily = match segmint_compiler::daily(checked, compiled, next, &clock) {
        Ok(d) => d,
        Err(reason) => return Ok(Err(reason)),
    };
    let whole =
        match project.map(|(now, later)| segmint_compiler::daily(checked, now, later, &clock)) {
            None => daily.clone(),
            Some(Ok(d)) => d,
            Some(Err(reason)) => return Ok(Err(reason)),
        };
    let lake = match lake_days::lake_days(session, &clock, whole.first_day).await? {
        Ok(l) => l,
        Err(reason) => return Ok(Err(reason)),
    };
    let parts = parts_of(&whole, &checked.project.timezone);
    let probe = summary_plan(
        session,
        &clock,
        &parts,
        (as_of, as_of + chrono::Duration::days(1)),
    )
    .map_err(EngineError::Plan)?;
    let (calls, schema) = merge_calls(session, &probe).map_err(EngineError::Plan)?;
    tracing::debug!(days = lake.fingerprints.len(), "lake days fingerprinted");
    let mut table = SummaryTable::open(&session.output, &parts.set, &schema).await?;
    tracing::debug!(
        days = table.days.len(),
        blocks = table.blocks.len(),
        "summaries opened"
    );

    let recent = as_of - chrono::Duration::days(i64::from(lookback_days));
    let stale: BTreeMap<NaiveDate, String> = lake
        .fingerprints
        .iter()
        .filter(|(day, fingerprint)| {
            **day >= recent
                || table
                    .days
                    .get(day)
                    .is_none_or(|f| &f.fingerprint != *fingerprint)
        })
        .map(|(d, f)| (*d, f.clone()))
        .collect();
    let summarised = stale.len() as u64;
    let read: Vec<NaiveDate> = lake.fingerprints.keys().copied().collect();
    let first = read.first().copied().unwrap_or(as_of);
    let block_schema = blocks::block_schema(&schema, &calls).map_err(EngineError::Plan)?;
    let builder = blocks::Builder {
        session,
        schema: &block_schema,
        calls: &calls,
    };
    let entities = entity_type(&compiled.plan);
    let inputs = MergeInputs {
        daily: &daily,
        parts: &parts,
        calls: &calls,
        schemas: (&schema, &block_schema),
        days: (first, as_of),
        entities: &entities,
    };
    let limited = session.memory.as_ref().is_some_and(|p| p.limit().is_some());
    // A daily run: only the as-of and lookback days are summarised, in one plan. The merge
    // starts on the settled days beside it and takes the new days' rows from memory
    // (`fresh`). Under a memory limit, and when older days changed (their blocks are
    // rebuilt from their new files), each step waits for the one before.
    let overlapped = !limited && stale.keys().all(|d| *d >= recent) && one_pass(&stale);
    let merged = if overlapped {
        let settled: Vec<NaiveDate> = read.iter().copied().filter(|d| *d < recent).collect();
        let (fresh, give) = Fresh::new(stale.keys().copied().collect());
        let summarising = summarise_fresh(session, &clock, &parts, (&table, &schema), &stale, give);
        let merging = async {
            let built = builder.build(&table, &settled, recent).await?;
            tracing::debug!(
                blocks = built.written.len(),
                "blocks built beside the summarising"
            );
            let merged = inputs
                .merge(session, &table, &built.readable, Some(&fresh))
                .await?;
            Ok::<_, EngineError>((built, merged))
        };
        let (days, merge) = futures::join!(summarising, merging);
        // Summarising's error first: without its rows the merge fails too.
        let mut written = days?;
        let (built, merged) = merge?;
        tracing::debug!(days = summarised, "days summarised");
        written.extend(built.written);
        table.commit(written, &built.dropped).await?;
        merged
    } else {
        summarise_days(session, &clock, &parts, &mut table, &schema, &stale).await?;
        tracing::debug!(days = summarised, "days summarised");
        let readable = builder.maintain(&mut table, &read, recent).await?;
        tracing::debug!(blocks = table.blocks.len(), "blocks kept");
        inputs.merge(session, &table, &readable, None).await?
    };
    let (spills, spilled_bytes) = merged.spills;
    let merging = Merging {
        time: merged.time,
        peak_bytes: session.memory.as_ref().map(|p| p.peak() as u64),
        spills,
        spilled_bytes,
    };
    let (merged, files_read) = (merged.plan, merged.files_read);
    let mut evaluated = compiled.clone();
    evaluated.plan = with_merged(&compiled.plan, &merged).map_err(EngineError::Plan)?;
    evaluated.staged.grouped =
        with_merged(&compiled.staged.grouped, &merged).map_err(EngineError::Plan)?;
    Ok(Ok(Prepared {
        compiled: evaluated,
        used: IncrementalUse {
            mode: "incremental".into(),
            reason: None,
            days_summarised: summarised,
            days_merged: read.len() as u64,
            files_read,
            summary_set: Some(parts.set.clone()),
        },
        merging,
    }))
}
