//! # segmint-report — one offline HTML file people look at
//!
//! `segmint report` reads the output tables (never the lake) and writes a self-contained
//! page: data, styles, scripts and the charting library inlined, so it opens from a file
//! or an artifact store with no network.
//!
//! | module | gathers |
//! |---|---|
//! | [`series`] | per segment and committed as-of: size, entered, exited, holdout, tier sizes (from `runs`) |
//! | [`flows`] | tiered segments: members moving between tiers from one as-of to another (from `members`) |
//! | [`fits`] | the latest fit of each propensity model (metrics, calibration) and archetype set (sizes, profiles) (from `models`) |
//! | [`overlap`] | pairs of segments sharing members on one as-of: counts and Jaccard (from `members`) |
//! | [`html`] | the page: [`ReportData`] as JSON, ECharts (a build with only the charts used) and the page script |
//!
//! Only aggregates reach the page — never member ids — so it stays small whatever the
//! segments' sizes. Impact results saved with `segmint impact --save`, models trained with
//! `segmint train` and archetypes fitted with `segmint archetypes fit` are shown when present.

pub mod fits;
pub mod flows;
pub mod html;
pub mod overlap;
pub mod series;

use chrono::NaiveDate;
use segmint_engine::impact::saved::{self, SavedImpact};
use segmint_engine::output::OutputTables;
use segmint_engine::{EngineError, Result};
use segmint_spec::Checked;
use serde::Serialize;

pub use html::render;

/// What to put in the report.
#[derive(Debug, Clone, Default)]
pub struct ReportOptions {
    /// First and last as-of (default: the first and last committed).
    pub from: Option<NaiveDate>,
    pub to: Option<NaiveDate>,
    /// Only these segments (default: every committed segment).
    pub segments: Vec<String>,
    /// The as-of of the overlap heatmap (default: the last of the range).
    pub overlap_on: Option<NaiveDate>,
}

/// Everything the page shows, as it is inlined into it.
#[derive(Debug, Clone, Serialize)]
pub struct ReportData {
    pub output: String,
    pub generated_at: String,
    pub segmint_version: String,
    pub from: String,
    pub to: String,
    /// The committed as-ofs in the range; every series is aligned with them.
    pub days: Vec<String>,
    pub segments: Vec<series::SegmentSeries>,
    pub flows: Vec<flows::TierFlow>,
    pub overlap: Option<overlap::Overlap>,
    pub impact: Vec<SavedImpact>,
    pub fits: fits::Fits,
}

/// Gather the report's data from the committed output.
pub async fn gather(
    checked: &Checked,
    out: &OutputTables,
    options: &ReportOptions,
) -> Result<ReportData> {
    if let (Some(from), Some(to)) = (options.from, options.to)
        && from > to
    {
        return Err(EngineError::BadRange { from, to });
    }
    let history = out.history().await?;
    let committed = history.days();
    let (Some(first), Some(last)) = (committed.first().copied(), committed.last().copied()) else {
        return Err(EngineError::Usage(format!(
            "nothing is committed in {} yet: run segments first (segmint run --as-of D)",
            out.location.display
        )));
    };
    let from = options.from.unwrap_or(first);
    let to = options.to.unwrap_or(last);
    let days: Vec<NaiveDate> = committed
        .iter()
        .copied()
        .filter(|d| *d >= from && *d <= to)
        .collect();
    if days.is_empty() {
        return Err(EngineError::Usage(format!(
            "no committed run between {from} and {to}: the committed as-ofs are {first} .. {last}"
        )));
    }
    let segments = series::collect(checked, &history, &days, &options.segments)?;
    let names: Vec<String> = segments.iter().map(|s| s.name.clone()).collect();
    let (first_day, last_day) = (days[0], days[days.len() - 1]);
    let mut flows = Vec::new();
    for segment in segments.iter().filter(|s| s.tiers.is_some()) {
        if let Some(flow) = flows::between(out, segment, first_day, last_day).await? {
            flows.push(flow);
        }
    }
    let overlap_day = options.overlap_on.unwrap_or(last_day);
    if !days.contains(&overlap_day) {
        return Err(EngineError::Usage(format!(
            "--overlap-on {overlap_day} is not a committed as-of between {first_day} and {last_day}"
        )));
    }
    let overlap = overlap::on(out, overlap_day, &names).await?;
    let wanted: std::collections::BTreeSet<&str> = names.iter().map(String::as_str).collect();
    // The latest result of each (segment, goal, window), in the order first saved.
    let mut impact: Vec<SavedImpact> = Vec::new();
    for one in saved::read_all(out).await? {
        if !wanted.contains(one.report.segment.as_str()) {
            continue;
        }
        let key = |i: &SavedImpact| {
            (
                i.report.segment.clone(),
                i.report.goal.clone(),
                i.report.days,
            )
        };
        match impact.iter_mut().find(|i| key(i) == key(&one)) {
            Some(older) => *older = one,
            None => impact.push(one),
        }
    }
    Ok(ReportData {
        output: out.location.display.clone(),
        generated_at: chrono::Utc::now().format("%Y-%m-%d %H:%M UTC").to_string(),
        segmint_version: env!("CARGO_PKG_VERSION").to_string(),
        from: first_day.to_string(),
        to: last_day.to_string(),
        days: days.iter().map(NaiveDate::to_string).collect(),
        segments,
        flows,
        overlap,
        impact,
        fits: fits::latest_fits(out).await?,
    })
}
