//! `sequence_count(pattern, ts, c1, …, cN)`: how many times a group's events contain a pattern — ClickHouse's `sequenceCount`.
//!
//! # Arguments
//! - `pattern`: a constant in ClickHouse's pattern syntax: `(?N)` an event meeting
//!   condition N, `.` any one event, `.*` any events, `(?t OP S)` with `OP` one of
//!   `>= > < <= == !=` comparing the time since the previous matched event with `S` seconds
//!   (the column's own unit for integer times). A malformed pattern fails at plan time with
//!   the position of the offending character.
//! - `ts`: the event time (any timestamp unit, `DATE` or integers).
//! - `c1 … cN`: 1 to 32 boolean conditions. Rows meeting none are ignored.
//!
//! # Result
//! `BIGINT UNSIGNED`: the number of non-overlapping matches, found left to right.
//!
//! Events are ordered by time; ties are ordered by the set of conditions they meet, so
//! results do not depend on how the input was partitioned (ClickHouse leaves ties in an
//! unspecified order).
//!
//! # Example
//! ```sql
//! SELECT user_id, sequence_count('(?1)(?t<=600)(?2)', event_time, event_name = 'error', event_name = 'retry')
//! FROM events GROUP BY user_id;
//! ```

use datafusion::arrow::datatypes::DataType;
use datafusion::common::ScalarValue;

use crate::support::aggregate::GroupedAggregate;
use crate::support::sequence::{Sequence, SequenceResult};

/// The `sequence_count` aggregate.
pub type SequenceCount = GroupedAggregate<Sequence<Counted>>;

/// `sequence_count`'s result: the number of non-overlapping matches.
#[derive(Debug)]
pub struct Counted;

impl SequenceResult for Counted {
    const NAME: &'static str = "sequence_count";
    const COUNT: bool = true;

    fn data_type() -> DataType {
        DataType::UInt64
    }

    fn empty() -> ScalarValue {
        ScalarValue::UInt64(Some(0))
    }
}
