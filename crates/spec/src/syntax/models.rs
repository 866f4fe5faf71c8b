//! Forward-looking specs as written: the features file, models and archetype sets.
//!
//! ```yaml
//! # features.yaml — measurable leaves, declared once, used by models and archetypes
//! features:
//!   purchases_90d: {performed: {event: purchase, within: 90d}}
//!   days_since_last_event: {last_performed: {}}
//!   active_days_30d: {metric: {agg: active_days, within: 30d}}
//!
//! # models/will_purchase_30d.yaml — a propensity model
//! model: will_purchase_30d
//! predict: {event: purchase, within: 30d}     # the label: does it happen in the next 30 days
//! features: [purchases_90d, days_since_last_event, active_days_30d]
//! log: [purchases_90d]                         # log(1 + x) before standardizing
//!
//! # archetypes/activity_styles.yaml — behavioral archetypes by k-means
//! archetypes: activity_styles
//! features: [active_days_30d, days_since_last_event]
//! k: 6                                         # or k_range: [3, 8] (chosen by silhouette)
//! log: [active_days_30d]                       # log(1 + x) before standardizing
//! ```
//!
//! In segments: `predict: {model: will_purchase_30d, percentile: {gte: 90}}` (or
//! `probability: {gte: 0.5}`) and `archetype: {of: activity_styles, is: archetype_2}`; as
//! outputs, without the comparison, they give the probability and the archetype's name.

use serde::Deserialize;
use serde_saphyr::Spanned;

use super::condition::FilterMap;
use super::predicate::PredicateSyntax;
use super::segment::OutputMap;

/// `features.yaml`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FeaturesSyntax {
    /// Feature name → a measurable leaf, as in `outputs:`.
    pub features: Spanned<OutputMap>,
}

/// `models/<name>.yaml`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelSyntax {
    pub model: Spanned<String>,
    #[serde(default)]
    pub description: Option<Spanned<String>>,
    /// The label: the event (with `where:`) and the horizon (`within:`) it must happen in.
    pub predict: Spanned<LabelSyntax>,
    pub features: Spanned<Vec<Spanned<String>>>,
    /// The share of entities held out of fitting to evaluate on (default `20%`).
    #[serde(default)]
    pub test_share: Option<Spanned<String>>,
    /// Fewer positive labels than this refuse to train (default 30).
    #[serde(default)]
    pub min_positives: Option<Spanned<u64>>,
    /// L2 regularization strength (default 1.0).
    #[serde(default)]
    pub l2: Option<Spanned<f64>>,
    /// Features taken as `ln(1 + x)` before standardizing (counts, sums, days).
    #[serde(default)]
    pub log: Option<Spanned<Vec<Spanned<String>>>>,
}

/// A model's label: `{event: purchase, where: {...}, within: 30d}`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LabelSyntax {
    #[serde(default)]
    pub event: Option<Spanned<String>>,
    #[serde(default, rename = "where")]
    pub filters: Option<Spanned<FilterMap>>,
    pub within: Spanned<String>,
}

/// `archetypes/<name>.yaml`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ArchetypesSyntax {
    pub archetypes: Spanned<String>,
    #[serde(default)]
    pub description: Option<Spanned<String>>,
    pub features: Spanned<Vec<Spanned<String>>>,
    /// The number of archetypes…
    #[serde(default)]
    pub k: Option<Spanned<u32>>,
    /// …or the inclusive range it is chosen from by the silhouette score.
    #[serde(default)]
    pub k_range: Option<Spanned<Vec<Spanned<u32>>>>,
    /// Features taken as `ln(1 + x)` before standardizing (counts, sums).
    #[serde(default)]
    pub log: Option<Spanned<Vec<Spanned<String>>>>,
    /// The k-means++ seed (default 42).
    #[serde(default)]
    pub seed: Option<Spanned<u64>>,
}

/// `predict: {model: m, probability: {gte: 0.5}}` or `{model: m, percentile: {gte: 90}}`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PredictSyntax {
    pub model: Spanned<String>,
    #[serde(default)]
    pub probability: Option<Spanned<PredicateSyntax>>,
    #[serde(default)]
    pub percentile: Option<Spanned<PredicateSyntax>>,
}

/// `archetype: {of: set, is: archetype_2}` or `{of: set, in: [archetype_1, archetype_3]}`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ArchetypeLeafSyntax {
    pub of: Spanned<String>,
    #[serde(default)]
    pub is: Option<Spanned<String>>,
    #[serde(default, rename = "in")]
    pub in_list: Option<Spanned<Vec<Spanned<String>>>>,
}
