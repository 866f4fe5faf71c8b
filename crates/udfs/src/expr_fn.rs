//! Expression builders for segmint's functions, for programs that build plans with
//! `LogicalPlanBuilder` rather than SQL (the segmint compiler does), plus one shared
//! instance of each function (`*_udaf()`, `*_udwf()`, `*_udf()`).
//!
//! ```
//! use datafusion::prelude::{col, lit};
//! use segmint_udfs::expr_fn::{distinct_count, window_funnel};
//!
//! let features = distinct_count(col("feature"));
//! let steps = window_funnel(
//!     lit(86_400),
//!     "strict_increase",
//!     col("event_time"),
//!     vec![col("event_name").eq(lit("view")), col("event_name").eq(lit("purchase"))],
//! );
//! assert_eq!(features.schema_name().to_string(), "distinct_count(feature)");
//! # let _ = steps;
//! ```

use std::sync::{Arc, LazyLock};

use datafusion::logical_expr::{AggregateUDF, Expr, ScalarUDF, WindowUDF, lit};

use crate::{
    cadence, day_of, distinct_count, dominant, momentum, rank_count, retention, rfm_class,
    sequence_count, sequence_match, session_id, session_stats, value_code, window_funnel,
};

macro_rules! shared {
    ($getter:ident, $kind:ident, $value:expr) => {
        #[doc = concat!("The shared `", stringify!($getter), "` instance.")]
        pub fn $getter() -> Arc<$kind> {
            static INSTANCE: LazyLock<Arc<$kind>> =
                LazyLock::new(|| Arc::new($kind::new_from_impl($value)));
            Arc::clone(&INSTANCE)
        }
    };
}

shared!(
    window_funnel_udaf,
    AggregateUDF,
    window_funnel::WindowFunnel::default()
);
shared!(
    retention_udaf,
    AggregateUDF,
    retention::Retention::default()
);
shared!(
    sequence_match_udaf,
    AggregateUDF,
    sequence_match::SequenceMatch::default()
);
shared!(
    sequence_count_udaf,
    AggregateUDF,
    sequence_count::SequenceCount::default()
);
shared!(
    session_stats_udaf,
    AggregateUDF,
    session_stats::SessionStats::default()
);
shared!(cadence_udaf, AggregateUDF, cadence::Cadence::default());
shared!(momentum_udaf, AggregateUDF, momentum::Momentum::default());
shared!(
    distinct_count_udaf,
    AggregateUDF,
    distinct_count::DistinctCount::default()
);
shared!(dominant_udaf, AggregateUDF, dominant::Dominant::default());
shared!(session_id_udwf, WindowUDF, session_id::SessionId::default());
shared!(rank_count_udwf, WindowUDF, rank_count::RankCount::default());
shared!(rfm_class_udf, ScalarUDF, rfm_class::RfmClass::default());
shared!(day_of_udf, ScalarUDF, day_of::DayOf::default());
shared!(value_code_udf, ScalarUDF, value_code::ValueCode::default());

fn with(head: Vec<Expr>, tail: Vec<Expr>) -> Vec<Expr> {
    head.into_iter().chain(tail).collect()
}

/// `window_funnel(window, mode, ts, steps…)`.
pub fn window_funnel(window: Expr, mode: &str, ts: Expr, steps: Vec<Expr>) -> Expr {
    window_funnel_udaf().call(with(vec![window, lit(mode), ts], steps))
}

/// `retention(conditions…)`.
pub fn retention(conditions: Vec<Expr>) -> Expr {
    retention_udaf().call(conditions)
}

/// `sequence_match(pattern, ts, conditions…)`.
pub fn sequence_match(pattern: &str, ts: Expr, conditions: Vec<Expr>) -> Expr {
    sequence_match_udaf().call(with(vec![lit(pattern), ts], conditions))
}

/// `sequence_count(pattern, ts, conditions…)`.
pub fn sequence_count(pattern: &str, ts: Expr, conditions: Vec<Expr>) -> Expr {
    sequence_count_udaf().call(with(vec![lit(pattern), ts], conditions))
}

/// `session_stats(ts, gap)`.
pub fn session_stats(ts: Expr, gap: Expr) -> Expr {
    session_stats_udaf().call(vec![ts, gap])
}

/// `cadence(ts, as_of)`.
pub fn cadence(ts: Expr, as_of: Expr) -> Expr {
    cadence_udaf().call(vec![ts, as_of])
}

/// `momentum(ts, as_of, recent, baseline)`.
pub fn momentum(ts: Expr, as_of: Expr, recent: Expr, baseline: Expr) -> Expr {
    momentum_udaf().call(vec![ts, as_of, recent, baseline])
}

/// `distinct_count(x)`.
pub fn distinct_count(x: Expr) -> Expr {
    distinct_count_udaf().call(vec![x])
}

/// `dominant(x)`.
pub fn dominant(x: Expr) -> Expr {
    dominant_udaf().call(vec![x])
}

/// `session_id(ts, gap)` (add `OVER (PARTITION BY … ORDER BY …)` with `ExprFunctionExt`).
pub fn session_id(ts: Expr, gap: Expr) -> Expr {
    session_id_udwf().call(vec![ts, gap])
}

/// `rank_count(group, value, descending) OVER ()`: a window expression with no
/// `PARTITION BY` or `ORDER BY` (it needs none).
pub fn rank_count(group: Expr, value: Expr, descending: bool) -> Expr {
    rank_count_udwf().call(vec![group, value, lit(descending)])
}

/// `rfm_class(r, f, m)`.
pub fn rfm_class(r: Expr, f: Expr, m: Expr) -> Expr {
    rfm_class_udf().call(vec![r, f, m])
}

/// `day_of(ts)`.
pub fn day_of(ts: Expr) -> Expr {
    day_of_udf().call(vec![ts])
}

/// `value_code(x, v1, …, vN)`: which of the constant strings `x` equals (1-based, 0 none).
pub fn value_code(x: Expr, values: &[&str]) -> Expr {
    value_code_udf().call(with(vec![x], values.iter().map(|v| lit(*v)).collect()))
}
