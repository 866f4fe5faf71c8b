//! The behavioral leaves as aggregates of the fused GROUP BY, using segmint's functions:
//!
//! | leaf | aggregate(s) | then |
//! |---|---|---|
//! | `funnel` | `window_funnel(window, modes, time, step…) FILTER (events)` | level compared |
//! | `sequence` | `sequence_match(pattern, time, step…) FILTER (events)` | true / false |
//! | `sessions` | `session_stats(time, gap) FILTER (…)` | struct fields compared |
//! | `cadence` | `cadence(local time, as-of day) FILTER (…)`, first/last day around the return window | class by rules |
//! | `momentum` | `momentum(time, as-of, recent, baseline) FILTER (…)` | ratio compared |
//! | `rfm` | `max(day)`, `count`, `sum(monetary)` `FILTER (…)` | population ranks (window functions) → scores → `rfm_class` |
//! | `affinity` | `dominant(of) FILTER (…)` | value and share compared |

use datafusion::arrow::datatypes::DataType;
use datafusion::common::ScalarValue;
use datafusion::functions::core::expr_fn::get_field;
use datafusion::functions_aggregate::count::count_udaf;
use datafusion::functions_aggregate::expr_fn::{count, max, min, sum};
use datafusion::logical_expr::expr::WindowFunction;
use datafusion::logical_expr::{
    Expr, ExprFunctionExt, WindowFrame, WindowFunctionDefinition, cast, lit, when,
};
use segmint_spec::{
    CadenceClass, CadenceRules, Comparison, EventMatch, FunnelOutcome, Gap, RfmCutPoints,
    SequenceStep, Span, Window,
};
use segmint_udfs::expr_fn as udf;

use crate::compare::{compare_all, conjunction};
use crate::error::Result;
use crate::leaf::{Aggregates, CompiledLeaf, LeafCompiler, never_null};

/// `coalesce(e, 0)` for counts.
fn zero(e: Expr) -> Expr {
    datafusion::functions::expr_fn::coalesce(vec![e, lit(0i64)])
}

/// `a > b ? a : b` over floats.
fn greatest(a: Expr, b: Expr) -> Result<Expr> {
    Ok(when(a.clone().gt(b.clone()), a).otherwise(b)?)
}

fn seconds(span: Span) -> Expr {
    lit(span.fixed_seconds())
}

/// The ClickHouse pattern of a sequence's steps: `(?1)` then, per step, `.*(?k)`
/// (eventually), `(?k)` (immediately), `(?t<=S)(?k)` (within) or `(?t>=S)(?k)` (after).
pub fn sequence_pattern(steps: &[SequenceStep]) -> String {
    let mut pattern = String::new();
    for (i, step) in steps.iter().enumerate() {
        let k = i + 1;
        if i > 0 {
            match step.gap {
                Gap::Eventually => pattern.push_str(".*"),
                Gap::Immediately => {}
                Gap::Within(s) => pattern.push_str(&format!("(?t<={})", s.fixed_seconds())),
                Gap::After(s) => pattern.push_str(&format!("(?t>={})", s.fixed_seconds())),
            }
        }
        pattern.push_str(&format!("(?{k})"));
    }
    pattern
}

/// `count(*) OVER (PARTITION BY part ORDER BY key [DESC] RANGE UNBOUNDED PRECEDING)`: how
/// many rows of the partition rank at or below this one (ties included).
fn rank_count(part: Expr, key: Expr, descending: bool) -> Result<Expr> {
    Ok(Expr::from(WindowFunction::new(
        WindowFunctionDefinition::AggregateUDF(count_udaf()),
        vec![lit(1i64)],
    ))
    .partition_by(vec![part])
    .order_by(vec![key.sort(!descending, false)])
    .window_frame(WindowFrame::new(Some(false)))
    .build()?)
}

/// `count(*) OVER (PARTITION BY part)`.
fn partition_size(part: Expr) -> Result<Expr> {
    Ok(Expr::from(WindowFunction::new(
        WindowFunctionDefinition::AggregateUDF(count_udaf()),
        vec![lit(1i64)],
    ))
    .partition_by(vec![part])
    .window_frame(WindowFrame::new(None))
    .build()?)
}

impl LeafCompiler<'_> {
    /// One boolean per step (its event and filters).
    fn step_conditions(&self, steps: impl Iterator<Item = Vec<Expr>>) -> Vec<Expr> {
        steps.map(conjunction).collect()
    }

    pub(crate) fn funnel(
        &self,
        steps: &[EventMatch],
        window: Span,
        modes: &str,
        events: Window,
        outcome: &FunnelOutcome,
        aggs: &mut Aggregates,
    ) -> Result<CompiledLeaf> {
        let conditions = self.step_conditions(steps.iter().map(|s| self.matching(s)));
        let level = udf::window_funnel(seconds(window), modes, self.time(), conditions);
        let level = aggs.column(Self::filtered(level, self.window(events)?)?);
        let value = zero(cast(level, DataType::Int64));
        let holds = match outcome {
            FunnelOutcome::Completed => value.clone().eq(lit(steps.len() as i64)),
            FunnelOutcome::Reached(cmps) => compare_all(&value, cmps),
            FunnelOutcome::DroppedAfter(step) => value.clone().eq(lit(*step as i64)),
        };
        Ok(CompiledLeaf {
            holds: never_null(holds),
            value,
        })
    }

    pub(crate) fn sequence(
        &self,
        steps: &[SequenceStep],
        events: Window,
        aggs: &mut Aggregates,
    ) -> Result<CompiledLeaf> {
        let conditions = self.step_conditions(steps.iter().map(|s| self.matching(&s.matching)));
        let matched = udf::sequence_match(&sequence_pattern(steps), self.time(), conditions);
        let matched = never_null(aggs.column(Self::filtered(matched, self.window(events)?)?));
        Ok(CompiledLeaf {
            value: matched.clone(),
            holds: matched,
        })
    }

    pub(crate) fn sessions(
        &self,
        matching: &EventMatch,
        window: Window,
        gap: Span,
        [count, mean_minutes, per_session]: [&Vec<Comparison>; 3],
        aggs: &mut Aggregates,
    ) -> Result<CompiledLeaf> {
        let mut cond = self.matching(matching);
        cond.extend(self.window(window)?);
        let stats = aggs.column(Self::filtered(
            udf::session_stats(self.time(), seconds(gap)),
            cond,
        )?);
        let sessions = zero(get_field(stats.clone(), "sessions"));
        let minutes = get_field(stats.clone(), "mean_session_seconds") / lit(60.0);
        let per = get_field(stats, "mean_events_per_session");
        let holds = conjunction(
            [
                (&sessions, count),
                (&minutes, mean_minutes),
                (&per, per_session),
            ]
            .into_iter()
            .filter(|(_, cmps)| !cmps.is_empty())
            .map(|(value, cmps)| compare_all(value, cmps))
            .collect(),
        );
        Ok(CompiledLeaf {
            value: sessions,
            holds: never_null(holds),
        })
    }

    /// The as-of day (local) as a `DATE` literal.
    fn as_of_date(&self) -> Expr {
        let epoch = chrono::NaiveDate::from_ymd_opt(1970, 1, 1).unwrap_or_default();
        lit(ScalarValue::Date32(Some(
            (self.as_of.date - epoch).num_days() as i32,
        )))
    }

    /// Local calendar day of each event as a day number.
    fn day_number(&self) -> Expr {
        cast(self.day(), DataType::Int32)
    }

    /// The cadence class expression (`NULL`: too few active days to have a rhythm).
    pub(crate) fn cadence_class(
        &self,
        matching: &EventMatch,
        window: Window,
        rules: &CadenceRules,
        aggs: &mut Aggregates,
    ) -> Result<Expr> {
        let mut cond = self.matching(matching);
        cond.extend(self.window(window)?);
        let rhythm = aggs.column(Self::filtered(
            udf::cadence(self.local_time(), self.as_of_date()),
            cond.clone(),
        )?);
        // The return window: days before it, and the first day in it.
        let boundary = self
            .as_of
            .minus(Span {
                amount: rules.returning_within_days as u32,
                unit: segmint_spec::Unit::Days,
            })
            .ok_or_else(|| {
                crate::error::CompileError::Unsupported("cadence window out of range".into())
            })?;
        let mut before = cond.clone();
        before.push(self.time().lt(crate::compare::timestamp(boundary)));
        let mut after = cond;
        after.push(self.time().gt_eq(crate::compare::timestamp(boundary)));
        let last_before = aggs.column(Self::filtered(max(self.day_number()), before)?);
        let first_after = aggs.column(Self::filtered(min(self.day_number()), after)?);

        let active = zero(get_field(rhythm.clone(), "active_days"));
        let usual = get_field(rhythm.clone(), "median_gap_days");
        let away = cast(get_field(rhythm, "current_gap_days"), DataType::Float64);
        let threshold =
            |factor: f64, floor: i64| greatest(usual.clone() * lit(factor), lit(floor as f64));
        let break_days = cast(first_after - last_before, DataType::Float64);
        let name = |c: CadenceClass| lit(c.name());
        Ok(when(
            active.lt(lit(i64::from(rules.min_active_days))),
            lit(ScalarValue::Utf8(None)),
        )
        .when(
            away.clone()
                .gt_eq(threshold(rules.lapsed_after, rules.lapsed_min_days)?),
            name(CadenceClass::Lapsed),
        )
        .when(
            away.gt_eq(threshold(rules.fading_after, rules.fading_min_days)?),
            name(CadenceClass::Fading),
        )
        .when(
            break_days.gt_eq(threshold(rules.returning_after, rules.returning_min_days)?),
            name(CadenceClass::Returning),
        )
        .otherwise(name(CadenceClass::Regular))?)
    }

    pub(crate) fn cadence(
        &self,
        matching: &EventMatch,
        window: Window,
        classes: &[CadenceClass],
        rules: &CadenceRules,
        aggs: &mut Aggregates,
    ) -> Result<CompiledLeaf> {
        let class = self.cadence_class(matching, window, rules, aggs)?;
        let names = classes.iter().map(|c| lit(c.name())).collect();
        Ok(CompiledLeaf {
            holds: never_null(class.clone().in_list(names, false)),
            value: class,
        })
    }

    pub(crate) fn momentum(
        &self,
        matching: &EventMatch,
        recent: Span,
        baseline: Span,
        cmps: &[Comparison],
        aggs: &mut Aggregates,
    ) -> Result<CompiledLeaf> {
        // The function's windows end at its as-of, inclusive: the last microsecond of the day.
        let as_of = lit(ScalarValue::TimestampMicrosecond(
            Some(self.as_of.end_us - 1),
            Some("UTC".into()),
        ));
        let ratio = udf::momentum(self.time(), as_of, seconds(recent), seconds(baseline));
        let ratio = aggs.column(Self::filtered(ratio, self.matching(matching))?);
        Ok(CompiledLeaf {
            holds: never_null(compare_all(&ratio, cmps)),
            value: ratio,
        })
    }

    /// The three RFM scores (1–5, NULL without a matching event) and the class.
    pub(crate) fn rfm_scores(
        &self,
        matching: &EventMatch,
        monetary: &str,
        window: Window,
        cut_points: Option<&RfmCutPoints>,
        aggs: &mut Aggregates,
    ) -> Result<[Expr; 4]> {
        let mut cond = self.matching(matching);
        cond.extend(self.window(window)?);
        let last_day = aggs.column(Self::filtered(max(self.day_number()), cond.clone())?);
        let frequency = zero(aggs.column(Self::filtered(count(lit(1i64)), cond.clone())?));
        let spent = datafusion::functions::expr_fn::coalesce(vec![
            cast(
                aggs.column(Self::filtered(
                    sum(datafusion::logical_expr::col(monetary)),
                    cond,
                )?),
                DataType::Float64,
            ),
            lit(0.0),
        ]);
        let as_of_day = cast(self.as_of_date(), DataType::Int32);
        let recency_days = cast(as_of_day - last_day, DataType::Int64);
        let buyer = frequency.clone().gt(lit(0i64));
        let none = || lit(ScalarValue::Int64(None));
        let [r, f, m] = match cut_points {
            Some(cuts) => {
                // Recency: at most the first cut point scores 5; past the last, 1.
                let mut r = when(!buyer.clone(), none());
                for (i, c) in cuts.recency_days.iter().enumerate() {
                    r = r.when(
                        cast(recency_days.clone(), DataType::Float64).lt_eq(lit(*c)),
                        lit(5 - i as i64),
                    );
                }
                let upward = |value: Expr, cuts: &[f64]| -> Result<Expr> {
                    let mut s = when(!buyer.clone(), none());
                    for (i, c) in cuts.iter().enumerate().rev() {
                        s = s.when(
                            cast(value.clone(), DataType::Float64).gt_eq(lit(*c)),
                            lit(i as i64 + 2),
                        );
                    }
                    Ok(s.otherwise(lit(1i64))?)
                };
                [
                    r.otherwise(lit(1i64))?,
                    upward(frequency.clone(), &cuts.frequency)?,
                    upward(spent.clone(), &cuts.monetary)?,
                ]
            }
            None => {
                // Quintiles among entities with a matching event: k rows at or below this
                // one out of n → score ceil(5k / n). Ties share a score.
                let n = aggs.window(partition_size(buyer.clone())?);
                let quintile = |k: Expr| -> Result<Expr> {
                    Ok(when(
                        buyer.clone(),
                        (lit(5i64) * k + n.clone() - lit(1i64)) / n.clone(),
                    )
                    .otherwise(none())?)
                };
                let r = aggs.window(rank_count(buyer.clone(), recency_days, true)?);
                let f = aggs.window(rank_count(buyer.clone(), frequency, false)?);
                let m = aggs.window(rank_count(buyer.clone(), spent, false)?);
                [quintile(r)?, quintile(f)?, quintile(m)?]
            }
        };
        let class = udf::rfm_class(r.clone(), f.clone(), m.clone());
        Ok([r, f, m, class])
    }

    #[allow(clippy::too_many_arguments)]
    pub(crate) fn rfm(
        &self,
        matching: &EventMatch,
        monetary: &str,
        window: Window,
        cut_points: Option<&RfmCutPoints>,
        classes: &[String],
        [r_cmps, f_cmps, m_cmps]: [&Vec<Comparison>; 3],
        aggs: &mut Aggregates,
    ) -> Result<CompiledLeaf> {
        let [r, f, m, class] = self.rfm_scores(matching, monetary, window, cut_points, aggs)?;
        let mut parts: Vec<Expr> = [(&r, r_cmps), (&f, f_cmps), (&m, m_cmps)]
            .into_iter()
            .filter(|(_, cmps)| !cmps.is_empty())
            .map(|(score, cmps)| compare_all(score, cmps))
            .collect();
        if !classes.is_empty() {
            parts.push(
                class
                    .clone()
                    .in_list(classes.iter().map(|c| lit(c.as_str())).collect(), false),
            );
        }
        Ok(CompiledLeaf {
            holds: never_null(conjunction(parts)),
            value: class,
        })
    }

    pub(crate) fn affinity(
        &self,
        of: &str,
        matching: &EventMatch,
        window: Window,
        values: &[segmint_spec::Literal],
        min_share: Option<f64>,
        aggs: &mut Aggregates,
    ) -> Result<CompiledLeaf> {
        let mut cond = self.matching(matching);
        cond.extend(self.window(window)?);
        let top = aggs.column(Self::filtered(
            udf::dominant(datafusion::logical_expr::col(of)),
            cond,
        )?);
        let value = get_field(top.clone(), "value");
        let mut parts = Vec::new();
        if !values.is_empty() {
            parts.push(
                value
                    .clone()
                    .in_list(values.iter().map(crate::compare::literal).collect(), false),
            );
        }
        if let Some(share) = min_share {
            parts.push(get_field(top, "share").gt_eq(lit(share)));
        }
        Ok(CompiledLeaf {
            holds: never_null(conjunction(parts)),
            value,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use segmint_spec::Unit;

    #[test]
    fn sequence_patterns_follow_the_gaps() {
        let step = |gap| SequenceStep {
            matching: EventMatch {
                event: Some("e".into()),
                filters: vec![],
            },
            gap,
        };
        let ten_minutes = Span {
            amount: 10,
            unit: Unit::Minutes,
        };
        let steps = [
            step(Gap::Eventually),
            step(Gap::Within(ten_minutes)),
            step(Gap::Immediately),
            step(Gap::After(ten_minutes)),
            step(Gap::Eventually),
        ];
        assert_eq!(
            sequence_pattern(&steps),
            "(?1)(?t<=600)(?2)(?3)(?t>=600)(?4).*(?5)"
        );
    }
}
