//! Reading committed history: who entered and exited since the previous committed run
//! (`segmint diff`), and backfills that resume after the last committed day.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use serde::Serialize;

use crate::error::{EngineError, Result};
use crate::output::OutputTables;
use crate::run::{RunOptions, RunSummary, run};
use crate::session::ProjectSession;

/// Entities that entered and exited one segment.
#[derive(Debug, Clone, Default, Serialize)]
pub struct SegmentDiff {
    pub entered: Vec<String>,
    pub exited: Vec<String>,
}

/// `segmint diff`: changes of every segment between a committed as-of and the previous one.
#[derive(Debug, Clone, Serialize)]
pub struct DiffReport {
    pub as_of: String,
    pub previous_as_of: Option<String>,
    pub segments: BTreeMap<String, SegmentDiff>,
}

/// Compare the committed members of `as_of` with the previous committed as-of. Only
/// committed rows are read; a segment new since then has everyone entered.
pub async fn diff(out: &OutputTables, as_of: NaiveDate, only: &[String]) -> Result<DiffReport> {
    let history = out.history().await?;
    let now_segments = history.segments_at(as_of);
    if now_segments.is_empty() {
        return Err(EngineError::NotCommitted {
            as_of,
            output: out.location.display.clone(),
        });
    }
    if let Some(missing) = only.iter().find(|s| !now_segments.contains_key(*s)) {
        return Err(EngineError::Usage(format!(
            "segment `{missing}` is not in the committed runs of {as_of}"
        )));
    }
    let wanted: std::collections::BTreeSet<String> = now_segments
        .keys()
        .filter(|name| only.is_empty() || only.contains(name))
        .cloned()
        .collect();
    let previous = history.previous(as_of);
    let now = out.members_at(as_of, Some(&wanted)).await?;
    let before = match previous {
        Some(p) => out.members_at(p, Some(&wanted)).await?,
        None => BTreeMap::new(),
    };
    let mut segments = BTreeMap::new();
    for name in wanted {
        let empty = Default::default();
        let members = now.get(&name).unwrap_or(&empty);
        let previous = before.get(&name).unwrap_or(&empty);
        let mut entered: Vec<String> = members.difference(previous).cloned().collect();
        let mut exited: Vec<String> = previous.difference(members).cloned().collect();
        entered.sort();
        exited.sort();
        segments.insert(name, SegmentDiff { entered, exited });
    }
    Ok(DiffReport {
        as_of: as_of.to_string(),
        previous_as_of: previous.map(|p| p.to_string()),
        segments,
    })
}

/// What a backfill did.
#[derive(Debug, Clone, Serialize)]
pub struct BackfillReport {
    pub status: &'static str,
    pub from: String,
    pub to: String,
    /// Days already committed before this call (not recomputed).
    pub skipped: Vec<String>,
    /// Days this call committed, with their summaries.
    pub runs: Vec<RunSummary>,
}

/// Run every day of `[from, to]`, resuming after the last day of the range already
/// committed (so a failed backfill, run again, continues where it stopped). `on_day` is
/// called before each day runs (progress).
pub async fn backfill(
    session: &ProjectSession,
    from: NaiveDate,
    to: NaiveDate,
    selected: &[String],
    options: RunOptions,
    mut on_day: impl FnMut(NaiveDate),
) -> std::result::Result<BackfillReport, (EngineError, BackfillReport)> {
    let mut report = BackfillReport {
        status: "ok",
        from: from.to_string(),
        to: to.to_string(),
        skipped: Vec::new(),
        runs: Vec::new(),
    };
    if from > to {
        return Err((EngineError::BadRange { from, to }, report));
    }
    let committed = match session.output.history().await {
        Ok(h) => h.days(),
        Err(e) => return Err((e, report)),
    };
    let last_done = committed
        .into_iter()
        .filter(|d| *d >= from && *d <= to)
        .max();
    let start = last_done.and_then(|d| d.succ_opt()).unwrap_or(from);
    let mut day = from;
    while day < start && day <= to {
        report.skipped.push(day.to_string());
        day = day.succ_opt().unwrap_or(start);
    }
    let mut day = start;
    while day <= to {
        on_day(day);
        match run(session, day, selected, options).await {
            Ok(summary) => report.runs.push(summary),
            Err(e) => {
                report.status = "error";
                return Err((e, report));
            }
        }
        match day.succ_opt() {
            Some(next) => day = next,
            None => break,
        }
    }
    Ok(report)
}
