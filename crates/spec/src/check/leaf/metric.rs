//! `metric`: an aggregate over matching events — `count`, `count_distinct`, `sum`, `avg`,
//! `min`, `max`, `mode`, `share` of a property, or `active_days` — compared.
//!
//! ```yaml
//! metric: {agg: sum, of: revenue, event: purchase, within: 90d, value: {gte: 500}}
//! metric: {agg: share, of: channel, equals: mobile, within: 30d, value: {gte: 0.6}}
//! ```

use crate::check::context::at;
use crate::check::lower::Lowerer;
use crate::check::predicate::Operand;
use crate::check::window;
use crate::diagnostic::{Code, Position};
use crate::model::{Leaf, Measure, Metric};
use crate::schema::ColumnKind;
use crate::syntax::{MetricAgg, MetricLeafSyntax};

impl Lowerer<'_, '_> {
    pub(in crate::check) fn metric(
        &mut self,
        leaf: &MetricLeafSyntax,
        position: Position,
    ) -> Option<Leaf> {
        let agg = leaf.agg.value;
        let matching = self.matching(&leaf.event, &leaf.filters);
        let window = window::window(self.ctx, position, &leaf.within, &leaf.between);
        let needs_of = !matches!(agg, MetricAgg::Count | MetricAgg::ActiveDays);
        let mut ok = true;
        let of_kind = match (&leaf.of, needs_of) {
            (None, true) => {
                self.ctx.report(
                    Code::BadMetric,
                    at(&leaf.agg),
                    format!("`{}` needs `of:` (the property it aggregates)", agg.name()),
                    "e.g. `of: revenue`",
                );
                ok = false;
                None
            }
            (Some(of), _) if agg == MetricAgg::ActiveDays => {
                self.ctx.report(
                    Code::BadMetric,
                    at(of),
                    "`active_days` counts calendar days and takes no `of:`",
                    "remove `of:`; use `count_distinct` to count distinct values of a property",
                );
                ok = false;
                None
            }
            (Some(of), _) => {
                let kind = self.events_column(of);
                if kind.is_none() && self.ctx.schema.is_some() {
                    ok = false;
                }
                kind
            }
            (None, false) => None,
        };
        if matches!(agg, MetricAgg::Sum | MetricAgg::Avg)
            && let (Some(kind), Some(of)) = (of_kind, &leaf.of)
            && !kind.is_numeric()
        {
            self.ctx.report(
                Code::TypeMismatch,
                at(of),
                format!(
                    "`{}` needs a numeric column, but `{}` is {}",
                    agg.name(),
                    of.value,
                    kind.name()
                ),
                "use count_distinct, mode or share for text columns",
            );
            ok = false;
        }
        let equals = match (&leaf.equals, agg) {
            (Some(e), MetricAgg::Share) => Some(e.value.clone()),
            (None, MetricAgg::Share) => {
                self.ctx.report(
                    Code::BadMetric,
                    at(&leaf.agg),
                    "`share` needs `equals:` (the value whose share is measured)",
                    "e.g. `agg: share, of: channel, equals: mobile, value: {gte: 0.6}`",
                );
                ok = false;
                None
            }
            (Some(e), _) => {
                self.ctx.report(
                    Code::BadMetric,
                    at(e),
                    format!("`equals:` only applies to `share`, not `{}`", agg.name()),
                    "remove `equals:` or use `agg: share`",
                );
                ok = false;
                None
            }
            (None, _) => None,
        };
        let operand = match agg {
            MetricAgg::Count | MetricAgg::CountDistinct | MetricAgg::ActiveDays => Operand::Count,
            MetricAgg::Share => Operand::Fraction,
            MetricAgg::Avg => Operand::Column(ColumnKind::Float),
            _ => of_kind.map_or(Operand::Unknown, Operand::Column),
        };
        let value = self.comparison(
            &leaf.value,
            position,
            &format!("metric {}", agg.name()),
            "value",
            operand,
            "{gte: 10}",
        );
        if !ok {
            return None;
        }
        let of = leaf.of.as_ref().map(|o| o.value.clone());
        let measure = match (agg, of) {
            (MetricAgg::Count, of) => Measure::Count { of },
            (MetricAgg::ActiveDays, _) => Measure::ActiveDays,
            // Reported above: every other aggregate needs `of:`.
            (_, None) => return None,
            (MetricAgg::CountDistinct, Some(of)) => Measure::CountDistinct { of },
            (MetricAgg::Sum, Some(of)) => Measure::Sum { of },
            (MetricAgg::Avg, Some(of)) => Measure::Avg { of },
            (MetricAgg::Min, Some(of)) => Measure::Min { of },
            (MetricAgg::Max, Some(of)) => Measure::Max { of },
            (MetricAgg::Mode, Some(of)) => Measure::Mode { of },
            (MetricAgg::Share, Some(of)) => Measure::Share {
                of,
                equals: equals?,
            },
        };
        Some(Leaf::Metric(Metric {
            measure,
            matching: matching?,
            window: window?,
            value: value?,
        }))
    }
}
