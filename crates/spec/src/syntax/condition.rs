//! The condition tree of a segment: leaves composed with `all`, `any`, `not`.
//!
//! Each variant is one YAML key (externally tagged), so a typo such as `performd:` is an
//! "unknown condition" error with its location, never a silently ignored key.
//!
//! Later leaves (`funnel`, `sequence`, `sessions`, `cadence`, `momentum`, `rfm`, `breadth`,
//! `affinity`) are added as new variants here, a lowering in `check/lower.rs`, and an
//! aggregate in the compiler's `leaf` module.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_saphyr::Spanned;

use super::literal::Literal;
use super::predicate::PredicateSyntax;

/// Property filters: column name → predicate. Keys are kept sorted so plans are stable.
pub type FilterMap = BTreeMap<String, Spanned<PredicateSyntax>>;

/// One node of a segment's condition tree.
// Parse-tree nodes are short-lived; boxing the leaves would only add noise.
#[allow(clippy::large_enum_variant)]
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
    Performed(EventLeafSyntax),
    /// The event (with filters) did not happen in the window.
    NotPerformed(EventLeafSyntax),
    /// When the first matching event ever happened (new users).
    FirstPerformed(WhenLeafSyntax),
    /// When the last matching event happened (lapsed users).
    LastPerformed(WhenLeafSyntax),
    /// A computed trait over matching events, compared.
    Metric(MetricLeafSyntax),
    /// A column of the profiles table, compared.
    Trait(FilterMap),
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
    /// The comparison the metric must satisfy.
    pub value: Spanned<PredicateSyntax>,
}
