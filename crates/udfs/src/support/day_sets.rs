//! Per-group sets of calendar days up to a fixed last day, for `cadence`.
//!
//! A group's days are a bitmap counted back from the last day — bit `o % 64` of word
//! `o / 64` stands for day `last − o` — while they lie within [`RECENT_WORDS`] × 64 days
//! of it: half a year of daily activity is three words, instead of a vector holding every
//! active day (8 bytes each) that grows by reallocation. A day further back (or after the
//! last day, which only a foreign state could bring) turns the group's set into a plain
//! vector of days, so any day an `i64` holds is kept exactly.

/// Days within this many 64-day words of the last day (about 180 years) stay in the bitmap.
const RECENT_WORDS: usize = 1024;

/// One group's days.
#[derive(Debug)]
pub(crate) enum DaySet {
    /// Bitmap of the days counted back from the last day (empty: no day yet).
    Recent(Vec<u64>),
    /// Any days, unsorted, possibly repeated (sorted and deduplicated when read).
    Any(Vec<i64>),
}

impl Default for DaySet {
    fn default() -> Self {
        Self::Recent(Vec::new())
    }
}

impl DaySet {
    /// Add `day`, with `last` the day the bitmap counts back from.
    pub(crate) fn insert(&mut self, day: i64, last: i64) {
        let recent = last
            .checked_sub(day)
            .and_then(|o| usize::try_from(o).ok())
            .filter(|o| o / 64 < RECENT_WORDS);
        match (&mut *self, recent) {
            (Self::Recent(words), Some(offset)) => {
                if words.len() <= offset / 64 {
                    words.resize(offset / 64 + 1, 0);
                }
                words[offset / 64] |= 1 << (offset % 64);
            }
            (Self::Any(days), _) => {
                if days.last() != Some(&day) {
                    days.push(day);
                }
            }
            (Self::Recent(_), None) => {
                let mut days = self.days(last);
                days.push(day);
                *self = Self::Any(days);
            }
        }
    }

    /// The days, ascending and distinct, read from the bitmap in place (`spare` holds them
    /// only for a set of far days, which must be sorted first).
    pub(crate) fn ascending<'a>(
        &'a self,
        last: i64,
        spare: &'a mut Vec<i64>,
    ) -> Box<dyn Iterator<Item = i64> + 'a> {
        match self {
            Self::Recent(words) => {
                Box::new(words.iter().enumerate().rev().flat_map(move |(k, word)| {
                    let mut bits = *word;
                    std::iter::from_fn(move || {
                        (bits != 0).then(|| {
                            let bit = 63 - bits.leading_zeros() as usize;
                            bits &= !(1 << bit);
                            last - (k * 64 + bit) as i64
                        })
                    })
                }))
            }
            Self::Any(_) => {
                *spare = self.days(last);
                Box::new(spare.iter().copied())
            }
        }
    }

    /// The days, ascending and distinct.
    pub(crate) fn days(&self, last: i64) -> Vec<i64> {
        match self {
            Self::Recent(words) => {
                let mut days =
                    Vec::with_capacity(words.iter().map(|w| w.count_ones() as usize).sum());
                days.extend(self.ascending(last, &mut Vec::new()));
                days
            }
            Self::Any(days) => {
                let mut days = days.clone();
                days.sort_unstable();
                days.dedup();
                days
            }
        }
    }

    /// Bytes this set holds on the heap.
    pub(crate) fn heap_bytes(&self) -> usize {
        match self {
            Self::Recent(words) => words.capacity() * std::mem::size_of::<u64>(),
            Self::Any(days) => days.capacity() * std::mem::size_of::<i64>(),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use proptest::prelude::*;

    use super::*;

    proptest! {
        #[test]
        fn holds_the_distinct_days_in_order_near_and_far(
            days in prop::collection::vec(
                prop_oneof![0i64..400, -100_000i64..100_000, Just(i64::MIN), Just(i64::MAX)],
                0..60,
            ),
            last in prop_oneof![Just(400i64), Just(0), Just(i64::MAX)],
        ) {
            let mut set = DaySet::default();
            for &day in &days {
                set.insert(day, last);
            }
            let expected: Vec<i64> = days.iter().copied().collect::<BTreeSet<_>>().into_iter().collect();
            let mut spare = Vec::new();
            prop_assert_eq!(set.ascending(last, &mut spare).collect::<Vec<_>>(), expected.clone());
            prop_assert_eq!(set.days(last), expected);
        }
    }

    #[test]
    fn half_a_year_of_days_fits_in_three_words() {
        let mut set = DaySet::default();
        for day in (1000 - 180..=1000).step_by(2) {
            set.insert(day, 1000);
        }
        assert!(matches!(&set, DaySet::Recent(words) if words.len() == 3));
        assert_eq!(set.days(1000).len(), 91);
        set.insert(1000 - 64 * 1024, 1000);
        assert!(matches!(set, DaySet::Any(_)));
        assert_eq!(set.days(1000).len(), 92);
        assert_eq!(set.days(1000)[0], 1000 - 64 * 1024);
    }
}
