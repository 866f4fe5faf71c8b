//! `first_performed` / `last_performed`: `min/max(time) FILTER (WHERE event, filters)` over
//! all history before as-of, then placed in time.

use datafusion::functions_aggregate::expr_fn::{max, min};
use segmint_spec::{Occurrence, When, Which};

use crate::compare::{conjunction, timestamp};
use crate::describe::matching;
use crate::error::{CompileError, Result};
use crate::leaf::{Aggregates, CompiledLeaf, LeafCompiler, LeafPlan, never_null};

impl LeafPlan for Occurrence {
    fn plan(&self, c: &LeafCompiler, aggs: &mut Aggregates) -> Result<CompiledLeaf> {
        let cond = c.matching(&self.matching);
        let agg = match self.which {
            Which::First => min(c.time()),
            Which::Last => max(c.time()),
        };
        let value = aggs.column(LeafCompiler::filtered(agg, cond)?);
        let (lo, hi) = c
            .as_of
            .when(self.when)
            .ok_or_else(|| CompileError::OutOfRange(format!("{:?}", self.when)))?;
        let mut parts = vec![value.clone().lt(timestamp(hi))];
        if let Some(lo) = lo {
            parts.push(value.clone().gt_eq(timestamp(lo)));
        }
        Ok(CompiledLeaf {
            holds: never_null(conjunction(parts)),
            value,
        })
    }

    fn describe(&self) -> String {
        let which = match self.which {
            Which::First => "first",
            Which::Last => "last",
        };
        let when = match self.when {
            When::Within(s) => format!("(want within {s})"),
            When::Before(s) => format!("(want before {s} ago)"),
            When::Between(a, b) => format!("(want in [{a}, {b}))"),
            When::Ever => "(any time)".to_string(),
        };
        format!("{which}({}) {when}", matching(&self.matching))
    }
}
