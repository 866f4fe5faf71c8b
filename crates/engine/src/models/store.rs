//! Fitted parameters in the output: the `models` Delta table, one row per fit, versioned.
//!
//! | column | type | |
//! |---|---|---|
//! | `kind` | string | `model` or `archetypes` |
//! | `name` | string | |
//! | `version` | long | 1, 2, … per (kind, name) |
//! | `as_of` | date | the as-of it was fitted at |
//! | `fitted_at` | timestamp (UTC) | |
//! | `features_hash` | string | what a run compares with the current features |
//! | `spec_hash` | string | SHA-256 of the model / archetype file |
//! | `params` | string | the parameters (JSON): deterministic for a lake, spec and seed |
//! | `report` | string | metrics (models) or the description (archetypes), JSON |

use std::sync::Arc;

use chrono::NaiveDate;
use datafusion::arrow::array::{
    ArrayRef, Date32Array, Int64Array, RecordBatch, StringArray, TimestampMicrosecondArray,
};
use datafusion::arrow::datatypes::{DataType, Field, Schema, TimeUnit};
use serde::Serialize;

use crate::error::{EngineError, Result};
use crate::members::days_since_epoch;
use crate::output::OutputTables;

/// The table's folder.
pub const MODELS: &str = "models";

/// What was fitted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Kind {
    Model,
    Archetypes,
}

impl Kind {
    fn as_str(self) -> &'static str {
        match self {
            Kind::Model => "model",
            Kind::Archetypes => "archetypes",
        }
    }
}

fn schema() -> Schema {
    Schema::new(vec![
        Field::new("kind", DataType::Utf8, false),
        Field::new("name", DataType::Utf8, false),
        Field::new("version", DataType::Int64, false),
        Field::new("as_of", DataType::Date32, false),
        Field::new(
            "fitted_at",
            DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
            false,
        ),
        Field::new("features_hash", DataType::Utf8, false),
        Field::new("spec_hash", DataType::Utf8, false),
        Field::new("params", DataType::Utf8, false),
        Field::new("report", DataType::Utf8, false),
    ])
}

/// One stored fit.
#[derive(Debug, Clone, Serialize)]
pub struct Stored {
    pub kind: Kind,
    pub name: String,
    pub version: i64,
    pub as_of: NaiveDate,
    pub features_hash: String,
    pub spec_hash: String,
    pub params: String,
    pub report: String,
}

/// Every stored fit.
pub async fn read_all(out: &OutputTables) -> Result<Vec<Stored>> {
    let object = out.describe(MODELS);
    let Some(table) = out.existing(MODELS).await? else {
        return Ok(Vec::new());
    };
    let snapshot = table
        .snapshot()
        .map_err(|e| EngineError::output(&object, e))?;
    let mut stored = Vec::new();
    for file in snapshot.log_data().iter() {
        let path = file.object_store_path();
        for batch in crate::output::read_table_file(&table, &path, None, &object).await? {
            let text = |name: &str| {
                batch
                    .column_by_name(name)
                    .and_then(|c| c.as_any().downcast_ref::<StringArray>())
                    .ok_or_else(|| EngineError::output(&object, format!("no `{name}` column")))
            };
            let versions = batch
                .column_by_name("version")
                .and_then(|c| c.as_any().downcast_ref::<Int64Array>())
                .ok_or_else(|| EngineError::output(&object, "no `version` column"))?;
            let days = batch
                .column_by_name("as_of")
                .and_then(|c| c.as_any().downcast_ref::<Date32Array>())
                .ok_or_else(|| EngineError::output(&object, "no `as_of` column"))?;
            let (kinds, names, features, specs, params, reports) = (
                text("kind")?,
                text("name")?,
                text("features_hash")?,
                text("spec_hash")?,
                text("params")?,
                text("report")?,
            );
            for row in 0..batch.num_rows() {
                let kind = if kinds.value(row) == Kind::Model.as_str() {
                    Kind::Model
                } else {
                    Kind::Archetypes
                };
                stored.push(Stored {
                    kind,
                    name: names.value(row).to_string(),
                    version: versions.value(row),
                    as_of: days.value_as_date(row).unwrap_or_default(),
                    features_hash: features.value(row).to_string(),
                    spec_hash: specs.value(row).to_string(),
                    params: params.value(row).to_string(),
                    report: reports.value(row).to_string(),
                });
            }
        }
    }
    stored.sort_by(|a, b| {
        (a.kind.as_str(), &a.name, a.version).cmp(&(b.kind.as_str(), &b.name, b.version))
    });
    Ok(stored)
}

/// The latest fit of (kind, name) among `stored`.
pub fn latest_of<'a>(stored: &'a [Stored], kind: Kind, name: &str) -> Option<&'a Stored> {
    stored
        .iter()
        .filter(|s| s.kind == kind && s.name == name)
        .max_by_key(|s| s.version)
}

/// The latest fit of (kind, name).
pub async fn latest(out: &OutputTables, kind: Kind, name: &str) -> Result<Option<Stored>> {
    Ok(latest_of(&read_all(out).await?, kind, name).cloned())
}

/// What one fit stores.
pub struct NewFit<'a> {
    pub kind: Kind,
    pub name: &'a str,
    pub as_of: NaiveDate,
    pub features_hash: &'a str,
    pub spec_hash: &'a str,
    pub params: &'a str,
    pub report: &'a str,
}

/// Append a fit as the next version; the version.
pub async fn save(out: &OutputTables, fit: NewFit<'_>) -> Result<i64> {
    let object = out.describe(MODELS);
    let table = out.ensure(MODELS, &schema(), &[]).await?;
    let version = read_all(out)
        .await?
        .iter()
        .filter(|s| s.kind == fit.kind && s.name == fit.name)
        .map(|s| s.version)
        .max()
        .unwrap_or(0)
        + 1;
    let columns: Vec<ArrayRef> = vec![
        Arc::new(StringArray::from(vec![fit.kind.as_str()])),
        Arc::new(StringArray::from(vec![fit.name])),
        Arc::new(Int64Array::from(vec![version])),
        Arc::new(Date32Array::from(vec![days_since_epoch(fit.as_of)])),
        Arc::new(
            TimestampMicrosecondArray::from(vec![chrono::Utc::now().timestamp_micros()])
                .with_timezone("UTC"),
        ),
        Arc::new(StringArray::from(vec![fit.features_hash])),
        Arc::new(StringArray::from(vec![fit.spec_hash])),
        Arc::new(StringArray::from(vec![fit.params])),
        Arc::new(StringArray::from(vec![fit.report])),
    ];
    let batch = RecordBatch::try_new(Arc::new(schema()), columns)?;
    crate::output::append_table(&table, vec![batch], &object).await?;
    Ok(version)
}
