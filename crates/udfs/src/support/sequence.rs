//! What `sequence_match` and `sequence_count` share — everything but their name and
//! result: argument checks, the pattern constant, the kernel that runs the matcher over
//! each group's sorted events, and the function itself ([`Sequence`]), which each function's
//! file instantiates with its [`SequenceResult`].

use std::fmt::Debug;
use std::marker::PhantomData;
use std::sync::Arc;

use datafusion::arrow::array::{ArrayRef, BooleanArray, UInt64Array};
use datafusion::arrow::datatypes::{DataType, FieldRef};
use datafusion::common::{Result, ScalarValue, plan_err};
use datafusion::logical_expr::Expr;
use datafusion::logical_expr::function::{AccumulatorArgs, StateFieldsArgs};

use super::aggregate::AggregateFunction;
use super::args::{logical_literal, physical_literal, string_value};
use super::event_groups::{
    Event, EventArgs, EventGroups, EventsKernel, events_state_field, sort_events,
};
use super::pattern::{Pattern, parse_for};
use super::single_group::Factory;
use super::time::TimeScale;

const MAX_CONDITIONS: usize = 32;

/// What a sequence function returns for a group: whether the pattern occurs, or how many
/// times.
pub trait SequenceResult: Debug + Send + Sync + 'static {
    /// The function's SQL name.
    const NAME: &'static str;
    /// Count the matches (else: whether there is one).
    const COUNT: bool;
    /// The result type.
    fn data_type() -> DataType;
    /// The value of a group without events.
    fn empty() -> ScalarValue;
}

/// A sequence aggregate (`sequence_match`, `sequence_count`): one implementation, the
/// result chosen by `R`.
#[derive(Debug)]
pub struct Sequence<R>(PhantomData<R>);

impl<R: SequenceResult> AggregateFunction for Sequence<R> {
    const NAME: &'static str = R::NAME;
    const VALIDATES: bool = true;
    type Groups = EventGroups<SequenceKernel>;

    fn coerce_types(arg_types: &[DataType]) -> Result<Vec<DataType>> {
        check_types(R::NAME, arg_types)
    }

    fn return_type(_arg_types: &[DataType]) -> Result<DataType> {
        Ok(R::data_type())
    }

    fn state_fields(args: &StateFieldsArgs) -> Result<Vec<FieldRef>> {
        Ok(vec![events_state_field(args.name)])
    }

    fn groups(args: &AccumulatorArgs) -> Result<Factory<Self::Groups>> {
        let (pattern, events) = physical_pattern(R::NAME, args)?;
        let kernel = Arc::new(SequenceKernel {
            pattern,
            count: R::COUNT,
        });
        Ok(Box::new(move || {
            EventGroups::new(R::NAME, events, Arc::clone(&kernel))
        }))
    }

    fn empty(_data_type: &DataType) -> Result<ScalarValue> {
        Ok(R::empty())
    }

    fn validate(args: &[Expr]) -> Result<()> {
        validate_logical(R::NAME, args)
    }
}

/// Check `(pattern, ts, c1, …, cN)` argument types.
pub(crate) fn check_types(name: &str, arg_types: &[DataType]) -> Result<Vec<DataType>> {
    if arg_types.len() < 3 || arg_types.len() > 2 + MAX_CONDITIONS {
        return plan_err!(
            "{name} takes (pattern, ts, c1, ..., cN) with 1 to {MAX_CONDITIONS} conditions, got \
             {} arguments",
            arg_types.len()
        );
    }
    if !matches!(
        arg_types[0],
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View | DataType::Null
    ) {
        return plan_err!(
            "{name}: argument 1 (the pattern) must be a string, got {}",
            arg_types[0]
        );
    }
    TimeScale::of(name, 2, &arg_types[1])?;
    let mut coerced = arg_types.to_vec();
    for (i, t) in arg_types.iter().enumerate().skip(2) {
        match t {
            DataType::Boolean => {}
            DataType::Null => coerced[i] = DataType::Boolean,
            other => {
                return plan_err!(
                    "{name}: argument {} (condition {}) must be BOOLEAN, got {other}",
                    i + 1,
                    i - 1
                );
            }
        }
    }
    Ok(coerced)
}

/// Where the time and conditions are.
pub(crate) fn event_args(arg_count: usize) -> EventArgs {
    EventArgs {
        time: 1,
        first_condition: 2,
        conditions: arg_count.saturating_sub(2),
    }
}

/// The pattern of a physical call, in the time column's units.
fn physical_pattern(name: &str, args: &AccumulatorArgs) -> Result<(Pattern, EventArgs)> {
    let pattern = physical_literal(name, args.exprs, 0, "the pattern")?;
    let pattern = string_value(name, &pattern, "the pattern")?;
    let Some(time_field) = args.expr_fields.get(1) else {
        return plan_err!("{name}: missing the time argument");
    };
    let scale = TimeScale::of(name, 2, time_field.data_type())?;
    let events = event_args(args.exprs.len());
    let to_native = |seconds: i64| {
        scale
            .duration(
                name,
                "a pattern time",
                &datafusion::common::ScalarValue::Int64(Some(seconds)),
            )
            .ok()
    };
    Ok((
        parse_for(name, &pattern, events.conditions, to_native)?,
        events,
    ))
}

/// Plan-time check of a logical call's pattern.
fn validate_logical(name: &str, args: &[Expr]) -> Result<()> {
    if let Some(pattern) = logical_literal(args, 0) {
        let pattern = string_value(name, pattern, "the pattern")?;
        parse_for(name, &pattern, args.len().saturating_sub(2), Some)?;
    }
    Ok(())
}

/// Runs the pattern over each group: a match flag or a count of matches.
#[derive(Debug)]
pub struct SequenceKernel {
    pattern: Pattern,
    count: bool,
}

impl EventsKernel for SequenceKernel {
    fn keeps(&self, mask: u32) -> bool {
        mask != 0
    }

    fn finish(&self, mut groups: Vec<Vec<Event>>) -> Result<ArrayRef> {
        for events in &mut groups {
            sort_events(events);
        }
        if self.count {
            let counts: Result<Vec<u64>> = groups.iter().map(|e| self.pattern.count(e)).collect();
            Ok(Arc::new(UInt64Array::from(counts?)))
        } else {
            let matches: Result<Vec<bool>> =
                groups.iter().map(|e| self.pattern.matches(e)).collect();
            Ok(Arc::new(BooleanArray::from(matches?)))
        }
    }
}
