//! The daily summaries of a project: one Delta table per summary set under the output,
//! `summaries/<set>/`, with one Parquet file per summarised day.
//!
//! A row is one entity on one local day: `entity`, `day`, and one struct column per distinct
//! summarised aggregate (`s_<hash>`, its state in stored types). A file's name carries its
//! day and the fingerprint of the lake files the day was read from
//! (`part-<day>-<fingerprint>-<uuid>.lz4.parquet`), so a run sees which days are missing or
//! stale from the Delta log alone. A day without events has a file without rows: it is
//! summarised. Re-summarised days replace their files in the same commit that adds them.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use chrono::NaiveDate;
use datafusion::arrow::array::RecordBatch;
use datafusion::arrow::datatypes::SchemaRef;
use deltalake_core::DeltaTable;
use deltalake_core::kernel::transaction::CommitBuilder;
use deltalake_core::kernel::{Action, Add, Remove};
use deltalake_core::protocol::{DeltaOperation, SaveMode};
use object_store::path::Path;
use object_store::{ObjectStoreExt, PutPayload};
use parquet::arrow::ArrowWriter;
use parquet::basic::Compression;
use parquet::file::properties::WriterProperties;

use crate::error::{EngineError, Result};
use crate::output::OutputTables;
use crate::output::commit_error;

/// Folder of the summary tables under the output.
pub const SUMMARIES: &str = "summaries";

/// One summarised day's file.
#[derive(Debug, Clone)]
pub struct DayFile {
    /// Path below the table root.
    pub path: String,
    /// Fingerprint of the lake files the day was summarised from.
    pub lake: String,
    /// When it was added (milliseconds): of two files of a day, the newer is read.
    modified: i64,
    remove: Remove,
}

/// The summary table of one summary set.
pub struct SummaryTable {
    table: DeltaTable,
    /// `summaries/<set>` below the output (for messages).
    pub object: String,
    /// The table's root URL (files are `root + path`).
    pub root: String,
    /// Summarised days.
    pub days: BTreeMap<NaiveDate, DayFile>,
    /// Older files of a day that two runs summarised at once (blind appends do not
    /// conflict): never read, removed when the day is next replaced.
    superseded: BTreeMap<NaiveDate, Vec<Remove>>,
}

/// `part-<day>-<fingerprint>-<uuid>.lz4.parquet` → (day, fingerprint).
fn parse_name(path: &str) -> Option<(NaiveDate, String)> {
    let name = path.rsplit('/').next()?.strip_prefix("part-")?;
    let day = NaiveDate::parse_from_str(name.get(..10)?, "%Y-%m-%d").ok()?;
    let lake = name.get(11..)?.split('-').next()?.to_string();
    Some((day, lake))
}

impl SummaryTable {
    /// The table of summary set `set` with this row schema (stored types), created when
    /// missing.
    pub async fn open(output: &OutputTables, set: &str, schema: &SchemaRef) -> Result<Self> {
        let name = format!("{SUMMARIES}/{set}");
        let object = output.describe(&name);
        let table = output.created(&name, schema, &[]).await?;
        let snapshot = table
            .snapshot()
            .map_err(|e| EngineError::output(&object, e))?;
        let mut days: BTreeMap<NaiveDate, DayFile> = BTreeMap::new();
        let mut superseded: BTreeMap<NaiveDate, Vec<Remove>> = BTreeMap::new();
        for file in snapshot.log_data().iter() {
            let path = file.object_store_path().to_string();
            let Some((day, lake)) = parse_name(&path) else {
                continue;
            };
            let found = DayFile {
                path,
                lake,
                modified: file.modification_time(),
                remove: file.remove_action(true),
            };
            let older = match days.remove(&day) {
                Some(kept) if (kept.modified, &kept.path) > (found.modified, &found.path) => {
                    days.insert(day, kept);
                    found
                }
                Some(kept) => {
                    days.insert(day, found);
                    kept
                }
                None => {
                    days.insert(day, found);
                    continue;
                }
            };
            superseded.entry(day).or_default().push(older.remove);
        }
        let root = crate::output::table_url(&output.location, &name)?.to_string();
        Ok(SummaryTable {
            table,
            object,
            root,
            days,
            superseded,
        })
    }

    /// Write each day's rows (an empty list: a day without events) as one file and commit
    /// them in one Delta commit, replacing those days' earlier files.
    pub async fn replace_days(
        &mut self,
        schema: &SchemaRef,
        days: BTreeMap<NaiveDate, (String, Vec<RecordBatch>)>,
    ) -> Result<()> {
        if days.is_empty() {
            return Ok(());
        }
        let store = self.table.log_store().object_store(None);
        let mut actions = Vec::new();
        let mut written = Vec::new();
        for (day, (lake, batches)) in days {
            let add = self.write_day(&store, schema, day, &lake, &batches).await?;
            if let Some(old) = self.days.get(&day) {
                actions.push(Action::Remove(old.remove.clone()));
            }
            for older in self.superseded.remove(&day).unwrap_or_default() {
                actions.push(Action::Remove(older));
            }
            written.push((day, lake, add.path.clone()));
            actions.push(Action::Add(add));
        }
        let operation = DeltaOperation::Write {
            mode: SaveMode::Append,
            partition_by: None,
            predicate: None,
        };
        let snapshot = self
            .table
            .snapshot()
            .map_err(|e| EngineError::output(&self.object, e))?;
        CommitBuilder::default()
            .with_actions(actions)
            .build(Some(snapshot.snapshot()), self.table.log_store(), operation)
            .await
            .map_err(|e| commit_error(&self.object, e))?;
        self.table
            .update_state()
            .await
            .map_err(|e| EngineError::output(&self.object, e))?;
        let snapshot = self
            .table
            .snapshot()
            .map_err(|e| EngineError::output(&self.object, e))?;
        let removes: HashMap<String, (Remove, i64)> = snapshot
            .log_data()
            .iter()
            .map(|f| {
                (
                    f.object_store_path().to_string(),
                    (f.remove_action(true), f.modification_time()),
                )
            })
            .collect();
        for (day, lake, path) in written {
            if let Some((remove, modified)) = removes.get(&path) {
                self.days.insert(
                    day,
                    DayFile {
                        path,
                        lake,
                        modified: *modified,
                        remove: remove.clone(),
                    },
                );
            }
        }
        Ok(())
    }

    async fn write_day(
        &self,
        store: &Arc<dyn object_store::ObjectStore>,
        schema: &SchemaRef,
        day: NaiveDate,
        lake: &str,
        batches: &[RecordBatch],
    ) -> Result<Add> {
        let failed = |e: &dyn std::fmt::Display| EngineError::output(&self.object, e);
        let properties = WriterProperties::builder()
            // LZ4: a run reads every column chunk of every day's file; zstd's per-page
            // context set-up cost more than its smaller files saved.
            .set_compression(Compression::LZ4_RAW)
            .build();
        let mut writer = ArrowWriter::try_new(Vec::new(), schema.clone(), Some(properties))
            .map_err(|e| failed(&e))?;
        let mut rows = 0;
        for batch in batches {
            rows += batch.num_rows();
            writer.write(batch).map_err(|e| failed(&e))?;
        }
        writer.finish().map_err(|e| failed(&e))?;
        let bytes = writer.inner().clone();
        let size = bytes.len() as i64;
        let path = format!(
            "part-{day}-{lake}-{}.lz4.parquet",
            uuid::Uuid::new_v4().simple()
        );
        store
            .put(&Path::from(path.as_str()), PutPayload::from(bytes))
            .await
            .map_err(|e| EngineError::output(format!("{}/{path}", self.object), e))?;
        Ok(Add {
            path,
            partition_values: HashMap::new(),
            size,
            modification_time: chrono::Utc::now().timestamp_millis(),
            data_change: true,
            stats: Some(serde_json::json!({ "numRecords": rows }).to_string()),
            ..Add::default()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_name_gives_its_day_and_fingerprint() {
        let day = NaiveDate::from_ymd_opt(2026, 3, 9);
        assert_eq!(
            parse_name("part-2026-03-09-0a1b2c3d4e5f6071-9f8e.lz4.parquet"),
            day.map(|d| (d, "0a1b2c3d4e5f6071".to_string()))
        );
        assert_eq!(parse_name("part-20260309.parquet"), None);
    }
}
