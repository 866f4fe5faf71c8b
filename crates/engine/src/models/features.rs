//! Feature columns for fitting: the compiler's feature plan, executed, as plain vectors.

use std::collections::HashMap;

use chrono::NaiveDate;
use datafusion::arrow::array::{Array, Float64Array, StringArray};
use datafusion::prelude::DataFrame;
use segmint_compiler::{AsOf, FeatureKind, compile_features};
use segmint_models::matrix::{FeatureColumn, Values};
use segmint_spec::Feature;

use crate::error::{EngineError, Result};
use crate::session::ProjectSession;

/// One value per entity of each feature, rows sorted by entity id.
pub struct Frame {
    pub entities: Vec<String>,
    pub columns: Vec<FeatureColumn>,
}

impl Frame {
    /// The row of each entity.
    pub fn index(&self) -> HashMap<&str, usize> {
        self.entities
            .iter()
            .enumerate()
            .map(|(i, e)| (e.as_str(), i))
            .collect()
    }

    /// A numeric column's values by name.
    pub fn numbers(&self, name: &str) -> Option<&[Option<f64>]> {
        self.columns
            .iter()
            .find(|c| c.name == name)
            .and_then(|c| match &c.values {
                Values::Numbers(v) => Some(v.as_slice()),
                Values::Texts(_) => None,
            })
    }
}

/// Compute `features` as of `day` for every entity with events in their widest window.
pub async fn frame(
    session: &ProjectSession,
    features: &[Feature],
    log: &[String],
    day: NaiveDate,
) -> Result<Frame> {
    let as_of = AsOf::new(day, &session.checked.project.timezone)?;
    let (lo, hi) = (None, as_of.end_us);
    let planned = compile_features(
        &session.checked,
        features,
        log,
        as_of,
        session.events.for_range(lo, hi)?,
    )?;
    let df = DataFrame::new(session.ctx.state(), planned.plan);
    let mut batches = match df.collect().await {
        Ok(b) => b,
        Err(e) => return Err(crate::failure::read_error(&session.events_location, e).await),
    };
    // Sorted by entity, so fitting sees the rows in one order whatever the plan's.
    let mut rows: Vec<(String, usize, usize)> = Vec::new();
    for (b, batch) in batches.iter().enumerate() {
        let entities = batch
            .column(0)
            .as_any()
            .downcast_ref::<StringArray>()
            .ok_or_else(|| EngineError::Internal("entity is not text".into()))?;
        for r in 0..batch.num_rows() {
            if entities.is_valid(r) {
                rows.push((entities.value(r).to_string(), b, r));
            }
        }
    }
    rows.sort();
    let mut columns = Vec::with_capacity(planned.columns.len());
    for (i, (name, kind)) in planned.columns.iter().enumerate() {
        let values = match kind {
            FeatureKind::Numeric(_) => {
                let arrays: Vec<&Float64Array> = batches
                    .iter()
                    .map(|b| b.column(i + 1).as_any().downcast_ref::<Float64Array>())
                    .collect::<Option<_>>()
                    .ok_or_else(|| {
                        EngineError::Internal(format!("feature {name} is not a float"))
                    })?;
                Values::Numbers(
                    rows.iter()
                        .map(|(_, b, r)| arrays[*b].is_valid(*r).then(|| arrays[*b].value(*r)))
                        .collect(),
                )
            }
            FeatureKind::Text => {
                let arrays: Vec<&StringArray> = batches
                    .iter()
                    .map(|b| b.column(i + 1).as_any().downcast_ref::<StringArray>())
                    .collect::<Option<_>>()
                    .ok_or_else(|| EngineError::Internal(format!("feature {name} is not text")))?;
                Values::Texts(
                    rows.iter()
                        .map(|(_, b, r)| {
                            arrays[*b]
                                .is_valid(*r)
                                .then(|| arrays[*b].value(*r).to_string())
                        })
                        .collect(),
                )
            }
        };
        columns.push(FeatureColumn {
            name: name.clone(),
            kind: kind.clone(),
            values,
        });
    }
    batches.clear();
    Ok(Frame {
        entities: rows.into_iter().map(|(e, _, _)| e).collect(),
        columns,
    })
}
