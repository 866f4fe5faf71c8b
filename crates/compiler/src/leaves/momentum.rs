//! `momentum`: the recent event rate over the baseline rate, compared — planned as two
//! counts, `count FILTER (recent window, match)` and `count FILTER (baseline window, match)`,
//! and the ratio of their rates, exactly as the `momentum` function computes it (its recent
//! window `(as_of − recent, as_of]` with `as_of` the last microsecond of the day is
//! `[end − recent, end)`; the baseline is the `baseline`-long window before it; an empty
//! baseline gives NULL).
//!
//! Two plain counts instead of one `momentum(time, as-of, …)` call: their state does not
//! depend on the as-of, so daily summaries can hold them (docs/incremental.md), and they
//! share the counting machinery of every other leaf.

use datafusion::arrow::datatypes::DataType;
use datafusion::logical_expr::{Expr, cast, lit, when};
use segmint_spec::Momentum;

use crate::compare::compare_all;
use crate::describe::matching;
use crate::error::Result;
use crate::leaf::{Aggregates, CompiledLeaf, LeafCompiler, LeafPlan, never_null, zero};

/// `count` of the matching events with a time in `[lo, hi)`.
fn count_between(
    leaf: &Momentum,
    c: &LeafCompiler,
    aggs: &mut Aggregates,
    lo: i64,
    hi: i64,
) -> Result<Expr> {
    let mut cond = c.range(Some(lo), hi);
    cond.extend(c.matching(&leaf.matching));
    let count = LeafCompiler::filtered(c.count_events(), cond)?;
    Ok(zero(aggs.column(count)))
}

impl LeafPlan for Momentum {
    fn plan(&self, c: &LeafCompiler, aggs: &mut Aggregates) -> Result<CompiledLeaf> {
        let end = c.as_of.end_us;
        let recent_us = self.recent.fixed_seconds() * 1_000_000;
        let baseline_us = self.baseline.fixed_seconds() * 1_000_000;
        let recent = count_between(self, c, aggs, end - recent_us, end)?;
        let baseline = count_between(
            self,
            c,
            aggs,
            end - recent_us - baseline_us,
            end - recent_us,
        )?;
        // (recent / recent length) / (baseline / baseline length), arranged as the function
        // arranges it, so the doubles are the same.
        let double = |e: Expr| cast(e, DataType::Float64);
        let ratio = when(
            baseline.clone().gt(lit(0i64)),
            (double(recent) * lit(baseline_us as f64)) / (double(baseline) * lit(recent_us as f64)),
        )
        .end()?;
        Ok(CompiledLeaf {
            holds: never_null(compare_all(&ratio, &self.value)),
            value: ratio,
        })
    }

    fn describe(&self) -> String {
        format!(
            "momentum({} | last {} vs {} before)",
            matching(&self.matching),
            self.recent,
            self.baseline
        )
    }
}
