//! From feature columns to the standardized input matrix.
//!
//! Numeric columns arrive already transformed by the plan (log, days before as-of); here
//! each gets its training mean (also its fill for missing values) and standard deviation.
//! Text columns become one input per category — the most frequent [`MAX_CATEGORIES`]
//! values of the training rows — each 1 when equal, else 0, standardized the same way.

use std::collections::HashMap;

use ndarray::Array2;
use segmint_compiler::FeatureKind;
use segmint_compiler::trained::{Encoding, Input};

/// The most categories one text feature contributes.
pub const MAX_CATEGORIES: usize = 12;

/// One feature column's values, one per entity.
#[derive(Debug, Clone)]
pub enum Values {
    Numbers(Vec<Option<f64>>),
    Texts(Vec<Option<String>>),
}

/// A feature column of the plan.
#[derive(Debug, Clone)]
pub struct FeatureColumn {
    pub name: String,
    pub kind: FeatureKind,
    pub values: Values,
}

/// Mean and standard deviation (population) of values; std 1 when it would be 0.
fn moments(values: impl Iterator<Item = f64>) -> (f64, f64) {
    let (mut n, mut sum, mut sum_sq) = (0f64, 0f64, 0f64);
    for v in values {
        n += 1.0;
        sum += v;
        sum_sq += v * v;
    }
    if n == 0.0 {
        return (0.0, 1.0);
    }
    let mean = sum / n;
    let var = (sum_sq / n - mean * mean).max(0.0);
    let std = var.sqrt();
    (mean, if std > 1e-12 { std } else { 1.0 })
}

/// The inputs of `columns`, fitted on the rows `fit_rows`.
pub fn fit_inputs(columns: &[FeatureColumn], fit_rows: &[usize]) -> Vec<Input> {
    let mut inputs = Vec::new();
    for column in columns {
        match (&column.kind, &column.values) {
            (FeatureKind::Numeric(encoding), Values::Numbers(values)) => {
                let (mean, std) = moments(fit_rows.iter().filter_map(|&r| values[r]));
                inputs.push(Input {
                    feature: column.name.clone(),
                    encoding: encoding.clone(),
                    fill: mean,
                    mean,
                    std,
                });
            }
            (_, Values::Texts(values)) => {
                let mut counts: HashMap<&str, usize> = HashMap::new();
                for &r in fit_rows {
                    if let Some(v) = &values[r] {
                        *counts.entry(v.as_str()).or_default() += 1;
                    }
                }
                let mut ranked: Vec<(&str, usize)> = counts.into_iter().collect();
                ranked.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
                for (value, _) in ranked.into_iter().take(MAX_CATEGORIES) {
                    let (mean, std) = moments(
                        fit_rows
                            .iter()
                            .map(|&r| f64::from(u8::from(values[r].as_deref() == Some(value)))),
                    );
                    inputs.push(Input {
                        feature: column.name.clone(),
                        encoding: Encoding::Category {
                            value: value.to_string(),
                        },
                        fill: 0.0,
                        mean,
                        std,
                    });
                }
            }
            (FeatureKind::Text, Values::Numbers(_)) => {}
        }
    }
    inputs
}

/// The number an input takes from its column at `row` before standardizing.
fn raw(input: &Input, column: &FeatureColumn, row: usize) -> f64 {
    match (&input.encoding, &column.values) {
        (Encoding::Category { value }, Values::Texts(values)) => {
            if values[row].as_deref() == Some(value.as_str()) {
                1.0
            } else {
                0.0
            }
        }
        (_, Values::Numbers(values)) => values[row].unwrap_or(input.fill),
        (_, Values::Texts(_)) => input.fill,
    }
}

/// The standardized matrix (rows × inputs), as the plan computes it:
/// `(coalesce(x, fill) − mean) / std`.
pub fn encode(columns: &[FeatureColumn], inputs: &[Input], rows: usize) -> Array2<f64> {
    let mut z = Array2::zeros((rows, inputs.len()));
    for (j, input) in inputs.iter().enumerate() {
        let Some(column) = columns.iter().find(|c| c.name == input.feature) else {
            continue;
        };
        for row in 0..rows {
            z[[row, j]] = (raw(input, column, row) - input.mean) / input.std;
        }
    }
    z
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_standardized_with_the_mean_as_fill() {
        let columns = vec![FeatureColumn {
            name: "n".into(),
            kind: FeatureKind::Numeric(Encoding::Number { log: false }),
            values: Values::Numbers(vec![Some(1.0), Some(3.0), None]),
        }];
        let inputs = fit_inputs(&columns, &[0, 1, 2]);
        assert_eq!(inputs[0].mean, 2.0);
        assert_eq!(inputs[0].std, 1.0);
        let z = encode(&columns, &inputs, 3);
        assert_eq!(z.column(0).to_vec(), vec![-1.0, 1.0, 0.0]);
    }

    #[test]
    fn text_becomes_one_input_per_frequent_category() {
        let t = |s: &str| Some(s.to_string());
        let columns = vec![FeatureColumn {
            name: "c".into(),
            kind: FeatureKind::Text,
            values: Values::Texts(vec![t("b"), t("a"), t("a"), None]),
        }];
        let inputs = fit_inputs(&columns, &[0, 1, 2, 3]);
        let names: Vec<String> = inputs.iter().map(Input::label).collect();
        assert_eq!(names, vec!["c = a", "c = b"]);
        let z = encode(&columns, &inputs, 4);
        assert!(z[[1, 0]] > 0.0 && z[[0, 0]] < 0.0 && z[[3, 0]] < 0.0);
    }
}
