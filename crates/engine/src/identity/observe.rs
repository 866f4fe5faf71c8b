//! What the lake says about identifiers, as DataFusion plans: the distinct identifier tuples
//! seen together (on an event row, an edge-table row, a profile), then the identifiers
//! (nodes) and the links between them (edges) with when each was first and last seen.
//!
//! A value matching a blocked pattern counts as absent, so a placeholder such as `guest` or
//! an all-zero UUID never links anyone. Two identifiers on the same row form an edge.

use std::sync::Arc;

use datafusion::arrow::datatypes::{DataType, TimeUnit};
use datafusion::common::ScalarValue;
use datafusion::functions::expr_fn::regexp_like;
use datafusion::functions_aggregate::expr_fn::{max, min};
use datafusion::logical_expr::{Expr, LogicalPlanBuilder, TableSource, cast, col, lit, when};
use datafusion::prelude::{DataFrame, SessionContext};
use segmint_spec::Identity;

use crate::error::{EngineError, Result};

/// The tuple column of identifier type `rank`.
pub fn value_column(rank: usize) -> String {
    format!("v{rank}")
}

fn utc_micros() -> DataType {
    DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()))
}

/// `value` as text, or NULL when it is blank-by-rule (matches a blocked pattern).
pub fn unblocked(value: Expr, identity: &Identity) -> Expr {
    let text = cast(value, DataType::Utf8);
    if identity.blocked.is_empty() {
        return text;
    }
    let pattern = identity
        .blocked
        .iter()
        .map(|p| format!("(?:{p})"))
        .collect::<Vec<_>>()
        .join("|");
    when(
        regexp_like(text.clone(), lit(pattern), None),
        lit(ScalarValue::Utf8(None)),
    )
    .otherwise(text)
    .unwrap_or_else(|_| lit(ScalarValue::Utf8(None)))
}

/// One input of identifier tuples: a table, the identifier types its columns hold, its time
/// column and a filter.
pub struct TupleSource {
    pub source: Arc<dyn TableSource>,
    /// `(rank, column)` of each identifier it holds.
    pub columns: Vec<(usize, String)>,
    pub time: Option<String>,
    pub filter: Option<Expr>,
}

/// The distinct identifier tuples of `sources` (`v0…vk`, `first_seen`, `last_seen`).
pub fn tuples(
    ctx: &SessionContext,
    identity: &Identity,
    sources: Vec<TupleSource>,
) -> Result<DataFrame> {
    let plan = EngineError::Plan;
    let k = identity.identifiers.len();
    let mut all: Option<DataFrame> = None;
    for (i, s) in sources.into_iter().enumerate() {
        let mut b =
            LogicalPlanBuilder::scan(format!("tuples_{i}"), s.source, None).map_err(plan)?;
        if let Some(f) = s.filter {
            b = b.filter(f).map_err(plan)?;
        }
        let mut select: Vec<Expr> = (0..k)
            .map(|r| {
                match s.columns.iter().find(|(rank, _)| *rank == r) {
                    Some((_, c)) => unblocked(col(c), identity),
                    None => lit(ScalarValue::Utf8(None)),
                }
                .alias(value_column(r))
            })
            .collect();
        select.push(
            match &s.time {
                Some(t) => cast(col(t), utc_micros()),
                None => lit(ScalarValue::TimestampMicrosecond(None, Some("UTC".into()))),
            }
            .alias("t"),
        );
        let df = DataFrame::new(
            ctx.state(),
            b.project(select).map_err(plan)?.build().map_err(plan)?,
        );
        all = Some(match all {
            None => df,
            Some(a) => a.union(df).map_err(plan)?,
        });
    }
    let all = all.ok_or_else(|| EngineError::Internal("no identifier sources".into()))?;
    let keys: Vec<Expr> = (0..k).map(|r| col(value_column(r))).collect();
    let any = (0..k)
        .map(|r| col(value_column(r)).is_not_null())
        .reduce(Expr::or)
        .unwrap_or(lit(false));
    all.filter(any)
        .and_then(|d| {
            d.aggregate(
                keys,
                vec![
                    min(col("t")).alias("first_seen"),
                    max(col("t")).alias("last_seen"),
                ],
            )
        })
        .map_err(plan)
}

/// `frames` stacked (UNION ALL); `None` when there are none.
fn union_all(frames: Vec<DataFrame>) -> Result<Option<DataFrame>> {
    let mut all: Option<DataFrame> = None;
    for df in frames {
        all = Some(match all {
            None => df,
            Some(a) => a.union(df).map_err(EngineError::Plan)?,
        });
    }
    Ok(all)
}

/// `df` grouped by `keys`, with when each group was first and last seen.
fn first_last(df: DataFrame, keys: &[&str]) -> Result<DataFrame> {
    df.aggregate(
        keys.iter().map(|k| col(*k)).collect(),
        vec![
            min(col("first_seen")).alias("first_seen"),
            max(col("last_seen")).alias("last_seen"),
        ],
    )
    .map_err(EngineError::Plan)
}

/// For every pair of identifier ranks `i < j`, the rows of `tuples` holding both (columns
/// `column(i)`, `column(j)`), each selected as `select(i, j, a, b)` plus the times.
fn pairs(
    tuples: &DataFrame,
    identity: &Identity,
    column: impl Fn(usize) -> String,
    select: impl Fn(usize, usize, Expr, Expr) -> Vec<Expr>,
) -> Result<Vec<DataFrame>> {
    let k = identity.identifiers.len();
    let mut out = Vec::new();
    for i in 0..k {
        for j in i + 1..k {
            let (a, b) = (col(column(i)), col(column(j)));
            let mut columns = select(i, j, a.clone(), b.clone());
            columns.extend([col("first_seen"), col("last_seen")]);
            let df = tuples
                .clone()
                .filter(a.is_not_null().and(b.is_not_null()))
                .and_then(|d| d.select(columns))
                .map_err(EngineError::Plan)?;
            out.push(df);
        }
    }
    Ok(out)
}

/// Identifiers of the tuples: `id_type`, `id_value`, `first_seen`, `last_seen`.
pub fn nodes(tuples: &DataFrame, identity: &Identity) -> Result<DataFrame> {
    let mut frames = Vec::new();
    for (r, name) in identity.identifiers.iter().enumerate() {
        let v = col(value_column(r));
        frames.push(
            tuples
                .clone()
                .filter(v.clone().is_not_null())
                .and_then(|d| {
                    d.select(vec![
                        lit(name.as_str()).alias("id_type"),
                        v.alias("id_value"),
                        col("first_seen"),
                        col("last_seen"),
                    ])
                })
                .map_err(EngineError::Plan)?,
        );
    }
    let all =
        union_all(frames)?.ok_or_else(|| EngineError::Internal("no identifier types".into()))?;
    first_last(all, &["id_type", "id_value"])
}

/// Links of the tuples: every pair of identifiers on one tuple, the higher-priority type as
/// `a`: `a_type`, `a_value`, `b_type`, `b_value`, `first_seen`, `last_seen`.
pub fn edges(tuples: &DataFrame, identity: &Identity) -> Result<Option<DataFrame>> {
    let types = &identity.identifiers;
    let frames = pairs(tuples, identity, value_column, |i, j, a, b| {
        vec![
            lit(types[i].as_str()).alias("a_type"),
            a.alias("a_value"),
            lit(types[j].as_str()).alias("b_type"),
            b.alias("b_value"),
        ]
    })?;
    union_all(frames)?
        .map(|all| first_last(all, &["a_type", "a_value", "b_type", "b_value"]))
        .transpose()
}

/// The tuples with their identifiers as node numbers (`n0…nk`, `first_seen`, `last_seen`):
/// one join of `numbered` (`id_type`, `id_value`, `n`) per identifier type, over the distinct
/// tuples — far fewer rows than the edges.
pub fn numbered_tuples(
    tuples: &DataFrame,
    numbered: &DataFrame,
    identity: &Identity,
) -> Result<DataFrame> {
    use datafusion::logical_expr::JoinType;
    let plan = EngineError::Plan;
    let types = &identity.identifiers;
    let mut with_numbers = tuples.clone();
    for (r, name) in types.iter().enumerate() {
        let key = format!("k{r}");
        let n = format!("n{r}");
        let side = numbered
            .clone()
            .filter(col("id_type").eq(lit(name.as_str())))
            .and_then(|d| d.select(vec![col("id_value").alias(&key), col("n").alias(&n)]))
            .map_err(plan)?;
        with_numbers = with_numbers
            .join(side, JoinType::Left, &[&value_column(r)], &[&key], None)
            .map_err(plan)?;
    }
    with_numbers
        .select(
            (0..types.len())
                .map(|r| col(format!("n{r}")))
                .chain([col("first_seen"), col("last_seen")])
                .collect::<Vec<Expr>>(),
        )
        .map_err(plan)
}

/// Links of numbered tuples: every pair of a tuple's identifiers, the higher-priority type
/// as `a`: `a`, `b`, `first_seen`, `last_seen`.
pub fn numbered_edges(with_numbers: &DataFrame, identity: &Identity) -> Result<Option<DataFrame>> {
    let frames = pairs(
        with_numbers,
        identity,
        |r| format!("n{r}"),
        |_, _, a, b| vec![a.alias("a"), b.alias("b")],
    )?;
    union_all(frames)?
        .map(|all| first_last(all, &["a", "b"]))
        .transpose()
}
