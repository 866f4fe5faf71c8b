//! `momentum(ts, as_of, recent, baseline)`: is each group speeding up or slowing down? The
//! event rate in a recent window divided by the rate in the baseline window just before it
//! ("the last 7 days vs the 12 weeks before").
//!
//! # Arguments
//! - `ts`: the event time (any timestamp unit, `DATE` or integer seconds).
//! - `as_of`: a constant timestamp (or date): the end of the recent window, inclusive.
//! - `recent`, `baseline`: positive constant lengths (integer seconds or `INTERVAL`s).
//!   The recent window is `(as_of - recent, as_of]`; the baseline is the `baseline`-long
//!   window that ends where the recent one starts. Other events are ignored.
//!
//! # Result
//! `DOUBLE`: `(recent events / recent length) / (baseline events / baseline length)`.
//! 1 is a steady pace, above 1 speeding up, below 1 slowing down, 0 stopped.
//! **An empty baseline gives NULL** (no pace to compare with: a brand-new or returning
//! entity) — whatever happened recently. Use `count(*)` over the recent window to tell new
//! activity from none.
//!
//! # Example
//! ```sql
//! SELECT user_id, momentum(event_time, TIMESTAMP '2026-11-22 23:59:59',
//!                          INTERVAL '7 days', INTERVAL '84 days') AS momentum
//! FROM events GROUP BY user_id;
//! ```

use std::sync::Arc;

use datafusion::arrow::array::{ArrayRef, AsArray, BooleanArray, Float64Array, UInt64Array};
use datafusion::arrow::datatypes::{DataType, Field, FieldRef, UInt64Type};
use datafusion::common::{Result, internal_err, plan_err};
use datafusion::logical_expr::function::{AccumulatorArgs, StateFieldsArgs};
use datafusion::logical_expr::{EmitTo, GroupsAccumulator};

use crate::support::aggregate::{AggregateFunction, GroupedAggregate};
use crate::support::args::physical_literal;
use crate::support::single_group::{Factory, GroupStore};
use crate::support::time::{TimeScale, for_each_kept_time, is_duration_type, kept_times};

const NAME: &str = "momentum";

/// The `momentum` aggregate.
pub type Momentum = GroupedAggregate<MomentumFunction>;

/// What `momentum` takes, returns and keeps per group.
#[derive(Debug)]
pub struct MomentumFunction;

/// The two windows, in native units.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Windows {
    pub(crate) as_of: i64,
    pub(crate) recent: i64,
    pub(crate) baseline: i64,
}

impl Windows {
    /// 0 for the recent window, 1 for the baseline, `None` outside both.
    pub(crate) fn window_of(&self, time: i64) -> Option<usize> {
        let recent_start = self.as_of.saturating_sub(self.recent);
        let baseline_start = recent_start.saturating_sub(self.baseline);
        if time > recent_start && time <= self.as_of {
            Some(0)
        } else if time > baseline_start && time <= recent_start {
            Some(1)
        } else {
            None
        }
    }

    /// The momentum of the two counts (NULL when the baseline is empty).
    pub(crate) fn ratio(&self, recent: u64, baseline: u64) -> Option<f64> {
        // (recent / recent length) / (baseline / baseline length), arranged so whole
        // numbers stay exact.
        (baseline > 0).then(|| {
            (recent as f64 * self.baseline as f64) / (baseline as f64 * self.recent as f64)
        })
    }
}

/// Two counters per group.
#[derive(Debug)]
pub struct MomentumGroups {
    windows: Windows,
    recent: Vec<u64>,
    baseline: Vec<u64>,
}

impl MomentumGroups {
    fn new(windows: Windows) -> Self {
        Self {
            windows,
            recent: Vec::new(),
            baseline: Vec::new(),
        }
    }

    fn row_windows(
        &self,
        values: &[ArrayRef],
        opt_filter: Option<&BooleanArray>,
    ) -> Result<Vec<Option<usize>>> {
        Ok(kept_times(NAME, values, opt_filter)?
            .into_iter()
            .map(|time| time.and_then(|t| self.windows.window_of(t)))
            .collect())
    }
}

fn counters(values: &[ArrayRef], index: usize) -> Result<&datafusion::arrow::array::UInt64Array> {
    match values
        .get(index)
        .and_then(|v| v.as_primitive_opt::<UInt64Type>())
    {
        Some(c) => Ok(c),
        None => internal_err!("{NAME}: state column {index} is not UINT64"),
    }
}

impl GroupsAccumulator for MomentumGroups {
    fn update_batch(
        &mut self,
        values: &[ArrayRef],
        group_indices: &[usize],
        opt_filter: Option<&BooleanArray>,
        total_num_groups: usize,
    ) -> Result<()> {
        self.ensure_groups(total_num_groups);
        let (windows, recent, baseline) = (&self.windows, &mut self.recent, &mut self.baseline);
        for_each_kept_time(NAME, values, opt_filter, |row, time| {
            let group = group_indices[row];
            match windows.window_of(time) {
                Some(0) => recent[group] += 1,
                Some(_) => baseline[group] += 1,
                None => {}
            }
        })
    }

    fn evaluate(&mut self, emit_to: EmitTo) -> Result<ArrayRef> {
        let recent = emit_to.take_needed(&mut self.recent);
        let baseline = emit_to.take_needed(&mut self.baseline);
        Ok(Arc::new(Float64Array::from_iter(
            recent
                .iter()
                .zip(&baseline)
                .map(|(&r, &b)| self.windows.ratio(r, b)),
        )))
    }

    fn state(&mut self, emit_to: EmitTo) -> Result<Vec<ArrayRef>> {
        Ok(vec![
            Arc::new(UInt64Array::from(emit_to.take_needed(&mut self.recent))),
            Arc::new(UInt64Array::from(emit_to.take_needed(&mut self.baseline))),
        ])
    }

    fn merge_batch(
        &mut self,
        values: &[ArrayRef],
        group_indices: &[usize],
        total_num_groups: usize,
    ) -> Result<()> {
        self.ensure_groups(total_num_groups);
        let (recent, baseline) = (counters(values, 0)?, counters(values, 1)?);
        for (row, &group) in group_indices.iter().enumerate() {
            self.recent[group] += recent.value(row);
            self.baseline[group] += baseline.value(row);
        }
        Ok(())
    }

    fn convert_to_state(
        &self,
        values: &[ArrayRef],
        opt_filter: Option<&BooleanArray>,
    ) -> Result<Vec<ArrayRef>> {
        let windows = self.row_windows(values, opt_filter)?;
        Ok(vec![
            Arc::new(UInt64Array::from_iter_values(
                windows.iter().map(|w| u64::from(*w == Some(0))),
            )),
            Arc::new(UInt64Array::from_iter_values(
                windows.iter().map(|w| u64::from(*w == Some(1))),
            )),
        ])
    }

    fn size(&self) -> usize {
        std::mem::size_of_val(self) + (self.recent.capacity() + self.baseline.capacity()) * 8
    }
}

impl GroupStore for MomentumGroups {
    fn ensure_groups(&mut self, n: usize) {
        if self.recent.len() < n {
            self.recent.resize(n, 0);
            self.baseline.resize(n, 0);
        }
    }
}

/// The two windows of a call, in the time column's units.
fn windows(args: &AccumulatorArgs) -> Result<Windows> {
    let Some(time_field) = args.expr_fields.first() else {
        return plan_err!("{NAME}: missing the time argument");
    };
    let scale = TimeScale::of(NAME, 1, time_field.data_type())?;
    let as_of = scale.instant(
        NAME,
        "as_of",
        &physical_literal(NAME, args.exprs, 1, "as_of")?,
    )?;
    let recent = scale.duration(
        NAME,
        "the recent window",
        &physical_literal(NAME, args.exprs, 2, "the recent window")?,
    )?;
    let baseline = scale.duration(
        NAME,
        "the baseline window",
        &physical_literal(NAME, args.exprs, 3, "the baseline window")?,
    )?;
    if recent == 0 || baseline == 0 {
        return plan_err!("{NAME}: the recent and baseline windows must be longer than zero");
    }
    Ok(Windows {
        as_of,
        recent,
        baseline,
    })
}

impl AggregateFunction for MomentumFunction {
    const NAME: &'static str = NAME;
    /// An empty baseline gives NULL.
    const NULLABLE: bool = true;
    type Groups = MomentumGroups;

    fn coerce_types(arg_types: &[DataType]) -> Result<Vec<DataType>> {
        let [time, as_of, recent, baseline] = arg_types else {
            return plan_err!(
                "{NAME} takes (ts, as_of, recent, baseline), got {} arguments",
                arg_types.len()
            );
        };
        TimeScale::of(NAME, 1, time)?;
        if !TimeScale::accepts(as_of) {
            return plan_err!(
                "{NAME}: argument 2 (as_of) must be a TIMESTAMP, DATE or integer, got {as_of}"
            );
        }
        for (i, t) in [(3, recent), (4, baseline)] {
            if !is_duration_type(t) {
                return plan_err!(
                    "{NAME}: argument {i} must be an integer or an INTERVAL, got {t}"
                );
            }
        }
        Ok(arg_types.to_vec())
    }

    fn return_type(_arg_types: &[DataType]) -> Result<DataType> {
        Ok(DataType::Float64)
    }

    fn state_fields(args: &StateFieldsArgs) -> Result<Vec<FieldRef>> {
        let counter = |what: &str| {
            Arc::new(Field::new(
                format!("{}[{what}]", args.name),
                DataType::UInt64,
                false,
            ))
        };
        Ok(vec![counter("recent"), counter("baseline")])
    }

    fn groups(args: &AccumulatorArgs) -> Result<Factory<MomentumGroups>> {
        let windows = windows(args)?;
        Ok(Box::new(move || MomentumGroups::new(windows)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ratio_of_rates_with_null_for_an_empty_baseline() {
        let w = Windows {
            as_of: 100,
            recent: 10,
            baseline: 40,
        };
        assert_eq!(w.window_of(100), Some(0));
        assert_eq!(w.window_of(90), Some(1));
        assert_eq!(w.window_of(50), None);
        assert_eq!(w.window_of(101), None);
        assert_eq!(w.ratio(5, 20), Some(1.0));
        assert_eq!(w.ratio(5, 0), None);
        assert_eq!(w.ratio(0, 4), Some(0.0));
    }
}
