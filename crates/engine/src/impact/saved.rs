//! Saved impact results: `segmint impact --save` appends its report to the `impact` Delta
//! table of the output, where `segmint report` (and any Delta reader) finds it.
//!
//! | column | type | |
//! |---|---|---|
//! | `segment` | string | |
//! | `goal` | string | the goal's YAML |
//! | `days` | long | the goal window |
//! | `computed_at` | timestamp (UTC) | |
//! | `report` | string | the `--json` document |

use std::sync::Arc;

use datafusion::arrow::array::{
    ArrayRef, Int64Array, RecordBatch, StringArray, TimestampMicrosecondArray,
};
use datafusion::arrow::datatypes::{DataType, Field, Schema, TimeUnit};
use serde::{Deserialize, Serialize};

use super::ImpactReport;
use crate::error::{EngineError, Result};
use crate::output::OutputTables;

/// The table's folder.
pub const IMPACT: &str = "impact";

fn schema() -> Schema {
    Schema::new(vec![
        Field::new("segment", DataType::Utf8, false),
        Field::new("goal", DataType::Utf8, false),
        Field::new("days", DataType::Int64, false),
        Field::new(
            "computed_at",
            DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
            false,
        ),
        Field::new("report", DataType::Utf8, false),
    ])
}

/// A report as saved, with when it was computed.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SavedImpact {
    pub computed_at: String,
    pub report: ImpactReport,
}

/// Append a report to the `impact` table (created when missing).
pub async fn save(out: &OutputTables, report: &ImpactReport) -> Result<()> {
    let object = out.describe(IMPACT);
    let table = out.ensure(IMPACT, &schema(), &[]).await?;
    let now = chrono::Utc::now();
    let saved = SavedImpact {
        computed_at: now.to_rfc3339(),
        report: report.clone(),
    };
    let columns: Vec<ArrayRef> = vec![
        Arc::new(StringArray::from(vec![report.segment.clone()])),
        Arc::new(StringArray::from(vec![report.goal.clone()])),
        Arc::new(Int64Array::from(vec![i64::from(report.days)])),
        Arc::new(
            TimestampMicrosecondArray::from(vec![now.timestamp_micros()]).with_timezone("UTC"),
        ),
        Arc::new(StringArray::from(vec![serde_json::to_string(&saved)?])),
    ];
    let batch = RecordBatch::try_new(Arc::new(schema()), columns)?;
    crate::output::append_table(&table, vec![batch], &object).await?;
    Ok(())
}

/// Every saved report, oldest first.
pub async fn read_all(out: &OutputTables) -> Result<Vec<SavedImpact>> {
    let object = out.describe(IMPACT);
    let Some(table) = out.existing(IMPACT).await? else {
        return Ok(Vec::new());
    };
    let mut saved = Vec::new();
    for text in crate::output::read_text_column(&table, "report", &object).await? {
        let one: SavedImpact =
            serde_json::from_str(&text).map_err(|e| EngineError::output(&object, e))?;
        saved.push(one);
    }
    saved.sort_by(|a, b| a.computed_at.cmp(&b.computed_at));
    Ok(saved)
}
