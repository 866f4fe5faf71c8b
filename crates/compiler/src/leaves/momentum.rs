//! `momentum`: `momentum(time, as-of, recent, baseline) FILTER (…)`, the ratio of the
//! recent rate to the baseline rate, compared.

use datafusion::common::ScalarValue;
use datafusion::logical_expr::lit;
use segmint_spec::Momentum;
use segmint_udfs::expr_fn::momentum;

use crate::compare::compare_all;
use crate::describe::matching;
use crate::error::Result;
use crate::leaf::{Aggregates, CompiledLeaf, LeafCompiler, LeafPlan, never_null, seconds};

impl LeafPlan for Momentum {
    fn plan(&self, c: &LeafCompiler, aggs: &mut Aggregates) -> Result<CompiledLeaf> {
        // The function's windows end at its as-of, inclusive: the last microsecond of the day.
        let as_of = lit(ScalarValue::TimestampMicrosecond(
            Some(c.as_of.end_us - 1),
            Some("UTC".into()),
        ));
        let ratio = momentum(
            c.time(),
            as_of,
            seconds(self.recent),
            seconds(self.baseline),
        );
        let ratio = aggs.column(LeafCompiler::filtered(ratio, c.matching(&self.matching))?);
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
