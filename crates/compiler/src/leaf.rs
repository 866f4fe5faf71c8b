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

/// The distinct aggregates of a run, each an output column `__agg_N` of the GROUP BY.
#[derive(Default)]
pub struct Aggregates {
    pub exprs: Vec<Expr>,
    index: HashMap<Expr, usize>,
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
    fn time(&self) -> Expr {
        col(&self.events.time)
    }

    /// Event name and property filters.
    fn matching(&self, m: &EventMatch) -> Vec<Expr> {
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

    fn window(&self, w: Window) -> Result<Vec<Expr>> {
        let (lo, hi) = self
            .as_of
            .window(w)
            .ok_or_else(|| CompileError::Unsupported(format!("window {w:?} is out of range")))?;
        Ok(self.range(lo, hi))
    }

    /// `agg FILTER (WHERE cond)`, or plain `agg` when cond is always true.
    fn filtered(agg: Expr, cond: Vec<Expr>) -> Result<Expr> {
        if cond.is_empty() {
            return Ok(agg);
        }
        Ok(agg.filter(conjunction(cond)).build()?)
    }

    /// Calendar day of the event in the project timezone.
    fn day(&self) -> Expr {
        let tz = self.as_of.tz.name();
        if tz == "UTC" {
            return cast(self.time(), DataType::Date32);
        }
        let zoned = cast(
            self.time(),
            DataType::Timestamp(TimeUnit::Microsecond, Some(tz.into())),
        );
        cast(
            datafusion::functions::expr_fn::to_local_time(vec![zoned]),
            DataType::Date32,
        )
    }

    /// Compile one leaf, registering its aggregates.
    pub fn leaf(&self, leaf: &Leaf, aggs: &mut Aggregates) -> Result<CompiledLeaf> {
        let zero = |e: Expr| datafusion::functions::expr_fn::coalesce(vec![e, lit(0i64)]);
        let never_null = |e: Expr| datafusion::functions::expr_fn::coalesce(vec![e, lit(false)]);
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
                        return Err(CompileError::Unsupported(
                            "`agg: mode` is not supported yet; use `share` with `equals:`".into(),
                        ));
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
        }
    }
}

fn missing(what: &str) -> CompileError {
    CompileError::Unsupported(format!("`{what}` needs `of:`"))
}
