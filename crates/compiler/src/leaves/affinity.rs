//! `affinity`: `dominant(of) FILTER (…)`, the most frequent value and its share; the value
//! must be one of the listed ones and the share at least `min_share`.

use datafusion::functions::core::expr_fn::get_field;
use datafusion::logical_expr::{col, lit};
use segmint_spec::Affinity;
use segmint_udfs::expr_fn::dominant;

use crate::compare::{conjunction, literal};
use crate::describe::{matching, window};
use crate::error::Result;
use crate::leaf::{Aggregates, CompiledLeaf, LeafCompiler, LeafPlan, never_null};

impl LeafPlan for Affinity {
    fn plan(&self, c: &LeafCompiler, aggs: &mut Aggregates) -> Result<CompiledLeaf> {
        let cond = c.events_in(&self.matching, self.window)?;
        let top = aggs.column(LeafCompiler::filtered(dominant(col(&self.of)), cond)?);
        let value = get_field(top.clone(), "value");
        let mut parts = Vec::new();
        if !self.values.is_empty() {
            let values = self.values.iter().map(literal).collect();
            parts.push(value.clone().in_list(values, false));
        }
        if let Some(share) = self.min_share {
            parts.push(get_field(top, "share").gt_eq(lit(share)));
        }
        Ok(CompiledLeaf {
            holds: never_null(conjunction(parts)),
            value,
        })
    }

    fn describe(&self) -> String {
        format!(
            "dominant {}({}) {}",
            self.of,
            matching(&self.matching),
            window(&self.window)
        )
    }
}
