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

use datafusion::arrow::array::{ArrayRef, Float64Array, Int64Array, StructArray};
use datafusion::arrow::datatypes::{DataType, Field, FieldRef, Fields};
use datafusion::common::{Result, plan_err};
use datafusion::logical_expr::function::{AccumulatorArgs, StateFieldsArgs};

use crate::support::aggregate::{AggregateFunction, GroupedAggregate};
use crate::support::args::physical_literal;
use crate::support::event_groups::{Event, EventArgs, EventGroups, EventsKernel, sort_events};
use crate::support::lists::list_field;
use crate::support::single_group::Factory;
use crate::support::time::{TimeScale, time_and_gap};

const NAME: &str = "session_stats";
const EVENTS: EventArgs = EventArgs {
    time: 0,
    first_condition: 1,
    conditions: 0,
};

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

/// Sessionizes sorted event times.
#[derive(Debug)]
pub struct Sessions {
    pub(crate) gap: i64,
    pub(crate) scale: TimeScale,
}

impl Sessions {
    /// (sessions, total session length in native units, events) of sorted events.
    pub(crate) fn summarise(&self, events: &[Event]) -> (i64, i64, i64) {
        let Some(first) = events.first() else {
            return (0, 0, 0);
        };
        let (mut sessions, mut total, mut start, mut previous) =
            (1i64, 0i64, first.time, first.time);
        for event in &events[1..] {
            if event.time.saturating_sub(previous) > self.gap {
                total = total.saturating_add(previous.saturating_sub(start));
                sessions += 1;
                start = event.time;
            }
            previous = event.time;
        }
        total = total.saturating_add(previous.saturating_sub(start));
        (sessions, total, events.len() as i64)
    }
}

impl EventsKernel for Sessions {
    fn keeps(&self, _mask: u32) -> bool {
        true
    }

    fn finish(&self, mut groups: Vec<Vec<Event>>) -> Result<ArrayRef> {
        let mut sessions = Vec::with_capacity(groups.len());
        let mut mean_seconds = Vec::with_capacity(groups.len());
        let mut mean_events = Vec::with_capacity(groups.len());
        for events in &mut groups {
            sort_events(events);
            let (count, total, n) = self.summarise(events);
            sessions.push(count);
            mean_seconds.push((count > 0).then(|| self.scale.to_seconds(total) / count as f64));
            mean_events.push((count > 0).then(|| n as f64 / count as f64));
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
}

impl AggregateFunction for SessionStatsFunction {
    const NAME: &'static str = NAME;
    type Groups = EventGroups<Sessions>;

    fn coerce_types(arg_types: &[DataType]) -> Result<Vec<DataType>> {
        time_and_gap(NAME, arg_types)
    }

    fn return_type(_arg_types: &[DataType]) -> Result<DataType> {
        Ok(DataType::Struct(result_fields()))
    }

    fn state_fields(args: &StateFieldsArgs) -> Result<Vec<FieldRef>> {
        Ok(vec![
            list_field(&format!("{}[times]", args.name), DataType::Int64),
            list_field(&format!("{}[masks]", args.name), DataType::UInt32),
        ])
    }

    fn groups(args: &AccumulatorArgs) -> Result<Factory<Self::Groups>> {
        let Some(time_field) = args.expr_fields.first() else {
            return plan_err!("{NAME}: missing the time argument");
        };
        let scale = TimeScale::of(NAME, 1, time_field.data_type())?;
        let gap = physical_literal(NAME, args.exprs, 1, "the gap")?;
        let kernel = Arc::new(Sessions {
            gap: scale.duration(NAME, "the gap", &gap)?,
            scale,
        });
        Ok(Box::new(move || {
            EventGroups::new(NAME, EVENTS, Arc::clone(&kernel))
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_on_gaps_longer_than_the_limit() {
        let sessions = Sessions {
            gap: 10,
            scale: TimeScale::Integer,
        };
        let events: Vec<Event> = [0, 5, 15, 40, 41]
            .iter()
            .map(|&time| Event { time, mask: 0 })
            .collect();
        // sessions: [0, 5, 15] (15 - 5 = 10 is not more than 10), [40, 41]
        assert_eq!(sessions.summarise(&events), (2, 16, 5));
        assert_eq!(sessions.summarise(&[]), (0, 0, 0));
    }
}
