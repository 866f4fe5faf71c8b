//! The `runs` Delta table: one row per committed run, appended right after the run's
//! members commit.
//!
//! | column | type | |
//! |---|---|---|
//! | `as_of` | date | |
//! | `run_id` | string | |
//! | `committed_at` | timestamp | |
//! | `segmint_version` | string | |
//! | `members_version` | long | the `members` table version the run committed |
//! | `plan_ms`, `execute_ms`, `write_ms` | long | timings |
//! | `segments` | array<struct<segment, size, entered, exited, holdout, spec_hash, tiers: array<struct<tier, size>>>> | per segment |
//! | `summary` | string | the whole run summary as JSON (what `run --json` printed) |
//!
//! The members commit is the commit point: it carries the same summary in its
//! `commitInfo`. A run killed between the two commits is completed by the next command that
//! opens the output ([`missing_runs`] finds members commits without a runs row).

use std::collections::HashSet;
use std::sync::Arc;

use datafusion::arrow::array::{
    ArrayRef, Int64Array, ListArray, RecordBatch, StringArray, StructArray,
    TimestampMicrosecondArray,
};
use datafusion::arrow::buffer::OffsetBuffer;
use datafusion::arrow::datatypes::{DataType, Field, Fields, Schema, SchemaRef, TimeUnit};
use deltalake_core::DeltaTable;

use super::members_table::RUN_METADATA;
use crate::error::{EngineError, Result};
use crate::members::days_since_epoch;
use crate::run::RunSummary;

/// The table's folder below the output location.
pub const RUNS: &str = "runs";

fn tier_fields() -> Fields {
    Fields::from(vec![
        Field::new("tier", DataType::Utf8, false),
        Field::new("size", DataType::Int64, false),
    ])
}

fn segment_fields() -> Fields {
    Fields::from(vec![
        Field::new("segment", DataType::Utf8, false),
        Field::new("size", DataType::Int64, false),
        Field::new("entered", DataType::Int64, true),
        Field::new("exited", DataType::Int64, true),
        Field::new("holdout", DataType::Int64, true),
        Field::new("spec_hash", DataType::Utf8, false),
        Field::new(
            "tiers",
            DataType::List(Arc::new(Field::new(
                "element",
                DataType::Struct(tier_fields()),
                false,
            ))),
            true,
        ),
    ])
}

/// The runs table schema.
pub fn schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("as_of", DataType::Date32, false),
        Field::new("run_id", DataType::Utf8, false),
        Field::new(
            "committed_at",
            DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
            false,
        ),
        Field::new("segmint_version", DataType::Utf8, false),
        Field::new("members_version", DataType::Int64, false),
        Field::new("plan_ms", DataType::Int64, true),
        Field::new("execute_ms", DataType::Int64, true),
        Field::new("write_ms", DataType::Int64, true),
        Field::new(
            "segments",
            DataType::List(Arc::new(Field::new(
                "element",
                DataType::Struct(segment_fields()),
                false,
            ))),
            false,
        ),
        Field::new("summary", DataType::Utf8, false),
    ]))
}

fn list(field: &Field, values: StructArray, lengths: &[usize]) -> Result<ListArray> {
    Ok(ListArray::try_new(
        Arc::new(field.clone()),
        OffsetBuffer::from_lengths(lengths.iter().copied()),
        Arc::new(values),
        None,
    )?)
}

fn segments_column(summary: &RunSummary) -> Result<ListArray> {
    let fields = segment_fields();
    let mut names = Vec::new();
    let (mut sizes, mut entered, mut exited, mut hashes) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let mut held = Vec::new();
    let (mut tier_names, mut tier_sizes, mut tier_lengths, mut tier_valid) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for (name, s) in &summary.segments {
        names.push(name.clone());
        sizes.push(s.size as i64);
        entered.push(s.entered.map(|v| v as i64));
        exited.push(s.exited.map(|v| v as i64));
        held.push(s.holdout.map(|v| v as i64));
        hashes.push(s.spec_hash.clone());
        let tiers = s.tiers.clone().unwrap_or_default();
        tier_lengths.push(tiers.len());
        tier_valid.push(s.tiers.is_some());
        for (tier, size) in tiers {
            tier_names.push(tier);
            tier_sizes.push(size as i64);
        }
    }
    let tiers = StructArray::try_new(
        tier_fields(),
        vec![
            Arc::new(StringArray::from(tier_names)) as ArrayRef,
            Arc::new(Int64Array::from(tier_sizes)),
        ],
        None,
    )?;
    let DataType::List(tier_item) = fields[6].data_type() else {
        return Err(EngineError::Internal("tiers is a list".into()));
    };
    let tiers = ListArray::try_new(
        tier_item.clone(),
        OffsetBuffer::from_lengths(tier_lengths),
        Arc::new(tiers),
        Some(tier_valid.into()),
    )?;
    let segments = StructArray::try_new(
        fields,
        vec![
            Arc::new(StringArray::from(names)) as ArrayRef,
            Arc::new(Int64Array::from(sizes)),
            Arc::new(Int64Array::from(entered)),
            Arc::new(Int64Array::from(exited)),
            Arc::new(Int64Array::from(held)),
            Arc::new(StringArray::from(hashes)),
            Arc::new(tiers),
        ],
        None,
    )?;
    let row_schema = schema();
    let DataType::List(item) = row_schema.field(8).data_type() else {
        return Err(EngineError::Internal("segments is a list".into()));
    };
    list(item, segments, &[summary.segments.len()])
}

/// One run summary as a one-row batch of the table.
fn row(summary: &RunSummary) -> Result<RecordBatch> {
    let as_of = chrono::NaiveDate::parse_from_str(&summary.as_of, "%Y-%m-%d")
        .map_err(|e| EngineError::Internal(format!("run summary as_of: {e}")))?;
    let committed = chrono::DateTime::parse_from_rfc3339(&summary.committed_at)
        .map(|t| t.timestamp_micros())
        .unwrap_or_default();
    let timing = |k: &str| summary.timings_ms.get(k).map(|v| *v as i64);
    let columns: Vec<ArrayRef> = vec![
        Arc::new(datafusion::arrow::array::Date32Array::from(vec![
            days_since_epoch(as_of),
        ])),
        Arc::new(StringArray::from(vec![summary.run_id.clone()])),
        Arc::new(TimestampMicrosecondArray::from(vec![committed]).with_timezone("UTC")),
        Arc::new(StringArray::from(vec![summary.segmint_version.clone()])),
        Arc::new(Int64Array::from(vec![summary.table_version.unwrap_or(-1)])),
        Arc::new(Int64Array::from(vec![timing("plan")])),
        Arc::new(Int64Array::from(vec![timing("execute")])),
        Arc::new(Int64Array::from(vec![timing("write")])),
        Arc::new(segments_column(summary)?),
        Arc::new(StringArray::from(vec![serde_json::to_string(summary)?])),
    ];
    Ok(RecordBatch::try_new(schema(), columns)?)
}

/// Append runs (a blind append: concurrent appends never conflict).
pub async fn append(table: &DeltaTable, runs: &[RunSummary], object: &str) -> Result<i64> {
    let rows = runs.iter().map(row).collect::<Result<Vec<_>>>()?;
    super::delta::append(table, rows, object).await
}

/// Every committed run in the table (their summaries).
pub async fn read_all(table: &DeltaTable, object: &str) -> Result<Vec<RunSummary>> {
    let mut out = Vec::new();
    for text in super::delta::read_text_column(table, "summary", object).await? {
        out.push(serde_json::from_str(&text).map_err(|e| EngineError::output(object, e))?);
    }
    out.sort_by(|a: &RunSummary, b| (&a.as_of, &a.committed_at).cmp(&(&b.as_of, &b.committed_at)));
    Ok(out)
}

/// Runs committed to the members table after `after` (a version) that the runs table does
/// not list (`known` run ids): the summaries stored in their commits.
pub async fn missing_runs(
    members: &DeltaTable,
    after: i64,
    known: &HashSet<String>,
    object: &str,
) -> Result<Vec<RunSummary>> {
    let Some(latest) = members.version().map(|v| v as i64) else {
        return Ok(Vec::new());
    };
    let log_store = members.log_store();
    let mut out = Vec::new();
    for version in (after + 1).max(0)..=latest {
        let Some(bytes) = log_store
            .read_commit_entry(version as u64)
            .await
            .map_err(|e| EngineError::output(object, e))?
        else {
            continue;
        };
        for line in bytes.split(|b| *b == b'\n') {
            let Ok(action) = serde_json::from_slice::<serde_json::Value>(line) else {
                continue;
            };
            let Some(run) = action.pointer(&format!("/commitInfo/{RUN_METADATA}")) else {
                continue;
            };
            let Ok(mut summary) = serde_json::from_value::<RunSummary>(run.clone()) else {
                continue;
            };
            if !known.contains(&summary.run_id) {
                summary.table_version = Some(version);
                out.push(summary);
            }
        }
    }
    Ok(out)
}
