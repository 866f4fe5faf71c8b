//! `metric` (and `breadth`): one aggregate over matching events in the window, compared.
//! Distinct counts use segmint's `distinct_count` (DataFusion's grouped
//! `count(DISTINCT)` is several times slower at millions of entities); `mode` uses
//! `dominant`; `share` is two counts.

use datafusion::arrow::datatypes::DataType;
use datafusion::functions::core::expr_fn::get_field;
use datafusion::functions_aggregate::expr_fn::{avg, count, max, min, sum};
use datafusion::logical_expr::{cast, col, lit};
use segmint_spec::{Measure, Metric};
use segmint_udfs::expr_fn::{distinct_count, dominant};

use crate::compare::{compare_all, literal};
use crate::describe::{matching, window};
use crate::error::Result;
use crate::leaf::{Aggregates, CompiledLeaf, LeafCompiler, LeafPlan, never_null, zero};

impl LeafPlan for Metric {
    fn plan(&self, c: &LeafCompiler, aggs: &mut Aggregates) -> Result<CompiledLeaf> {
        let cond = c.events_in(&self.matching, self.window)?;
        let mut aggregate =
            |agg, cond| -> Result<_> { Ok(aggs.column(LeafCompiler::filtered(agg, cond)?)) };
        let value = match &self.measure {
            Measure::Count { of } => zero(aggregate(
                of.as_deref()
                    .map_or_else(|| c.count_events(), |of| count(col(of))),
                cond,
            )?),
            Measure::CountDistinct { of } => zero(aggregate(distinct_count(col(of)), cond)?),
            Measure::ActiveDays => zero(aggregate(distinct_count(c.day()), cond)?),
            Measure::Sum { of } => zero(c.summed(of, aggregate(sum(c.summand(of)), cond)?)),
            Measure::Avg { of } => c.summed(of, aggregate(avg(c.summand(of)), cond)?),
            Measure::Min { of } => aggregate(min(col(of)), cond)?,
            Measure::Max { of } => aggregate(max(col(of)), cond)?,
            Measure::Share { of, equals } => {
                let mut hit = cond.clone();
                hit.push(col(of).eq(literal(equals)));
                let part = aggregate(c.count_events(), hit)?;
                let whole = aggregate(c.count_events(), cond)?;
                // NULL when there are no matching events: the share is undefined.
                cast(part, DataType::Float64)
                    / datafusion::functions::expr_fn::nullif(
                        cast(whole, DataType::Float64),
                        lit(0.0f64),
                    )
            }
            Measure::Mode { of } => get_field(aggregate(dominant(col(of)), cond)?, "value"),
        };
        let holds = never_null(compare_all(&value, &self.value));
        Ok(CompiledLeaf { value, holds })
    }

    fn describe(&self) -> String {
        let of = self.measure.of().unwrap_or_default();
        let eq = match &self.measure {
            Measure::Share { equals, .. } => format!(" = {equals}"),
            _ => String::new(),
        };
        format!(
            "{}({of}{eq} | {}) {}",
            self.measure.agg().name(),
            matching(&self.matching),
            window(&self.window)
        )
    }
}
