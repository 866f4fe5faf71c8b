//! Fitted parameters of models and archetype sets, and the expressions that apply them
//! inside the fused plan — so scoring is plain DataFusion arithmetic that runs wherever the
//! plan runs (locally or on Ballista executors), with no model file to ship.
//!
//! Each model input is one number per entity, built from a feature's value:
//!
//! | encoding | the number |
//! |---|---|
//! | [`Encoding::Number`] | the value as a float (booleans 0/1) |
//! | [`Encoding::DaysBefore`] | a point in time as days before the as-of (e.g. days since the last event) |
//! | [`Encoding::Category`] | 1 when a text value equals the category, else 0 |
//!
//! (numbers and days as `ln(1 + max(x, 0))` when `log`), then
//! `z = (coalesce(number, fill) − mean) / std`. Training computes the numbers with the
//! same expressions ([`transformed`]), so a model scores in a run exactly as it was fitted.

use std::collections::BTreeMap;

use datafusion::arrow::datatypes::{DataType, TimeUnit};
use datafusion::functions::expr_fn::{coalesce, exp, greatest, ln};
use datafusion::logical_expr::{Expr, cast, lit, when};
use serde::{Deserialize, Serialize};

use crate::error::Result;

/// How a feature's value becomes a number.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Encoding {
    Number { log: bool },
    DaysBefore { log: bool },
    Category { value: String },
}

/// One input of a model or archetype set: a feature, encoded and standardized.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Input {
    pub feature: String,
    pub encoding: Encoding,
    /// Stands in for a missing value (the training mean, so a missing value is z = 0).
    pub fill: f64,
    pub mean: f64,
    /// Never 0 (a constant input has std 1).
    pub std: f64,
}

impl Input {
    /// A readable name: `feature`, `feature (log)`, `feature = value`.
    pub fn label(&self) -> String {
        match &self.encoding {
            Encoding::Number { log: true } | Encoding::DaysBefore { log: true } => {
                format!("{} (log)", self.feature)
            }
            Encoding::Number { log: false } | Encoding::DaysBefore { log: false } => {
                self.feature.clone()
            }
            Encoding::Category { value } => format!("{} = {value}", self.feature),
        }
    }
}

/// A fitted logistic regression: `p = 1 / (1 + exp(−(intercept + Σ weight·z)))`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainedModel {
    pub name: String,
    /// The hash of the features it was fitted on (a run refuses other features).
    pub features_hash: String,
    pub inputs: Vec<Input>,
    pub intercept: f64,
    pub weights: Vec<f64>,
}

/// Fitted archetypes: centroids in the standardized input space, named by position.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainedArchetypes {
    pub name: String,
    pub features_hash: String,
    pub inputs: Vec<Input>,
    pub centroids: Vec<Vec<f64>>,
    pub names: Vec<String>,
}

/// The fitted parameters a run's `predict` and `archetype` leaves use, by name.
#[derive(Debug, Clone, Default)]
pub struct Trained {
    pub models: BTreeMap<String, TrainedModel>,
    pub archetypes: BTreeMap<String, TrainedArchetypes>,
    /// The stored version of each loaded fit (models and archetype sets share names).
    pub versions: BTreeMap<String, i64>,
}

/// The microseconds of a timestamp value (whatever its unit or zone).
fn micros(value: Expr) -> Expr {
    cast(
        cast(
            value,
            DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
        ),
        DataType::Int64,
    )
}

/// The encoding's number for a feature `value` (null stays null), at an as-of ending at
/// `end_us`.
pub fn transformed(encoding: &Encoding, value: Expr, end_us: i64) -> Expr {
    match encoding {
        Encoding::Number { log } => logged(cast(value, DataType::Float64), *log),
        Encoding::DaysBefore { log } => logged(
            cast(lit(end_us) - micros(value), DataType::Float64) / lit(86_400_000_000.0f64),
            *log,
        ),
        Encoding::Category { value: v } => {
            let equal = cast(value, DataType::Utf8).eq(lit(v.as_str()));
            coalesce(vec![
                when(equal, lit(1.0f64))
                    .otherwise(lit(0.0f64))
                    .unwrap_or(lit(0.0f64)),
                lit(0.0f64),
            ])
        }
    }
}

/// `ln(1 + max(x, 0))` when `log`.
fn logged(x: Expr, log: bool) -> Expr {
    if log {
        ln(lit(1.0f64) + greatest(vec![x, lit(0.0f64)]))
    } else {
        x
    }
}

/// The standardized input `z` for a feature `value`.
pub fn standardized(input: &Input, value: Expr, end_us: i64) -> Expr {
    let number = coalesce(vec![
        transformed(&input.encoding, value, end_us),
        lit(input.fill),
    ]);
    (number - lit(input.mean)) / lit(input.std)
}

/// A model's probability from its inputs' `z` expressions (in order).
pub fn probability(model: &TrainedModel, z: Vec<Expr>) -> Expr {
    let mut linear = lit(model.intercept);
    for (w, z) in model.weights.iter().zip(z) {
        linear = linear + lit(*w) * z;
    }
    lit(1.0f64) / (lit(1.0f64) + exp(lit(0.0f64) - linear))
}

/// The name of the nearest centroid (the first of equals) from the inputs' `z`.
pub fn nearest(set: &TrainedArchetypes, z: &[Expr]) -> Result<Expr> {
    let distances: Vec<Expr> = set
        .centroids
        .iter()
        .map(|c| {
            c.iter()
                .zip(z)
                .map(|(ci, zi)| {
                    let d = zi.clone() - lit(*ci);
                    d.clone() * d
                })
                .reduce(|a, b| a + b)
                .unwrap_or(lit(0.0f64))
        })
        .collect();
    let mut case: Option<datafusion::logical_expr::conditional_expressions::CaseBuilder> = None;
    let last = distances.len().saturating_sub(1);
    for (i, d) in distances.iter().enumerate().take(last) {
        let nearest_here = distances
            .iter()
            .enumerate()
            .filter(|(j, _)| *j != i)
            .map(|(j, other)| {
                if j < i {
                    d.clone().lt(other.clone())
                } else {
                    d.clone().lt_eq(other.clone())
                }
            })
            .reduce(Expr::and)
            .unwrap_or(lit(true));
        let name = lit(set.names[i].as_str());
        case = Some(match case {
            None => when(nearest_here, name),
            Some(mut b) => b.when(nearest_here, name),
        });
    }
    let last_name = lit(set.names.get(last).map_or("", String::as_str));
    Ok(match case {
        Some(mut b) => b.otherwise(last_name)?,
        None => last_name,
    })
}
