//! The identifier graph held in memory: identifiers (nodes) and the links between them
//! (edges), with when each was first and last seen, and the rules that turn raw connected
//! components into people.
//!
//! Everything here is plain Rust over one set of components: `identity build` runs it on the
//! components DataFusion found (only those that break a limit need the greedy pass), and
//! `identity update` on the components a new day touched.

use std::collections::HashMap;

use sha2::{Digest, Sha256};

/// One identifier: its type (priority rank) and value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Node {
    pub rank: u8,
    pub value: String,
    /// Event time (UTC µs) first and last seen; `None` for identifiers seen only in edge
    /// tables or profiles.
    pub first_seen: Option<i64>,
    pub last_seen: Option<i64>,
}

/// A link between two identifiers (node indices, `a` < `b` by (rank, value)).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Edge {
    pub a: u32,
    pub b: u32,
    pub first_seen: Option<i64>,
    pub last_seen: Option<i64>,
}

/// Why an edge was not merged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Dropped {
    /// The identifier type whose limit merging would have broken (rank).
    pub limit_rank: u8,
}

/// The stitching rules, by rank.
#[derive(Debug, Clone)]
pub struct Rules {
    /// Identifier type names, highest priority first.
    pub types: Vec<String>,
    /// The most values per person of each rank (`u32::MAX`: none).
    pub limits: Vec<u32>,
}

impl Rules {
    pub fn from_identity(identity: &segmint_spec::Identity) -> Rules {
        let limits = identity
            .identifiers
            .iter()
            .map(|t| identity.limit(t).unwrap_or(u32::MAX))
            .collect();
        Rules {
            types: identity.identifiers.clone(),
            limits,
        }
    }
}

/// The person id of a person anchored at identifier (`id_type`, `value`): `p_` and 16 hex
/// digits of SHA-256 of `type \x1f value`. Stable: it depends only on the anchor.
pub fn person_id(id_type: &str, value: &str) -> String {
    let mut hasher = Sha256::new();
    hasher.update(id_type.as_bytes());
    hasher.update([0x1f]);
    hasher.update(value.as_bytes());
    let digest = hasher.finalize();
    format!("p_{}", hex::encode(&digest[..8]))
}

/// Anchor order: seen first, then higher priority, then the smaller value.
fn anchor_key(n: &Node) -> (i64, u8, &str) {
    (n.first_seen.unwrap_or(i64::MAX), n.rank, n.value.as_str())
}

/// Merge order of edges: edges between higher-priority types first (by the lower priority of
/// the two ends, then the higher), then the earliest seen, then by value.
fn merge_key<'a>(nodes: &'a [Node], e: &Edge) -> (u8, u8, i64, u8, &'a str, u8, &'a str) {
    let (a, b) = (&nodes[e.a as usize], &nodes[e.b as usize]);
    (
        a.rank.max(b.rank),
        a.rank.min(b.rank),
        e.first_seen.unwrap_or(i64::MAX),
        a.rank,
        a.value.as_str(),
        b.rank,
        b.value.as_str(),
    )
}

/// The outcome of stitching a set of components.
#[derive(Debug, Clone)]
pub struct Stitched {
    /// Per node: the anchor node of its person.
    pub person: Vec<u32>,
    /// Per node: the anchor node of its raw component (all edges, limits ignored).
    pub component: Vec<u32>,
    /// Per edge: why it was not merged (`None`: merged).
    pub dropped: Vec<Option<Dropped>>,
}

/// A union-find over node indices (path halving, union by size).
pub struct UnionFind {
    parent: Vec<u32>,
    size: Vec<u32>,
}

impl UnionFind {
    pub fn new(n: usize) -> Self {
        UnionFind {
            parent: (0..n as u32).collect(),
            size: vec![1; n],
        }
    }

    pub fn find(&mut self, mut x: u32) -> u32 {
        while self.parent[x as usize] != x {
            let grand = self.parent[self.parent[x as usize] as usize];
            self.parent[x as usize] = grand;
            x = grand;
        }
        x
    }

    /// Join the sets of `a` and `b`; the new root.
    pub fn union(&mut self, a: u32, b: u32) -> u32 {
        let (ra, rb) = (self.find(a), self.find(b));
        if ra == rb {
            return ra;
        }
        let (big, small) = if self.size[ra as usize] >= self.size[rb as usize] {
            (ra, rb)
        } else {
            (rb, ra)
        };
        self.parent[small as usize] = big;
        self.size[big as usize] += self.size[small as usize];
        big
    }
}

/// Stitch `nodes` and `edges` into people. `raw`: each node's raw component label when
/// already known (from the distributed contraction: a node index per component); else found
/// here with a union-find.
pub fn stitch(nodes: &[Node], edges: &[Edge], raw: Option<&[u32]>, rules: &Rules) -> Stitched {
    let n = nodes.len();
    let raw: Vec<u32> = match raw {
        Some(labels) => labels.to_vec(),
        None => {
            let mut uf = UnionFind::new(n);
            for e in edges {
                uf.union(e.a, e.b);
            }
            (0..n as u32).map(|v| uf.find(v)).collect()
        }
    };
    // Components over a limit: counts per (limited type, component label).
    let mut violating: HashMap<u32, Vec<u32>> = HashMap::new();
    for (t, limit) in rules.limits.iter().enumerate() {
        if *limit == u32::MAX {
            continue;
        }
        let mut counts = vec![0u32; n];
        for (v, label) in raw.iter().enumerate() {
            if nodes[v].rank as usize == t {
                counts[*label as usize] += 1;
            }
        }
        for (label, c) in counts.iter().enumerate() {
            if c > limit {
                violating.entry(label as u32).or_default();
            }
        }
    }
    // Their nodes and edges.
    let mut members: HashMap<u32, Vec<u32>> = HashMap::new();
    if !violating.is_empty() {
        for (v, label) in raw.iter().enumerate() {
            if violating.contains_key(label) {
                members.entry(*label).or_default().push(v as u32);
            }
        }
        for (i, e) in edges.iter().enumerate() {
            if let Some(list) = violating.get_mut(&raw[e.a as usize]) {
                list.push(i as u32);
            }
        }
    }
    let mut person_root: Vec<u32> = raw.clone();
    let mut dropped = vec![None; edges.len()];
    let mut uf = UnionFind::new(n);
    let mut counts: HashMap<u32, Vec<u32>> = HashMap::new();
    for (label, mut list) in violating {
        list.sort_by(|x, y| {
            merge_key(nodes, &edges[*x as usize]).cmp(&merge_key(nodes, &edges[*y as usize]))
        });
        for v in &members[&label] {
            let mut c = vec![0u32; rules.types.len()];
            c[nodes[*v as usize].rank as usize] = 1;
            counts.insert(*v, c);
        }
        for i in list {
            let e = &edges[i as usize];
            let (ra, rb) = (uf.find(e.a), uf.find(e.b));
            if ra == rb {
                continue;
            }
            let (ca, cb) = (&counts[&ra], &counts[&rb]);
            let broken = (0..rules.types.len()).find(|t| ca[*t] + cb[*t] > rules.limits[*t]);
            if let Some(t) = broken {
                dropped[i as usize] = Some(Dropped {
                    limit_rank: t as u8,
                });
                continue;
            }
            let sum: Vec<u32> = ca.iter().zip(cb).map(|(x, y)| x + y).collect();
            let root = uf.union(ra, rb);
            counts.insert(root, sum);
        }
        for v in &members[&label] {
            person_root[*v as usize] = uf.find(*v);
        }
    }
    Stitched {
        person: anchors(nodes, &person_root),
        component: anchors(nodes, &raw),
        dropped,
    }
}

/// Per node, the anchor node of its group (`group[v]`, a node index, labels the groups).
fn anchors(nodes: &[Node], group: &[u32]) -> Vec<u32> {
    let mut best = vec![u32::MAX; nodes.len()];
    for (v, g) in group.iter().enumerate() {
        let b = &mut best[*g as usize];
        if *b == u32::MAX || anchor_key(&nodes[v]) < anchor_key(&nodes[*b as usize]) {
            *b = v as u32;
        }
    }
    group.iter().map(|g| best[*g as usize]).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(rank: u8, value: &str, t: i64) -> Node {
        Node {
            rank,
            value: value.into(),
            first_seen: Some(t),
            last_seen: Some(t),
        }
    }

    fn edge(a: u32, b: u32, t: i64) -> Edge {
        Edge {
            a,
            b,
            first_seen: Some(t),
            last_seen: Some(t),
        }
    }

    #[test]
    fn a_shared_device_does_not_merge_two_users() {
        // user 0 and user 1 both seen on device 2; user_id limit 1.
        let nodes = vec![node(0, "u0", 1), node(0, "u1", 2), node(1, "d", 0)];
        let edges = vec![edge(0, 2, 1), edge(1, 2, 2)];
        let rules = Rules {
            types: vec!["user_id".into(), "anonymous_id".into()],
            limits: vec![1, u32::MAX],
        };
        let s = stitch(&nodes, &edges, None, &rules);
        // The earlier edge is merged first; the later one would give a second user_id.
        assert_eq!(s.person[0], s.person[2]);
        assert_ne!(s.person[1], s.person[0]);
        assert_eq!(s.dropped, vec![None, Some(Dropped { limit_rank: 0 })]);
        // The device was seen first: it anchors user 0's person; the raw component is one.
        assert_eq!(s.person[0], 2);
        assert!(s.component.iter().all(|c| *c == 2));
    }

    #[test]
    fn person_ids_are_stable_hashes_of_the_anchor() {
        assert_eq!(person_id("user_id", "u1"), person_id("user_id", "u1"));
        assert_ne!(person_id("user_id", "u1"), person_id("anonymous_id", "u1"));
        assert_eq!(person_id("user_id", "u1").len(), 18);
    }
}
