//! Delivery state in the output: what each destination holds of each segment.
//!
//! | table | one row per | columns | partitioned by |
//! |---|---|---|---|
//! | `delivered` | (destination, segment, entity) the destination holds | `destination`, `segment`, `entity`, `as_of` (of the members it was last brought to; also in the file name, `as_of-D-<uuid>.parquet`, so an empty set keeps it) | `destination`, `segment` |
//! | `deliveries` | completed delivery of one segment to one destination | `destination`, `segment`, `as_of`, `previous_as_of`, `entered`, `exited`, `requests`, `delivered_at` | — |
//!
//! A delivery computes entered/exited against `delivered`, sends them, and only then
//! replaces the (destination, segment) partition of `delivered` with the new members in one
//! commit. A sync that fails part-way leaves `delivered` as it was, so the next sync sends
//! the same batches again (with the same idempotency keys); one that succeeded leaves
//! nothing to send.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use chrono::NaiveDate;
use datafusion::arrow::array::{
    ArrayRef, Date32Array, Int64Array, RecordBatch, StringArray, TimestampMicrosecondArray,
};
use datafusion::arrow::datatypes::{DataType, Field, Schema, TimeUnit};
use deltalake_core::DeltaTable;
use deltalake_core::kernel::{Action, Add};
use deltalake_core::protocol::{DeltaOperation, SaveMode};
use object_store::ObjectStoreExt;
use parquet::arrow::ArrowWriter;

use crate::error::{EngineError, Result};
use crate::members::days_since_epoch;
use crate::output::OutputTables;

/// The state table's folder.
pub const DELIVERED: &str = "delivered";
/// The delivery log's folder.
pub const DELIVERIES: &str = "deliveries";

fn delivered_schema() -> Schema {
    Schema::new(vec![
        Field::new("destination", DataType::Utf8, false),
        Field::new("segment", DataType::Utf8, false),
        Field::new("entity", DataType::Utf8, false),
        Field::new("as_of", DataType::Date32, false),
    ])
}

fn deliveries_schema() -> Schema {
    Schema::new(vec![
        Field::new("destination", DataType::Utf8, false),
        Field::new("segment", DataType::Utf8, false),
        Field::new("as_of", DataType::Date32, false),
        Field::new("previous_as_of", DataType::Date32, true),
        Field::new("entered", DataType::Int64, false),
        Field::new("exited", DataType::Int64, false),
        Field::new("requests", DataType::Int64, false),
        Field::new(
            "delivered_at",
            DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
            false,
        ),
    ])
}

/// What a destination holds of a segment.
#[derive(Debug, Clone, Default)]
pub struct Held {
    /// The as-of it was last brought to (`None`: never delivered).
    pub as_of: Option<NaiveDate>,
    pub entities: HashSet<String>,
}

/// Read what `destination` holds of `segment`.
pub async fn held(out: &OutputTables, destination: &str, segment: &str) -> Result<Held> {
    let Some(table) = out.existing(DELIVERED).await? else {
        return Ok(Held::default());
    };
    let object = out.describe(DELIVERED);
    let snapshot = table
        .snapshot()
        .map_err(|e| EngineError::output(&object, e))?;
    let mut held = Held::default();
    for file in snapshot.log_data().iter() {
        let partition = file.partition_values_map();
        let value = |k: &str| partition.get(k).cloned().flatten();
        if value("destination").as_deref() != Some(destination)
            || value("segment").as_deref() != Some(segment)
        {
            continue;
        }
        let path = file.object_store_path();
        // The file's name records the as-of: `as_of-YYYY-MM-DD-<uuid>.parquet`.
        held.as_of = path
            .filename()
            .and_then(|n| n.strip_prefix("as_of-"))
            .and_then(|n| n.get(..10))
            .and_then(|d| d.parse().ok());
        let batches =
            crate::output::read_table_file(&table, &path, Some(&["entity"]), &object).await?;
        for batch in batches {
            let entities = batch
                .column_by_name("entity")
                .and_then(|c| c.as_any().downcast_ref::<StringArray>())
                .ok_or_else(|| EngineError::output(&object, "no entity column"))?;
            held.entities
                .extend(entities.iter().flatten().map(str::to_string));
        }
    }
    Ok(held)
}

/// One completed delivery, for the log.
#[derive(Debug, Clone)]
pub struct Delivery {
    pub destination: String,
    pub segment: String,
    pub as_of: NaiveDate,
    pub previous_as_of: Option<NaiveDate>,
    pub entered: u64,
    pub exited: u64,
    pub requests: u64,
}

/// Record a completed delivery: the destination now holds `entities` of the segment as of
/// `delivery.as_of` (one commit replacing its partition), and the log gets a row.
pub async fn record(
    out: &OutputTables,
    delivery: &Delivery,
    entities: &HashSet<String>,
) -> Result<()> {
    let object = out.describe(DELIVERED);
    let table = out
        .ensure(DELIVERED, &delivered_schema(), &["destination", "segment"])
        .await?;
    replace_partition(&table, delivery, entities, &object).await?;
    let log = out.ensure(DELIVERIES, &deliveries_schema(), &[]).await?;
    append_log(&log, delivery, &out.describe(DELIVERIES)).await
}

async fn replace_partition(
    table: &DeltaTable,
    delivery: &Delivery,
    entities: &HashSet<String>,
    object: &str,
) -> Result<()> {
    let snapshot = table
        .snapshot()
        .map_err(|e| EngineError::output(object, e))?;
    let mut actions = Vec::new();
    for file in snapshot.log_data().iter() {
        let partition = file.partition_values_map();
        let value = |k: &str| partition.get(k).cloned().flatten();
        if value("destination").as_deref() == Some(delivery.destination.as_str())
            && value("segment").as_deref() == Some(delivery.segment.as_str())
        {
            actions.push(Action::Remove(file.remove_action(true)));
        }
    }
    // Always one file, even for an empty set: the as-of it was brought to is recorded.
    let mut sorted: Vec<&str> = entities.iter().map(String::as_str).collect();
    sorted.sort_unstable();
    let rows = sorted.len();
    let schema = Arc::new(Schema::new(vec![
        Field::new("entity", DataType::Utf8, false),
        Field::new("as_of", DataType::Date32, false),
    ]));
    let batch = RecordBatch::try_new(
        schema.clone(),
        vec![
            Arc::new(StringArray::from(sorted)) as ArrayRef,
            Arc::new(Date32Array::from(vec![
                days_since_epoch(delivery.as_of);
                rows
            ])),
        ],
    )?;
    let mut writer = ArrowWriter::try_new(Vec::new(), schema, None)
        .map_err(|e| EngineError::output(object, e))?;
    writer
        .write(&batch)
        .map_err(|e| EngineError::output(object, e))?;
    let bytes = writer
        .into_inner()
        .map_err(|e| EngineError::output(object, e))?;
    let path = format!(
        "destination={}/segment={}/as_of-{}-{}.parquet",
        delivery.destination,
        delivery.segment,
        delivery.as_of,
        uuid::Uuid::new_v4().simple()
    );
    let size = bytes.len() as i64;
    table
        .log_store()
        .object_store(None)
        .put(&object_store::path::Path::from(path.as_str()), bytes.into())
        .await
        .map_err(|e| EngineError::output(object, e))?;
    actions.push(Action::Add(Add {
        path,
        partition_values: HashMap::from([
            (
                "destination".to_string(),
                Some(delivery.destination.clone()),
            ),
            ("segment".to_string(), Some(delivery.segment.clone())),
        ]),
        size,
        modification_time: chrono::Utc::now().timestamp_millis(),
        data_change: true,
        stats: Some(serde_json::json!({ "numRecords": rows }).to_string()),
        ..Add::default()
    }));
    let operation = DeltaOperation::Write {
        mode: SaveMode::Overwrite,
        partition_by: Some(vec!["destination".into(), "segment".into()]),
        predicate: Some(format!(
            "destination = '{}' AND segment = '{}'",
            delivery.destination, delivery.segment
        )),
    };
    crate::output::committer()
        .with_actions(actions)
        .build(Some(snapshot.snapshot()), table.log_store(), operation)
        .await
        .map_err(|e| crate::output::commit_error(object, e))?;
    Ok(())
}

async fn append_log(table: &DeltaTable, delivery: &Delivery, object: &str) -> Result<()> {
    let columns: Vec<ArrayRef> = vec![
        Arc::new(StringArray::from(vec![delivery.destination.clone()])),
        Arc::new(StringArray::from(vec![delivery.segment.clone()])),
        Arc::new(Date32Array::from(vec![days_since_epoch(delivery.as_of)])),
        Arc::new(Date32Array::from(vec![
            delivery.previous_as_of.map(days_since_epoch),
        ])),
        Arc::new(Int64Array::from(vec![delivery.entered as i64])),
        Arc::new(Int64Array::from(vec![delivery.exited as i64])),
        Arc::new(Int64Array::from(vec![delivery.requests as i64])),
        Arc::new(
            TimestampMicrosecondArray::from(vec![chrono::Utc::now().timestamp_micros()])
                .with_timezone("UTC"),
        ),
    ];
    let batch = RecordBatch::try_new(Arc::new(deliveries_schema()), columns)?;
    crate::output::append_table(table, vec![batch], object).await?;
    Ok(())
}
