//! Tiered segments: how many members moved from each tier to each other tier between two
//! as-ofs — and in from, or out to, not being a member at all.

use std::collections::HashMap;

use chrono::NaiveDate;
use datafusion::arrow::array::{Array, StringArray};
use segmint_engine::members::{ENTITY, TIER};
use segmint_engine::output::OutputTables;
use segmint_engine::{EngineError, Result};
use serde::Serialize;

use crate::series::SegmentSeries;

/// The name of the "not a member" row and column.
pub const OUTSIDE: &str = "(not a member)";

/// Member counts from tier to tier.
#[derive(Debug, Clone, Serialize)]
pub struct TierFlow {
    pub segment: String,
    pub from: String,
    pub to: String,
    /// The tiers in the spec's order, then [`OUTSIDE`].
    pub tiers: Vec<String>,
    /// `matrix[i][j]`: entities in `tiers[i]` at `from` and `tiers[j]` at `to`.
    pub matrix: Vec<Vec<u64>>,
}

/// entity → tier of a tiered segment's committed members at `day`.
async fn tiers_at(
    out: &OutputTables,
    segment: &str,
    day: NaiveDate,
) -> Result<HashMap<String, String>> {
    let mut map = HashMap::new();
    for batch in out.segment_rows(day, segment).await? {
        let column = |name: &str| {
            batch
                .column_by_name(name)
                .and_then(|c| c.as_any().downcast_ref::<StringArray>())
                .ok_or_else(|| EngineError::Internal(format!("`{name}` is not a text column")))
        };
        let (entities, tiers) = (column(ENTITY)?, column(TIER)?);
        for row in 0..batch.num_rows() {
            if entities.is_valid(row) && tiers.is_valid(row) {
                map.insert(
                    entities.value(row).to_string(),
                    tiers.value(row).to_string(),
                );
            }
        }
    }
    Ok(map)
}

/// The flows of `segment` from `from` to `to` (`None` when they are the same day).
pub async fn between(
    out: &OutputTables,
    segment: &SegmentSeries,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<Option<TierFlow>> {
    let Some(series) = &segment.tiers else {
        return Ok(None);
    };
    if from >= to {
        return Ok(None);
    }
    let before = tiers_at(out, &segment.name, from).await?;
    let after = tiers_at(out, &segment.name, to).await?;
    let mut tiers = series.names.clone();
    // Tiers committed but no longer in the spec still get a row.
    for t in before.values().chain(after.values()) {
        if !tiers.contains(t) {
            tiers.push(t.clone());
        }
    }
    tiers.push(OUTSIDE.to_string());
    let index: HashMap<&str, usize> = tiers
        .iter()
        .enumerate()
        .map(|(i, t)| (t.as_str(), i))
        .collect();
    let outside = tiers.len() - 1;
    let mut matrix = vec![vec![0u64; tiers.len()]; tiers.len()];
    let position = |tier: Option<&String>| tier.map_or(outside, |t| index[t.as_str()]);
    for (entity, tier) in &before {
        matrix[index[tier.as_str()]][position(after.get(entity))] += 1;
    }
    for (entity, tier) in &after {
        if !before.contains_key(entity) {
            matrix[outside][index[tier.as_str()]] += 1;
        }
    }
    Ok(Some(TierFlow {
        segment: segment.name.clone(),
        from: from.to_string(),
        to: to.to_string(),
        tiers,
        matrix,
    }))
}
