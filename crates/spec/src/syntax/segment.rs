//! A segment file (`segments/*.yaml`) as written.
//!
//! ```yaml
//! segment: frequent_unconverted_visitors
//! description: Viewed camping products 12+ times in 30 days and never bought.
//! where:
//!   all:
//!     - performed: {event: product_view, where: {category: camping}, count: {gte: 12}, within: 30d}
//!     - not_performed: {event: purchase, within: 365d}
//! ```
//!
//! A segment has either `where:` (members are the entities for which it holds) or `tiers:`
//! (every entity goes to the first tier whose `where:` holds; a last tier without `where:`
//! takes everyone left). `outputs:` adds computed traits beside membership:
//!
//! ```yaml
//! outputs:
//!   favourite_topic: {affinity: {of: topic, event: content_view, within: 90d}}
//!   purchases_90d: {performed: {event: purchase, within: 90d}}
//! holdout: 10%          # a stable random 10% of members is kept out of destinations
//! ```

use serde::Deserialize;
use serde_saphyr::Spanned;

use super::condition::Condition;

/// A whole segment file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SegmentSyntax {
    pub segment: Spanned<String>,
    #[serde(default)]
    pub description: Option<Spanned<String>>,
    #[serde(default, rename = "where")]
    pub condition: Option<Spanned<Condition>>,
    #[serde(default)]
    pub tiers: Option<Spanned<Vec<Spanned<TierSyntax>>>>,
    /// Computed traits written beside membership: name → a leaf without its comparison.
    #[serde(default)]
    pub outputs: Option<Spanned<OutputMap>>,
    /// The share of members held out of destinations (a control group): `10%`.
    #[serde(default)]
    pub holdout: Option<Spanned<String>>,
}

/// `outputs:` — column name → measure. Sorted by name so outputs are stable.
pub type OutputMap = std::collections::BTreeMap<String, Spanned<OutputSyntax>>;

/// One output: a leaf whose value is written (its comparison, if any, is not allowed).
pub type OutputSyntax = Condition;

/// One named bucket of a tiered segment.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TierSyntax {
    pub name: Spanned<String>,
    #[serde(default, rename = "where")]
    pub condition: Option<Spanned<Condition>>,
}
