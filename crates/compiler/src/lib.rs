//! # segmint-compiler — checked specs → one fused DataFusion `LogicalPlan`
//!
//! | step | what happens |
//! |---|---|
//! | scan | one scan of `events`, filtered to the widest window of the project (hive partitions outside it are pruned); the optimizer projects only the columns leaves need |
//! | aggregate | one `GROUP BY entity`; every distinct leaf aggregate is one column (`count(*) FILTER (…)`, `min(time) FILTER (…)`, …), identical ones computed once |
//! | universe | the grouped entities, full-joined once with `profiles` when configured |
//! | window | only with `rfm` quintiles or `predict` percentiles: population ranks over the grouped rows, once per distinct rank (quintiles by `rank_count`, which needs no sort of the rows) |
//! | project | each segment one boolean column (tiered segments: the tier name); `in_segment` inlined; `outputs:` as `segment:name` columns |
//! | filter | rows that belong to at least one selected segment |
//!
//! The compiler never touches storage: it is given `TableSource`s (the engine's listing
//! tables, or schema-only sources in tests).

mod compare;
mod daily;
mod describe;
mod error;
mod features;
mod leaf;
mod leaves;
mod plan;
mod staged;
mod time;
pub mod trained;
mod value_codes;

pub use daily::{Daily, DailyAggregate, daily, event_day};
pub use describe::describe;
pub use error::{CompileError, Result};
pub use features::{FeatureKind, FeaturePlan, compile_features};
pub use leaf::event_filter;
pub use leaves::sequence_pattern;
pub use plan::{
    Compiled, LeafColumn, OutputColumn, SegmentColumn, as_of_day_filter, compile, scan_filter,
    scan_range, span_filter, time_range_filter,
};
pub use staged::Staged;
pub use time::AsOf;
pub use value_codes::with_value_codes;
