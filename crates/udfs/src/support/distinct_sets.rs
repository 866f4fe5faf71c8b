//! Per-group sets of value ids, in one of two layouts:
//!
//! - **dense** while every id seen is below 256: each group owns `stride` 64-bit words of a
//!   single flat bitmap (one to four words), so an insert is one OR and a count is a
//!   popcount — no allocation per group. This covers what behavioral segments count: days
//!   in a window, features, topics, channels, categories.
//! - **sparse** past that: each group keeps a small vector of ids that becomes a hash set
//!   past 32 ids.
//!
//! The layout is chosen per accumulator and only ever moves from dense to sparse.

use datafusion::common::HashSet;
use datafusion::logical_expr::EmitTo;

/// Ids below this use the dense layout.
const DENSE_IDS: u32 = 256;
/// Past this many ids a sparse group's vector becomes a hash set.
const SMALL: usize = 32;

/// One sparse group's ids.
#[derive(Debug, Default, Clone)]
pub(crate) enum IdSet {
    #[default]
    Empty,
    Small(Vec<u32>),
    Large(HashSet<u32>),
}

impl IdSet {
    /// Insert; true if the id is new.
    fn insert(&mut self, id: u32) -> bool {
        match self {
            Self::Empty => {
                *self = Self::Small(vec![id]);
                true
            }
            Self::Small(ids) => {
                if ids.contains(&id) {
                    return false;
                }
                if ids.len() < SMALL {
                    ids.push(id);
                } else {
                    let mut set: HashSet<u32> = ids.drain(..).collect();
                    set.insert(id);
                    *self = Self::Large(set);
                }
                true
            }
            Self::Large(set) => set.insert(id),
        }
    }

    fn len(&self) -> usize {
        match self {
            Self::Empty => 0,
            Self::Small(ids) => ids.len(),
            Self::Large(set) => set.len(),
        }
    }

    fn ids(&self) -> Vec<u32> {
        match self {
            Self::Empty => Vec::new(),
            Self::Small(ids) => ids.clone(),
            Self::Large(set) => set.iter().copied().collect(),
        }
    }
}

/// The sets of every group.
#[derive(Debug)]
pub(crate) enum GroupSets {
    Dense { stride: usize, words: Vec<u64> },
    Sparse { sets: Vec<IdSet>, stored: usize },
}

impl Default for GroupSets {
    fn default() -> Self {
        Self::Dense {
            stride: 1,
            words: Vec::new(),
        }
    }
}

/// Sets taken out of a [`GroupSets`] (to evaluate or to emit as state).
pub(crate) struct Taken(GroupSets);

impl GroupSets {
    pub(crate) fn groups(&self) -> usize {
        match self {
            Self::Dense { stride, words } => words.len() / stride,
            Self::Sparse { sets, .. } => sets.len(),
        }
    }

    /// Make groups `0..n` exist.
    pub(crate) fn ensure_groups(&mut self, n: usize) {
        match self {
            Self::Dense { stride, words } => {
                if words.len() < n * *stride {
                    words.resize(n * *stride, 0);
                }
            }
            Self::Sparse { sets, .. } => {
                if sets.len() < n {
                    sets.resize_with(n, IdSet::default);
                }
            }
        }
    }

    /// Add `id` to `group`'s set.
    pub(crate) fn insert(&mut self, group: usize, id: u32) {
        if let Self::Dense { stride, words } = self {
            let word = (id / 64) as usize;
            if word < *stride {
                words[group * *stride + word] |= 1 << (id % 64);
                return;
            }
            self.widen(id);
        }
        match self {
            Self::Dense { stride, words } => {
                words[group * *stride + (id / 64) as usize] |= 1 << (id % 64);
            }
            Self::Sparse { sets, stored } => {
                if sets[group].insert(id) {
                    *stored += 1;
                }
            }
        }
    }

    /// Make room for `id`: a wider dense stride, or the sparse layout.
    fn widen(&mut self, id: u32) {
        let Self::Dense { stride, words } = self else {
            return;
        };
        let groups = words.len() / *stride;
        if id < DENSE_IDS {
            let wider = ((id / 64) as usize + 1).next_power_of_two();
            let mut widened = vec![0u64; groups * wider];
            for g in 0..groups {
                widened[g * wider..g * wider + *stride]
                    .copy_from_slice(&words[g * *stride..(g + 1) * *stride]);
            }
            *self = Self::Dense {
                stride: wider,
                words: widened,
            };
            return;
        }
        let dense = Taken(std::mem::take(self));
        let mut stored = 0;
        let sets = (0..groups)
            .map(|g| {
                let mut set = IdSet::default();
                for id in dense.ids(g) {
                    stored += usize::from(set.insert(id));
                }
                set
            })
            .collect();
        *self = Self::Sparse { sets, stored };
    }

    /// Take the first groups (or all), renumbering the rest from 0.
    pub(crate) fn take(&mut self, emit_to: EmitTo) -> Taken {
        Taken(match self {
            Self::Dense { stride, words } => {
                let n = match emit_to {
                    EmitTo::All => words.len(),
                    EmitTo::First(groups) => (groups * *stride).min(words.len()),
                };
                Self::Dense {
                    stride: *stride,
                    words: words.drain(..n).collect(),
                }
            }
            Self::Sparse { sets, stored } => {
                let taken = emit_to.take_needed(sets);
                *stored -= taken.iter().map(IdSet::len).sum::<usize>();
                Self::Sparse {
                    sets: taken,
                    stored: 0,
                }
            }
        })
    }

    /// Bytes held.
    pub(crate) fn size(&self) -> usize {
        match self {
            Self::Dense { words, .. } => words.capacity() * 8,
            Self::Sparse { sets, stored } => {
                sets.capacity() * std::mem::size_of::<IdSet>() + stored * 6
            }
        }
    }
}

impl Taken {
    pub(crate) fn groups(&self) -> usize {
        self.0.groups()
    }

    /// The number of ids in `group`'s set.
    pub(crate) fn count(&self, group: usize) -> usize {
        match &self.0 {
            GroupSets::Dense { stride, words } => words[group * stride..(group + 1) * stride]
                .iter()
                .map(|w| w.count_ones() as usize)
                .sum(),
            GroupSets::Sparse { sets, .. } => sets[group].len(),
        }
    }

    /// The ids in `group`'s set.
    pub(crate) fn ids(&self, group: usize) -> Vec<u32> {
        match &self.0 {
            GroupSets::Dense { stride, words } => {
                let mut ids = Vec::new();
                for (w, &word) in words[group * stride..(group + 1) * stride]
                    .iter()
                    .enumerate()
                {
                    let mut bits = word;
                    while bits != 0 {
                        ids.push(w as u32 * 64 + bits.trailing_zeros());
                        bits &= bits - 1;
                    }
                }
                ids
            }
            GroupSets::Sparse { sets, .. } => sets[group].ids(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn counts(sets: &mut GroupSets) -> Vec<usize> {
        let taken = sets.take(EmitTo::All);
        (0..taken.groups()).map(|g| taken.count(g)).collect()
    }

    #[test]
    fn dense_sets_widen_then_turn_sparse_without_losing_ids() {
        let mut sets = GroupSets::default();
        sets.ensure_groups(3);
        for id in [0, 5, 5, 63] {
            sets.insert(0, id);
        }
        sets.insert(1, 64); // a second word
        sets.insert(2, 200); // four words
        assert!(matches!(sets, GroupSets::Dense { stride: 4, .. }));
        sets.insert(1, 1000); // sparse
        assert!(matches!(sets, GroupSets::Sparse { .. }));
        sets.insert(0, 63);
        assert_eq!(counts(&mut sets), vec![3, 2, 1]);
    }

    #[test]
    fn taking_the_first_groups_renumbers_the_rest() {
        let mut sets = GroupSets::default();
        sets.ensure_groups(3);
        sets.insert(0, 1);
        sets.insert(2, 7);
        sets.insert(2, 8);
        let first = sets.take(EmitTo::First(2));
        assert_eq!((first.count(0), first.count(1)), (1, 0));
        let rest = sets.take(EmitTo::All);
        assert_eq!(rest.groups(), 1);
        assert_eq!(rest.ids(0), vec![7, 8]);
    }
}
