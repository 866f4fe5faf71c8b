//! A reference identity resolution in plain Rust over the raw rows of a generated lake, for
//! checking `segmint identity`: one global union-find that merges every edge in the
//! documented order unless a per-person limit would break, then names each person after its
//! anchor (seen first, then higher priority, then smaller value). Written from
//! `docs/identity.md`, not from the engine's code.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use arrow::array::{Array, AsArray};
use arrow::datatypes::TimestampMicrosecondType;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use sha2::{Digest, Sha256};

/// An identifier: (priority rank, value).
pub type Id = (usize, String);

/// The reference map.
#[derive(Debug, Default)]
pub struct Reference {
    /// Identifier → person id.
    pub person: BTreeMap<Id, String>,
    /// Edges not merged: `(a, b)` → the type whose limit they would break.
    pub dropped: BTreeMap<(Id, Id), String>,
}

/// Rules: identifier types in priority order, limits per type, blocked patterns.
pub struct Rules {
    pub types: Vec<String>,
    pub limits: Vec<Option<usize>>,
    pub blocked: Vec<regex::Regex>,
}

impl Rules {
    fn usable(&self, value: &str) -> bool {
        !self.blocked.iter().any(|r| r.is_match(value))
    }
}

fn person_id(t: &str, v: &str) -> String {
    let mut h = Sha256::new();
    h.update(t.as_bytes());
    h.update([0x1f]);
    h.update(v.as_bytes());
    format!("p_{}", hex::encode(&h.finalize()[..8]))
}

fn parquet_files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            parquet_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "parquet") {
            out.push(path);
        }
    }
}

/// Every record batch of one Parquet file.
fn batches(file: &Path) -> Vec<arrow::array::RecordBatch> {
    ParquetRecordBatchReaderBuilder::try_new(std::fs::File::open(file).unwrap())
        .unwrap()
        .build()
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

/// The identifiers of one event row that count, in priority order.
pub fn row_ids(rules: &Rules, values: &[Option<&str>]) -> Vec<Id> {
    values
        .iter()
        .enumerate()
        .filter_map(|(r, v)| v.filter(|v| rules.usable(v)).map(|v| (r, v.to_string())))
        .collect()
}

/// Resolve a generated lake's events (before `end_us`) and profiles.
pub fn resolve(lake: &Path, rules: &Rules, end_us: i64) -> Reference {
    let mut first: HashMap<Id, Option<i64>> = HashMap::new();
    let mut edges: HashMap<(Id, Id), i64> = HashMap::new();
    let mut files = Vec::new();
    parquet_files(&lake.join("events"), &mut files);
    for b in files.iter().flat_map(|f| batches(f)) {
        let ts = b
            .column_by_name("event_time")
            .unwrap()
            .as_primitive::<TimestampMicrosecondType>();
        let cols: Vec<_> = rules
            .types
            .iter()
            .map(|t| b.column_by_name(t).unwrap().as_string::<i32>().clone())
            .collect();
        for i in 0..b.num_rows() {
            let t = ts.value(i);
            if t >= end_us {
                continue;
            }
            let values: Vec<Option<&str>> = cols
                .iter()
                .map(|c| c.is_valid(i).then(|| c.value(i)))
                .collect();
            let ids = row_ids(rules, &values);
            for id in &ids {
                let slot = first.entry(id.clone()).or_insert(Some(t));
                *slot = Some(slot.map_or(t, |s| s.min(t)));
            }
            for x in 0..ids.len() {
                for y in x + 1..ids.len() {
                    let e = edges.entry((ids[x].clone(), ids[y].clone())).or_insert(t);
                    *e = (*e).min(t);
                }
            }
        }
    }
    // Profiles' user ids are identifiers too (never seen at an event time).
    let mut files = Vec::new();
    parquet_files(&lake.join("profiles"), &mut files);
    for b in files.iter().flat_map(|f| batches(f)) {
        let users = b.column_by_name("user_id").unwrap().as_string::<i32>();
        for i in 0..b.num_rows() {
            if rules.usable(users.value(i)) {
                first.entry((0, users.value(i).to_string())).or_insert(None);
            }
        }
    }
    // Union-find over identifiers, merging edges in the documented order.
    let ids: Vec<Id> = first.keys().cloned().collect();
    let index: HashMap<&Id, usize> = ids.iter().enumerate().map(|(i, id)| (id, i)).collect();
    let mut parent: Vec<usize> = (0..ids.len()).collect();
    let mut counts: Vec<Vec<usize>> = ids
        .iter()
        .map(|(r, _)| {
            let mut c = vec![0; rules.types.len()];
            c[*r] = 1;
            c
        })
        .collect();
    fn find(parent: &mut [usize], mut x: usize) -> usize {
        while parent[x] != x {
            parent[x] = parent[parent[x]];
            x = parent[x];
        }
        x
    }
    let mut ordered: Vec<(&(Id, Id), &i64)> = edges.iter().collect();
    ordered.sort_by(|(a, ta), (b, tb)| {
        let key = |(x, y): &(Id, Id), t: i64| {
            (
                x.0.max(y.0),
                x.0.min(y.0),
                t,
                x.0,
                x.1.clone(),
                y.0,
                y.1.clone(),
            )
        };
        key(a, **ta).cmp(&key(b, **tb))
    });
    let mut reference = Reference::default();
    for ((a, b), _) in ordered {
        let (ra, rb) = (find(&mut parent, index[a]), find(&mut parent, index[b]));
        if ra == rb {
            continue;
        }
        let over = (0..rules.types.len())
            .find(|t| rules.limits[*t].is_some_and(|l| counts[ra][*t] + counts[rb][*t] > l));
        if let Some(t) = over {
            reference
                .dropped
                .insert((a.clone(), b.clone()), format!("limit:{}", rules.types[t]));
            continue;
        }
        parent[rb] = ra;
        let sum: Vec<usize> = counts[ra]
            .iter()
            .zip(&counts[rb])
            .map(|(x, y)| x + y)
            .collect();
        counts[ra] = sum;
    }
    // Anchors: seen first, then higher priority, then the smaller value.
    let mut anchor: HashMap<usize, &Id> = HashMap::new();
    for id in &ids {
        let root = find(&mut parent, index[id]);
        let key = |x: &Id| (first[x].unwrap_or(i64::MAX), x.0, x.1.clone());
        anchor
            .entry(root)
            .and_modify(|best| {
                if key(id) < key(best) {
                    *best = id;
                }
            })
            .or_insert(id);
    }
    for id in &ids {
        let root = find(&mut parent, index[id]);
        let (r, v) = anchor[&root];
        reference
            .person
            .insert(id.clone(), person_id(&rules.types[*r], v));
    }
    reference
}

/// The person an event row belongs to: that of its first usable identifier.
pub fn person_of(reference: &Reference, rules: &Rules, values: &[Option<&str>]) -> Option<String> {
    row_ids(rules, values)
        .first()
        .and_then(|id| reference.person.get(id).cloned())
}
