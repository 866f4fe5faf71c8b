//! `performed` / `not_performed`: `count(time) FILTER (WHERE event, filters, window)` (the
//! same as `count(*)`: the scan keeps only events with a time), compared (`not_performed` is
//! `= 0`).

use segmint_spec::Performed;

use crate::compare::compare_all;
use crate::describe::{matching, window};
use crate::error::Result;
use crate::leaf::{Aggregates, CompiledLeaf, LeafCompiler, LeafPlan, zero};

impl LeafPlan for Performed {
    fn plan(&self, c: &LeafCompiler, aggs: &mut Aggregates) -> Result<CompiledLeaf> {
        let cond = c.events_in(&self.matching, self.window)?;
        let value = zero(aggs.column(LeafCompiler::filtered(c.count_events(), cond)?));
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
