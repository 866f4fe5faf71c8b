//! `rfm`: `max(day)`, `count` and `sum(monetary)` `FILTER (…)`; scores 1–5 from fixed cut
//! points or from population quintiles (window functions over the grouped rows, computed
//! once per run), then `rfm_class(r, f, m)`.

use datafusion::arrow::datatypes::DataType;
use datafusion::common::ScalarValue;
use datafusion::functions_aggregate::expr_fn::{max, sum};
use datafusion::logical_expr::{Expr, cast, lit, when};
use segmint_spec::{Rfm, RfmCutPoints, RfmScoring};
use segmint_udfs::expr_fn::rfm_class;

use crate::compare::{compare_all, conjunction};
use crate::describe::{matching, window};
use crate::error::Result;
use crate::leaf::{Aggregates, CompiledLeaf, LeafCompiler, LeafPlan, never_null, zero};

/// `rank_count(part, key, descending) OVER ()`: how many rows of the partition rank at or
/// below this one (ties included) — `count(*) OVER (PARTITION BY part ORDER BY key RANGE
/// UNBOUNDED PRECEDING)` without sorting the wide grouped rows once per ordering.
fn rank_count(part: Expr, key: Expr, descending: bool) -> Expr {
    segmint_udfs::expr_fn::rank_count(part, key, descending)
}

/// The size of `part`'s partition: every row ties on a constant key.
fn partition_size(part: Expr) -> Expr {
    rank_count(part, lit(0i64), false)
}

/// The per-entity inputs of the scores.
struct Inputs {
    recency_days: Expr,
    frequency: Expr,
    spent: Expr,
    /// Has at least one matching event (only buyers are scored).
    buyer: Expr,
}

/// Scores from fixed cut points: recency at most the first cut point scores 5, past the
/// last 1; frequency and money at least the last cut point score 5, below the first 1.
fn cut_point_scores(x: &Inputs, cuts: &RfmCutPoints) -> Result<[Expr; 3]> {
    let none = || lit(ScalarValue::Int64(None));
    let mut r = when(!x.buyer.clone(), none());
    for (i, c) in cuts.recency_days.iter().enumerate() {
        r = r.when(
            cast(x.recency_days.clone(), DataType::Float64).lt_eq(lit(*c)),
            lit(5 - i as i64),
        );
    }
    let upward = |value: Expr, cuts: &[f64]| -> Result<Expr> {
        let mut s = when(!x.buyer.clone(), none());
        for (i, c) in cuts.iter().enumerate().rev() {
            s = s.when(
                cast(value.clone(), DataType::Float64).gt_eq(lit(*c)),
                lit(i as i64 + 2),
            );
        }
        Ok(s.otherwise(lit(1i64))?)
    };
    Ok([
        r.otherwise(lit(1i64))?,
        upward(x.frequency.clone(), &cuts.frequency)?,
        upward(x.spent.clone(), &cuts.monetary)?,
    ])
}

/// Quintiles among entities with a matching event: k rows at or below this one out of n →
/// score ceil(5k / n). Ties share a score.
fn quintile_scores(x: Inputs, aggs: &mut Aggregates) -> Result<[Expr; 3]> {
    let none = || lit(ScalarValue::Int64(None));
    let n = aggs.window(partition_size(x.buyer.clone()));
    let quintile = |k: Expr| -> Result<Expr> {
        Ok(when(
            x.buyer.clone(),
            (lit(5i64) * k + n.clone() - lit(1i64)) / n.clone(),
        )
        .otherwise(none())?)
    };
    let r = aggs.window(rank_count(x.buyer.clone(), x.recency_days, true));
    let f = aggs.window(rank_count(x.buyer.clone(), x.frequency, false));
    let m = aggs.window(rank_count(x.buyer.clone(), x.spent, false));
    Ok([quintile(r)?, quintile(f)?, quintile(m)?])
}

/// The three scores (1–5, NULL without a matching event) and the class.
fn scores(leaf: &Rfm, c: &LeafCompiler, aggs: &mut Aggregates) -> Result<[Expr; 4]> {
    let cond = c.events_in(&leaf.matching, leaf.window)?;
    let last_day = aggs.column(LeafCompiler::filtered(max(c.day_number()), cond.clone())?);
    let frequency = zero(aggs.column(LeafCompiler::filtered(c.count_events(), cond.clone())?));
    let spent = datafusion::functions::expr_fn::coalesce(vec![
        cast(
            aggs.column(LeafCompiler::filtered(
                sum(c.summand(&leaf.monetary)),
                cond,
            )?),
            DataType::Float64,
        ),
        lit(0.0),
    ]);
    let as_of_day = cast(c.as_of_date(), DataType::Int32);
    let inputs = Inputs {
        recency_days: cast(as_of_day - last_day, DataType::Int64),
        buyer: frequency.clone().gt(lit(0i64)),
        frequency,
        spent,
    };
    let [r, f, m] = match &leaf.scoring {
        RfmScoring::CutPoints(cuts) => cut_point_scores(&inputs, cuts)?,
        RfmScoring::Quintiles => quintile_scores(inputs, aggs)?,
    };
    let class = rfm_class(r.clone(), f.clone(), m.clone());
    Ok([r, f, m, class])
}

impl LeafPlan for Rfm {
    fn plan(&self, c: &LeafCompiler, aggs: &mut Aggregates) -> Result<CompiledLeaf> {
        let [r, f, m, class] = scores(self, c, aggs)?;
        let mut parts: Vec<Expr> = [(&r, &self.r), (&f, &self.f), (&m, &self.m)]
            .into_iter()
            .filter(|(_, cmps)| !cmps.is_empty())
            .map(|(score, cmps)| compare_all(score, cmps))
            .collect();
        if !self.classes.is_empty() {
            let names = self.classes.iter().map(|c| lit(c.as_str())).collect();
            parts.push(class.clone().in_list(names, false));
        }
        Ok(CompiledLeaf {
            holds: never_null(conjunction(parts)),
            value: class,
        })
    }

    fn describe(&self) -> String {
        format!(
            "rfm class({}, monetary {}) {}",
            matching(&self.matching),
            self.monetary,
            window(&self.window)
        )
    }
}
