//! `segmint archetypes fit NAME --as-of D` and `segmint archetypes describe NAME`:
//! behavioral archetypes by k-means over standardized features, described by what sets
//! each apart.

use chrono::NaiveDate;
use segmint_compiler::trained::{Encoding, Input, TrainedArchetypes};
use segmint_models::kmeans;
use segmint_models::matrix::{encode, fit_inputs};
use segmint_spec::{ArchetypeSpec, KChoice, archetype_name};
use serde::{Deserialize, Serialize};

use super::features::frame;
use super::store::{self, Kind, NewFit};
use crate::error::{EngineError, Result};
use crate::output::OutputTables;
use crate::session::ProjectSession;

/// How far an archetype's centroid is from the average on one input.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Trait {
    pub input: String,
    /// The centroid in standard deviations from the mean of everyone.
    pub z: f64,
    /// The archetype's typical value in the feature's own units (for numbers; a share of
    /// members for categories).
    pub typical: f64,
    /// Everyone's typical value, in the same units (the mean of the transformed values,
    /// transformed back).
    pub average: f64,
}

/// One archetype, described.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Archetype {
    pub name: String,
    pub size: u64,
    pub share: f64,
    /// In plain words: the inputs furthest from average.
    pub summary: String,
    /// Every input, furthest from average first.
    pub traits: Vec<Trait>,
}

/// What `archetypes fit` found (also what `describe` prints).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Description {
    pub set: String,
    pub version: i64,
    pub as_of: String,
    pub entities: u64,
    pub k: usize,
    pub silhouette: f64,
    /// With `k_range`: each k tried and its silhouette.
    pub silhouettes: Vec<(usize, f64)>,
    pub archetypes: Vec<Archetype>,
    pub params_sha256: String,
}

fn spec<'a>(session: &'a ProjectSession, name: &str) -> Result<&'a ArchetypeSpec> {
    session.checked.catalog.archetype_set(name).ok_or_else(|| {
        EngineError::Usage(format!(
            "archetype set `{name}` is not defined: add `archetypes/{name}.yaml` (docs/models.md)"
        ))
    })
}

/// A value of the input in the feature's units: the inverse of `log`, a share for categories.
fn in_units(input: &Input, z: f64) -> f64 {
    let x = z * input.std + input.mean;
    match input.encoding {
        Encoding::Number { log: true } | Encoding::DaysBefore { log: true } => x.exp() - 1.0,
        _ => x,
    }
}

/// The input as the analyst wrote it: `feature` (in its own units, whatever the transform)
/// or `feature = value`.
fn plain_label(input: &Input) -> String {
    match &input.encoding {
        Encoding::Category { value } => format!("{} = {value}", input.feature),
        _ => input.feature.clone(),
    }
}

/// "high active_days_30d (25.6 vs 4.2 overall), mostly cadence = lapsed (94% vs 17%), …"
/// for the inputs furthest from average.
fn summary(traits: &[Trait]) -> String {
    let words: Vec<String> = traits
        .iter()
        .filter(|t| t.z.abs() >= 0.5)
        .take(3)
        .map(|t| {
            if t.input.contains(" = ") {
                let level = if t.z > 0.0 { "mostly" } else { "rarely" };
                return format!(
                    "{level} {} ({:.0}% vs {:.0}% overall)",
                    t.input,
                    100.0 * t.typical.clamp(0.0, 1.0),
                    100.0 * t.average
                );
            }
            let level = match t.z {
                z if z >= 1.0 => "high",
                z if z > 0.0 => "above-average",
                z if z <= -1.0 => "low",
                _ => "below-average",
            };
            // No "-0.0" from a centroid a hair below zero.
            let shown = |v: f64| if v.abs() < 0.05 { 0.0 } else { v };
            format!(
                "{level} {} ({:.1} vs {:.1} overall)",
                t.input,
                shown(t.typical),
                shown(t.average)
            )
        })
        .collect();
    if words.is_empty() {
        "close to average on every feature".into()
    } else {
        words.join(", ")
    }
}

/// Describe clusters from their centroids.
fn describe(inputs: &[Input], clusters: &kmeans::Clusters, entities: u64) -> Vec<Archetype> {
    clusters
        .centroids
        .iter()
        .zip(&clusters.sizes)
        .enumerate()
        .map(|(i, (centroid, size))| {
            let mut traits: Vec<Trait> = inputs
                .iter()
                .zip(centroid)
                .map(|(input, z)| Trait {
                    input: plain_label(input),
                    z: *z,
                    typical: in_units(input, *z),
                    average: in_units(input, 0.0),
                })
                .collect();
            traits.sort_by(|a, b| b.z.abs().total_cmp(&a.z.abs()));
            Archetype {
                name: archetype_name(i + 1),
                size: *size,
                share: *size as f64 / entities.max(1) as f64,
                summary: summary(&traits),
                traits,
            }
        })
        .collect()
}

/// Fit `name` as of `as_of` and store it as the next version.
pub async fn fit(session: &ProjectSession, name: &str, as_of: NaiveDate) -> Result<Description> {
    let set = spec(session, name)?;
    let data = frame(session, &set.features, &set.log, as_of).await?;
    let rows: Vec<usize> = (0..data.entities.len()).collect();
    let inputs = fit_inputs(&data.columns, &rows);
    let z = encode(&data.columns, &inputs, rows.len());
    let fail = |message: String| EngineError::Fit {
        name: name.to_string(),
        message,
    };
    let (clusters, silhouettes) = match set.k {
        KChoice::Fixed(k) => {
            let c = kmeans::fit(&z, k as usize, set.seed).map_err(|e| fail(e.to_string()))?;
            let s = vec![(k as usize, c.silhouette)];
            (c, s)
        }
        KChoice::Range(from, to) => kmeans::fit_best(&z, from as usize, to as usize, set.seed)
            .map_err(|e| fail(e.to_string()))?,
    };
    let k = clusters.centroids.len();
    let params = TrainedArchetypes {
        name: name.to_string(),
        features_hash: set.features_hash.clone(),
        inputs: inputs.clone(),
        centroids: clusters.centroids.clone(),
        names: (1..=k).map(archetype_name).collect(),
    };
    let params_json = serde_json::to_string(&params)?;
    let entities = rows.len() as u64;
    let mut description = Description {
        set: name.to_string(),
        version: 0,
        as_of: as_of.to_string(),
        entities,
        k,
        silhouette: clusters.silhouette,
        silhouettes,
        archetypes: describe(&inputs, &clusters, entities),
        params_sha256: super::sha256(&params_json),
    };
    let version = store::save(
        &session.output,
        NewFit {
            kind: Kind::Archetypes,
            name,
            as_of,
            features_hash: &set.features_hash,
            spec_hash: &set.spec_hash,
            params: &params_json,
            report: &serde_json::to_string(&description)?,
        },
    )
    .await?;
    description.version = version;
    Ok(description)
}

/// The description stored with the latest fit of `name`.
pub async fn stored_description(out: &OutputTables, name: &str) -> Result<Description> {
    let stored = store::latest(out, Kind::Archetypes, name).await?.ok_or_else(|| {
        EngineError::NotTrained {
            name: name.to_string(),
            message: format!(
                "archetype set `{name}` was never fitted: run `segmint archetypes fit {name} --as-of D`"
            ),
        }
    })?;
    let mut description: Description = serde_json::from_str(&stored.report)?;
    description.version = stored.version;
    Ok(description)
}
