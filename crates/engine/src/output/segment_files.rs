//! Writing one segment's members of an as-of as Parquet files of the `members` table, with
//! their Delta `add` actions.
//!
//! A file holds the fixed columns (`entity`, `tier`, `holdout`; the partition columns
//! `as_of` and `segment` live in the path, as Delta wants) and only this segment's output
//! columns. Its name carries the run that wrote it: `part-<run_id>-<uuid>.zstd.parquet`
//! (the `runs` table has the rest of that run). The other segments' output columns are absent from the file, which
//! every Delta reader reads as NULL — the same rule that lets Delta add columns without
//! rewriting files. Skipping them keeps a file as small and as fast to write as a plain
//! per-segment Parquet file. Statistics (row count, min/max and null counts of the fixed
//! columns) go into the `add` action so readers skip files by segment.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use chrono::NaiveDate;
use datafusion::arrow::array::{ArrayRef, BooleanArray, RecordBatch, new_null_array};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{Field, Schema, SchemaRef};
use deltalake_core::kernel::Add;
use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt, PutPayload};
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::metadata::ParquetMetaData;
use parquet::file::properties::WriterProperties;
use parquet::file::statistics::Statistics;
use parquet::schema::types::ColumnPath;

use crate::error::{EngineError, Result};
use crate::members::{ENTITY, HOLDOUT, SegmentMembers, TIER};

/// Files roll over at this size (a segment of millions of members is several files).
pub const TARGET_FILE_BYTES: usize = 128 * 1024 * 1024;

/// The fixed columns stored in every file, in order.
const FIXED: [&str; 3] = [ENTITY, TIER, "holdout"];

/// The file schema of a segment: the fixed columns and its own outputs, typed as the table.
fn file_schema(table: &Schema, segment: &str) -> Result<SchemaRef> {
    let prefix = format!("{segment}__");
    let fields: Vec<Field> = table
        .fields()
        .iter()
        .filter(|f| FIXED.contains(&f.name().as_str()) || f.name().starts_with(&prefix))
        .map(|f| f.as_ref().clone())
        .collect();
    if fields.len() < FIXED.len() {
        return Err(EngineError::Internal(
            "the members table lost a column".into(),
        ));
    }
    Ok(Arc::new(Schema::new(fields)))
}

/// One batch of member rows in the file schema.
fn file_batch(schema: &SchemaRef, segment: &str, batch: &RecordBatch) -> Result<RecordBatch> {
    let rows = batch.num_rows();
    let mut columns: Vec<ArrayRef> = Vec::with_capacity(schema.fields().len());
    for field in schema.fields() {
        let column: ArrayRef = match field.name().as_str() {
            "holdout" => match batch.column_by_name(HOLDOUT) {
                Some(flags) => flags.clone(),
                None => Arc::new(BooleanArray::from(vec![false; rows])),
            },
            name => {
                let source = match name.strip_prefix(segment) {
                    Some(rest) if rest.starts_with("__") => batch.column_by_name(&rest[2..]),
                    _ => batch.column_by_name(name),
                };
                match source {
                    Some(c) => cast(c, field.data_type())?,
                    None => new_null_array(field.data_type(), rows),
                }
            }
        };
        columns.push(column);
    }
    Ok(RecordBatch::try_new(schema.clone(), columns)?)
}

/// Delta statistics of a written file, from the row-group statistics in its footer
/// (no second pass over the data): row count, min/max and null counts of the text columns.
fn stats_json(metadata: &ParquetMetaData) -> String {
    let mut rows = 0i64;
    let mut min: BTreeMap<String, String> = BTreeMap::new();
    let mut max: BTreeMap<String, String> = BTreeMap::new();
    let mut nulls: BTreeMap<String, u64> = BTreeMap::new();
    for group in metadata.row_groups() {
        rows += group.num_rows();
        for column in group.columns() {
            let name = column.column_path().string();
            if ![ENTITY, TIER, "holdout"].contains(&name.as_str()) {
                continue;
            }
            let Some(stats) = column.statistics() else {
                continue;
            };
            *nulls.entry(name.clone()).or_default() += stats.null_count_opt().unwrap_or(0);
            if let Statistics::ByteArray(s) = stats {
                let text = |b: Option<&[u8]>| b.map(|b| String::from_utf8_lossy(b).into_owned());
                if let Some(v) = text(s.min_bytes_opt())
                    && min.get(&name).is_none_or(|m| v < *m)
                {
                    min.insert(name.clone(), v);
                }
                if let Some(v) = text(s.max_bytes_opt())
                    && max.get(&name).is_none_or(|m| v > *m)
                {
                    max.insert(name.clone(), v);
                }
            }
        }
    }
    serde_json::json!({
        "numRecords": rows,
        "minValues": min,
        "maxValues": max,
        "nullCount": nulls,
    })
    .to_string()
}

/// Exact (untruncated) statistics, so Delta min/max values are true bounds.
fn properties() -> WriterProperties {
    WriterProperties::builder()
        .set_compression(Compression::ZSTD(ZstdLevel::default()))
        .set_statistics_truncate_length(None)
        // An entity is one row of a file: a dictionary of them only costs.
        .set_column_dictionary_enabled(ColumnPath::from(ENTITY), false)
        .build()
}

/// Write a segment's members of `as_of` under the table root (`store` is prefixed at it);
/// the `add` actions of the files written (none for an empty segment).
///
/// The files are encoded on a blocking thread, so the segments a commit writes side by side
/// encode on different cores; each file is put as soon as it is closed.
pub async fn write_segment(
    store: &Arc<dyn ObjectStore>,
    table_schema: &Schema,
    members: &SegmentMembers,
    as_of: NaiveDate,
    run_id: &str,
    object: &str,
) -> Result<Vec<Add>> {
    let schema = file_schema(table_schema, &members.segment.name)?;
    let segment = members.segment.name.clone();
    let batches = members.batches.clone();
    let (store, run_id, object) = (store.clone(), run_id.to_string(), object.to_string());
    let runtime = tokio::runtime::Handle::current();
    tokio::task::spawn_blocking(move || {
        let mut adds = Vec::new();
        let mut open: Option<ArrowWriter<Vec<u8>>> = None;
        let output_error = |e: &dyn std::fmt::Display| EngineError::output(&object, e);
        let at = (as_of, segment.as_str(), run_id.as_str());
        for batch in &batches {
            let batch = file_batch(&schema, &segment, batch)?;
            let writer = match &mut open {
                Some(w) => w,
                None => open.insert(
                    ArrowWriter::try_new(Vec::new(), schema.clone(), Some(properties()))
                        .map_err(|e| output_error(&e))?,
                ),
            };
            writer.write(&batch).map_err(|e| output_error(&e))?;
            if writer.bytes_written() >= TARGET_FILE_BYTES
                && let Some(full) = open.take()
            {
                adds.push(runtime.block_on(finish(&store, full, at, &object))?);
            }
        }
        if let Some(last) = open.take() {
            adds.push(runtime.block_on(finish(&store, last, at, &object))?);
        }
        Ok(adds)
    })
    .await
    .map_err(|e| EngineError::Internal(format!("writing the members of a segment: {e}")))?
}

/// Close a file, put it, and describe it.
async fn finish(
    store: &Arc<dyn ObjectStore>,
    mut writer: ArrowWriter<Vec<u8>>,
    (as_of, segment, run_id): (NaiveDate, &str, &str),
    object: &str,
) -> Result<Add> {
    let metadata = writer
        .finish()
        .map_err(|e| EngineError::output(object, e))?;
    // `finish` wrote the footer; the buffer holds the whole file.
    let bytes = writer.inner().clone();
    let size = bytes.len() as i64;
    let path = format!(
        "as_of={as_of}/segment={segment}/part-{run_id}-{}.zstd.parquet",
        uuid::Uuid::new_v4().simple()
    );
    store
        .put(&Path::from(path.as_str()), PutPayload::from(bytes))
        .await
        .map_err(|e| EngineError::output(format!("{object}/{path}"), e))?;
    Ok(Add {
        path,
        partition_values: HashMap::from([
            ("as_of".to_string(), Some(as_of.to_string())),
            ("segment".to_string(), Some(segment.to_string())),
        ]),
        size,
        modification_time: chrono::Utc::now().timestamp_millis(),
        data_change: true,
        stats: Some(stats_json(&metadata)),
        ..Add::default()
    })
}
