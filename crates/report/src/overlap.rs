//! Which segments share members on one as-of: shared counts and Jaccard indexes.
//!
//! Each member's list of segments is built once; every pair in a list counts — the cost
//! grows with the memberships of each entity (a handful), not with segments squared times
//! members.

use std::collections::{BTreeSet, HashMap};

use chrono::NaiveDate;
use segmint_engine::Result;
use segmint_engine::output::OutputTables;
use serde::Serialize;

/// The overlap of segments on one as-of.
#[derive(Debug, Clone, Serialize)]
pub struct Overlap {
    pub date: String,
    pub segments: Vec<String>,
    pub sizes: Vec<u64>,
    /// `shared[i][j]`: members of both (`shared[i][i]` is the size).
    pub shared: Vec<Vec<u64>>,
    /// `|A ∩ B| / |A ∪ B|` (1 on the diagonal, 0 when both are empty).
    pub jaccard: Vec<Vec<f64>>,
}

/// The overlap of `segments` (those committed on `day`) on `day`; `None` with fewer
/// than two.
pub async fn on(
    out: &OutputTables,
    day: NaiveDate,
    segments: &[String],
) -> Result<Option<Overlap>> {
    let wanted: BTreeSet<String> = segments.iter().cloned().collect();
    let members = out.members_at(day, Some(&wanted)).await?;
    let names: Vec<String> = segments
        .iter()
        .filter(|s| members.contains_key(*s))
        .cloned()
        .collect();
    if names.len() < 2 {
        return Ok(None);
    }
    let mut of_entity: HashMap<&str, Vec<usize>> = HashMap::new();
    for (i, name) in names.iter().enumerate() {
        for entity in &members[name] {
            of_entity.entry(entity.as_str()).or_default().push(i);
        }
    }
    let n = names.len();
    let mut shared = vec![vec![0u64; n]; n];
    for list in of_entity.values() {
        for &a in list {
            for &b in list {
                shared[a][b] += 1;
            }
        }
    }
    let sizes: Vec<u64> = (0..n).map(|i| shared[i][i]).collect();
    let jaccard = (0..n)
        .map(|i| {
            (0..n)
                .map(|j| {
                    let union = sizes[i] + sizes[j] - shared[i][j];
                    if union == 0 {
                        0.0
                    } else {
                        shared[i][j] as f64 / union as f64
                    }
                })
                .collect()
        })
        .collect();
    Ok(Some(Overlap {
        date: day.to_string(),
        segments: names,
        sizes,
        shared,
        jaccard,
    }))
}
