//! `cadence`: `cadence(local time, as-of day) FILTER (…)` gives the entity's usual gap and
//! current gap; two more aggregates find the break before the return window. The class
//! follows the rules (docs/segments.md); `NULL` with too few active days.

use datafusion::arrow::datatypes::DataType;
use datafusion::common::ScalarValue;
use datafusion::functions::core::expr_fn::get_field;
use datafusion::functions_aggregate::expr_fn::{max, min};
use datafusion::logical_expr::{Expr, cast, lit, when};
use segmint_spec::{Cadence, CadenceClass, Span, Unit};
use segmint_udfs::expr_fn::cadence;

use crate::compare::timestamp;
use crate::describe::{matching, window};
use crate::error::Result;
use crate::leaf::{Aggregates, CompiledLeaf, LeafCompiler, LeafPlan, never_null, zero};

/// `a > b ? a : b` over floats.
fn greatest(a: Expr, b: Expr) -> Result<Expr> {
    Ok(when(a.clone().gt(b.clone()), a).otherwise(b)?)
}

/// The class expression (`NULL`: too few active days to have a rhythm).
fn class(leaf: &Cadence, c: &LeafCompiler, aggs: &mut Aggregates) -> Result<Expr> {
    let rules = &leaf.rules;
    let cond = c.events_in(&leaf.matching, leaf.window)?;
    let rhythm = aggs.column(LeafCompiler::filtered(
        cadence(c.local_time(), c.as_of_date()),
        cond.clone(),
    )?);
    // The return window: days before it, and the first day in it.
    let boundary = c.minus(Span {
        amount: rules.returning_within_days as u32,
        unit: Unit::Days,
    })?;
    let mut before = cond.clone();
    before.push(c.time().lt(timestamp(boundary)));
    let mut after = cond;
    after.push(c.time().gt_eq(timestamp(boundary)));
    let last_before = aggs.column(LeafCompiler::filtered(max(c.day_number()), before)?);
    let first_after = aggs.column(LeafCompiler::filtered(min(c.day_number()), after)?);

    let active = zero(get_field(rhythm.clone(), "active_days"));
    let usual = get_field(rhythm.clone(), "median_gap_days");
    let away = cast(get_field(rhythm, "current_gap_days"), DataType::Float64);
    let threshold =
        |factor: f64, floor: i64| greatest(usual.clone() * lit(factor), lit(floor as f64));
    let break_days = cast(first_after - last_before, DataType::Float64);
    let name = |c: CadenceClass| lit(c.name());
    Ok(when(
        active.lt(lit(i64::from(rules.min_active_days))),
        lit(ScalarValue::Utf8(None)),
    )
    .when(
        away.clone()
            .gt_eq(threshold(rules.lapsed_after, rules.lapsed_min_days)?),
        name(CadenceClass::Lapsed),
    )
    .when(
        away.gt_eq(threshold(rules.fading_after, rules.fading_min_days)?),
        name(CadenceClass::Fading),
    )
    .when(
        break_days.gt_eq(threshold(rules.returning_after, rules.returning_min_days)?),
        name(CadenceClass::Returning),
    )
    .otherwise(name(CadenceClass::Regular))?)
}

impl LeafPlan for Cadence {
    fn plan(&self, c: &LeafCompiler, aggs: &mut Aggregates) -> Result<CompiledLeaf> {
        let class = class(self, c, aggs)?;
        let names = self.classes.iter().map(|c| lit(c.name())).collect();
        Ok(CompiledLeaf {
            holds: never_null(class.clone().in_list(names, false)),
            value: class,
        })
    }

    fn describe(&self) -> String {
        format!(
            "cadence class({}) {}",
            matching(&self.matching),
            window(&self.window)
        )
    }
}
