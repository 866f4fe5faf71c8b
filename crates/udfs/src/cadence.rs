//! `cadence(ts, as_of)`: the rhythm of each group's activity, in days — how often they
//! come, how steadily, and how long since they last came.
//!
//! This is how a healthy weekly user is told apart from a daily user who is fading: not
//! by how much they do, but by their gaps compared with their own usual gap.
//!
//! # Arguments
//! - `ts`: the event time (any timestamp unit, `DATE` or integer seconds). Days are the
//!   value's calendar days (UTC for zoned timestamps; pass `to_local_time(ts)` for local
//!   days).
//! - `as_of`: a constant timestamp or date; events on later days are ignored.
//!
//! # Result
//! `STRUCT<active_days BIGINT, median_gap_days DOUBLE, current_gap_days BIGINT,
//! regularity DOUBLE, last_gap_days BIGINT>`:
//! - `active_days`: distinct days with an event, up to `as_of`'s day.
//! - `median_gap_days`: median of the gaps between consecutive active days (NULL with fewer
//!   than 2 active days).
//! - `current_gap_days`: `as_of`'s day minus the last active day (NULL with no active day).
//! - `regularity`: coefficient of variation (population standard deviation / mean) of the
//!   gaps; 0 is a perfectly steady rhythm (NULL with fewer than 2 gaps).
//! - `last_gap_days`: the gap before the last active day (NULL with fewer than 2 active
//!   days) — a long one means the entity just came back.
//!
//! # Example
//! ```sql
//! SELECT user_id, c.current_gap_days > 3 * c.median_gap_days AS fading
//! FROM (SELECT user_id, cadence(event_time, TIMESTAMP '2026-11-22 23:59:59') AS c
//!       FROM events GROUP BY user_id);
//! ```

use std::sync::Arc;

use datafusion::arrow::array::{
    Array, ArrayRef, AsArray, BooleanArray, Float64Array, Int64Array, StructArray,
};
use datafusion::arrow::datatypes::{DataType, Field, FieldRef, Fields};
use datafusion::common::{Result, internal_err, plan_err};
use datafusion::logical_expr::function::{AccumulatorArgs, StateFieldsArgs};
use datafusion::logical_expr::{EmitTo, GroupsAccumulator};

use crate::support::aggregate::{AggregateFunction, GroupedAggregate};
use crate::support::args::physical_literal;
use crate::support::byte_states::byte_states;
use crate::support::day_sets::DaySet;
use crate::support::single_group::{Factory, GroupStore};
use crate::support::time::{TimeScale, for_each_kept_time, kept_times};

const NAME: &str = "cadence";

/// The `cadence` aggregate.
pub type Cadence = GroupedAggregate<CadenceFunction>;

/// What `cadence` takes, returns and keeps per group.
#[derive(Debug)]
pub struct CadenceFunction;

fn result_fields() -> Fields {
    Fields::from(vec![
        Field::new("active_days", DataType::Int64, false),
        Field::new("median_gap_days", DataType::Float64, true),
        Field::new("current_gap_days", DataType::Int64, true),
        Field::new("regularity", DataType::Float64, true),
        Field::new("last_gap_days", DataType::Int64, true),
    ])
}

/// One group's rhythm.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Rhythm {
    pub(crate) active_days: i64,
    pub(crate) median_gap_days: Option<f64>,
    pub(crate) last_gap_days: Option<i64>,
    pub(crate) current_gap_days: Option<i64>,
    pub(crate) regularity: Option<f64>,
}

/// The rhythm of sorted, distinct active days, seen from `as_of_day`.
#[cfg(test)]
pub(crate) fn rhythm(days: &[i64], as_of_day: i64) -> Rhythm {
    let mut gaps = Vec::new();
    rhythm_of(days.iter().copied(), as_of_day, &mut gaps)
}

/// The rhythm of active days given in ascending order without repeats, seen from
/// `as_of_day`; `gaps` is scratch space, reused from group to group.
pub(crate) fn rhythm_of(
    days: impl Iterator<Item = i64>,
    as_of_day: i64,
    gaps: &mut Vec<f64>,
) -> Rhythm {
    gaps.clear();
    let (mut active_days, mut last, mut last_gap_days) = (0, None, None);
    for day in days {
        if let Some(previous) = last {
            let gap = day - previous;
            gaps.push(gap as f64);
            last_gap_days = Some(gap);
        }
        last = Some(day);
        active_days += 1;
    }
    // Mean and variance in the days' order, then the median of the gaps: the middle one
    // selected in place (no sort), and for an even count the largest below it.
    let regularity = (gaps.len() >= 2).then(|| {
        let mean = gaps.iter().sum::<f64>() / gaps.len() as f64;
        let variance = gaps.iter().map(|g| (g - mean).powi(2)).sum::<f64>() / gaps.len() as f64;
        variance.sqrt() / mean
    });
    let median_gap_days = (!gaps.is_empty()).then(|| {
        let (mid, even) = (gaps.len() / 2, gaps.len().is_multiple_of(2));
        let (below, middle, _) = gaps.select_nth_unstable_by(mid, f64::total_cmp);
        let middle = *middle;
        if even {
            let lower = below.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            (lower + middle) / 2.0
        } else {
            middle
        }
    });
    Rhythm {
        active_days,
        median_gap_days,
        current_gap_days: last.map(|last| as_of_day - last),
        regularity,
        last_gap_days,
    }
}

/// Distinct active days per group, as bitmaps counted back from `as_of`'s day.
#[derive(Debug)]
pub struct CadenceGroups {
    scale: TimeScale,
    as_of_day: i64,
    days: Vec<DaySet>,
    /// Bytes the groups' day sets hold on the heap.
    heap: usize,
}

impl CadenceGroups {
    /// `change` applied to a group's day set (with the as-of's day), the heap kept counted.
    fn change<R>(&mut self, group: usize, change: impl FnOnce(&mut DaySet, i64) -> R) -> R {
        let days = &mut self.days[group];
        let before = days.heap_bytes();
        let changed = change(days, self.as_of_day);
        self.heap = self.heap + days.heap_bytes() - before;
        changed
    }

    fn push(&mut self, group: usize, day: i64) {
        self.change(group, |days, last| days.insert(day, last));
    }

    fn row_days(
        &self,
        values: &[ArrayRef],
        opt_filter: Option<&BooleanArray>,
    ) -> Result<Vec<Option<i64>>> {
        Ok(kept_times(NAME, values, opt_filter)?
            .into_iter()
            .map(|time| {
                time.map(|t| self.scale.day_of(t))
                    .filter(|day| *day <= self.as_of_day)
            })
            .collect())
    }

    /// The day sets of the groups `emit_to` asks for, removed.
    fn take(&mut self, emit_to: EmitTo) -> Vec<DaySet> {
        let taken = emit_to.take_needed(&mut self.days);
        self.heap -= taken.iter().map(DaySet::heap_bytes).sum::<usize>();
        taken
    }
}

impl GroupsAccumulator for CadenceGroups {
    fn update_batch(
        &mut self,
        values: &[ArrayRef],
        group_indices: &[usize],
        opt_filter: Option<&BooleanArray>,
        total_num_groups: usize,
    ) -> Result<()> {
        self.ensure_groups(total_num_groups);
        let (scale, as_of_day) = (self.scale, self.as_of_day);
        for_each_kept_time(NAME, values, opt_filter, |row, time| {
            let day = scale.day_of(time);
            if day <= as_of_day {
                self.push(group_indices[row], day);
            }
        })
    }

    fn evaluate(&mut self, emit_to: EmitTo) -> Result<ArrayRef> {
        let as_of_day = self.as_of_day;
        let mut gaps = Vec::new();
        let mut spare = Vec::new();
        let rhythms: Vec<Rhythm> = self
            .take(emit_to)
            .iter()
            .map(|days| rhythm_of(days.ascending(as_of_day, &mut spare), as_of_day, &mut gaps))
            .collect();
        Ok(Arc::new(StructArray::try_new(
            result_fields(),
            vec![
                Arc::new(Int64Array::from_iter_values(
                    rhythms.iter().map(|r| r.active_days),
                )),
                Arc::new(Float64Array::from_iter(
                    rhythms.iter().map(|r| r.median_gap_days),
                )),
                Arc::new(Int64Array::from_iter(
                    rhythms.iter().map(|r| r.current_gap_days),
                )),
                Arc::new(Float64Array::from_iter(
                    rhythms.iter().map(|r| r.regularity),
                )),
                Arc::new(Int64Array::from_iter(
                    rhythms.iter().map(|r| r.last_gap_days),
                )),
            ],
            None,
        )?))
    }

    fn state(&mut self, emit_to: EmitTo) -> Result<Vec<ArrayRef>> {
        let as_of_day = self.as_of_day;
        let sets = self.take(emit_to);
        Ok(vec![byte_states(
            NAME,
            "day bitmaps",
            sets.len(),
            |i, out| sets[i].encode(as_of_day, out),
        )?])
    }

    fn merge_batch(
        &mut self,
        values: &[ArrayRef],
        group_indices: &[usize],
        total_num_groups: usize,
    ) -> Result<()> {
        self.ensure_groups(total_num_groups);
        let Some(states) = values.first().and_then(|a| a.as_binary_opt::<i32>()) else {
            return internal_err!("{NAME}: the state is not day bitmaps");
        };
        for (row, &group) in group_indices.iter().enumerate() {
            if states.is_null(row) {
                continue;
            }
            let state = states.value(row);
            if let Err(e) = self.change(group, |days, last| days.merge_encoded(state, last)) {
                return internal_err!("{NAME}: {e}");
            }
        }
        Ok(())
    }

    fn convert_to_state(
        &self,
        values: &[ArrayRef],
        opt_filter: Option<&BooleanArray>,
    ) -> Result<Vec<ArrayRef>> {
        let days = self.row_days(values, opt_filter)?;
        Ok(vec![byte_states(
            NAME,
            "day bitmaps",
            days.len(),
            |i, out| {
                if let Some(day) = days[i] {
                    DaySet::encode_day(day, out);
                }
            },
        )?])
    }

    fn size(&self) -> usize {
        std::mem::size_of_val(self)
            + self.days.capacity() * std::mem::size_of::<DaySet>()
            + self.heap
    }
}

impl GroupStore for CadenceGroups {
    fn ensure_groups(&mut self, n: usize) {
        if self.days.len() < n {
            self.days.resize_with(n, DaySet::default);
        }
    }
}

impl AggregateFunction for CadenceFunction {
    const NAME: &'static str = NAME;
    type Groups = CadenceGroups;

    fn coerce_types(arg_types: &[DataType]) -> Result<Vec<DataType>> {
        let [time, as_of] = arg_types else {
            return plan_err!(
                "{NAME} takes (ts, as_of), got {} arguments",
                arg_types.len()
            );
        };
        TimeScale::of(NAME, 1, time)?;
        if !TimeScale::accepts(as_of) {
            return plan_err!(
                "{NAME}: argument 2 (as_of) must be a TIMESTAMP, DATE or integer, got {as_of}"
            );
        }
        Ok(arg_types.to_vec())
    }

    fn return_type(_arg_types: &[DataType]) -> Result<DataType> {
        Ok(DataType::Struct(result_fields()))
    }

    fn state_fields(args: &StateFieldsArgs) -> Result<Vec<FieldRef>> {
        Ok(vec![Arc::new(Field::new(
            format!("{}[days]", args.name),
            DataType::Binary,
            true,
        ))])
    }

    fn groups(args: &AccumulatorArgs) -> Result<Factory<CadenceGroups>> {
        let Some(time_field) = args.expr_fields.first() else {
            return plan_err!("{NAME}: missing the time argument");
        };
        let scale = TimeScale::of(NAME, 1, time_field.data_type())?;
        let as_of = physical_literal(NAME, args.exprs, 1, "as_of")?;
        let as_of_day = scale.day_of(scale.instant(NAME, "as_of", &as_of)?);
        Ok(Box::new(move || CadenceGroups {
            scale,
            as_of_day,
            days: Vec::new(),
            heap: 0,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weekly_rhythm_is_regular() {
        let r = rhythm(&[0, 7, 14, 21], 23);
        assert_eq!(r.active_days, 4);
        assert_eq!(r.median_gap_days, Some(7.0));
        assert_eq!(r.current_gap_days, Some(2));
        assert_eq!(r.regularity, Some(0.0));
        let none = rhythm(&[], 5);
        assert_eq!(
            (
                none.active_days,
                none.current_gap_days,
                none.median_gap_days
            ),
            (0, None, None)
        );
    }

    proptest::proptest! {
        /// The median selected in place is the median of the sorted gaps, for odd and even
        /// counts, repeats included.
        #[test]
        fn the_median_gap_is_that_of_the_sorted_gaps(
            steps in proptest::collection::vec(1i64..40, 1..60),
        ) {
            let days: Vec<i64> = steps.iter().scan(0, |day, step| { *day += step; Some(*day) }).collect();
            let mut sorted: Vec<f64> = days.windows(2).map(|w| (w[1] - w[0]) as f64).collect();
            sorted.sort_by(f64::total_cmp);
            let expected = (!sorted.is_empty()).then(|| {
                let mid = sorted.len() / 2;
                if sorted.len() % 2 == 1 { sorted[mid] } else { (sorted[mid - 1] + sorted[mid]) / 2.0 }
            });
            let last = days.last().copied().unwrap_or(0);
            proptest::prop_assert_eq!(rhythm(&days, last).median_gap_days, expected);
        }
    }
}
