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

use chrono::NaiveDate;
use datafusion::arrow::array::RecordBatch;
use datafusion::arrow::datatypes::SchemaRef;
use deltalake_core::DeltaTable;
use deltalake_core::kernel::{Action, Add, Remove};
use deltalake_core::protocol::{DeltaOperation, SaveMode};
use object_store::path::Path;
use object_store::{ObjectStoreExt, PutPayload};
use parquet::arrow::ArrowWriter;
use parquet::basic::Compression;
use parquet::file::properties::WriterProperties;
use parquet::schema::types::ColumnPath;

use crate::error::{EngineError, Result};
use crate::output::OutputTables;
use crate::output::commit_error;

/// Folder of the summary tables under the output.
pub const SUMMARIES: &str = "summaries";

/// What a summary file covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Span {
    /// One local day, summarised from its events.
    Day(NaiveDate),
    /// The days `[first, end)`, merged from other summary files ([`super::blocks`]).
    Block(NaiveDate, NaiveDate),
}

/// One summary file.
#[derive(Debug, Clone)]
pub struct SummaryFile {
    /// Path below the table root.
    pub path: String,
    /// A day: the fingerprint of the lake files it was summarised from. A block: that of
    /// the day files it was merged from.
    pub fingerprint: String,
    /// When it was added (milliseconds): of two files of a span, the newer is read.
    modified: i64,
    remove: Remove,
}

/// A file written but not committed yet.
pub struct Written {
    span: Span,
    add: Add,
}

impl Written {
    /// Its path below the table root.
    pub fn path(&self) -> &str {
        &self.add.path
    }
}

/// The summary table of one summary set.
pub struct SummaryTable {
    table: DeltaTable,
    /// `summaries/<set>` below the output (for messages).
    pub object: String,
    /// The table's root URL (files are `root + path`).
    pub root: String,
    /// Summarised days.
    pub days: BTreeMap<NaiveDate, SummaryFile>,
    /// Blocks of days, by `(first, end)`.
    pub blocks: BTreeMap<(NaiveDate, NaiveDate), SummaryFile>,
    /// Older files of a span that two runs wrote at once (blind appends do not conflict):
    /// never read, removed when the span is next replaced.
    superseded: BTreeMap<Span, Vec<Remove>>,
}

fn date(text: Option<&str>) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(text?, "%Y-%m-%d").ok()
}

/// `part-<day>-<fingerprint>-<uuid>.lz4.parquet` or
/// `block-<first>-<end>-<fingerprint>-<uuid>.lz4.parquet` → (span, fingerprint).
fn parse_name(path: &str) -> Option<(Span, String)> {
    let name = path.rsplit('/').next()?;
    let (span, rest) = if let Some(day) = name.strip_prefix("part-") {
        (Span::Day(date(day.get(..10))?), day.get(11..)?)
    } else {
        let block = name.strip_prefix("block-")?;
        let span = Span::Block(date(block.get(..10))?, date(block.get(11..21))?);
        (span, block.get(22..)?)
    };
    Some((span, rest.split('-').next()?.to_string()))
}

/// The file name of a span.
fn file_name(span: Span, fingerprint: &str) -> String {
    let id = uuid::Uuid::new_v4().simple();
    match span {
        Span::Day(day) => format!("part-{day}-{fingerprint}-{id}.lz4.parquet"),
        Span::Block(first, end) => format!("block-{first}-{end}-{fingerprint}-{id}.lz4.parquet"),
    }
}

impl SummaryTable {
    /// The table of summary set `set` with this row schema (stored types), created when
    /// missing.
    pub async fn open(output: &OutputTables, set: &str, schema: &SchemaRef) -> Result<Self> {
        let name = format!("{SUMMARIES}/{set}");
        let object = output.describe(&name);
        let table = output.created(&name, schema, &[]).await?;
        let root = crate::output::table_url(&output.location, &name)?.to_string();
        let mut opened = SummaryTable {
            table,
            object,
            root,
            days: BTreeMap::new(),
            blocks: BTreeMap::new(),
            superseded: BTreeMap::new(),
        };
        opened.load()?;
        Ok(opened)
    }

    /// The files of the table's snapshot.
    fn load(&mut self) -> Result<()> {
        let snapshot = self
            .table
            .snapshot()
            .map_err(|e| EngineError::output(&self.object, e))?;
        let files: Vec<(Span, SummaryFile)> = snapshot
            .log_data()
            .iter()
            .filter_map(|file| {
                let path = file.object_store_path().to_string();
                let (span, fingerprint) = parse_name(&path)?;
                Some((
                    span,
                    SummaryFile {
                        path,
                        fingerprint,
                        modified: file.modification_time(),
                        remove: file.remove_action(true),
                    },
                ))
            })
            .collect();
        self.days.clear();
        self.blocks.clear();
        self.superseded.clear();
        for (span, found) in files {
            if let Some(older) = self.insert(span, found) {
                self.superseded.entry(span).or_default().push(older.remove);
            }
        }
        Ok(())
    }

    /// Keep the newer of `found` and the span's file; the other is returned.
    fn insert(&mut self, span: Span, found: SummaryFile) -> Option<SummaryFile> {
        let slot = match span {
            Span::Day(day) => self.days.entry(day),
            Span::Block(first, end) => {
                return keep_newer(self.blocks.entry((first, end)), found);
            }
        };
        keep_newer(slot, found)
    }

    /// The file of a span, when there is one.
    pub fn file(&self, span: Span) -> Option<&SummaryFile> {
        match span {
            Span::Day(day) => self.days.get(&day),
            Span::Block(first, end) => self.blocks.get(&(first, end)),
        }
    }

    /// Write each day's rows (an empty list: a day without events) as one file and commit
    /// them in one Delta commit, replacing those days' earlier files.
    pub async fn replace_days(
        &mut self,
        schema: &SchemaRef,
        days: BTreeMap<NaiveDate, (String, Vec<RecordBatch>)>,
    ) -> Result<()> {
        let written = self.write_days(schema, days).await?;
        self.commit(written, &[]).await
    }

    /// Write the files of `days` (day → lake fingerprint and rows), not committed: see
    /// [`Self::commit`].
    pub async fn write_days(
        &self,
        schema: &SchemaRef,
        days: BTreeMap<NaiveDate, (String, Vec<RecordBatch>)>,
    ) -> Result<Vec<Written>> {
        // The days' files are encoded side by side, then put one after the other.
        let days: Vec<_> = days.into_iter().collect();
        let encoded = crate::on_cores::map_on_cores(
            &days,
            |(_, (_, batches))| self.encode(schema, batches),
            || {
                Err(EngineError::Internal(
                    "encoding a summary file panicked".into(),
                ))
            },
        );
        let mut written = Vec::with_capacity(days.len());
        for ((day, (lake, _)), encoded) in days.iter().zip(encoded) {
            written.push(self.put(Span::Day(*day), lake, encoded?).await?);
        }
        Ok(written)
    }

    /// Commit `written` (replacing their spans' files) and remove the files of `dropped`, in
    /// one Delta commit.
    pub async fn commit(&mut self, written: Vec<Written>, dropped: &[Span]) -> Result<()> {
        if written.is_empty() && dropped.is_empty() {
            return Ok(());
        }
        let mut actions = Vec::new();
        let replaced = written
            .iter()
            .map(|w| w.span)
            .chain(dropped.iter().copied());
        for span in replaced {
            if let Some(old) = self.file(span) {
                actions.push(Action::Remove(old.remove.clone()));
            }
            for older in self.superseded.remove(&span).unwrap_or_default() {
                actions.push(Action::Remove(older));
            }
        }
        actions.extend(written.into_iter().map(|w| Action::Add(w.add)));
        let operation = DeltaOperation::Write {
            mode: SaveMode::Append,
            partition_by: None,
            predicate: None,
        };
        let snapshot = self
            .table
            .snapshot()
            .map_err(|e| EngineError::output(&self.object, e))?;
        crate::output::committer()
            .with_actions(actions)
            .build(Some(snapshot.snapshot()), self.table.log_store(), operation)
            .await
            .map_err(|e| commit_error(&self.object, e))?;
        self.table
            .update_state()
            .await
            .map_err(|e| EngineError::output(&self.object, e))?;
        self.load()
    }

    /// Write the rows of a span as one file (not committed: see [`Self::commit`]).
    pub async fn write(
        &self,
        schema: &SchemaRef,
        span: Span,
        fingerprint: &str,
        batches: &[RecordBatch],
    ) -> Result<Written> {
        let encoded = self.encode(schema, batches)?;
        self.put(span, fingerprint, encoded).await
    }

    /// The rows as a summary file's bytes, and how many rows it holds.
    fn encode(&self, schema: &SchemaRef, batches: &[RecordBatch]) -> Result<(Vec<u8>, usize)> {
        let failed = |e: &dyn std::fmt::Display| EngineError::output(&self.object, e);
        let properties = WriterProperties::builder()
            // LZ4: a run reads every column chunk of every day's file; zstd's per-page
            // context set-up cost more than its smaller files saved.
            .set_compression(Compression::LZ4_RAW)
            // Each entity is one row of a file: a dictionary of them only costs (interning
            // on write, a gather on every read).
            .set_column_dictionary_enabled(ColumnPath::from("entity"), false)
            .build();
        let mut writer = ArrowWriter::try_new(Vec::new(), schema.clone(), Some(properties))
            .map_err(|e| failed(&e))?;
        let mut rows = 0;
        for batch in batches {
            rows += batch.num_rows();
            writer.write(batch).map_err(|e| failed(&e))?;
        }
        let bytes = writer.into_inner().map_err(|e| failed(&e))?;
        Ok((bytes, rows))
    }

    /// Put an encoded file of `span` (not committed: see [`Self::commit`]).
    async fn put(
        &self,
        span: Span,
        fingerprint: &str,
        (bytes, rows): (Vec<u8>, usize),
    ) -> Result<Written> {
        let size = bytes.len() as i64;
        let path = file_name(span, fingerprint);
        let store = self.table.log_store().object_store(None);
        store
            .put(&Path::from(path.as_str()), PutPayload::from(bytes))
            .await
            .map_err(|e| EngineError::output(format!("{}/{path}", self.object), e))?;
        Ok(Written {
            span,
            add: Add {
                path,
                partition_values: HashMap::new(),
                size,
                modification_time: chrono::Utc::now().timestamp_millis(),
                data_change: true,
                stats: Some(serde_json::json!({ "numRecords": rows }).to_string()),
                ..Add::default()
            },
        })
    }
}

/// Keep the newer (by time added, then path) of `found` and the entry's file; the other is
/// returned.
fn keep_newer<K: Ord>(
    entry: std::collections::btree_map::Entry<'_, K, SummaryFile>,
    found: SummaryFile,
) -> Option<SummaryFile> {
    use std::collections::btree_map::Entry;
    match entry {
        Entry::Vacant(slot) => {
            slot.insert(found);
            None
        }
        Entry::Occupied(mut slot) => {
            let kept = slot.get();
            if (kept.modified, &kept.path) > (found.modified, &found.path) {
                Some(found)
            } else {
                Some(slot.insert(found))
            }
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn a_file_name_gives_its_day_and_fingerprint() {
        let day = NaiveDate::from_ymd_opt(2026, 3, 9);
        assert_eq!(
            parse_name("part-2026-03-09-0a1b2c3d4e5f6071-9f8e.lz4.parquet"),
            day.map(|d| (Span::Day(d), "0a1b2c3d4e5f6071".to_string()))
        );
        assert_eq!(parse_name("part-20260309.parquet"), None);
    }

    #[test]
    fn a_block_name_gives_its_days_and_fingerprint() {
        let (first, end) = (
            NaiveDate::from_ymd_opt(2026, 3, 9).unwrap(),
            NaiveDate::from_ymd_opt(2026, 3, 24).unwrap(),
        );
        let name = file_name(Span::Block(first, end), "0a1b2c3d4e5f6071");
        assert_eq!(
            parse_name(&name),
            Some((Span::Block(first, end), "0a1b2c3d4e5f6071".to_string()))
        );
        assert_eq!(parse_name("block-2026-03-09.parquet"), None);
    }
}
