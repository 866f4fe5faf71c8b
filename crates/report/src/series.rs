//! Per segment, per committed as-of: size, entered, exited, holdout members and tier
//! sizes — read from the `runs` table's summaries (the run that last wrote each as-of).

use std::collections::{BTreeMap, BTreeSet};

use chrono::NaiveDate;
use segmint_engine::output::History;
use segmint_engine::{EngineError, Result};
use segmint_spec::{Checked, SegmentBody};
use serde::Serialize;

/// One segment's numbers, aligned with the report's days (`None`: not committed that day).
#[derive(Debug, Clone, Serialize)]
pub struct SegmentSeries {
    pub name: String,
    pub description: String,
    /// The share held out, when the segment has a holdout group.
    pub holdout_share: Option<f64>,
    pub size: Vec<Option<u64>>,
    /// `None` also on a segment's first committed as-of (no previous run to compare).
    pub entered: Vec<Option<u64>>,
    pub exited: Vec<Option<u64>>,
    pub holdout: Vec<Option<u64>>,
    pub tiers: Option<TierSeries>,
}

/// A tiered segment's composition over time.
#[derive(Debug, Clone, Serialize)]
pub struct TierSeries {
    /// In the spec's order (first match wins), else by name.
    pub names: Vec<String>,
    /// `sizes[t][d]`: members of tier `t` on day `d`.
    pub sizes: Vec<Vec<Option<u64>>>,
}

/// The series of the selected segments (empty: every segment committed in the range), in
/// the order of the specs, then segments no longer in the specs by name.
pub fn collect(
    checked: &Checked,
    history: &History,
    days: &[NaiveDate],
    selected: &[String],
) -> Result<Vec<SegmentSeries>> {
    let per_day: Vec<_> = days.iter().map(|d| history.segments_at(*d)).collect();
    let committed: BTreeSet<&str> = per_day
        .iter()
        .flat_map(|m| m.keys().map(String::as_str))
        .collect();
    let known = |name: &str| checked.segments.iter().any(|s| s.name == name);
    for name in selected {
        if !committed.contains(name.as_str()) {
            return Err(if known(name) {
                EngineError::Usage(format!(
                    "segment `{name}` has no committed run between {} and {}: run it first",
                    days[0],
                    days[days.len() - 1]
                ))
            } else {
                EngineError::UnknownSegment(name.clone())
            });
        }
    }
    let mut order: Vec<&str> = checked
        .segments
        .iter()
        .map(|s| s.name.as_str())
        .filter(|n| committed.contains(n))
        .collect();
    order.extend(committed.iter().filter(|n| !known(n)));
    let wanted = |n: &str| selected.is_empty() || selected.iter().any(|s| s == n);
    let mut out = Vec::new();
    for name in order.into_iter().filter(|n| wanted(n)) {
        let spec = checked.segments.iter().find(|s| s.name == name);
        let summaries: Vec<_> = per_day.iter().map(|m| m.get(name).copied()).collect();
        let tiers = match spec.map(|s| &s.body) {
            Some(SegmentBody::Tiers(tiers)) => Some(tiers.iter().map(|t| t.name.clone()).collect()),
            _ => {
                let names: BTreeSet<String> = summaries
                    .iter()
                    .flatten()
                    .filter_map(|s| s.tiers.as_ref())
                    .flat_map(|t| t.keys().cloned())
                    .collect();
                (!names.is_empty()).then(|| names.into_iter().collect::<Vec<_>>())
            }
        };
        out.push(SegmentSeries {
            name: name.to_string(),
            description: spec.map_or_else(
                || "(no longer in the specs)".to_string(),
                |s| s.description.trim().to_string(),
            ),
            holdout_share: spec.and_then(|s| s.holdout).map(|h| h.fraction),
            size: summaries.iter().map(|s| s.map(|s| s.size)).collect(),
            entered: summaries
                .iter()
                .map(|s| s.and_then(|s| s.entered))
                .collect(),
            exited: summaries.iter().map(|s| s.and_then(|s| s.exited)).collect(),
            holdout: summaries
                .iter()
                .map(|s| s.and_then(|s| s.holdout))
                .collect(),
            tiers: tiers.map(|names: Vec<String>| TierSeries {
                sizes: names
                    .iter()
                    .map(|tier| {
                        summaries
                            .iter()
                            .map(|s| {
                                s.map(|s| {
                                    s.tiers
                                        .as_ref()
                                        .and_then(|t: &BTreeMap<String, u64>| t.get(tier))
                                        .copied()
                                        .unwrap_or(0)
                                })
                            })
                            .collect()
                    })
                    .collect(),
                names,
            }),
        });
    }
    Ok(out)
}
