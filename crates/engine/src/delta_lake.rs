//! Delta Lake tables as lake sources (`format: delta` on `lake.events` / `lake.profiles`).
//!
//! The Delta log names the table's active files with their partition values and column
//! statistics. For a run, segmint keeps the files whose event-time statistics overlap the
//! scanned range and scans them with DataFusion's own Parquet scan (a listing table over
//! those files): the same plan locally and on Ballista, where it travels as an ordinary
//! Parquet scan. Files without statistics are always kept. Partition columns live in the
//! log, not in the files, so they are not columns segments can use (segments filter on the
//! event time, which is what the partitions are for).

use std::sync::Arc;

use datafusion::arrow::datatypes::{Schema, SchemaRef};
use datafusion::datasource::file_format::parquet::ParquetFormat;
use datafusion::datasource::listing::{
    ListingOptions, ListingTable, ListingTableConfig, ListingTableUrl,
};
use deltalake_core::DeltaTable;

use crate::error::{EngineError, Result};
use crate::storage::Located;

/// One active file of a Delta table.
#[derive(Debug, Clone)]
struct DeltaFile {
    /// The file's full URL.
    url: String,
    /// Event-time statistics in UTC microseconds (`None`: unknown).
    min_time: Option<i64>,
    max_time: Option<i64>,
}

/// A Delta table as a lake source: its file schema and active files.
#[derive(Debug, Clone)]
pub struct DeltaSource {
    /// Where it is (for messages).
    pub display: String,
    /// The columns of its data files (partition columns excluded).
    pub schema: SchemaRef,
    files: Vec<DeltaFile>,
}

/// A statistic of a timestamp column as UTC microseconds.
fn micros(value: &serde_json::Value) -> Option<i64> {
    let text = value.as_str()?;
    chrono::DateTime::parse_from_rfc3339(text)
        .ok()
        .map(|t| t.timestamp_micros())
        .or_else(|| {
            chrono::NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.f")
                .ok()
                .map(|t| t.and_utc().timestamp_micros())
        })
}

impl DeltaSource {
    /// Read the Delta log at `located`; `time` names the event-time column whose statistics
    /// select files (`None`: no selection, e.g. profiles).
    pub async fn open(located: &Located, time: Option<&str>) -> Result<DeltaSource> {
        let url = crate::output::table_url(located, "")?;
        let table: DeltaTable =
            crate::output::load_table(located, &url)
                .await?
                .ok_or_else(|| {
                    EngineError::data(&located.display, "no Delta table here (no _delta_log)")
                })?;
        let data = |e: &dyn std::fmt::Display| EngineError::data(&located.display, e);
        let snapshot = table.snapshot().map_err(|e| data(&e))?;
        let partitions: Vec<String> = snapshot.metadata().partition_columns().to_vec();
        let full = snapshot.snapshot().arrow_schema();
        let fields: Vec<_> = full
            .fields()
            .iter()
            .filter(|f| !partitions.contains(f.name()))
            .cloned()
            .collect();
        let mut files = Vec::new();
        for file in snapshot.log_data().iter() {
            let stats: Option<serde_json::Value> =
                file.stats().and_then(|s| serde_json::from_str(&s).ok());
            let stat = |kind: &str| {
                let column = time?;
                micros(stats.as_ref()?.get(kind)?.get(column)?)
            };
            files.push(DeltaFile {
                url: format!("{}{}", url, file.object_store_path()),
                min_time: stat("minValues"),
                max_time: stat("maxValues"),
            });
        }
        if files.is_empty() {
            return Err(EngineError::data(
                &located.display,
                "the Delta table has no files",
            ));
        }
        Ok(DeltaSource {
            display: located.display.clone(),
            schema: Arc::new(Schema::new(fields)),
            files,
        })
    }

    /// How many active files the table has.
    pub fn file_count(&self) -> usize {
        self.files.len()
    }

    /// The URLs of the files whose times may fall in `[lo, hi)` (files without statistics
    /// may hold any time).
    pub fn files_overlapping(&self, lo: i64, hi: i64) -> Vec<&str> {
        self.files
            .iter()
            .filter(|f| {
                f.max_time.is_none_or(|max| max >= lo) && f.min_time.is_none_or(|min| min < hi)
            })
            .map(|f| f.url.as_str())
            .collect()
    }

    /// The earliest event time the statistics give (`None`: a file without statistics).
    pub fn min_time(&self) -> Option<i64> {
        self.files
            .iter()
            .map(|f| f.min_time)
            .collect::<Option<Vec<i64>>>()?
            .into_iter()
            .min()
    }

    /// A listing table over the files whose times may fall in `[lo, hi)` (all files with
    /// `None` bounds).
    pub fn listing(&self, lo: Option<i64>, hi: Option<i64>) -> Result<ListingTable> {
        let overlaps = |f: &&DeltaFile| {
            let after_lo = match (lo, f.max_time) {
                (Some(lo), Some(max)) => max >= lo,
                _ => true,
            };
            let before_hi = match (hi, f.min_time) {
                (Some(hi), Some(min)) => min < hi,
                _ => true,
            };
            after_lo && before_hi
        };
        let mut chosen: Vec<&DeltaFile> = self.files.iter().filter(overlaps).collect();
        if chosen.is_empty() {
            // A listing table needs a file; the scan's time filter keeps none of its rows.
            chosen.extend(self.files.first());
        }
        let urls = chosen
            .iter()
            .map(|f| ListingTableUrl::parse(&f.url))
            .collect::<std::result::Result<Vec<_>, _>>()
            .map_err(|e| EngineError::data(&self.display, e))?;
        let options =
            ListingOptions::new(Arc::new(ParquetFormat::default())).with_file_extension(".parquet");
        let config = ListingTableConfig::new_with_multi_paths(urls)
            .with_listing_options(options)
            .with_schema(self.schema.clone());
        ListingTable::try_new(config).map_err(|e| EngineError::data(&self.display, e))
    }
}

/// Turn a folder of Parquet files into a Delta table in place (the files stay where they
/// are; the log lists them with their statistics). `date_partition`: the files sit in hive
/// `date=YYYY-MM-DD/` folders.
pub async fn convert_folder(dir: &std::path::Path, date_partition: bool) -> Result<()> {
    use deltalake_core::kernel::{DataType, StructField};
    let object = dir.display().to_string();
    let url = url::Url::from_directory_path(
        std::path::absolute(dir).map_err(|e| EngineError::output(&object, e))?,
    )
    .map_err(|()| EngineError::output(&object, "not an absolute folder"))?;
    let mut builder = deltalake_core::operations::convert_to_delta::ConvertToDeltaBuilder::new()
        .with_location(url.to_string());
    if date_partition {
        builder =
            builder.with_partition_schema(vec![StructField::new("date", DataType::DATE, true)]);
    }
    builder
        .await
        .map(|_| ())
        .map_err(|e| EngineError::output(object, e))
}
