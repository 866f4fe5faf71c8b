//! One leaf → one (deduplicated) aggregate over the entity's events, plus the value and the
//! predicate evaluated on the aggregated row.
//!
//! Identical aggregates of different leaves or segments are computed once: [`Aggregates`]
//! keys them by expression. New leaves add an arm to [`LeafCompiler::leaf`].

use std::collections::HashMap;

use datafusion::arrow::datatypes::{DataType, TimeUnit};
use datafusion::functions_aggregate::expr_fn::{avg, count, max, min, sum};
use datafusion::logical_expr::{Expr, ExprFunctionExt, cast, col, lit};
use segmint_spec::{EventMatch, EventsTable, Leaf, MetricAgg, Window};
use segmint_udfs::expr_fn::distinct_count;

use crate::compare::{compare, compare_all, conjunction, literal, timestamp};
use crate::error::{CompileError, Result};
use crate::time::AsOf;

/// The distinct aggregates of a run, each an output column `__agg_N` of the GROUP BY, and
/// the distinct window expressions over the grouped rows (population ranks for RFM).
#[derive(Default)]
pub struct Aggregates {
    pub exprs: Vec<Expr>,
    index: HashMap<Expr, usize>,
    pub windows: Vec<Expr>,
    window_index: HashMap<Expr, usize>,
}

impl Aggregates {
    /// The column holding this aggregate, adding it on first use.
    pub fn column(&mut self, aggregate: Expr) -> Expr {
        let next = self.exprs.len();
        let i = *self.index.entry(aggregate.clone()).or_insert(next);
        if i == next {
            self.exprs.push(aggregate.alias(format!("__agg_{i}")));
        }
        col(format!("__agg_{i}"))
    }

    /// The column holding this window expression (computed once per run, after the
    /// GROUP BY and the profiles join), adding it on first use.
    pub fn window(&mut self, window: Expr) -> Expr {
        let next = self.windows.len();
        let i = *self.window_index.entry(window.clone()).or_insert(next);
        if i == next {
            self.windows.push(window);
        }
        col(format!("__win_{i}"))
    }
}

/// A compiled leaf: its value (for `preview`) and its truth (never null).
pub struct CompiledLeaf {
    pub value: Expr,
    pub holds: Expr,
}

/// Compiles leaves against the events table's column roles.
pub struct LeafCompiler<'a> {
    pub events: &'a EventsTable,
    pub as_of: AsOf,
    pub profiles_qualifier: &'a str,
}

impl LeafCompiler<'_> {
    pub(crate) fn time(&self) -> Expr {
        col(&self.events.time)
    }

    /// Event name and property filters.
    pub(crate) fn matching(&self, m: &EventMatch) -> Vec<Expr> {
        let mut parts = Vec::new();
        if let Some(e) = &m.event {
            parts.push(col(&self.events.event).eq(lit(e.as_str())));
        }
        for f in &m.filters {
            parts.push(compare(col(&f.column), &f.cmp));
        }
        parts
    }

    fn range(&self, lo: Option<i64>, hi: i64) -> Vec<Expr> {
        let mut parts = Vec::new();
        if let Some(lo) = lo {
            parts.push(self.time().gt_eq(timestamp(lo)));
        }
        if hi < self.as_of.end_us {
            parts.push(self.time().lt(timestamp(hi)));
        }
        parts
    }

    pub(crate) fn window(&self, w: Window) -> Result<Vec<Expr>> {
        let (lo, hi) = self
            .as_of
            .window(w)
            .ok_or_else(|| CompileError::Unsupported(format!("window {w:?} is out of range")))?;
        Ok(self.range(lo, hi))
    }

    /// `agg FILTER (WHERE cond)`, or plain `agg` when cond is always true.
    pub(crate) fn filtered(agg: Expr, cond: Vec<Expr>) -> Result<Expr> {
        if cond.is_empty() {
            return Ok(agg);
        }
        Ok(agg.filter(conjunction(cond)).build()?)
    }

    /// The event time as wall-clock time in the project timezone (UTC: the time itself),
    /// so calendar days are the project's days.
    pub(crate) fn local_time(&self) -> Expr {
        let tz = self.as_of.tz.name();
        if tz == "UTC" {
            return self.time();
        }
        let zoned = cast(
            self.time(),
            DataType::Timestamp(TimeUnit::Microsecond, Some(tz.into())),
        );
        datafusion::functions::expr_fn::to_local_time(vec![zoned])
    }

    /// Calendar day of the event in the project timezone.
    pub(crate) fn day(&self) -> Expr {
        cast(self.local_time(), DataType::Date32)
    }

    /// Compile one leaf, registering its aggregates.
    pub fn leaf(&self, leaf: &Leaf, aggs: &mut Aggregates) -> Result<CompiledLeaf> {
        let zero = |e: Expr| datafusion::functions::expr_fn::coalesce(vec![e, lit(0i64)]);
        match leaf {
            Leaf::Performed {
                matching,
                window,
                count: cmp,
            } => {
                let mut cond = self.matching(matching);
                cond.extend(self.window(*window)?);
                let value = zero(aggs.column(Self::filtered(count(lit(1i64)), cond)?));
                let holds = compare_all(&value, cmp);
                Ok(CompiledLeaf { value, holds })
            }
            Leaf::Occurrence {
                first,
                matching,
                when: at,
            } => {
                let cond = self.matching(matching);
                let agg = if *first {
                    min(self.time())
                } else {
                    max(self.time())
                };
                let value = aggs.column(Self::filtered(agg, cond)?);
                let (lo, hi) = self.as_of.when(*at).ok_or_else(|| {
                    CompileError::Unsupported(format!("window {at:?} is out of range"))
                })?;
                let mut parts = vec![value.clone().lt(timestamp(hi))];
                if let Some(lo) = lo {
                    parts.push(value.clone().gt_eq(timestamp(lo)));
                }
                Ok(CompiledLeaf {
                    holds: never_null(conjunction(parts)),
                    value,
                })
            }
            Leaf::Metric {
                agg,
                of,
                equals,
                matching,
                window,
                value: cmp,
            } => {
                let mut cond = self.matching(matching);
                cond.extend(self.window(*window)?);
                let of_col = || of.as_deref().map(col);
                let value = match agg {
                    MetricAgg::Count => zero(
                        aggs.column(Self::filtered(count(of_col().unwrap_or(lit(1i64))), cond)?),
                    ),
                    MetricAgg::CountDistinct | MetricAgg::ActiveDays => {
                        let target = if *agg == MetricAgg::ActiveDays {
                            self.day()
                        } else {
                            of_col().ok_or_else(|| missing("count_distinct"))?
                        };
                        // segmint's `distinct_count`: DataFusion's grouped
                        // count(DISTINCT) is several times slower at millions of entities.
                        zero(aggs.column(Self::filtered(distinct_count(target), cond)?))
                    }
                    MetricAgg::Sum => zero(aggs.column(Self::filtered(
                        sum(of_col().ok_or_else(|| missing("sum"))?),
                        cond,
                    )?)),
                    MetricAgg::Avg => aggs.column(Self::filtered(
                        avg(of_col().ok_or_else(|| missing("avg"))?),
                        cond,
                    )?),
                    MetricAgg::Min => aggs.column(Self::filtered(
                        min(of_col().ok_or_else(|| missing("min"))?),
                        cond,
                    )?),
                    MetricAgg::Max => aggs.column(Self::filtered(
                        max(of_col().ok_or_else(|| missing("max"))?),
                        cond,
                    )?),
                    MetricAgg::Share => {
                        let of = of_col().ok_or_else(|| missing("share"))?;
                        let equals = equals.as_ref().ok_or_else(|| missing("share"))?;
                        let mut hit = cond.clone();
                        hit.push(of.eq(literal(equals)));
                        let part = aggs.column(Self::filtered(count(lit(1i64)), hit)?);
                        let whole = aggs.column(Self::filtered(count(lit(1i64)), cond)?);
                        // NULL when there are no matching events: the share is undefined.
                        cast(part, DataType::Float64)
                            / datafusion::functions::expr_fn::nullif(
                                cast(whole, DataType::Float64),
                                lit(0.0f64),
                            )
                    }
                    MetricAgg::Mode => {
                        let of = of_col().ok_or_else(|| missing("mode"))?;
                        let dominant =
                            aggs.column(Self::filtered(segmint_udfs::expr_fn::dominant(of), cond)?);
                        datafusion::functions::core::expr_fn::get_field(dominant, "value")
                    }
                };
                let holds = never_null(compare_all(&value, cmp));
                Ok(CompiledLeaf { value, holds })
            }
            Leaf::Trait { filters } => {
                let parts = filters
                    .iter()
                    .map(|f| {
                        compare(
                            Expr::Column(datafusion::common::Column::new(
                                Some(self.profiles_qualifier),
                                &f.column,
                            )),
                            &f.cmp,
                        )
                    })
                    .collect();
                let holds = never_null(conjunction(parts));
                Ok(CompiledLeaf {
                    value: holds.clone(),
                    holds,
                })
            }
            Leaf::Funnel {
                steps,
                window,
                modes,
                events,
                outcome,
            } => self.funnel(steps, *window, modes, *events, outcome, aggs),
            Leaf::Sequence { steps, events } => self.sequence(steps, *events, aggs),
            Leaf::Sessions {
                matching,
                window,
                gap,
                count,
                mean_minutes,
                events_per_session,
            } => self.sessions(
                matching,
                *window,
                *gap,
                [count, mean_minutes, events_per_session],
                aggs,
            ),
            Leaf::Cadence {
                matching,
                window,
                classes,
                rules,
            } => self.cadence(matching, *window, classes, rules, aggs),
            Leaf::Momentum {
                matching,
                recent,
                baseline,
                value,
            } => self.momentum(matching, *recent, *baseline, value, aggs),
            Leaf::Rfm {
                matching,
                monetary,
                window,
                cut_points,
                classes,
                r,
                f,
                m,
            } => self.rfm(
                matching,
                monetary,
                *window,
                cut_points.as_ref(),
                classes,
                [r, f, m],
                aggs,
            ),
            Leaf::Affinity {
                of,
                matching,
                window,
                values,
                min_share,
            } => self.affinity(of, matching, *window, values, *min_share, aggs),
        }
    }
}

/// `coalesce(e, false)`: a leaf's truth is never NULL.
pub(crate) fn never_null(e: Expr) -> Expr {
    datafusion::functions::expr_fn::coalesce(vec![e, lit(false)])
}

fn missing(what: &str) -> CompileError {
    CompileError::Unsupported(format!("`{what}` needs `of:`"))
}
