//! `performed` / `not_performed`: `count(*) FILTER (WHERE event, filters, window)`,
//! compared (`not_performed` is `= 0`).

use datafusion::functions_aggregate::expr_fn::count;
use datafusion::logical_expr::lit;
use segmint_spec::Performed;

use crate::compare::compare_all;
use crate::describe::{matching, window};
use crate::error::Result;
use crate::leaf::{Aggregates, CompiledLeaf, LeafCompiler, LeafPlan, zero};

impl LeafPlan for Performed {
    fn plan(&self, c: &LeafCompiler, aggs: &mut Aggregates) -> Result<CompiledLeaf> {
        let cond = c.events_in(&self.matching, self.window)?;
        let value = zero(aggs.column(LeafCompiler::filtered(count(lit(1i64)), cond)?));
        let holds = compare_all(&value, &self.count);
        Ok(CompiledLeaf { value, holds })
    }

    fn describe(&self) -> String {
        format!(
            "count({}) {}",
            matching(&self.matching),
            window(&self.window)
        )
    }
}
