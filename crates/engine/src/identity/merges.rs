//! Folding new observations into stored ones, and the merges a re-stitch implies: a person
//! of the previous map that no identifier carries any more went into the person its anchor
//! identifier belongs to now.

use std::collections::{BTreeMap, HashMap, HashSet};

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

/// Record a merge for each person of `before` (among `only` nodes, else all) that no node
/// carries any more: it went into the person its anchor identifier belongs to now.
pub(super) fn record_merges(
    before: &State,
    after: &mut State,
    only: Option<&[u32]>,
    as_of: NaiveDate,
) -> u64 {
    let nodes: Vec<u32> = match only {
        Some(list) => list.to_vec(),
        None => (0..after.nodes.len() as u32).collect(),
    };
    // Old people and their anchor (as they were), by node (type, value).
    let old_index: HashMap<(u8, &str), usize> = before
        .nodes
        .iter()
        .enumerate()
        .map(|(i, n)| ((n.rank, n.value.as_str()), i))
        .collect();
    let now: HashSet<&str> = nodes.iter().map(|g| &*after.person[*g as usize]).collect();
    let mut gone: BTreeMap<String, (i64, u8, String, String)> = BTreeMap::new();
    for g in &nodes {
        let n = &after.nodes[*g as usize];
        let Some(&old) = old_index.get(&(n.rank, n.value.as_str())) else {
            continue;
        };
        let old_person = &before.person[old];
        if old_person.is_empty() || now.contains(&**old_person) {
            continue;
        }
        let o = &before.nodes[old];
        let key = (
            o.first_seen.unwrap_or(i64::MAX),
            o.rank,
            o.value.clone(),
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
