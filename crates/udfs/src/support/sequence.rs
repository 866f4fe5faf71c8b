//! What `sequence_match` and `sequence_count` share: argument checks, the pattern
//! constant, and the kernel that runs the matcher over each group's sorted events.

use std::sync::Arc;

use datafusion::arrow::array::{ArrayRef, BooleanArray, UInt64Array};
use datafusion::arrow::datatypes::{DataType, FieldRef};
use datafusion::common::{Result, plan_err};
use datafusion::logical_expr::Expr;
use datafusion::logical_expr::function::AccumulatorArgs;

use super::args::{logical_literal, physical_literal, string_value};
use super::event_groups::{Event, EventArgs, EventsKernel, sort_events};
use super::lists::list_field;
use super::pattern::{Pattern, parse_for};
use super::time::TimeScale;

const MAX_CONDITIONS: usize = 32;

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

/// The state columns (times and condition masks).
pub(crate) fn state_fields(name: &str) -> Vec<FieldRef> {
    vec![
        list_field(&format!("{name}[times]"), DataType::Int64),
        list_field(&format!("{name}[masks]"), DataType::UInt32),
    ]
}

/// The pattern of a physical call, in the time column's units.
pub(crate) fn physical_pattern(name: &str, args: &AccumulatorArgs) -> Result<(Pattern, EventArgs)> {
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
pub(crate) fn validate_logical(name: &str, args: &[Expr]) -> Result<()> {
    if let Some(pattern) = logical_literal(args, 0) {
        let pattern = string_value(name, pattern, "the pattern")?;
        parse_for(name, &pattern, args.len().saturating_sub(2), Some)?;
    }
    Ok(())
}

/// Runs the pattern over each group: a match flag or a count of matches.
#[derive(Debug)]
pub(crate) struct SequenceKernel {
    pub(crate) pattern: Pattern,
    pub(crate) count: bool,
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
