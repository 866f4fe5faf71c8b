//! `session_stats(ts, gap)`: sessionize each group's events by an inactivity gap and
//! summarise the sessions.
//!
//! # Arguments
//! - `ts`: the event time (any timestamp unit, `DATE` or integer seconds).
//! - `gap`: a constant: an integer number of seconds or an `INTERVAL`. A new session starts
//!   when an event comes more than `gap` after the previous one.
//!
//! # Result
//! `STRUCT<sessions BIGINT, mean_session_seconds DOUBLE, mean_events_per_session DOUBLE>`.
//! A session's length is its last event's time minus its first (0 for a single event).
//! Rows with a NULL time are ignored; a group without events gives `sessions = 0` and NULL
//! means.
//!
//! # Example
//! ```sql
//! SELECT user_id, s.sessions, s.mean_session_seconds
//! FROM (SELECT user_id, session_stats(event_time, INTERVAL '30 minutes') AS s
//!       FROM events GROUP BY user_id);
//! ```

use std::sync::Arc;

use datafusion::arrow::array::{ArrayRef, BooleanArray, Float64Array, Int64Array, StructArray};
use datafusion::arrow::datatypes::{DataType, Field, FieldRef, Fields};
use datafusion::common::{Result, plan_err};
use datafusion::logical_expr::function::{AccumulatorArgs, StateFieldsArgs};
use datafusion::logical_expr::{EmitTo, GroupsAccumulator};

use crate::support::aggregate::{AggregateFunction, GroupedAggregate};
use crate::support::args::physical_literal;
use crate::support::lists::list_field;
use crate::support::session_summaries::{SessionGroups, totals};
use crate::support::single_group::{Factory, GroupStore};
use crate::support::time::{TimeScale, time_and_gap};

const NAME: &str = "session_stats";

/// The `session_stats` aggregate.
pub type SessionStats = GroupedAggregate<SessionStatsFunction>;

/// What `session_stats` takes, returns and keeps per group.
#[derive(Debug)]
pub struct SessionStatsFunction;

fn result_fields() -> Fields {
    Fields::from(vec![
        Field::new("sessions", DataType::Int64, false),
        Field::new("mean_session_seconds", DataType::Float64, true),
        Field::new("mean_events_per_session", DataType::Float64, true),
    ])
}

/// Each group's sessions as summaries (first and last time, events), never every event.
#[derive(Debug)]
pub struct SessionStatsGroups {
    sessions: SessionGroups,
    scale: TimeScale,
}

impl GroupsAccumulator for SessionStatsGroups {
    fn update_batch(
        &mut self,
        values: &[ArrayRef],
        group_indices: &[usize],
        opt_filter: Option<&BooleanArray>,
        total_num_groups: usize,
    ) -> Result<()> {
        self.sessions
            .update(values, group_indices, opt_filter, total_num_groups)
    }

    fn evaluate(&mut self, emit_to: EmitTo) -> Result<ArrayRef> {
        let groups = self.sessions.take(emit_to);
        let mut sessions = Vec::with_capacity(groups.len());
        let mut mean_seconds = Vec::with_capacity(groups.len());
        let mut mean_events = Vec::with_capacity(groups.len());
        for group in &groups {
            let (count, length, events) = totals(group);
            sessions.push(count);
            mean_seconds.push((count > 0).then(|| self.scale.to_seconds(length) / count as f64));
            mean_events.push((count > 0).then(|| events as f64 / count as f64));
        }
        Ok(Arc::new(StructArray::try_new(
            result_fields(),
            vec![
                Arc::new(Int64Array::from(sessions)),
                Arc::new(Float64Array::from(mean_seconds)),
                Arc::new(Float64Array::from(mean_events)),
            ],
            None,
        )?))
    }

    fn state(&mut self, emit_to: EmitTo) -> Result<Vec<ArrayRef>> {
        Ok(self.sessions.state(emit_to))
    }

    fn merge_batch(
        &mut self,
        values: &[ArrayRef],
        group_indices: &[usize],
        total_num_groups: usize,
    ) -> Result<()> {
        self.sessions.merge(values, group_indices, total_num_groups)
    }

    fn convert_to_state(
        &self,
        values: &[ArrayRef],
        opt_filter: Option<&BooleanArray>,
    ) -> Result<Vec<ArrayRef>> {
        self.sessions.convert(values, opt_filter)
    }

    fn size(&self) -> usize {
        std::mem::size_of_val(self) + self.sessions.bytes()
    }
}

impl GroupStore for SessionStatsGroups {
    fn ensure_groups(&mut self, n: usize) {
        self.sessions.ensure_groups(n);
    }
}

impl AggregateFunction for SessionStatsFunction {
    const NAME: &'static str = NAME;
    type Groups = SessionStatsGroups;

    fn coerce_types(arg_types: &[DataType]) -> Result<Vec<DataType>> {
        time_and_gap(NAME, arg_types)
    }

    fn return_type(_arg_types: &[DataType]) -> Result<DataType> {
        Ok(DataType::Struct(result_fields()))
    }

    fn state_fields(args: &StateFieldsArgs) -> Result<Vec<FieldRef>> {
        Ok(vec![
            list_field(&format!("{}[starts]", args.name), DataType::Int64),
            list_field(&format!("{}[ends]", args.name), DataType::Int64),
            list_field(&format!("{}[events]", args.name), DataType::Int64),
        ])
    }

    fn groups(args: &AccumulatorArgs) -> Result<Factory<Self::Groups>> {
        let Some(time_field) = args.expr_fields.first() else {
            return plan_err!("{NAME}: missing the time argument");
        };
        let scale = TimeScale::of(NAME, 1, time_field.data_type())?;
        let gap = physical_literal(NAME, args.exprs, 1, "the gap")?;
        let gap = scale.duration(NAME, "the gap", &gap)?;
        Ok(Box::new(move || SessionStatsGroups {
            sessions: SessionGroups::new(NAME, gap),
            scale,
        }))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use datafusion::arrow::array::{Array, AsArray};
    use datafusion::arrow::datatypes::Float64Type;

    #[test]
    fn splits_on_gaps_longer_than_the_limit_across_partial_states() {
        let fresh = || SessionStatsGroups {
            sessions: SessionGroups::new(NAME, 10),
            scale: TimeScale::Integer,
        };
        // One group; events 0 5 15 40 in one partial state, 41 in another.
        // sessions: [0, 5, 15] (15 - 5 = 10 is not more than 10), [40, 41].
        let mut a = fresh();
        let times: ArrayRef = Arc::new(Int64Array::from(vec![15, 0, 40, 5]));
        a.update_batch(&[times], &[0, 0, 0, 0], None, 1).unwrap();
        let mut b = fresh();
        let times: ArrayRef = Arc::new(Int64Array::from(vec![41]));
        b.update_batch(&[times], &[0], None, 1).unwrap();
        let mut merged = fresh();
        merged
            .merge_batch(&a.state(EmitTo::All).unwrap(), &[0], 1)
            .unwrap();
        merged
            .merge_batch(&b.state(EmitTo::All).unwrap(), &[0], 1)
            .unwrap();
        let result = merged.evaluate(EmitTo::All).unwrap();
        let result = result.as_struct();
        assert_eq!(
            result
                .column(0)
                .as_primitive::<datafusion::arrow::datatypes::Int64Type>()
                .value(0),
            2
        );
        let mean_seconds = result.column(1).as_primitive::<Float64Type>().value(0);
        assert_eq!(mean_seconds, (15.0 + 1.0) / 2.0);
        assert_eq!(result.column(2).as_primitive::<Float64Type>().value(0), 2.5);
        assert!(result.column(1).is_valid(0));
    }
}
