//! `segmint train MODEL --as-of D`: fit a propensity model without leakage.
//!
//! - **Features** are computed as of `D − horizon` — nothing after it is read.
//! - **Labels** come from `(D − horizon, D]`: did the entity do the event in those days.
//! - **Entities**: everyone with events in the features' widest window before `D − horizon`.
//! - **Split**: a stable hash of (model, entity) keeps `test_share` of them out of fitting;
//!   AUC, lift in the top decile and calibration are measured on them, beside the AUC of
//!   recency alone (days since the last event) on the same entities.
//! - **Out of time**: when the lake already holds `D + horizon`, the model is also scored
//!   with features as of `D` against labels from `(D, D + horizon]`.

use chrono::{Days, NaiveDate};
use segmint_compiler::trained::TrainedModel;
use segmint_models::logistic::{self, Coefficients};
use segmint_models::matrix::{encode, fit_inputs};
use segmint_models::metrics::{CalibrationBin, auc, calibration, lift_top_decile};
use segmint_spec::{
    EventMatch, Feature, Leaf, ModelSpec, Occurrence, Performed, When, Which, Window,
    holdout_position,
};
use serde::Serialize;

use super::features::{Frame, frame};
use super::store::{self, Kind, NewFit};
use crate::error::{EngineError, Result};
use crate::session::ProjectSession;

/// The hidden feature recency is measured with.
const RECENCY: &str = "__days_since_last_event";
/// The hidden feature labels are read from.
const LABEL: &str = "__label_events";

/// How well a model ranks one set of entities.
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct Evaluation {
    /// Features as of this day; labels from the horizon after it.
    pub features_as_of: String,
    pub labels_until: String,
    pub entities: u64,
    pub positives: u64,
    pub auc: Option<f64>,
    /// The AUC of recency alone (fewer days since the last event ranks higher).
    pub recency_auc: Option<f64>,
    pub lift_top_decile: Option<f64>,
    pub calibration: Vec<CalibrationBin>,
}

/// One input's fitted weight.
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct Weight {
    pub input: String,
    pub weight: f64,
}

/// What `train` did.
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct TrainReport {
    pub model: String,
    pub version: i64,
    pub as_of: String,
    pub train_entities: u64,
    pub train_positives: u64,
    pub test: Evaluation,
    /// `None` when the lake does not reach `as_of + horizon` yet.
    pub out_of_time: Option<Evaluation>,
    pub intercept: f64,
    pub weights: Vec<Weight>,
    /// SHA-256 of the stored parameters: equal for the same lake, spec and as-of.
    pub params_sha256: String,
}

/// The model spec of `name`, or a usage error listing the models.
fn spec<'a>(session: &'a ProjectSession, name: &str) -> Result<&'a ModelSpec> {
    session.checked.catalog.model(name).ok_or_else(|| {
        let known: Vec<&str> = session
            .checked
            .catalog
            .models
            .iter()
            .map(|m| m.name.as_str())
            .collect();
        EngineError::Usage(if known.is_empty() {
            format!("model `{name}` is not defined: add `models/{name}.yaml` (docs/models.md)")
        } else {
            format!(
                "model `{name}` is not defined; models: {}",
                known.join(", ")
            )
        })
    })
}

fn minus(day: NaiveDate, days: i64) -> Result<NaiveDate> {
    day.checked_sub_days(Days::new(days.max(0) as u64))
        .ok_or_else(|| EngineError::Usage(format!("{day} − {days} days is out of range")))
}

fn plus(day: NaiveDate, days: i64) -> Result<NaiveDate> {
    day.checked_add_days(Days::new(days.max(0) as u64))
        .ok_or_else(|| EngineError::Usage(format!("{day} + {days} days is out of range")))
}

/// The features plus the recency baseline.
fn with_recency(features: &[Feature]) -> Vec<Feature> {
    let mut all = features.to_vec();
    all.push(Feature {
        name: RECENCY.into(),
        leaf: Leaf::Occurrence(Occurrence {
            which: Which::Last,
            matching: EventMatch {
                event: None,
                filters: Vec::new(),
            },
            when: When::Ever,
        }),
    });
    all
}

/// Remove the hidden recency column from `frame` (it is the baseline, not an input); its
/// values.
fn take_recency(frame: &mut Frame) -> Vec<Option<f64>> {
    let recency = frame.numbers(RECENCY).unwrap_or_default().to_vec();
    frame.columns.retain(|c| c.name != RECENCY);
    recency
}

/// Whether each entity of `frame` did the label event in the horizon before `until`.
async fn labels(
    session: &ProjectSession,
    model: &ModelSpec,
    frame: &Frame,
    until: NaiveDate,
) -> Result<Vec<bool>> {
    let label = Feature {
        name: LABEL.into(),
        leaf: Leaf::Performed(Performed {
            matching: model.label.clone(),
            window: Window::Last(model.horizon),
            count: Vec::new(),
        }),
    };
    let happened = frame_of(session, &[label], until).await?;
    let counts = happened.numbers(LABEL).unwrap_or_default();
    let index = happened.index();
    Ok(frame
        .entities
        .iter()
        .map(|e| {
            index
                .get(e.as_str())
                .and_then(|&i| counts[i])
                .is_some_and(|c| c > 0.0)
        })
        .collect())
}

async fn frame_of(session: &ProjectSession, features: &[Feature], day: NaiveDate) -> Result<Frame> {
    frame(session, features, &[], day).await
}

/// Score and measure `rows` of a frame.
fn evaluate(
    coefficients: &Coefficients,
    z: &ndarray::Array2<f64>,
    recency: &[Option<f64>],
    labels: &[bool],
    rows: &[usize],
    (features_as_of, labels_until): (NaiveDate, NaiveDate),
) -> Evaluation {
    let scores: Vec<f64> = rows
        .iter()
        .map(|&r| coefficients.probability(z.row(r).as_slice().unwrap_or(&[])))
        .collect();
    let ys: Vec<bool> = rows.iter().map(|&r| labels[r]).collect();
    let recency_scores: Vec<f64> = rows
        .iter()
        .map(|&r| -recency[r].unwrap_or(f64::INFINITY))
        .collect();
    Evaluation {
        features_as_of: features_as_of.to_string(),
        labels_until: labels_until.to_string(),
        entities: rows.len() as u64,
        positives: ys.iter().filter(|y| **y).count() as u64,
        auc: auc(&scores, &ys),
        recency_auc: auc(&recency_scores, &ys),
        lift_top_decile: lift_top_decile(&scores, &ys),
        calibration: calibration(&scores, &ys),
    }
}

/// Train `name` as of `as_of` and store it as the next version.
pub async fn train(session: &ProjectSession, name: &str, as_of: NaiveDate) -> Result<TrainReport> {
    let model = spec(session, name)?;
    let horizon = model.horizon.calendar_days().unwrap_or(30);
    let features_as_of = minus(as_of, horizon)?;
    let features = with_recency(&model.features);
    let mut data = frame(session, &features, &model.log, features_as_of).await?;
    let fail = |message: String| EngineError::Fit {
        name: name.to_string(),
        message,
    };
    if data.entities.is_empty() {
        return Err(fail(format!(
            "no entity has events before {features_as_of} (the features' as-of, {horizon} days before --as-of {as_of})"
        )));
    }
    let y = labels(session, model, &data, as_of).await?;
    let (test, fit_rows): (Vec<usize>, Vec<usize>) = (0..data.entities.len()).partition(|&r| {
        holdout_position("segmint-model", name, &data.entities[r]) < model.test_share
    });
    let positives = fit_rows.iter().filter(|&&r| y[r]).count() as u64;
    if positives < model.min_positives {
        return Err(fail(format!(
            "{positives} positive labels among {} training entities (features as of {features_as_of}, labels to {as_of}); `min_positives` is {} — pick a later --as-of, a longer horizon, or lower `min_positives`",
            fit_rows.len(),
            model.min_positives
        )));
    }
    let recency = take_recency(&mut data);
    let inputs = fit_inputs(&data.columns, &fit_rows);
    let z = encode(&data.columns, &inputs, data.entities.len());
    let fit_z = z.select(ndarray::Axis(0), &fit_rows);
    let fit_y: Vec<bool> = fit_rows.iter().map(|&r| y[r]).collect();
    let coefficients = logistic::fit(&fit_z, &fit_y, model.l2).map_err(|e| fail(e.to_string()))?;
    let test_eval = evaluate(
        &coefficients,
        &z,
        &recency,
        &y,
        &test,
        (features_as_of, as_of),
    );

    // Out of time: features as of D, labels from the horizon after it, when the lake has it.
    let until = plus(as_of, horizon)?;
    let out_of_time = if super::lake_has_day(session, until).await? {
        let mut later = frame(session, &features, &model.log, as_of).await?;
        let later_y = labels(session, model, &later, until).await?;
        let later_recency = take_recency(&mut later);
        let later_z = encode(&later.columns, &inputs, later.entities.len());
        let rows: Vec<usize> = (0..later.entities.len()).collect();
        Some(evaluate(
            &coefficients,
            &later_z,
            &later_recency,
            &later_y,
            &rows,
            (as_of, until),
        ))
    } else {
        None
    };

    let params = TrainedModel {
        name: name.to_string(),
        features_hash: model.features_hash.clone(),
        inputs: inputs.clone(),
        intercept: coefficients.intercept,
        weights: coefficients.weights.clone(),
    };
    let params_json = serde_json::to_string(&params)?;
    let mut report = TrainReport {
        model: name.to_string(),
        version: 0,
        as_of: as_of.to_string(),
        train_entities: fit_rows.len() as u64,
        train_positives: positives,
        test: test_eval,
        out_of_time,
        intercept: coefficients.intercept,
        weights: inputs
            .iter()
            .zip(&coefficients.weights)
            .map(|(i, w)| Weight {
                input: i.label(),
                weight: *w,
            })
            .collect(),
        params_sha256: super::sha256(&params_json),
    };
    let report_json = serde_json::to_string(&report)?;
    report.version = store::save(
        &session.output,
        NewFit {
            kind: Kind::Model,
            name,
            as_of,
            features_hash: &model.features_hash,
            spec_hash: &model.spec_hash,
            params: &params_json,
            report: &report_json,
        },
    )
    .await?;
    Ok(report)
}
