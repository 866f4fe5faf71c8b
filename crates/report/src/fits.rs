//! The latest fit of every propensity model and archetype set in the output's `models`
//! table (`segmint train`, `segmint archetypes fit`): model metrics and archetype profiles
//! for the page. Aggregates only: metrics, weights, centroids and sizes.

use segmint_engine::models::archetypes::Description;
use segmint_engine::models::store::{self, Kind, Stored};
use segmint_engine::models::train::TrainReport;
use segmint_engine::output::OutputTables;
use segmint_engine::{EngineError, Result};
use serde::Serialize;

/// The latest fits, by name.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Fits {
    pub models: Vec<TrainReport>,
    pub archetypes: Vec<Description>,
}

/// The latest version of each (kind, name).
fn latest(stored: Vec<Stored>) -> Vec<Stored> {
    let mut out: Vec<Stored> = Vec::new();
    for s in stored {
        match out
            .iter_mut()
            .find(|o| o.kind == s.kind && o.name == s.name)
        {
            Some(o) if o.version < s.version => *o = s,
            Some(_) => {}
            None => out.push(s),
        }
    }
    out.sort_by(|a, b| a.name.cmp(&b.name));
    out
}

/// Read the latest fits (none when nothing was ever fitted).
pub async fn latest_fits(out: &OutputTables) -> Result<Fits> {
    let mut fits = Fits::default();
    for s in latest(store::read_all(out).await?) {
        let bad = |e: serde_json::Error| {
            EngineError::output(
                out.describe(store::MODELS),
                format!(
                    "the stored report of `{}` version {}: {e}",
                    s.name, s.version
                ),
            )
        };
        match s.kind {
            Kind::Model => {
                let mut report: TrainReport = serde_json::from_str(&s.report).map_err(bad)?;
                report.version = s.version;
                fits.models.push(report);
            }
            Kind::Archetypes => {
                let mut description: Description = serde_json::from_str(&s.report).map_err(bad)?;
                description.version = s.version;
                fits.archetypes.push(description);
            }
        }
    }
    Ok(fits)
}
