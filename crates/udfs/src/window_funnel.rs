//! `window_funnel(window, mode, ts, c1, …, cN)`: how far each group got through an
//! ordered funnel within a sliding time window — ClickHouse's `windowFunnel`.
//!
//! # Arguments
//! - `window`: the longest time from the first step to the last, as an integer (seconds for
//!   timestamp columns, the column's own unit for integer columns) or an `INTERVAL`.
//! - `mode`: `''`, or a comma-separated set of `strict_order` (no other event may come
//!   between steps), `strict_deduplication` (a repeated step ends the search),
//!   `strict_increase` (steps need strictly increasing times) and `allow_reentry`
//!   (with `strict_order`: a step that comes before the one it follows is skipped instead of
//!   ending the search). A step-1 event restarts the funnel's first step whatever the mode,
//!   as in ClickHouse 26.x.
//! - `ts`: the event time (any timestamp unit, `DATE` or integers).
//! - `c1 … cN`: 1 to 32 boolean conditions, one per funnel step.
//!
//! # Result
//! `TINYINT UNSIGNED`: the number of consecutive steps completed (0 to N). A row that meets
//! several conditions can serve as several consecutive steps, as in ClickHouse.
//!
//! # Example
//! ```sql
//! SELECT user_id,
//!        window_funnel(INTERVAL '1 day', '', event_time,
//!                      event_name = 'view', event_name = 'add_to_cart', event_name = 'purchase') AS steps
//! FROM events GROUP BY user_id;
//! ```
//!
//! # Differences from ClickHouse
//! The modes are one string argument (`'strict_order,strict_deduplication'`) rather than
//! extra parameters; `strict_once` is not supported (a clear error), and the removed
//! `strict` is refused with ClickHouse's own hint.

use std::sync::Arc;

use datafusion::arrow::array::{ArrayRef, UInt8Array};
use datafusion::arrow::datatypes::{DataType, FieldRef};
use datafusion::common::{Result, ScalarValue, plan_err};
use datafusion::logical_expr::Expr;
use datafusion::logical_expr::function::{AccumulatorArgs, StateFieldsArgs};

use crate::support::aggregate::{AggregateFunction, GroupedAggregate};
use crate::support::args::{logical_literal, physical_literal, string_value};
use crate::support::event_groups::{
    Event, EventArgs, EventGroups, EventsKernel, events_state_field,
};
use crate::support::single_group::Factory;
use crate::support::time::{TimeScale, is_duration_type};

const NAME: &str = "window_funnel";
const MAX_STEPS: usize = 32;

/// The `window_funnel` aggregate.
pub type WindowFunnel = GroupedAggregate<WindowFunnelFunction>;

/// What `window_funnel` takes, returns and keeps per group.
#[derive(Debug)]
pub struct WindowFunnelFunction;

/// Every mode the `mode` argument takes. segmint's spec names the same ones
/// (`segmint_spec::FunnelMode`); a test keeps the two equal.
pub const FUNNEL_MODES: [&str; 4] = [
    "strict_order",
    "strict_deduplication",
    "strict_increase",
    "allow_reentry",
];

/// The funnel modes (see the module docs).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub(crate) struct Modes {
    pub(crate) strict_order: bool,
    pub(crate) strict_deduplication: bool,
    pub(crate) strict_increase: bool,
    pub(crate) allow_reentry: bool,
}

impl Modes {
    pub(crate) fn parse(text: &str) -> Result<Self> {
        let mut modes = Self::default();
        for mode in text.split(',').map(str::trim).filter(|m| !m.is_empty()) {
            match mode {
                "strict_order" => modes.strict_order = true,
                "strict_deduplication" => modes.strict_deduplication = true,
                "strict_increase" => modes.strict_increase = true,
                "allow_reentry" => modes.allow_reentry = true,
                "strict" => {
                    return plan_err!(
                        "{NAME}: mode 'strict' was replaced with 'strict_deduplication'"
                    );
                }
                "strict_once" => {
                    return plan_err!("{NAME}: mode 'strict_once' is not supported by segmint");
                }
                other => {
                    return plan_err!(
                        "{NAME}: unknown mode '{other}'; expected a comma-separated set of {}",
                        FUNNEL_MODES.join(", ")
                    );
                }
            }
        }
        if modes.allow_reentry && !modes.strict_order {
            return plan_err!("{NAME}: mode allow_reentry needs strict_order");
        }
        Ok(modes)
    }
}

/// The funnel's constant parameters, in the time column's units.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Funnel {
    pub(crate) window: i64,
    pub(crate) modes: Modes,
    pub(crate) steps: usize,
}

impl Funnel {
    fn from_values(
        window: &ScalarValue,
        mode: &ScalarValue,
        scale: TimeScale,
        steps: usize,
    ) -> Result<Self> {
        Ok(Self {
            window: scale.duration(NAME, "the window", window)?,
            modes: Modes::parse(&string_value(NAME, mode, "the mode")?)?,
            steps,
        })
    }

    /// ClickHouse's `getEventLevelNonStrictOnce` over one group's events, as ClickHouse
    /// 26.x runs it (checked against embedded ClickHouse by `tests/it/clickhouse_diff.rs`):
    /// a step-1 event restarts the funnel's first step and keeps the later ones; under
    /// `strict_order` an event meeting no condition ends the search once the funnel started,
    /// and a step whose previous step was not reached ends it too (`allow_reentry`: that
    /// event is skipped instead); under `strict_deduplication` a repeated step ends the
    /// search with the level reached.
    pub(crate) fn level(&self, events: &[Event]) -> u8 {
        if events.is_empty() {
            return 0;
        }
        if !self.modes.strict_order && self.steps == 1 {
            return 1;
        }
        // One entry per (row, condition met), ordered by time then step as ClickHouse's
        // stable sort leaves them; rows meeting none stay only under strict_order, as 0.
        let mut entries: Vec<(i64, u8)> = Vec::with_capacity(events.len());
        for event in events.iter() {
            if event.mask == 0 {
                entries.push((event.time, 0));
                continue;
            }
            for step in 1..=self.steps {
                if event.mask & (1 << (step - 1)) != 0 {
                    entries.push((event.time, step as u8));
                }
            }
        }
        entries.sort_unstable();
        let modes = self.modes;
        let reached = |levels: &[Option<(i64, i64)>]| {
            levels
                .iter()
                .rposition(Option::is_some)
                .map_or(0, |i| i as u8 + 1)
        };
        let mut levels: Vec<Option<(i64, i64)>> = vec![None; self.steps];
        let mut started = false;
        for &(time, step) in &entries {
            if step == 0 {
                if modes.strict_order && started {
                    break;
                }
                continue;
            }
            let index = usize::from(step - 1);
            if index == 0 {
                levels[0] = Some((time, time));
                started = true;
            } else if modes.strict_deduplication && levels[index].is_some() {
                return reached(&levels);
            } else if modes.strict_order && started && levels[index - 1].is_none() {
                if modes.allow_reentry {
                    continue;
                }
                return levels
                    .iter()
                    .position(Option::is_none)
                    .map_or(self.steps as u8, |i| i as u8);
            } else if let Some((first, last)) = levels[index - 1] {
                let mut in_window = time <= first.saturating_add(self.window);
                if modes.strict_increase {
                    in_window = in_window && last < time;
                }
                if in_window {
                    levels[index] = Some((first, time));
                    if index + 1 == self.steps {
                        return self.steps as u8;
                    }
                }
            }
        }
        reached(&levels)
    }
}

impl EventsKernel for Funnel {
    fn keeps(&self, mask: u32) -> bool {
        mask != 0 || self.modes.strict_order
    }

    fn finish(&self, groups: Vec<Vec<Event>>) -> Result<ArrayRef> {
        Ok(Arc::new(UInt8Array::from_iter_values(
            groups.iter().map(|events| self.level(events)),
        )))
    }
}

fn event_args(arg_count: usize) -> EventArgs {
    EventArgs {
        time: 2,
        first_condition: 3,
        conditions: arg_count.saturating_sub(3),
    }
}

/// Check argument types: shared by `window_funnel`'s coercion and its tests.
fn check_types(arg_types: &[DataType]) -> Result<Vec<DataType>> {
    if arg_types.len() < 4 || arg_types.len() > 3 + MAX_STEPS {
        return plan_err!(
            "{NAME} takes (window, mode, ts, c1, ..., cN) with 1 to {MAX_STEPS} conditions, got \
             {} arguments",
            arg_types.len()
        );
    }
    if !is_duration_type(&arg_types[0]) {
        return plan_err!(
            "{NAME}: argument 1 (the window) must be an integer or an INTERVAL, got {}",
            arg_types[0]
        );
    }
    if !matches!(
        arg_types[1],
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View | DataType::Null
    ) {
        return plan_err!(
            "{NAME}: argument 2 (the mode) must be a string, got {}",
            arg_types[1]
        );
    }
    TimeScale::of(NAME, 3, &arg_types[2])?;
    let mut coerced = arg_types.to_vec();
    for (i, t) in arg_types.iter().enumerate().skip(3) {
        match t {
            DataType::Boolean => {}
            DataType::Null => coerced[i] = DataType::Boolean,
            other => {
                return plan_err!(
                    "{NAME}: argument {} (condition {}) must be BOOLEAN, got {other}",
                    i + 1,
                    i - 2
                );
            }
        }
    }
    Ok(coerced)
}

/// Plan-time check of the constant arguments (window and mode).
fn validate_logical(args: &[Expr]) -> Result<()> {
    if let Some(mode) = logical_literal(args, 1) {
        Modes::parse(&string_value(NAME, mode, "the mode")?)?;
    }
    if let Some(window) = logical_literal(args, 0) {
        TimeScale::Integer.duration(NAME, "the window", window)?;
    }
    Ok(())
}

impl AggregateFunction for WindowFunnelFunction {
    const NAME: &'static str = NAME;
    const VALIDATES: bool = true;
    type Groups = EventGroups<Funnel>;

    fn coerce_types(arg_types: &[DataType]) -> Result<Vec<DataType>> {
        check_types(arg_types)
    }

    fn return_type(_arg_types: &[DataType]) -> Result<DataType> {
        Ok(DataType::UInt8)
    }

    fn state_fields(args: &StateFieldsArgs) -> Result<Vec<FieldRef>> {
        Ok(vec![events_state_field(args.name)])
    }

    fn groups(args: &AccumulatorArgs) -> Result<Factory<Self::Groups>> {
        let window = physical_literal(NAME, args.exprs, 0, "the window")?;
        let mode = physical_literal(NAME, args.exprs, 1, "the mode")?;
        let Some(time_field) = args.expr_fields.get(2) else {
            return plan_err!("{NAME}: missing the time argument");
        };
        let scale = TimeScale::of(NAME, 3, time_field.data_type())?;
        let events = event_args(args.exprs.len());
        let funnel = Funnel::from_values(&window, &mode, scale, events.conditions)?;
        let kernel = Arc::new(funnel);
        Ok(Box::new(move || {
            EventGroups::new(NAME, events, Arc::clone(&kernel))
        }))
    }

    fn empty(_data_type: &DataType) -> Result<ScalarValue> {
        Ok(ScalarValue::UInt8(Some(0)))
    }

    fn validate(args: &[Expr]) -> Result<()> {
        validate_logical(args)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn at(time: i64, mask: u32) -> Event {
        Event { time, mask }
    }

    #[test]
    fn counts_consecutive_steps_inside_the_window() {
        let funnel = Funnel {
            window: 10,
            modes: Modes::default(),
            steps: 3,
        };
        assert_eq!(funnel.level(&[at(0, 1), at(5, 2), at(20, 4)]), 2);
        assert_eq!(
            funnel.level(&[at(20, 4), at(5, 2), at(0, 1)]),
            2,
            "input order is irrelevant"
        );
        assert_eq!(funnel.level(&[at(0, 1), at(5, 2), at(9, 4)]), 3);
        assert_eq!(funnel.level(&[]), 0);
    }

    #[test]
    fn strict_order_lets_the_first_step_repeat_as_clickhouse_26_does() {
        // catalog → cart → catalog → catalog → cart → delivery_choice → delivery_courier →
        // payment_choice; steps catalog, cart, delivery_choice, payment_choice,
        // payment_done: ClickHouse 26.9 gives 3 (delivery_courier meets no step and ends it).
        let funnel = Funnel {
            window: 600,
            modes: Modes::parse("strict_order").unwrap(),
            steps: 5,
        };
        let events = [
            at(1, 1),
            at(2, 2),
            at(3, 1),
            at(4, 1),
            at(5, 2),
            at(6, 4),
            at(7, 0),
            at(8, 8),
        ];
        assert_eq!(funnel.level(&events), 3);
        // allow_reentry skips a step that comes too early instead of stopping.
        let reentry = Funnel {
            modes: Modes::parse("strict_order,allow_reentry").unwrap(),
            ..funnel
        };
        assert_eq!(reentry.level(&[at(1, 1), at(2, 4), at(3, 2), at(4, 4)]), 3);
        let strict = Funnel {
            modes: Modes::parse("strict_order").unwrap(),
            ..reentry
        };
        assert_eq!(strict.level(&[at(1, 1), at(2, 4), at(3, 2), at(4, 4)]), 1);
    }

    #[test]
    fn refuses_unknown_modes_and_types() {
        assert!(Modes::parse("strict_order, strict_increase").is_ok());
        assert!(Modes::parse("strict").is_err());
        assert!(Modes::parse("allow_reentry").is_err());
        assert!(
            check_types(&[
                DataType::Int64,
                DataType::Utf8,
                DataType::Int64,
                DataType::Utf8
            ])
            .is_err()
        );
    }
}
