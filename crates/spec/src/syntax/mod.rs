//! The spec as written: plain serde types with spans, mirroring the YAML one to one.
//!
//! Nothing here is validated beyond shape; `check` turns these into the resolved model.
//!
//! The leaf structs repeat their common keys (`event`, `where`, `within`, `between`, …)
//! field by field on purpose: sharing them through `#[serde(flatten)]` would lose every
//! span inside the shared part (no file:line:column for errors there) and switch off
//! `deny_unknown_fields` (a typo would silently widen a segment). The repetition is the
//! price of exact error positions; `duplicates` lists these structs, and that is expected.

pub mod behavior;
pub mod condition;
pub mod literal;
pub mod models;
pub mod predicate;
pub mod project;
pub mod segment;

pub use condition::{
    Condition, EventLeafSyntax, FilterMap, MetricAgg, MetricLeafSyntax, WhenLeafSyntax,
};
pub use literal::Literal;
pub use models::{
    ArchetypeLeafSyntax, ArchetypesSyntax, FeaturesSyntax, LabelSyntax, ModelSyntax, PredictSyntax,
};
pub use predicate::{Predicate, PredicateSyntax};
pub use project::{
    DestinationSyntax, EdgeTableSyntax, FileFormat, FileMode, FilesSyntax, IdentitySyntax,
    PartitionType, ProjectSyntax, StorageSyntax, TableFormat, WebhookSyntax,
};
pub use segment::{OutputSyntax, SegmentSyntax, TierSyntax};
