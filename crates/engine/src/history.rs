//! Reading committed history: who entered and exited since the previous committed run
//! (`segmint diff`), and backfills that resume after the last committed day.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use serde::Serialize;

use crate::error::{EngineError, Result};
use crate::output::OutputDir;
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
/// committed manifests are read; a segment new since then has everyone entered.
pub async fn diff(out: &OutputDir, as_of: NaiveDate, only: &[String]) -> Result<DiffReport> {
    let as_of_text = as_of.to_string();
    let Some(now) = out.manifest(&as_of_text).await? else {
        return Err(EngineError::NotCommitted {
            as_of,
            output: out.location.display.clone(),
        });
    };
    let before = out.previous_committed(&as_of_text).await?;
    let mut segments = BTreeMap::new();
    for (name, file) in &now.members {
        if !only.is_empty() && !only.contains(name) {
            continue;
        }
        let members = out.read_members(file).await?;
        let previous = match before.as_ref().and_then(|b| b.members.get(name)) {
            Some(f) => out.read_members(f).await?,
            None => Default::default(),
        };
        let mut entered: Vec<String> = members.difference(&previous).cloned().collect();
        let mut exited: Vec<String> = previous.difference(&members).cloned().collect();
        entered.sort();
        exited.sort();
        segments.insert(name.clone(), SegmentDiff { entered, exited });
    }
    if let Some(missing) = only.iter().find(|s| !now.members.contains_key(*s)) {
        return Err(EngineError::Usage(format!(
            "segment `{missing}` is not in the committed run of {as_of_text}"
        )));
    }
    Ok(DiffReport {
        as_of: as_of_text,
        previous_as_of: before.map(|b| b.as_of),
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
    let committed = match session.output.committed().await {
        Ok(c) => c,
        Err(e) => return Err((e, report)),
    };
    let last_done = committed
        .iter()
        .filter_map(|m| NaiveDate::parse_from_str(&m.as_of, "%Y-%m-%d").ok())
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
