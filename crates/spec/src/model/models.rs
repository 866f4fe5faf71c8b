//! Forward-looking specs, checked: features, propensity models and archetype sets, and the
//! two leaves that use what `segmint train` / `segmint archetypes fit` stored.

use serde::Serialize;
use sha2::{Digest, Sha256};

use super::leaf::Leaf;
use super::{Comparison, EventMatch};
use crate::window::Span;

/// A named measurable leaf (its value, as an output's).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Feature {
    pub name: String,
    pub leaf: Leaf,
}

/// SHA-256 of the features' checked form and which are logged: a trained model or
/// archetype set stores it, and a run refuses parameters fitted to other features.
pub fn features_hash(features: &[Feature], log: &[String]) -> String {
    let text = serde_json::to_string(&(features, log)).unwrap_or_default();
    format!("{:x}", Sha256::digest(text.as_bytes()))
}

/// `models/<name>.yaml`, checked.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ModelSpec {
    pub name: String,
    pub description: String,
    pub file: String,
    /// The event that is predicted…
    pub label: EventMatch,
    /// …within this horizon after the features' as-of.
    pub horizon: Span,
    pub features: Vec<Feature>,
    /// Features taken as `ln(1 + x)` before standardizing.
    pub log: Vec<String>,
    /// What a run compares with the fitted parameters: the features and their transforms.
    pub features_hash: String,
    /// Share of entities kept out of fitting, to evaluate on.
    pub test_share: f64,
    pub min_positives: u64,
    pub l2: f64,
    /// SHA-256 of the model file.
    pub spec_hash: String,
}

/// How many archetypes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum KChoice {
    Fixed(u32),
    /// Inclusive; chosen by the mean silhouette.
    Range(u32, u32),
}

impl KChoice {
    /// The largest k that can come out.
    pub fn max(self) -> u32 {
        match self {
            KChoice::Fixed(k) | KChoice::Range(_, k) => k,
        }
    }
}

/// `archetypes/<name>.yaml`, checked.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ArchetypeSpec {
    pub name: String,
    pub description: String,
    pub file: String,
    pub features: Vec<Feature>,
    pub features_hash: String,
    pub k: KChoice,
    /// Features taken as `ln(1 + x)` before standardizing.
    pub log: Vec<String>,
    pub seed: u64,
    pub spec_hash: String,
}

/// The name of archetype `i` (1-based, by size: `archetype_1` is the largest at fitting).
pub fn archetype_name(i: usize) -> String {
    format!("archetype_{i}")
}

/// Everything the forward-looking leaves can refer to.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Catalog {
    pub features: Vec<Feature>,
    pub models: Vec<ModelSpec>,
    pub archetypes: Vec<ArchetypeSpec>,
    /// Features, models and archetype sets whose declarations have errors (reported there,
    /// so whatever names one reports nothing more).
    #[serde(skip)]
    pub invalid: Vec<String>,
}

impl Catalog {
    pub fn model(&self, name: &str) -> Option<&ModelSpec> {
        self.models.iter().find(|m| m.name == name)
    }

    pub fn archetype_set(&self, name: &str) -> Option<&ArchetypeSpec> {
        self.archetypes.iter().find(|a| a.name == name)
    }

    /// Whether `name` is a model or archetype set whose own file has errors.
    pub fn is_invalid(&self, name: &str) -> bool {
        self.invalid.iter().any(|n| n == name)
    }
}

/// What a `predict` leaf tests.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub enum ScoreTest {
    /// The probability, compared.
    Probability(Vec<Comparison>),
    /// The percentile (0–100) of the probability among all scored entities, compared.
    Percentile(Vec<Comparison>),
    /// No test: an output (the probability is written).
    Value,
}

/// `predict`: a trained model's probability or percentile.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Predict {
    pub model: String,
    /// The model's features (their windows decide what the run reads).
    pub features: Vec<Feature>,
    pub features_hash: String,
    pub test: ScoreTest,
}

/// `archetype`: the nearest centroid of a fitted set, among `is` (empty: an output — the
/// archetype's name is written).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ArchetypeOf {
    pub set: String,
    pub features: Vec<Feature>,
    pub features_hash: String,
    pub is: Vec<String>,
}
