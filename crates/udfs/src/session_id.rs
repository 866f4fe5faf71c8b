//! `session_id(ts, gap) OVER (PARTITION BY entity ORDER BY ts)`: inactivity-gap
//! sessionization — the session number of each event within its partition.
//!
//! # Arguments
//! - `ts`: the event time (any timestamp unit, `DATE` or integer seconds).
//! - `gap`: a constant: integer seconds or an `INTERVAL`. A new session starts when an
//!   event comes more than `gap` after the previous event of the partition.
//!
//! # Result
//! `BIGINT`: 1 for the first session of the partition, 2 for the next, and so on; NULL for
//! rows with a NULL time (they neither start nor break a session). Sessions are computed by
//! time even if the window's `ORDER BY` is missing or different; ties keep input order.
//!
//! # Example
//! ```sql
//! SELECT user_id, event_time,
//!        session_id(event_time, INTERVAL '30 minutes')
//!          OVER (PARTITION BY user_id ORDER BY event_time) AS session
//! FROM events;
//! ```

use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, Int64Array};
use datafusion::arrow::datatypes::{DataType, Field, FieldRef};
use datafusion::common::{Result, plan_err};
use datafusion::logical_expr::function::{PartitionEvaluatorArgs, WindowUDFFieldArgs};
use datafusion::logical_expr::{PartitionEvaluator, Signature, Volatility, WindowUDFImpl};

use crate::support::args::physical_literal;
use crate::support::time::{TimeScale, native_times, time_and_gap};

const NAME: &str = "session_id";

/// The `session_id` window function.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct SessionId {
    signature: Signature,
}

impl Default for SessionId {
    fn default() -> Self {
        Self {
            signature: Signature::user_defined(Volatility::Immutable),
        }
    }
}

/// Session numbers for one partition's native times, in input order.
pub(crate) fn session_numbers(times: &[Option<i64>], gap: i64) -> Vec<Option<i64>> {
    let mut order: Vec<usize> = (0..times.len()).filter(|&i| times[i].is_some()).collect();
    order.sort_by_key(|&i| times[i]);
    let mut numbers = vec![None; times.len()];
    let mut session = 0i64;
    let mut previous: Option<i64> = None;
    for i in order {
        let Some(time) = times[i] else { continue };
        if previous.is_none_or(|p| time.saturating_sub(p) > gap) {
            session += 1;
        }
        previous = Some(time);
        numbers[i] = Some(session);
    }
    numbers
}

#[derive(Debug)]
struct SessionEvaluator {
    gap: i64,
}

impl PartitionEvaluator for SessionEvaluator {
    fn evaluate_all(&mut self, values: &[ArrayRef], _num_rows: usize) -> Result<ArrayRef> {
        let Some(times) = values.first() else {
            return plan_err!("{NAME}: missing the time argument");
        };
        let times = native_times(times)?;
        let times: Vec<Option<i64>> = (0..times.len())
            .map(|i| times.is_valid(i).then(|| times.value(i)))
            .collect();
        Ok(Arc::new(Int64Array::from(session_numbers(
            &times, self.gap,
        ))))
    }
}

impl WindowUDFImpl for SessionId {
    fn name(&self) -> &str {
        NAME
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        time_and_gap(NAME, arg_types)
    }

    fn partition_evaluator(
        &self,
        args: PartitionEvaluatorArgs,
    ) -> Result<Box<dyn PartitionEvaluator>> {
        let Some(time_field) = args.input_fields().first() else {
            return plan_err!("{NAME}: missing the time argument");
        };
        let scale = TimeScale::of(NAME, 1, time_field.data_type())?;
        let gap = physical_literal(NAME, args.input_exprs(), 1, "the gap")?;
        Ok(Box::new(SessionEvaluator {
            gap: scale.duration(NAME, "the gap", &gap)?,
        }))
    }

    fn field(&self, field_args: WindowUDFFieldArgs) -> Result<FieldRef> {
        Ok(Arc::new(Field::new(
            field_args.name(),
            DataType::Int64,
            true,
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_sessions_by_time_whatever_the_row_order() {
        let times = [Some(100), Some(0), None, Some(5), Some(50)];
        assert_eq!(
            session_numbers(&times, 10),
            vec![Some(3), Some(1), None, Some(1), Some(2)]
        );
    }
}
