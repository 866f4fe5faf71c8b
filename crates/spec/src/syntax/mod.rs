//! The spec as written: plain serde types with spans, mirroring the YAML one to one.
//!
//! Nothing here is validated beyond shape; `check` turns these into the resolved model.

pub mod behavior;
pub mod condition;
pub mod literal;
pub mod predicate;
pub mod project;
pub mod segment;

pub use condition::{
    Condition, EventLeafSyntax, FilterMap, MetricAgg, MetricLeafSyntax, WhenLeafSyntax,
};
pub use literal::Literal;
pub use predicate::{Predicate, PredicateSyntax};
pub use project::{PartitionType, ProjectSyntax, StorageSyntax};
pub use segment::{OutputSyntax, SegmentSyntax, TierSyntax};
