//! The committed output layout and its manifest protocol, on any object store.
//!
//! ```text
//! <output>/members/as_of=D/run=<run_id>/segment=S/part-0.parquet   entity, as_of, tier?, outputs…
//! <output>/runs/as_of=D/run=<run_id>/summary.json
//! <output>/runs/as_of=D/_MANIFEST.json     written last, in one PUT = the commit
//! ```
//!
//! Object stores have no rename, so a run never overwrites anything: it writes only under
//! its own `run=<id>` prefixes, then puts `_MANIFEST.json`, which names the run and its
//! files. A PUT is atomic on S3, GCS, Azure and the local file system (temp file + rename),
//! so readers following the manifest see either the previous run or the new one, complete.
//! After the commit, objects of superseded runs of the same as-of are deleted; a failed run
//! deletes its own. What a crash leaves behind is never named by a manifest, and
//! [`OutputDir::gc`] removes it once it is older than the retention.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::sync::Arc;

use bytes::Bytes;
use chrono::{DateTime, Utc};
use datafusion::arrow::array::RecordBatch;
use datafusion::arrow::datatypes::Schema;
use futures::{StreamExt, TryStreamExt};
use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt, PutPayload};
use parquet::arrow::ArrowWriter;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::properties::WriterProperties;
use serde::{Deserialize, Serialize};

use crate::error::{EngineError, Result};
use crate::members::entity_set;
use crate::storage::{Located, redact};

/// The commit record of one as-of.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Manifest {
    pub as_of: String,
    pub run_id: String,
    pub committed_at: String,
    /// Segment name → its members file, relative to the output location.
    pub members: BTreeMap<String, String>,
    pub summary: String,
}

/// What `gc` removed.
#[derive(Debug, Clone, Default, Serialize)]
pub struct GcReport {
    /// `as_of/run` of every removed run.
    pub removed_runs: Vec<String>,
    pub removed_objects: u64,
    pub removed_bytes: u64,
    /// Runs left because they are younger than the retention.
    pub kept_recent: Vec<String>,
}

/// The output location.
#[derive(Debug, Clone)]
pub struct OutputDir {
    pub location: Located,
}

fn output_error(what: &str, e: impl std::fmt::Display) -> EngineError {
    EngineError::Output {
        object: what.to_string(),
        message: redact(&e.to_string()),
    }
}

/// `members/as_of=D/run=R/…` → `(D, R)`.
fn as_of_and_run(relative: &str) -> Option<(String, String)> {
    let mut parts = relative.split('/').skip(1);
    let as_of = parts.next()?.strip_prefix("as_of=")?.to_string();
    let run = parts.next()?.strip_prefix("run=")?.to_string();
    Some((as_of, run))
}

impl OutputDir {
    pub fn new(location: Located) -> Self {
        OutputDir { location }
    }

    fn store(&self) -> &Arc<dyn ObjectStore> {
        &self.location.store
    }

    /// The full URL of a relative path, for messages.
    pub fn describe(&self, relative: &str) -> String {
        self.location.describe(&self.location.child(relative))
    }

    /// The path of an object below the output location, relative to it.
    fn relative(&self, path: &Path) -> String {
        let prefix = self.location.prefix.as_ref();
        let full = path.as_ref();
        full.strip_prefix(prefix)
            .map(|r| r.trim_start_matches('/').to_string())
            .unwrap_or_else(|| full.to_string())
    }

    pub fn manifest_path(as_of: &str) -> String {
        format!("runs/as_of={as_of}/_MANIFEST.json")
    }

    /// Put bytes at a relative path (one atomic PUT).
    pub async fn put(&self, relative: &str, bytes: Vec<u8>) -> Result<()> {
        self.store()
            .put(&self.location.child(relative), PutPayload::from(bytes))
            .await
            .map(|_| ())
            .map_err(|e| output_error(&self.describe(relative), e))
    }

    /// Read a relative path (`None` when it does not exist).
    pub async fn get(&self, relative: &str) -> Result<Option<Bytes>> {
        let path = self.location.child(relative);
        match self.store().get(&path).await {
            Ok(r) => r
                .bytes()
                .await
                .map(Some)
                .map_err(|e| output_error(&self.describe(relative), e)),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(output_error(&self.describe(relative), e)),
        }
    }

    /// The committed manifest of an as-of, if any.
    pub async fn manifest(&self, as_of: &str) -> Result<Option<Manifest>> {
        let relative = Self::manifest_path(as_of);
        match self.get(&relative).await? {
            Some(bytes) => serde_json::from_slice(&bytes)
                .map(Some)
                .map_err(|e| output_error(&self.describe(&relative), e)),
            None => Ok(None),
        }
    }

    /// Every as-of that has objects under `runs/` (committed or not), sorted.
    pub async fn as_of_dates(&self) -> Result<Vec<String>> {
        let runs = self.location.child("runs");
        let listing = self
            .store()
            .list_with_delimiter(Some(&runs))
            .await
            .map_err(|e| output_error(&self.describe("runs"), e))?;
        let mut dates: Vec<String> = listing
            .common_prefixes
            .iter()
            .filter_map(|p| p.filename().and_then(|f| f.strip_prefix("as_of=")))
            .map(str::to_string)
            .collect();
        dates.sort();
        Ok(dates)
    }

    /// Every committed as-of, sorted.
    pub async fn committed(&self) -> Result<Vec<Manifest>> {
        let mut out = Vec::new();
        for date in self.as_of_dates().await? {
            if let Some(m) = self.manifest(&date).await? {
                out.push(m);
            }
        }
        Ok(out)
    }

    /// The latest committed as-of strictly before `as_of`.
    pub async fn previous_committed(&self, as_of: &str) -> Result<Option<Manifest>> {
        let mut dates = self.as_of_dates().await?;
        dates.retain(|d| d.as_str() < as_of);
        while let Some(d) = dates.pop() {
            if let Some(m) = self.manifest(&d).await? {
                return Ok(Some(m));
            }
        }
        Ok(None)
    }

    /// The member batches of a committed members file.
    pub async fn read_batches(&self, relative: &str) -> Result<Vec<RecordBatch>> {
        let object = self.describe(relative);
        let bytes = self
            .get(relative)
            .await?
            .ok_or_else(|| output_error(&object, "the committed file is missing"))?;
        let reader = ParquetRecordBatchReaderBuilder::try_new(bytes)
            .and_then(|b| b.build())
            .map_err(|e| output_error(&object, e))?;
        reader
            .map(|b| b.map_err(|e| output_error(&object, e)))
            .collect()
    }

    /// Entities in a committed members file.
    pub async fn read_members(&self, relative: &str) -> Result<HashSet<String>> {
        let batches = self.read_batches(relative).await?;
        entity_set(&batches).map_err(|e| output_error(&self.describe(relative), e))
    }

    /// Put the manifest: the commit point.
    pub async fn commit(&self, manifest: &Manifest) -> Result<()> {
        let bytes = serde_json::to_vec_pretty(manifest)?;
        self.put(&Self::manifest_path(&manifest.as_of), bytes).await
    }

    /// Every object of an as-of's runs, by run id (the manifest itself excluded).
    async fn run_objects(
        &self,
        as_of: Option<&str>,
    ) -> Result<BTreeMap<(String, String), Vec<object_store::ObjectMeta>>> {
        let mut runs: BTreeMap<(String, String), Vec<object_store::ObjectMeta>> = BTreeMap::new();
        for base in ["members", "runs"] {
            let relative = match as_of {
                Some(d) => format!("{base}/as_of={d}"),
                None => base.to_string(),
            };
            let prefix = self.location.child(&relative);
            let mut listing = self.store().list(Some(&prefix));
            while let Some(meta) = listing
                .try_next()
                .await
                .map_err(|e| output_error(&self.describe(&relative), e))?
            {
                if let Some(key) = as_of_and_run(&self.relative(&meta.location)) {
                    runs.entry(key).or_default().push(meta);
                }
            }
        }
        Ok(runs)
    }

    async fn delete(&self, objects: Vec<Path>) -> Result<()> {
        let what = self.location.display.clone();
        let locations = futures::stream::iter(objects.into_iter().map(Ok)).boxed();
        self.store()
            .delete_stream(locations)
            .try_collect::<Vec<_>>()
            .await
            .map(|_| ())
            .map_err(|e| output_error(&what, e))
    }

    /// Delete the objects of an as-of's runs other than `keep`.
    pub async fn remove_other_runs(&self, as_of: &str, keep: &str) -> Result<()> {
        let runs = self.run_objects(Some(as_of)).await?;
        let doomed = runs
            .into_iter()
            .filter(|((_, run), _)| run != keep)
            .flat_map(|(_, objects)| objects.into_iter().map(|o| o.location))
            .collect();
        self.delete(doomed).await
    }

    /// Delete this run's own objects (after a failure). Best effort: the store may be the
    /// reason the run failed; `gc` collects what is left.
    pub async fn remove_run(&self, as_of: &str, run_id: &str) {
        if let Ok(runs) = self.run_objects(Some(as_of)).await {
            let doomed = runs
                .into_iter()
                .filter(|((_, run), _)| run == run_id)
                .flat_map(|(_, objects)| objects.into_iter().map(|o| o.location))
                .collect();
            let _ = self.delete(doomed).await;
        }
    }

    /// Remove every run that no manifest names (uncommitted or superseded) and whose newest
    /// object is older than `retention`. Committed runs are never touched.
    pub async fn gc(&self, retention: chrono::Duration, now: DateTime<Utc>) -> Result<GcReport> {
        let committed: BTreeSet<(String, String)> = self
            .committed()
            .await?
            .into_iter()
            .map(|m| (m.as_of, m.run_id))
            .collect();
        let mut report = GcReport::default();
        for (key, objects) in self.run_objects(None).await? {
            if committed.contains(&key) {
                continue;
            }
            let label = format!("as_of={}/run={}", key.0, key.1);
            let newest = objects.iter().map(|o| o.last_modified).max();
            if newest.is_some_and(|t| now - t < retention) {
                report.kept_recent.push(label);
                continue;
            }
            report.removed_objects += objects.len() as u64;
            report.removed_bytes += objects.iter().map(|o| o.size).sum::<u64>();
            report.removed_runs.push(label);
            self.delete(objects.into_iter().map(|o| o.location).collect())
                .await?;
        }
        Ok(report)
    }
}

/// Encode record batches as one Parquet file (ZSTD).
pub fn parquet_bytes(
    object: &str,
    batches: &[RecordBatch],
    schema: Arc<Schema>,
) -> Result<Vec<u8>> {
    let props = WriterProperties::builder()
        .set_compression(Compression::ZSTD(ZstdLevel::default()))
        .build();
    let mut buffer = Vec::new();
    let mut writer = ArrowWriter::try_new(&mut buffer, schema, Some(props))
        .map_err(|e| output_error(object, e))?;
    for b in batches {
        writer.write(b).map_err(|e| output_error(object, e))?;
    }
    writer.close().map_err(|e| output_error(object, e))?;
    Ok(buffer)
}
