//! L2-regularized logistic regression with `linfa-logistic` (L-BFGS via `argmin`).
//!
//! Deterministic: the same rows in the same order give the same coefficients.
//! `linfa-logistic` 0.8 models the probability of its *larger* class (the first seen on a
//! tie); when that is `false`, the signs are flipped so the coefficients always give the
//! probability of a positive label.

use linfa::Dataset;
use linfa::prelude::*;
use linfa_logistic::LogisticRegression;
use ndarray::{Array1, Array2};

use crate::FitError;

/// The fitted coefficients (over standardized inputs).
#[derive(Debug, Clone, PartialEq)]
pub struct Coefficients {
    pub intercept: f64,
    pub weights: Vec<f64>,
}

impl Coefficients {
    /// `1 / (1 + exp(−(intercept + Σ wᵢ·zᵢ)))`, summed in the order the plan sums it.
    pub fn probability(&self, z: &[f64]) -> f64 {
        let mut linear = self.intercept;
        for (w, x) in self.weights.iter().zip(z) {
            linear += w * x;
        }
        1.0 / (1.0 + (0.0 - linear).exp())
    }
}

/// Fit on `x` (rows × inputs) and labels `y`; `l2` is the penalty on the weights.
pub fn fit(x: &Array2<f64>, y: &[bool], l2: f64) -> Result<Coefficients, FitError> {
    let positives = y.iter().filter(|v| **v).count();
    if positives == 0 || positives == y.len() {
        return Err(FitError::TooLittleData(format!(
            "{positives} positive labels among {} rows: both outcomes are needed",
            y.len()
        )));
    }
    let ys: Array1<bool> = y.iter().copied().collect();
    let model = LogisticRegression::default()
        .alpha(l2)
        .max_iterations(300)
        .fit(&Dataset::new(x.clone(), ys))
        .map_err(|e| FitError::Solver(e.to_string()))?;
    let sign = if model.labels().pos.class { 1.0 } else { -1.0 };
    Ok(Coefficients {
        intercept: sign * model.intercept(),
        weights: model.params().iter().map(|w| sign * w).collect(),
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn higher_inputs_of_positives_get_positive_weight_whichever_class_is_larger() {
        let x = Array2::from_shape_vec((8, 1), vec![-2.0, -1.5, -1.0, -0.5, 0.5, 1.0, 1.5, 2.0])
            .unwrap();
        let y = [false, false, false, true, false, true, true, true];
        let c = fit(&x, &y, 0.1).unwrap();
        assert!(c.weights[0] > 0.0, "{c:?}");
        assert!(c.probability(&[2.0]) > 0.5 && c.probability(&[-2.0]) < 0.5);
        assert_eq!(fit(&x, &y, 0.1).unwrap(), c, "not deterministic");
        // Positives the minority, and the majority: still the probability of a positive.
        let rare = [false, false, false, false, false, false, true, true];
        assert!(fit(&x, &rare, 0.1).unwrap().weights[0] > 0.0);
        let common = [false, false, true, true, true, true, true, true];
        assert!(fit(&x, &common, 0.1).unwrap().weights[0] > 0.0);
        assert!(fit(&x, &[false; 8], 0.1).is_err());
    }
}
