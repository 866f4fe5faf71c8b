//! Folding new observations into stored ones, and the merges a re-stitch implies: a person
//! of the previous map that no identifier carries any more went into the person its anchor
//! identifier belongs to now.

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;

use chrono::NaiveDate;

use super::table::{Merge, State};

pub(super) fn min_opt(a: Option<i64>, b: Option<i64>) -> Option<i64> {
    match (a, b) {
        (Some(x), Some(y)) => Some(x.min(y)),
        (x, None) | (None, x) => x,
    }
}

pub(super) fn max_opt(a: Option<i64>, b: Option<i64>) -> Option<i64> {
    match (a, b) {
        (Some(x), Some(y)) => Some(x.max(y)),
        (x, None) | (None, x) => x,
    }
}

/// Record a merge for each earlier person that no node carries any more: it went into the
/// person its anchor identifier (the earliest seen of its identifiers, then priority, then
/// value) belongs to now. `nodes` are the nodes of `after` that may have changed person and
/// `old[i]` the person `nodes[i]` had before (`None`: a new identifier).
pub(super) fn record_merges(
    after: &mut State,
    nodes: &[u32],
    old: &[Option<Arc<str>>],
    as_of: NaiveDate,
) -> u64 {
    let now: HashSet<&str> = nodes.iter().map(|g| &*after.person[*g as usize]).collect();
    let mut gone: BTreeMap<String, (i64, u8, String, String)> = BTreeMap::new();
    for (g, old_person) in nodes.iter().zip(old) {
        let Some(old_person) = old_person else {
            continue;
        };
        if old_person.is_empty() || now.contains(&**old_person) {
            continue;
        }
        let n = &after.nodes[*g as usize];
        let key = (
            n.first_seen.unwrap_or(i64::MAX),
            n.rank,
            n.value.clone(),
            after.person[*g as usize].to_string(),
        );
        gone.entry(old_person.to_string())
            .and_modify(|k| {
                if (key.0, key.1, &key.2) < (k.0, k.1, &k.2) {
                    *k = key.clone();
                }
            })
            .or_insert(key);
    }
    let count = gone.len() as u64;
    for (merged, (_, _, _, into)) in gone {
        after.merges.push(Merge {
            as_of,
            merged,
            into,
        });
    }
    count
}
