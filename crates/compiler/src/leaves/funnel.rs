//! `funnel`: `window_funnel(window, modes, time, step…) FILTER (WHERE events window)`, the
//! level reached compared (completed, reached, dropped after a step).

use datafusion::arrow::datatypes::DataType;
use datafusion::logical_expr::{cast, lit};
use segmint_spec::{Funnel, FunnelOutcome};
use segmint_udfs::expr_fn::window_funnel;

use crate::compare::{compare_all, conjunction};
use crate::describe::{matching, window};
use crate::error::Result;
use crate::leaf::{Aggregates, CompiledLeaf, LeafCompiler, LeafPlan, never_null, seconds, zero};

impl LeafPlan for Funnel {
    fn plan(&self, c: &LeafCompiler, aggs: &mut Aggregates) -> Result<CompiledLeaf> {
        let steps = self
            .steps
            .iter()
            .map(|s| conjunction(c.matching(s)))
            .collect();
        let level = window_funnel(seconds(self.window), &self.mode_argument(), c.time(), steps);
        let level = aggs.column(LeafCompiler::filtered(level, c.window(self.events)?)?);
        let value = zero(cast(level, DataType::Int64));
        let holds = match &self.outcome {
            FunnelOutcome::Completed => value.clone().eq(lit(self.steps.len() as i64)),
            FunnelOutcome::Reached(cmps) => compare_all(&value, cmps),
            FunnelOutcome::DroppedAfter(step) => value.clone().eq(lit(*step as i64)),
        };
        Ok(CompiledLeaf {
            holds: never_null(holds),
            value,
        })
    }

    fn describe(&self) -> String {
        let steps: Vec<String> = self.steps.iter().map(matching).collect();
        format!(
            "funnel steps({}) within {} {}",
            steps.join(" → "),
            self.window,
            window(&self.events)
        )
    }
}
