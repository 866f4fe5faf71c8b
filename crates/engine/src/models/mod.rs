//! Forward-looking segments: `segmint train` fits propensity models, `segmint archetypes
//! fit` fits behavioral archetypes; both store versioned parameters in the output's
//! `models` table ([`store`]), and every run loads the latest ones its segments use
//! ([`load_trained`]) so `predict` and `archetype` leaves score inside the fused plan.
//!
//! | module | does |
//! |---|---|
//! | [`features`] | the compiler's feature plan, executed into columns |
//! | [`train`] | labels without leakage, split, logistic fit, AUC / lift / calibration, out-of-time check |
//! | [`archetypes`] | k-means fit, silhouette, descriptions |
//! | [`store`] | the `models` Delta table |

pub mod archetypes;
pub mod features;
pub mod store;
pub mod train;

use std::collections::{BTreeMap, BTreeSet};

use chrono::NaiveDate;
use segmint_compiler::AsOf;
use segmint_compiler::trained::{Trained, TrainedArchetypes, TrainedModel};
use segmint_spec::{Checked, Leaf};
use sha2::{Digest, Sha256};

use crate::error::Result;
use crate::output::OutputTables;
use crate::session::ProjectSession;
use store::Kind;

/// Hex SHA-256 of a text.
pub(crate) fn sha256(text: &str) -> String {
    format!("{:x}", Sha256::digest(text.as_bytes()))
}

/// Whether the lake has any event on `day` (its data has landed).
pub async fn lake_has_day(session: &ProjectSession, day: NaiveDate) -> Result<bool> {
    let clock = AsOf::new(day, &session.checked.project.timezone)?;
    let Some(lo) = clock.day_start_us(day) else {
        return Ok(false);
    };
    crate::run::any_event(
        session,
        (Some(lo), clock.end_us),
        segmint_compiler::time_range_filter(&session.checked, lo, clock.end_us),
    )
    .await
}

/// Models and archetype sets the segments use, by kind.
fn used(checked: &Checked) -> (BTreeSet<String>, BTreeSet<String>) {
    let (mut models, mut sets) = (BTreeSet::new(), BTreeSet::new());
    for segment in &checked.segments {
        let leaves = segment
            .conditions()
            .into_iter()
            .flat_map(|c| c.leaves())
            .chain(segment.outputs.iter().map(|o| &o.measure));
        for leaf in leaves {
            match leaf {
                Leaf::Predict(p) => {
                    models.insert(p.model.clone());
                }
                Leaf::Archetype(a) => {
                    sets.insert(a.set.clone());
                }
                _ => {}
            }
        }
    }
    (models, sets)
}

/// The latest parameters of every model and archetype set the segments use, and for
/// those not loaded, why (never fitted; fitted to other features).
pub async fn load_trained(
    checked: &Checked,
    out: &OutputTables,
) -> Result<(Trained, BTreeMap<String, String>)> {
    let (models, sets) = used(checked);
    let mut trained = Trained::default();
    let mut missing = BTreeMap::new();
    if models.is_empty() && sets.is_empty() {
        return Ok((trained, missing));
    }
    let stored = store::read_all(out).await?;
    let latest = |kind: Kind, name: &str| store::latest_of(&stored, kind, name);
    for name in models {
        let Some(spec) = checked.catalog.model(&name) else {
            continue;
        };
        match latest(Kind::Model, &name) {
            None => {
                missing.insert(
                    name.clone(),
                    format!(
                        "model `{name}` is used by a segment but was never trained: run `segmint train {name} --as-of D`"
                    ),
                );
            }
            Some(s) if s.features_hash != spec.features_hash => {
                missing.insert(
                    name.clone(),
                    format!(
                        "the features of model `{name}` changed since it was trained (version {} as of {}): retrain it with `segmint train {name} --as-of D`",
                        s.version, s.as_of
                    ),
                );
            }
            Some(s) => {
                let params: TrainedModel = serde_json::from_str(&s.params)?;
                trained.versions.insert(name.clone(), s.version);
                trained.models.insert(name, params);
            }
        }
    }
    for name in sets {
        let Some(spec) = checked.catalog.archetype_set(&name) else {
            continue;
        };
        match latest(Kind::Archetypes, &name) {
            None => {
                missing.insert(
                    name.clone(),
                    format!(
                        "archetype set `{name}` is used by a segment but was never fitted: run `segmint archetypes fit {name} --as-of D`"
                    ),
                );
            }
            Some(s) if s.features_hash != spec.features_hash => {
                missing.insert(
                    name.clone(),
                    format!(
                        "the features of archetype set `{name}` changed since it was fitted (version {} as of {}): refit with `segmint archetypes fit {name} --as-of D`",
                        s.version, s.as_of
                    ),
                );
            }
            Some(s) => {
                let params: TrainedArchetypes = serde_json::from_str(&s.params)?;
                trained.versions.insert(name.clone(), s.version);
                trained.archetypes.insert(name, params);
            }
        }
    }
    Ok((trained, missing))
}
