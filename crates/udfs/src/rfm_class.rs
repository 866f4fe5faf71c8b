//! `rfm_class(r, f, m)`: the named RFM class of recency, frequency and monetary scores.
//!
//! # Arguments
//! `r`, `f`, `m`: integer scores from 1 (worst) to 5 (best) — e.g. quintiles from
//! `ntile(5) OVER (ORDER BY …)`. Recency 5 means the most recent.
//!
//! # Result
//! `VARCHAR`: one of eleven classes, from recency `r` and `fm = ceil((f + m) / 2)`, the
//! rounded-up mean of frequency and monetary value. NULL if any score is NULL; a score
//! outside 1–5 is an error.
//!
//! | r \ fm | 1              | 2                   | 3                   | 4                | 5                |
//! |--------|----------------|---------------------|---------------------|------------------|------------------|
//! | 5      | new_customers  | potential_loyalists | potential_loyalists | champions        | champions        |
//! | 4      | promising      | potential_loyalists | potential_loyalists | loyal            | champions        |
//! | 3      | about_to_sleep | need_attention      | need_attention      | loyal            | loyal            |
//! | 2      | hibernating    | hibernating         | at_risk             | at_risk          | cannot_lose_them |
//! | 1      | lost           | lost                | at_risk             | at_risk          | cannot_lose_them |
//!
//! The table follows the common R × FM grid used in RFM practice (champions recent and
//! valuable; cannot_lose_them valuable but long gone; lost neither), made total so every
//! score has exactly one class.
//!
//! # Example
//! ```sql
//! SELECT user_id, rfm_class(r, f, m) FROM scores;
//! ```

use std::sync::Arc;

use datafusion::arrow::array::{Array, AsArray, StringArray};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Int64Type};
use datafusion::common::{Result, exec_err, plan_err};
use datafusion::logical_expr::{
    ColumnarValue, ScalarFunctionArgs, ScalarUDFImpl, Signature, Volatility,
};

const NAME: &str = "rfm_class";

/// Every class, in the order of the table (best first).
pub const RFM_CLASSES: [&str; 11] = [
    "champions",
    "loyal",
    "potential_loyalists",
    "new_customers",
    "promising",
    "need_attention",
    "about_to_sleep",
    "at_risk",
    "cannot_lose_them",
    "hibernating",
    "lost",
];

/// The `rfm_class` scalar function.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct RfmClass {
    signature: Signature,
}

impl Default for RfmClass {
    fn default() -> Self {
        Self {
            signature: Signature::user_defined(Volatility::Immutable),
        }
    }
}

/// The class of valid scores (each 1 to 5).
pub fn rfm_class_of(r: i64, f: i64, m: i64) -> &'static str {
    let fm = (f + m + 1) / 2;
    match (r, fm) {
        (5, 1) => "new_customers",
        (4, 1) => "promising",
        (4 | 5, 2 | 3) => "potential_loyalists",
        (5, 4 | 5) | (4, 5) => "champions",
        (3 | 4, 4) | (3, 5) => "loyal",
        (3, 1) => "about_to_sleep",
        (3, _) => "need_attention",
        (1 | 2, 5) => "cannot_lose_them",
        (1 | 2, 3 | 4) => "at_risk",
        (2, _) => "hibernating",
        _ => "lost",
    }
}

impl ScalarUDFImpl for RfmClass {
    fn name(&self) -> &str {
        NAME
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        if arg_types.len() != 3 {
            return plan_err!("{NAME} takes (r, f, m), got {} arguments", arg_types.len());
        }
        arg_types
            .iter()
            .enumerate()
            .map(|(i, t)| {
                if t.is_integer() || t == &DataType::Null {
                    Ok(DataType::Int64)
                } else {
                    plan_err!(
                        "{NAME}: argument {} must be an integer score 1-5, got {t}",
                        i + 1
                    )
                }
            })
            .collect()
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(DataType::Utf8)
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let arrays = ColumnarValue::values_to_arrays(&args.args)?;
        let mut scores = Vec::with_capacity(3);
        for array in &arrays {
            scores.push(cast(array, &DataType::Int64)?);
        }
        let [r, f, m] = [0, 1, 2].map(|i| scores[i].as_primitive::<Int64Type>());
        let rows = r.len();
        let mut classes = Vec::with_capacity(rows);
        for row in 0..rows {
            if r.is_null(row) || f.is_null(row) || m.is_null(row) {
                classes.push(None);
                continue;
            }
            let (rv, fv, mv) = (r.value(row), f.value(row), m.value(row));
            for (name, v) in [("r", rv), ("f", fv), ("m", mv)] {
                if !(1..=5).contains(&v) {
                    return exec_err!("{NAME}: score {name} = {v} is outside 1 to 5");
                }
            }
            classes.push(Some(rfm_class_of(rv, fv, mv)));
        }
        let result = Arc::new(StringArray::from(classes));
        if args
            .args
            .iter()
            .all(|a| matches!(a, ColumnarValue::Scalar(_)))
        {
            return Ok(ColumnarValue::Scalar(
                datafusion::common::ScalarValue::try_from_array(result.as_ref(), 0)?,
            ));
        }
        Ok(ColumnarValue::Array(result))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_score_has_a_class_and_every_class_is_reachable() {
        let mut seen = std::collections::BTreeSet::new();
        for r in 1..=5 {
            for f in 1..=5 {
                for m in 1..=5 {
                    seen.insert(rfm_class_of(r, f, m));
                }
            }
        }
        assert_eq!(seen.len(), RFM_CLASSES.len());
        assert_eq!(rfm_class_of(5, 5, 5), "champions");
        assert_eq!(rfm_class_of(1, 5, 5), "cannot_lose_them");
        assert_eq!(rfm_class_of(1, 1, 1), "lost");
    }
}
