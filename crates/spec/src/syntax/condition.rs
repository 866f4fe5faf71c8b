//! The condition tree of a segment: leaves composed with `all`, `any`, `not`.
//!
//! Each variant is one YAML key (externally tagged), so a typo such as `performd:` is an
//! "unknown condition" error with its location, never a silently ignored key.
//!
//! Each leaf is a variant here, a type in `model/leaf.rs`, a checker file in `check/leaf/`
//! and a compiler file in the compiler's `leaves/`. The behavioral leaves' syntax is in
//! [`super::behavior`]. Shared keys are repeated per struct on purpose (see the module docs
//! of `syntax`).

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_saphyr::Spanned;

use super::behavior::{
    AffinitySyntax, BreadthSyntax, CadenceSyntax, FunnelSyntax, MomentumSyntax, RfmSyntax,
    SequenceSyntax, SessionsSyntax,
};
use super::literal::Literal;
use super::models::{ArchetypeLeafSyntax, PredictSyntax};
use super::predicate::PredicateSyntax;

/// Property filters: column name → predicate. Keys are kept sorted so plans are stable.
pub type FilterMap = BTreeMap<String, Spanned<PredicateSyntax>>;

/// One node of a segment's condition tree. Leaves are boxed so that a node stays small:
/// parsing recurses once per nesting level, and a large node would overflow the stack
/// within the depth budget.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Condition {
    /// Every child holds.
    All(Spanned<Vec<Spanned<Condition>>>),
    /// At least one child holds.
    Any(Spanned<Vec<Spanned<Condition>>>),
    /// The child does not hold.
    Not(Box<Spanned<Condition>>),
    /// The entity is a member of another segment (for a tiered segment: in any tier).
    InSegment(Spanned<String>),
    /// Did the event (with filters) happen, how many times, in a window.
    Performed(Box<EventLeafSyntax>),
    /// The event (with filters) did not happen in the window.
    NotPerformed(Box<EventLeafSyntax>),
    /// When the first matching event ever happened (new users).
    FirstPerformed(Box<WhenLeafSyntax>),
    /// When the last matching event happened (lapsed users).
    LastPerformed(Box<WhenLeafSyntax>),
    /// A computed trait over matching events, compared.
    Metric(Box<MetricLeafSyntax>),
    /// A column of the profiles table, compared.
    Trait(FilterMap),
    /// Ordered steps within a time limit: completed, reached, or dropped after a step.
    Funnel(Box<FunnelSyntax>),
    /// A pattern of steps with gaps.
    Sequence(Box<SequenceSyntax>),
    /// Inactivity-gap sessions: count, mean length, events per session.
    Sessions(Box<SessionsSyntax>),
    /// Rhythm of activity: regular, returning, fading, lapsed.
    Cadence(Box<CadenceSyntax>),
    /// Recent activity rate over the baseline rate.
    Momentum(Box<MomentumSyntax>),
    /// Recency / frequency / monetary scores and classes.
    Rfm(Box<RfmSyntax>),
    /// Distinct values of a property used (features, topics, categories).
    Breadth(Box<BreadthSyntax>),
    /// The dominant value of a property by share of events.
    Affinity(Box<AffinitySyntax>),
    /// A trained model's probability or percentile (`models/`).
    Predict(Box<PredictSyntax>),
    /// The nearest centroid of a fitted archetype set (`archetypes/`).
    Archetype(Box<ArchetypeLeafSyntax>),
}

/// `performed` / `not_performed`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EventLeafSyntax {
    /// Event name; absent means any event.
    #[serde(default)]
    pub event: Option<Spanned<String>>,
    #[serde(default, rename = "where")]
    pub filters: Option<Spanned<FilterMap>>,
    /// How many matching events; default `{gte: 1}`. Not allowed on `not_performed`.
    #[serde(default)]
    pub count: Option<Spanned<PredicateSyntax>>,
    /// Relative window ending at as-of: `30d`, `12h`, `2w`, `90m`.
    #[serde(default)]
    pub within: Option<Spanned<String>>,
    /// Absolute half-open window `[from, to)`: `[2026-01-01, 2026-02-01]`.
    #[serde(default)]
    pub between: Option<Spanned<Vec<Spanned<String>>>>,
}

/// `first_performed` / `last_performed`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WhenLeafSyntax {
    #[serde(default)]
    pub event: Option<Spanned<String>>,
    #[serde(default, rename = "where")]
    pub filters: Option<Spanned<FilterMap>>,
    /// The first/last event lies in the last `d` (e.g. `14d`).
    #[serde(default)]
    pub within: Option<Spanned<String>>,
    /// The first/last event lies more than `d` before as-of (e.g. `30d`).
    #[serde(default)]
    pub before: Option<Spanned<String>>,
    /// The first/last event lies in the absolute range `[from, to)`.
    #[serde(default)]
    pub between: Option<Spanned<Vec<Spanned<String>>>>,
}

/// The aggregate of a `metric` leaf.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum MetricAgg {
    Count,
    CountDistinct,
    Sum,
    Avg,
    Min,
    Max,
    Mode,
    Share,
    ActiveDays,
}

impl MetricAgg {
    /// The YAML spelling.
    pub fn name(self) -> &'static str {
        match self {
            MetricAgg::Count => "count",
            MetricAgg::CountDistinct => "count_distinct",
            MetricAgg::Sum => "sum",
            MetricAgg::Avg => "avg",
            MetricAgg::Min => "min",
            MetricAgg::Max => "max",
            MetricAgg::Mode => "mode",
            MetricAgg::Share => "share",
            MetricAgg::ActiveDays => "active_days",
        }
    }
}

/// `metric`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MetricLeafSyntax {
    pub agg: Spanned<MetricAgg>,
    /// The property aggregated (not used by `count` and `active_days`).
    #[serde(default)]
    pub of: Option<Spanned<String>>,
    /// For `share`: the value of `of` whose share of matching events is computed.
    #[serde(default)]
    pub equals: Option<Spanned<Literal>>,
    #[serde(default)]
    pub event: Option<Spanned<String>>,
    #[serde(default, rename = "where")]
    pub filters: Option<Spanned<FilterMap>>,
    #[serde(default)]
    pub within: Option<Spanned<String>>,
    #[serde(default)]
    pub between: Option<Spanned<Vec<Spanned<String>>>>,
    /// The comparison the metric must satisfy (required in conditions, absent in outputs).
    #[serde(default)]
    pub value: Option<Spanned<PredicateSyntax>>,
}
