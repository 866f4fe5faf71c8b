//! Per-group sets of calendar days up to a fixed last day, for `cadence`.
//!
//! A group's days are a bitmap counted back from the last day — bit `o % 64` of word
//! `o / 64` stands for day `last − o` — while they lie within [`RECENT_WORDS`] × 64 days
//! of it: half a year of daily activity is three words, instead of a vector holding every
//! active day (8 bytes each) that grows by reallocation. A day further back (or after the
//! last day, which only a foreign state could bring) turns the group's set into a plain
//! vector of days, so any day an `i64` holds is kept exactly.
//!
//! A set's state (what partial aggregation ships and the incremental summaries store) is
//! bytes, not a list of days: `0`, the base day (`i64`, little-endian), then the bitmap's
//! non-zero span of words counted back from it — 17 or 25 bytes for a month of activity instead
//! of a list with repetition levels to decode — or, for a set of far days, `1` and the days
//! ascending. Merging a bitmap state ORs its words in, shifted to this set's last day.

/// Days within this many 64-day words of the last day (about 180 years) stay in the bitmap.
const RECENT_WORDS: usize = 1024;

/// State bytes: a base day and the words counted back from it.
const BITMAP: u8 = 0;
/// State bytes: days, ascending.
const DAYS: u8 = 1;

/// The 64-bit words of little-endian state bytes (`None`: not a whole number of them).
fn le_words(bytes: &[u8]) -> Option<impl Iterator<Item = u64> + '_> {
    bytes.len().is_multiple_of(8).then(|| {
        bytes.chunks_exact(8).map(|c| {
            let mut word = [0u8; 8];
            word.copy_from_slice(c);
            u64::from_le_bytes(word)
        })
    })
}

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

    /// Append this set's state bytes (`last`: the day the bitmap counts back from); an empty
    /// set appends none.
    pub(crate) fn encode(&self, last: i64, out: &mut Vec<u8>) {
        match self {
            Self::Recent(words) => {
                let Some(first) = words.iter().position(|w| *w != 0) else {
                    return;
                };
                let end = words.iter().rposition(|w| *w != 0).map_or(first, |i| i + 1);
                // `first` < RECENT_WORDS, so the base only overflows for a `last` near
                // `i64::MIN`: such a set is written as its days.
                let Some(base) = last.checked_sub(64 * first as i64) else {
                    Self::Any(self.days(last)).encode(last, out);
                    return;
                };
                out.reserve(9 + 8 * (end - first));
                out.push(BITMAP);
                out.extend_from_slice(&base.to_le_bytes());
                for word in &words[first..end] {
                    out.extend_from_slice(&word.to_le_bytes());
                }
            }
            Self::Any(_) => {
                out.push(DAYS);
                for day in self.days(last) {
                    out.extend_from_slice(&day.to_le_bytes());
                }
            }
        }
    }

    /// The state bytes of a set of one day.
    pub(crate) fn encode_day(day: i64, out: &mut Vec<u8>) {
        out.push(BITMAP);
        out.extend_from_slice(&day.to_le_bytes());
        out.extend_from_slice(&1u64.to_le_bytes());
    }

    /// Add the days of state bytes made by [`Self::encode`] (`last`: this set's last day).
    /// `Err`: the bytes are not such a state.
    pub(crate) fn merge_encoded(&mut self, bytes: &[u8], last: i64) -> Result<(), &'static str> {
        let Some((&tag, rest)) = bytes.split_first() else {
            return Ok(());
        };
        match tag {
            BITMAP => {
                let Some((base, words)) = rest
                    .split_first_chunk::<8>()
                    .and_then(|(base, words)| Some((i64::from_le_bytes(*base), le_words(words)?)))
                else {
                    return Err("a day bitmap state of the wrong length");
                };
                let count = (rest.len() - 8) / 8;
                // Fast path: the state's days all land in this set's bitmap, `shift` bits
                // further back than in the state's own.
                let shift = last.checked_sub(base).and_then(|s| usize::try_from(s).ok());
                if let (Self::Recent(dest), Some(shift)) = (&mut *self, shift)
                    && shift
                        .checked_add(64 * count)
                        .is_some_and(|bits| bits <= 64 * RECENT_WORDS)
                {
                    let (at, bit) = (shift / 64, shift % 64);
                    let mut or = |index: usize, bits: u64| {
                        if bits != 0 {
                            if dest.len() <= index {
                                dest.resize(index + 1, 0);
                            }
                            dest[index] |= bits;
                        }
                    };
                    for (k, word) in words.enumerate() {
                        or(at + k, word << bit);
                        if bit > 0 {
                            or(at + k + 1, word >> (64 - bit));
                        }
                    }
                    return Ok(());
                }
                for (k, mut word) in words.enumerate() {
                    while word != 0 {
                        let offset = 64 * k as i64 + i64::from(word.trailing_zeros());
                        word &= word - 1;
                        let day = base
                            .checked_sub(offset)
                            .ok_or("a day bitmap state past the first day")?;
                        self.insert(day, last);
                    }
                }
                Ok(())
            }
            DAYS => {
                for day in le_words(rest).ok_or("a day list state of the wrong length")? {
                    self.insert(day as i64, last);
                }
                Ok(())
            }
            _ => Err("not a day set state"),
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

    proptest! {
        #[test]
        fn state_bytes_merge_back_to_the_same_days_from_any_last_day(
            days in prop::collection::vec(
                prop_oneof![0i64..400, -100_000i64..100_000, Just(i64::MIN), Just(i64::MAX)],
                0..60,
            ),
            before in prop::collection::vec(0i64..400, 0..10),
            last in prop_oneof![Just(400i64), Just(0), Just(i64::MAX), Just(i64::MIN + 5)],
            merged_last in prop_oneof![Just(400i64), Just(467), Just(0), Just(70_000), Just(i64::MAX)],
        ) {
            let mut set = DaySet::default();
            for &day in &days {
                set.insert(day, last);
            }
            let mut bytes = Vec::new();
            set.encode(last, &mut bytes);
            let mut merged = DaySet::default();
            for &day in &before {
                merged.insert(day, merged_last);
            }
            merged.merge_encoded(&bytes, merged_last).map_err(TestCaseError::fail)?;
            let expected: Vec<i64> = days
                .iter()
                .chain(&before)
                .copied()
                .collect::<BTreeSet<_>>()
                .into_iter()
                .collect();
            prop_assert_eq!(merged.days(merged_last), expected);
            for &day in &days {
                let mut one = Vec::new();
                DaySet::encode_day(day, &mut one);
                let mut single = DaySet::default();
                single.merge_encoded(&one, merged_last).map_err(TestCaseError::fail)?;
                prop_assert_eq!(single.days(merged_last), vec![day]);
            }
        }
    }

    #[test]
    fn a_month_of_days_is_a_few_state_bytes_and_bad_bytes_are_refused() {
        let mut set = DaySet::default();
        for day in 970..=1000 {
            set.insert(day, 1000);
        }
        let mut bytes = Vec::new();
        set.encode(1000, &mut bytes);
        assert_eq!(bytes.len(), 17);
        let mut empty = Vec::new();
        DaySet::default().encode(1000, &mut empty);
        assert!(empty.is_empty());
        let mut merged = DaySet::default();
        assert!(merged.merge_encoded(&bytes[..12], 1000).is_err());
        assert!(merged.merge_encoded(&[7, 0, 0], 1000).is_err());
        assert!(merged.merge_encoded(&[], 1000).is_ok());
        assert!(merged.days(1000).is_empty());
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
