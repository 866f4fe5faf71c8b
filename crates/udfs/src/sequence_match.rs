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

use std::sync::Arc;

use datafusion::arrow::datatypes::{DataType, FieldRef};
use datafusion::common::{Result, ScalarValue};
use datafusion::logical_expr::expr::AggregateFunction;
use datafusion::logical_expr::function::{
    AccumulatorArgs, AggregateFunctionSimplification, StateFieldsArgs,
};
use datafusion::logical_expr::{
    Accumulator, AggregateUDFImpl, Expr, GroupsAccumulator, Signature, Volatility,
};

use crate::support::event_groups::EventGroups;
use crate::support::sequence::{
    SequenceKernel, check_types, physical_pattern, state_fields, validate_logical,
};
use crate::support::single_group::SingleGroup;

const NAME: &str = "sequence_match";

/// The `sequence_match` aggregate.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct SequenceMatch {
    signature: Signature,
}

impl Default for SequenceMatch {
    fn default() -> Self {
        Self {
            signature: Signature::user_defined(Volatility::Immutable),
        }
    }
}

impl SequenceMatch {
    fn kernel(
        &self,
        args: &AccumulatorArgs,
    ) -> Result<(Arc<SequenceKernel>, crate::support::event_groups::EventArgs)> {
        let (pattern, events) = physical_pattern(NAME, args)?;
        Ok((
            Arc::new(SequenceKernel {
                pattern,
                count: false,
            }),
            events,
        ))
    }
}

impl AggregateUDFImpl for SequenceMatch {
    fn name(&self) -> &str {
        NAME
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        check_types(NAME, arg_types)
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(DataType::Boolean)
    }

    fn is_nullable(&self) -> bool {
        false
    }

    fn state_fields(&self, args: StateFieldsArgs) -> Result<Vec<FieldRef>> {
        Ok(state_fields(args.name))
    }

    fn accumulator(&self, args: AccumulatorArgs) -> Result<Box<dyn Accumulator>> {
        let (kernel, events) = self.kernel(&args)?;
        Ok(Box::new(SingleGroup::new(Box::new(move || {
            EventGroups::new(NAME, events, Arc::clone(&kernel))
        }))))
    }

    fn groups_accumulator_supported(&self, _args: AccumulatorArgs) -> bool {
        true
    }

    fn create_groups_accumulator(
        &self,
        args: AccumulatorArgs,
    ) -> Result<Box<dyn GroupsAccumulator>> {
        let (kernel, events) = self.kernel(&args)?;
        Ok(Box::new(EventGroups::new(NAME, events, kernel)))
    }

    fn default_value(&self, _data_type: &DataType) -> Result<ScalarValue> {
        Ok(ScalarValue::Boolean(Some(false)))
    }

    fn simplify(&self) -> Option<AggregateFunctionSimplification> {
        Some(Box::new(|call: AggregateFunction, _info| {
            validate_logical(NAME, &call.params.args)?;
            Ok(Expr::AggregateFunction(call))
        }))
    }
}
