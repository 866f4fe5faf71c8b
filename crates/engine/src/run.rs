//! A run: compile the fused plan, execute it, write members, summary and manifest.

use std::collections::BTreeMap;
use std::time::Instant;

use chrono::NaiveDate;
use datafusion::arrow::array::RecordBatch;
use datafusion::prelude::DataFrame;
use segmint_compiler::{AsOf, Compiled, compile};
use serde::Serialize;

use crate::error::{EngineError, Result};
use crate::failure::read_error;
use crate::members::members_of_all;
use crate::output::{Manifest, OutputDir, parquet_bytes};
use crate::session::ProjectSession;

/// One segment's outcome.
#[derive(Debug, Clone, Serialize)]
pub struct SegmentSummary {
    pub size: u64,
    /// Members now that were not members at the previous committed as-of (null: no previous run).
    pub entered: Option<u64>,
    pub exited: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tiers: Option<BTreeMap<String, u64>>,
    pub spec_hash: String,
}

/// What `run` reports (also `summary.json` and `--json`).
#[derive(Debug, Clone, Serialize)]
pub struct RunSummary {
    pub status: &'static str,
    pub as_of: String,
    pub run_id: String,
    pub previous_as_of: Option<String>,
    pub output: String,
    pub segments: BTreeMap<String, SegmentSummary>,
    pub timings_ms: BTreeMap<String, u64>,
}

/// Compile the selected segments (empty: all) for an as-of.
pub fn compile_for(
    session: &ProjectSession,
    as_of: NaiveDate,
    selected: &[String],
    explain_leaves: bool,
) -> Result<Compiled> {
    let as_of = AsOf::new(as_of, &session.checked.project.timezone)?;
    Ok(compile(
        &session.checked,
        selected,
        as_of,
        session.events.clone(),
        session.profiles.clone(),
        explain_leaves,
    )?)
}

/// Execute a compiled plan. Read failures name the events location — or, when a Parquet
/// object is damaged, that object; a transient failure of the store (the server went
/// away) is a data error too: nothing is committed.
pub async fn execute(session: &ProjectSession, compiled: &Compiled) -> Result<Vec<RecordBatch>> {
    let df = DataFrame::new(session.ctx.state(), compiled.plan.clone());
    match df.collect().await {
        Ok(batches) => Ok(batches),
        Err(e) => Err(read_error(&session.events_location, e).await),
    }
}

/// Whether any event passes `filter` (reading as little as the pruning allows).
async fn any_event(session: &ProjectSession, filter: datafusion::prelude::Expr) -> Result<bool> {
    let plan =
        datafusion::logical_expr::LogicalPlanBuilder::scan("events", session.events.clone(), None)
            .and_then(|b| b.filter(filter))
            .and_then(|b| b.limit(0, Some(1)))
            .and_then(|b| b.build())
            .map_err(EngineError::Plan)?;
    match DataFrame::new(session.ctx.state(), plan).collect().await {
        Ok(batches) => Ok(batches.iter().any(|b| b.num_rows() > 0)),
        Err(e) => Err(read_error(&session.events_location, e).await),
    }
}

/// Fail when the as-of day has no event (its partition has not landed), or the whole scan
/// range has none: empty segments committed from missing data would look like real churn
/// downstream. `allow_empty_day` skips the first check.
async fn check_events_in_range(
    session: &ProjectSession,
    as_of: NaiveDate,
    allow_empty_day: bool,
) -> Result<()> {
    let clock = AsOf::new(as_of, &session.checked.project.timezone)?;
    let location = session.events_location.display.clone();
    if !allow_empty_day
        && let Some(day) = segmint_compiler::as_of_day_filter(&session.checked, &clock)
        && !any_event(session, day).await?
    {
        return Err(EngineError::EmptyDay {
            object: location,
            day: as_of,
        });
    }
    let (lo, _) = segmint_compiler::scan_range(&session.checked, &clock);
    if !any_event(
        session,
        segmint_compiler::scan_filter(&session.checked, &clock),
    )
    .await?
    {
        let from = lo.map_or("the beginning".to_string(), |lo| {
            chrono::DateTime::from_timestamp_micros(lo)
                .map(|t| t.to_rfc3339())
                .unwrap_or_default()
        });
        return Err(EngineError::EmptyRange {
            object: location,
            from,
            day: as_of,
        });
    }
    Ok(())
}

/// Options of one run.
#[derive(Debug, Clone, Copy, Default)]
pub struct RunOptions {
    /// Refuse to commit ([`EngineError::SizeGuard`]) when a segment's size moves by more
    /// than this many percent since the previous committed as-of.
    pub max_change_pct: Option<f64>,
    /// Run even when the as-of day itself has no event.
    pub allow_empty_day: bool,
}

/// Run the selected segments (empty: all) for an as-of and commit the result.
pub async fn run(
    session: &ProjectSession,
    as_of: NaiveDate,
    selected: &[String],
    options: RunOptions,
) -> Result<RunSummary> {
    let out = &session.output;
    let as_of_text = as_of.to_string();
    let run_id = format!(
        "{}-{}",
        chrono::Utc::now().format("%Y%m%dT%H%M%SZ"),
        &uuid::Uuid::new_v4().simple().to_string()[..8]
    );
    let mut timings = BTreeMap::new();

    let t = Instant::now();
    let compiled = compile_for(session, as_of, selected, false)?;
    timings.insert("plan".to_string(), t.elapsed().as_millis() as u64);
    let t = Instant::now();
    check_events_in_range(session, as_of, options.allow_empty_day).await?;
    let batches = execute(session, &compiled).await?;
    timings.insert("execute".to_string(), t.elapsed().as_millis() as u64);

    let t = Instant::now();
    let result = write_run(
        session,
        out,
        &as_of_text,
        &run_id,
        as_of,
        &compiled,
        &batches,
        &mut timings,
        options,
    )
    .await;
    match result {
        Ok(mut summary) => {
            // The commit happened; a failure to tidy up is left for `gc`.
            let _ = out.remove_other_runs(&as_of_text, &run_id).await;
            summary
                .timings_ms
                .insert("write".to_string(), t.elapsed().as_millis() as u64);
            Ok(summary)
        }
        Err(e) => {
            out.remove_run(&as_of_text, &run_id).await;
            Err(e)
        }
    }
}

/// The size-change guard: the segments that moved more than `limit` percent.
fn guard(
    segments: &BTreeMap<String, SegmentSummary>,
    previous: &BTreeMap<String, u64>,
    limit: f64,
) -> Vec<String> {
    segments
        .iter()
        .filter_map(|(name, s)| {
            let before = *previous.get(name)?;
            let change = (s.size as f64 - before as f64).abs() / (before.max(1) as f64) * 100.0;
            (change > limit)
                .then(|| format!("{name}: {before} → {} ({change:.1}% > {limit}%)", s.size))
        })
        .collect()
}

#[allow(clippy::too_many_arguments)]
async fn write_run(
    session: &ProjectSession,
    out: &OutputDir,
    as_of_text: &str,
    run_id: &str,
    as_of: NaiveDate,
    compiled: &Compiled,
    batches: &[RecordBatch],
    timings: &mut BTreeMap<String, u64>,
    options: RunOptions,
) -> Result<RunSummary> {
    let previous = out.previous_committed(as_of_text).await?;
    let mut previous_sizes: BTreeMap<String, u64> = BTreeMap::new();
    let mut manifest_members = BTreeMap::new();
    let mut segments = BTreeMap::new();
    for members in members_of_all(compiled, batches, as_of)? {
        let name = members.segment.name.clone();
        let relative =
            format!("members/as_of={as_of_text}/run={run_id}/segment={name}/part-0.parquet");
        let bytes = parquet_bytes(
            &out.describe(&relative),
            &members.batches,
            members.schema.clone(),
        )?;
        out.put(&relative, bytes).await?;
        let now = members.entities()?;
        let (entered, exited) = match previous.as_ref().and_then(|p| p.members.get(&name)) {
            Some(file) => {
                let before = out.read_members(file).await?;
                previous_sizes.insert(name.clone(), before.len() as u64);
                (
                    Some(now.difference(&before).count() as u64),
                    Some(before.difference(&now).count() as u64),
                )
            }
            None => (None, None),
        };
        let spec_hash = session
            .checked
            .segment(&name)
            .map(|s| s.spec_hash.clone())
            .unwrap_or_default();
        segments.insert(
            name.clone(),
            SegmentSummary {
                size: members.size(),
                entered,
                exited,
                tiers: members.tier_counts()?,
                spec_hash,
            },
        );
        manifest_members.insert(name, relative);
    }
    if let Some(limit) = options.max_change_pct {
        let changes = guard(&segments, &previous_sizes, limit);
        if !changes.is_empty() {
            return Err(EngineError::SizeGuard {
                as_of,
                limit_pct: limit,
                changes,
            });
        }
    }
    let summary = RunSummary {
        status: "ok",
        as_of: as_of_text.to_string(),
        run_id: run_id.to_string(),
        previous_as_of: previous.as_ref().map(|p| p.as_of.clone()),
        output: out.location.display.clone(),
        segments,
        timings_ms: timings.clone(),
    };
    let summary_rel = format!("runs/as_of={as_of_text}/run={run_id}/summary.json");
    out.put(&summary_rel, serde_json::to_vec_pretty(&summary)?)
        .await?;
    out.commit(&Manifest {
        as_of: as_of_text.to_string(),
        run_id: run_id.to_string(),
        committed_at: chrono::Utc::now().to_rfc3339(),
        members: manifest_members,
        summary: summary_rel,
    })
    .await?;
    Ok(summary)
}
