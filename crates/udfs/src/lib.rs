//! # segmint-udfs — behavioral analytics functions for Apache DataFusion
//!
//! The functions ClickHouse users rely on for product and behavioral analytics, as
//! ordinary DataFusion functions: any `SessionContext` (and `segmint sql`, and every
//! Ballista scheduler and executor segmint starts) gains them with [`register_all`].
//!
//! | function | kind | what it answers |
//! |---|---|---|
//! | [`window_funnel`](window_funnel) | aggregate | how far through an ordered funnel, within a window (ClickHouse `windowFunnel`) |
//! | [`retention`](retention) | aggregate | did they come back: condition 1, and each later one as well (ClickHouse `retention`) |
//! | [`sequence_match`](sequence_match) | aggregate | does a pattern of events occur (ClickHouse `sequenceMatch`) |
//! | [`sequence_count`](sequence_count) | aggregate | how often a pattern occurs (ClickHouse `sequenceCount`) |
//! | [`session_id`](session_id) | window | which inactivity-gap session each event is in |
//! | [`rank_count`](rank_count) | window | how many rows of a group rank at or before this one (population ranks without sorting the rows) |
//! | [`session_stats`](session_stats) | aggregate | sessions, mean length, events per session |
//! | [`cadence`](cadence) | aggregate | active days, usual gap, current gap, regularity |
//! | [`momentum`](momentum) | aggregate | recent event rate over the baseline rate |
//! | [`rfm_class`](rfm_class) | scalar | the named RFM class of 1–5 scores |
//! | [`day_of`](day_of) | scalar | the calendar day of a wall-clock timestamp (a floor division, not a calendar conversion per row) |
//! | [`value_code`](value_code) | scalar | which of N constant strings a value equals, as a byte (many equality tests of one column in one pass) |
//! | [`distinct_count`](distinct_count) | aggregate | `count(DISTINCT x)` fast for few values per group |
//! | [`dominant`](dominant) | aggregate | the most frequent value and its share (affinity, mode) |
//!
//! Every parameter (window, mode, pattern, gap, as-of, window lengths) is a constant
//! *argument*, never state hidden in the function object, so a serialized plan is rebuilt
//! on another process from function names alone (see the `datafusion-proto` round-trip
//! test in `tests/it/udfs_proto.rs`).
//!
//! [`expr_fn`] builds calls for programs that construct plans directly.
//!
//! Shared machinery (constant arguments, time units, event lists, pattern matching) lives
//! in `support`; each function is one file.

use std::sync::Arc;

use datafusion::common::Result;
use datafusion::execution::FunctionRegistry;
use datafusion::logical_expr::{AggregateUDF, ScalarUDF, WindowUDF};

pub mod cadence;
pub mod day_of;
pub mod distinct_count;
pub mod dominant;
pub mod expr_fn;
pub mod momentum;
pub mod rank_count;
pub mod retention;
pub mod rfm_class;
pub mod sequence_count;
pub mod sequence_match;
pub mod session_id;
pub mod session_stats;
mod support;
pub mod value_code;
pub mod window_funnel;

/// segmint's scalar functions.
pub fn all_udfs() -> Vec<Arc<ScalarUDF>> {
    vec![
        expr_fn::rfm_class_udf(),
        expr_fn::day_of_udf(),
        expr_fn::value_code_udf(),
    ]
}

/// segmint's aggregate functions.
pub fn all_udafs() -> Vec<Arc<AggregateUDF>> {
    vec![
        expr_fn::window_funnel_udaf(),
        expr_fn::retention_udaf(),
        expr_fn::sequence_match_udaf(),
        expr_fn::sequence_count_udaf(),
        expr_fn::session_stats_udaf(),
        expr_fn::cadence_udaf(),
        expr_fn::momentum_udaf(),
        expr_fn::distinct_count_udaf(),
        expr_fn::dominant_udaf(),
    ]
}

/// segmint's window functions.
pub fn all_udwfs() -> Vec<Arc<WindowUDF>> {
    vec![expr_fn::session_id_udwf(), expr_fn::rank_count_udwf()]
}

/// Register every segmint function with `registry` (a `SessionContext`, a `SessionState`,
/// or a Ballista executor's registry).
pub fn register_all(registry: &mut dyn FunctionRegistry) -> Result<()> {
    for udf in all_udfs() {
        registry.register_udf(udf)?;
    }
    for udaf in all_udafs() {
        registry.register_udaf(udaf)?;
    }
    for udwf in all_udwfs() {
        registry.register_udwf(udwf)?;
    }
    Ok(())
}

/// The names of every segmint function.
pub fn function_names() -> Vec<String> {
    let mut names: Vec<String> = all_udfs().iter().map(|f| f.name().to_string()).collect();
    names.extend(all_udafs().iter().map(|f| f.name().to_string()));
    names.extend(all_udwfs().iter().map(|f| f.name().to_string()));
    names
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_two_functions_share_a_name() {
        let names = function_names();
        let unique: std::collections::BTreeSet<&String> = names.iter().collect();
        assert_eq!(unique.len(), names.len(), "duplicate names in {names:?}");
        assert_eq!(names.len(), 14);
    }
}
