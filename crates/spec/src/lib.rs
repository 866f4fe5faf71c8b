//! # segmint-spec — segment specs from YAML text to a checked model
//!
//! The first two stages of segmint's pipeline live here; this crate knows nothing of
//! DataFusion or object storage.
//!
//! | stage | input → output | module |
//! |---|---|---|
//! | read | file bytes → [`SourceText`] (size budget, UTF-8, not empty) | [`source`] |
//! | parse | text → [`syntax::ProjectSyntax`] / [`syntax::SegmentSyntax`] (spans, unknown and duplicate keys rejected, depth/node budgets) | [`source`], [`syntax`] |
//! | check | syntax + optional [`LakeSchema`] → [`Checked`] (names, references, cycles, windows, columns, literal types) | [`check`] |
//!
//! Every problem is a [`Diagnostic`] with a stable [`Code`], `file:line:column`, a message and a
//! hint, renderable with miette or as JSON.
//!
//! ```
//! use segmint_spec::{SourceText, load::parse_segment};
//! let text = "segment: heavy_users\nwhere:\n  performed: {count: {gte: 20}, within: 30d}\n";
//! let source = SourceText { name: "heavy.yaml".into(), text: text.into() };
//! let parsed = parse_segment(source).map_err(|d| d.to_string())?;
//! assert_eq!(parsed.syntax.segment.value, "heavy_users");
//! # Ok::<(), String>(())
//! ```

pub mod check;
pub mod diagnostic;
pub mod load;
pub mod model;
pub mod schema;
pub mod size;
pub mod source;
pub mod syntax;
pub mod window;

pub use check::{
    Checked, ModelsInput, ProjectInput, SegmentInput, check, check_goal, check_project, check_with,
};
pub use diagnostic::{Code, Diagnostic, Diagnostics, Position, SourceText};
pub use model::{
    Affinity, ArchetypeOf, ArchetypeSpec, Cadence, CadenceClass, CadenceRules, Catalog, Comparison,
    Cond, DEFAULT_BLOCKED, Destination, DestinationTarget, EdgeTable, EventMatch, EventsTable,
    Feature, FilesTarget, Filter, Funnel, FunnelMode, FunnelOutcome, Gap, Holdout, Identity,
    Incremental, KChoice, Leaf, Measure, Metric, ModelSpec, Momentum, Occurrence, Output,
    PERSON_ID, Performed, Predict, ProfilesTable, Project, RFM_CLASSES, Rfm, RfmCutPoints,
    RfmScoring, ScoreTest, Segment, SegmentBody, Sequence, SequenceStep, Sessions, StorageOptions,
    Tier, Trait, Webhook, When, Which, Window, archetype_name, features_hash, holdout_position,
};
pub use schema::{ColumnKind, LakeSchema, TableColumns};
pub use size::parse_size;
pub use syntax::{FileFormat, FileMode, Literal, MetricAgg, PartitionType, TableFormat};
pub use window::{Span, Unit};
