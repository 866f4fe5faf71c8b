//! The behavioral leaves beyond counting: funnels, sequences, sessions, cadence, momentum,
//! RFM, breadth and affinity — as written.
//!
//! ```yaml
//! funnel:                      # cart abandoners
//!   steps: [{event: add_to_cart}, {event: purchase}]
//!   window: 24h                # from the first step to the last
//!   within: 7d                 # which events are looked at
//!   dropped_after: add_to_cart # or `completed: true`, or `reached: {gte: 2}`
//! sequence:                    # silent friction
//!   within: 30d
//!   steps:
//!     - {event: error}
//!     - {event: retry, within: 10m}   # at most 10 minutes after the previous step
//! sessions: {gap: 30m, within: 30d, count: {gte: 8}}
//! cadence: {is: fading}
//! momentum: {recent: 7d, baseline: 12w, value: {gte: 2}}
//! rfm: {event: purchase, monetary: revenue, within: 365d, class: [champions, loyal]}
//! breadth: {of: feature, event: feature_use, within: 30d, count: {gte: 6}}
//! affinity: {of: topic, event: content_view, within: 90d, is: travel, min_share: 0.5}
//! ```
//!
//! Comparisons (`count`, `value`, `reached`, …) are optional here because the same leaves
//! also define `outputs:`; `check` requires them in conditions and refuses them in outputs.
//!
//! The shared keys are repeated in every struct on purpose (spans and unknown-key errors
//! do not survive `#[serde(flatten)]`; see the module docs of `syntax`).

use serde::Deserialize;
use serde_saphyr::Spanned;

use super::condition::FilterMap;
use super::literal::Literal;
use super::predicate::PredicateSyntax;

/// One step of a funnel or a sequence: an event with property filters.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StepSyntax {
    /// Name used by `dropped_after` (default: the event name).
    #[serde(default)]
    pub name: Option<Spanned<String>>,
    #[serde(default)]
    pub event: Option<Spanned<String>>,
    #[serde(default, rename = "where")]
    pub filters: Option<Spanned<FilterMap>>,
    /// Sequence only: at most this long after the previous step.
    #[serde(default)]
    pub within: Option<Spanned<String>>,
    /// Sequence only: at least this long after the previous step.
    #[serde(default)]
    pub after: Option<Spanned<String>>,
    /// Sequence only: no other step event between this step and the previous one.
    #[serde(default)]
    pub immediately: Option<Spanned<bool>>,
}

/// `funnel`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FunnelSyntax {
    pub steps: Spanned<Vec<Spanned<StepSyntax>>>,
    /// Longest time from the first step to the last (`24h`).
    #[serde(default)]
    pub window: Option<Spanned<String>>,
    /// `strict_order`, `strict_deduplication`, `strict_increase`, `allow_reentry`.
    #[serde(default)]
    pub mode: Option<Spanned<Vec<Spanned<String>>>>,
    #[serde(default)]
    pub within: Option<Spanned<String>>,
    #[serde(default)]
    pub between: Option<Spanned<Vec<Spanned<String>>>>,
    #[serde(default)]
    pub completed: Option<Spanned<bool>>,
    #[serde(default)]
    pub reached: Option<Spanned<PredicateSyntax>>,
    #[serde(default)]
    pub dropped_after: Option<Spanned<String>>,
}

/// `sequence`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SequenceSyntax {
    pub steps: Spanned<Vec<Spanned<StepSyntax>>>,
    #[serde(default)]
    pub within: Option<Spanned<String>>,
    #[serde(default)]
    pub between: Option<Spanned<Vec<Spanned<String>>>>,
    /// Must be `true` in a condition (use `not:` for "never"); optional in outputs.
    #[serde(default)]
    pub occurred: Option<Spanned<bool>>,
}

/// `sessions`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SessionsSyntax {
    /// Inactivity that ends a session (default `30m`).
    #[serde(default)]
    pub gap: Option<Spanned<String>>,
    #[serde(default)]
    pub event: Option<Spanned<String>>,
    #[serde(default, rename = "where")]
    pub filters: Option<Spanned<FilterMap>>,
    #[serde(default)]
    pub within: Option<Spanned<String>>,
    #[serde(default)]
    pub between: Option<Spanned<Vec<Spanned<String>>>>,
    /// Number of sessions.
    #[serde(default)]
    pub count: Option<Spanned<PredicateSyntax>>,
    /// Mean session length in minutes.
    #[serde(default)]
    pub mean_minutes: Option<Spanned<PredicateSyntax>>,
    /// Mean events per session.
    #[serde(default)]
    pub events_per_session: Option<Spanned<PredicateSyntax>>,
}

/// `cadence`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CadenceSyntax {
    /// One class: `regular`, `returning`, `fading`, `lapsed`.
    #[serde(default)]
    pub is: Option<Spanned<String>>,
    /// Several classes.
    #[serde(default, rename = "in")]
    pub in_list: Option<Spanned<Vec<Spanned<String>>>>,
    #[serde(default)]
    pub event: Option<Spanned<String>>,
    #[serde(default, rename = "where")]
    pub filters: Option<Spanned<FilterMap>>,
    /// History looked at (default `180d`).
    #[serde(default)]
    pub within: Option<Spanned<String>>,
    #[serde(default)]
    pub min_active_days: Option<Spanned<u32>>,
    #[serde(default)]
    pub fading_after: Option<Spanned<f64>>,
    #[serde(default)]
    pub lapsed_after: Option<Spanned<f64>>,
    #[serde(default)]
    pub returning_after: Option<Spanned<f64>>,
    #[serde(default)]
    pub fading_min: Option<Spanned<String>>,
    #[serde(default)]
    pub lapsed_min: Option<Spanned<String>>,
    #[serde(default)]
    pub returning_min: Option<Spanned<String>>,
    /// A return counts when it happened in this last stretch (default `14d`).
    #[serde(default)]
    pub returning_within: Option<Spanned<String>>,
}

/// `momentum`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MomentumSyntax {
    pub recent: Spanned<String>,
    pub baseline: Spanned<String>,
    #[serde(default)]
    pub event: Option<Spanned<String>>,
    #[serde(default, rename = "where")]
    pub filters: Option<Spanned<FilterMap>>,
    /// The ratio (recent rate / baseline rate) must satisfy this.
    #[serde(default)]
    pub value: Option<Spanned<PredicateSyntax>>,
}

/// `rfm`: scores 1–5 and named classes.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RfmSyntax {
    /// The buying event (e.g. `purchase`).
    pub event: Spanned<String>,
    #[serde(default, rename = "where")]
    pub filters: Option<Spanned<FilterMap>>,
    /// The numeric column summed for the monetary score.
    pub monetary: Spanned<String>,
    #[serde(default)]
    pub within: Option<Spanned<String>>,
    #[serde(default)]
    pub between: Option<Spanned<Vec<Spanned<String>>>>,
    /// Fixed cut points instead of quintiles over the population.
    #[serde(default)]
    pub cut_points: Option<Spanned<CutPointsSyntax>>,
    /// Named classes, any of which.
    #[serde(default)]
    pub class: Option<Spanned<Vec<Spanned<String>>>>,
    /// Score comparisons.
    #[serde(default)]
    pub r: Option<Spanned<PredicateSyntax>>,
    #[serde(default)]
    pub f: Option<Spanned<PredicateSyntax>>,
    #[serde(default)]
    pub m: Option<Spanned<PredicateSyntax>>,
}

/// Four increasing cut points per score.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CutPointsSyntax {
    /// Days since the last purchase: at most the first → 5, … beyond the last → 1.
    pub recency_days: Spanned<Vec<Spanned<f64>>>,
    /// Purchases: at least the last → 5, … below the first → 1.
    pub frequency: Spanned<Vec<Spanned<f64>>>,
    /// Money spent, as frequency.
    pub monetary: Spanned<Vec<Spanned<f64>>>,
}

/// `breadth`: distinct values of a property used.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BreadthSyntax {
    pub of: Spanned<String>,
    #[serde(default)]
    pub event: Option<Spanned<String>>,
    #[serde(default, rename = "where")]
    pub filters: Option<Spanned<FilterMap>>,
    #[serde(default)]
    pub within: Option<Spanned<String>>,
    #[serde(default)]
    pub between: Option<Spanned<Vec<Spanned<String>>>>,
    #[serde(default)]
    pub count: Option<Spanned<PredicateSyntax>>,
}

/// `affinity`: the dominant value of a property by share of events.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AffinitySyntax {
    pub of: Spanned<String>,
    #[serde(default)]
    pub event: Option<Spanned<String>>,
    #[serde(default, rename = "where")]
    pub filters: Option<Spanned<FilterMap>>,
    #[serde(default)]
    pub within: Option<Spanned<String>>,
    #[serde(default)]
    pub between: Option<Spanned<Vec<Spanned<String>>>>,
    #[serde(default)]
    pub is: Option<Spanned<Literal>>,
    #[serde(default, rename = "in")]
    pub in_list: Option<Spanned<Vec<Spanned<Literal>>>>,
    /// The dominant value's share of the events must be at least this.
    #[serde(default)]
    pub min_share: Option<Spanned<f64>>,
}
