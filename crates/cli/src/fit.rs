//! `segmint train` and `segmint archetypes fit | describe`: tables for people, JSON for
//! pipelines.

use std::path::Path;

use segmint_engine::models::archetypes::{self, Description};
use segmint_engine::models::train::{Evaluation, TrainReport};
use segmint_engine::{EngineError, ProjectSession};

use crate::ArchetypesAction;

fn json_line<T: serde::Serialize>(value: &T) -> Result<(), EngineError> {
    println!(
        "{}",
        serde_json::to_string(value).map_err(EngineError::Json)?
    );
    Ok(())
}

fn num(v: Option<f64>) -> String {
    v.map_or("–".into(), |v| format!("{v:.3}"))
}

fn print_evaluation(title: &str, e: &Evaluation) {
    println!(
        "{title}: features as of {}, labels to {} — {} entities, {} positive",
        e.features_as_of, e.labels_until, e.entities, e.positives
    );
    println!(
        "  AUC {} (recency alone {}), lift in the top decile {}",
        num(e.auc),
        num(e.recency_auc),
        num(e.lift_top_decile)
    );
}

fn print_train(r: &TrainReport) {
    println!(
        "model {} version {} trained as of {} on {} entities ({} positive)",
        r.model, r.version, r.as_of, r.train_entities, r.train_positives
    );
    print_evaluation("held-out", &r.test);
    match &r.out_of_time {
        Some(e) => print_evaluation("out of time", e),
        None => println!("out of time: the lake does not reach the horizon after --as-of yet"),
    }
    println!("  calibration (held-out, by score decile): predicted → observed");
    for bin in &r.test.calibration {
        println!(
            "    {:>6.3} → {:>6.3}  ({} entities)",
            bin.mean_probability, bin.observed_rate, bin.entities
        );
    }
    println!(
        "  weights (per standard deviation of each input), intercept {:+.3}:",
        r.intercept
    );
    let mut weights = r.weights.clone();
    weights.sort_by(|a, b| b.weight.abs().total_cmp(&a.weight.abs()));
    for w in weights {
        println!("    {:+.3}  {}", w.weight, w.input);
    }
}

/// `train MODEL --as-of D`.
pub async fn train(
    project: &Path,
    model: &str,
    as_of: chrono::NaiveDate,
    json: bool,
) -> Result<(), EngineError> {
    let session = ProjectSession::builder(project).open().await?;
    let report = segmint_engine::models::train::train(&session, model, as_of).await?;
    if json {
        return json_line(&report);
    }
    print_train(&report);
    Ok(())
}

fn print_description(d: &Description) {
    println!(
        "archetype set {} version {} fitted as of {} on {} entities: k = {}, silhouette {:.3}",
        d.set, d.version, d.as_of, d.entities, d.k, d.silhouette
    );
    if d.silhouettes.len() > 1 {
        let tried: Vec<String> = d
            .silhouettes
            .iter()
            .map(|(k, s)| format!("k={k}: {s:.3}"))
            .collect();
        println!("  tried {}", tried.join(", "));
    }
    for a in &d.archetypes {
        println!(
            "{:<14} {:>8} ({:>5.1}%)  {}",
            a.name,
            a.size,
            100.0 * a.share,
            a.summary
        );
    }
}

/// `archetypes fit | describe`.
pub async fn archetypes(project: &Path, action: &ArchetypesAction) -> Result<(), EngineError> {
    let (description, json) = match action {
        ArchetypesAction::Fit { name, as_of, json } => {
            let session = ProjectSession::builder(project).open().await?;
            (archetypes::fit(&session, name, *as_of).await?, *json)
        }
        ArchetypesAction::Describe { name, json } => {
            let (checked, output) = ProjectSession::builder(project).open_offline()?;
            if checked.catalog.archetype_set(name).is_none() {
                return Err(EngineError::Usage(format!(
                    "archetype set `{name}` is not defined: add `archetypes/{name}.yaml`"
                )));
            }
            (archetypes::stored_description(&output, name).await?, *json)
        }
    };
    if json {
        return json_line(&description);
    }
    print_description(&description);
    Ok(())
}

/// The demo's forward-looking part: train `will_purchase_30d` 30 days before `end` (so its
/// out-of-time check reaches `end`) and fit `activity_styles` at `end`, printing both.
/// `false` (with the reason printed) when the lake is too small to fit them.
pub async fn demo_models(project: &Path, end: chrono::NaiveDate) -> Result<bool, EngineError> {
    let session = ProjectSession::builder(project).open().await?;
    let trained_at = end
        .checked_sub_days(chrono::Days::new(30))
        .ok_or_else(|| EngineError::Usage(format!("{end} − 30 days is out of range")))?;
    println!();
    let fitted = async {
        let report =
            segmint_engine::models::train::train(&session, "will_purchase_30d", trained_at).await?;
        print_train(&report);
        println!();
        let description = archetypes::fit(&session, "activity_styles", end).await?;
        print_description(&description);
        Ok::<(), EngineError>(())
    };
    match fitted.await {
        Ok(()) => Ok(true),
        Err(e @ EngineError::Fit { .. }) => {
            println!("skipping the forward-looking segment: {e}");
            Ok(false)
        }
        Err(e) => Err(e),
    }
}
