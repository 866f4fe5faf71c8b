//! `sequence_match(pattern, ts, c1, …, cN)`: whether a group's events contain a pattern — ClickHouse's `sequenceMatch`.
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
//! `BOOLEAN`: whether the pattern occurs. (ClickHouse returns `UInt8` 1/0; DataFusion has a real boolean.)
//!
//! Events are ordered by time; ties are ordered by the set of conditions they meet, so
//! results do not depend on how the input was partitioned (ClickHouse leaves ties in an
//! unspecified order).
//!
//! # Example
//! ```sql
//! SELECT user_id, sequence_match('(?1).*(?2)', event_time, event_name = 'signup', event_name = 'purchase')
//! FROM events GROUP BY user_id;
//! ```

use datafusion::arrow::datatypes::DataType;
use datafusion::common::ScalarValue;

use crate::support::aggregate::GroupedAggregate;
use crate::support::sequence::{Sequence, SequenceResult};

/// The `sequence_match` aggregate.
pub type SequenceMatch = GroupedAggregate<Sequence<Matched>>;

/// `sequence_match`'s result: whether the pattern occurs.
#[derive(Debug)]
pub struct Matched;

impl SequenceResult for Matched {
    const NAME: &'static str = "sequence_match";
    const COUNT: bool = false;

    fn data_type() -> DataType {
        DataType::Boolean
    }

    fn empty() -> ScalarValue {
        ScalarValue::Boolean(Some(false))
    }
}
