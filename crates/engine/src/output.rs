//! The committed output layout and its manifest protocol (local folders).
//!
//! ```text
//! <output>/members/as_of=D/run=<run_id>/segment=S/part-0.parquet   entity, as_of, tier?
//! <output>/runs/as_of=D/run=<run_id>/summary.json
//! <output>/runs/as_of=D/_MANIFEST.json     written last (temp file + rename) = the commit
//! ```
//!
//! A run writes only under its own `run=<id>` folders; the manifest names the run and its
//! files. Until the manifest is replaced, readers following it see the previous run, complete.
//! After the commit, folders of superseded runs of the same as-of are removed; a failed run
//! removes its own folders.

use std::collections::HashSet;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use datafusion::arrow::array::{Array, RecordBatch, StringArray};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::DataType;
use parquet::arrow::ArrowWriter;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::properties::WriterProperties;
use serde::{Deserialize, Serialize};

use crate::error::{EngineError, Result};

/// The commit record of one as-of.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Manifest {
    pub as_of: String,
    pub run_id: String,
    pub committed_at: String,
    /// Segment name → its members file, relative to the output folder.
    pub members: std::collections::BTreeMap<String, String>,
    pub summary: String,
}

/// Paths of the output folder.
pub struct OutputDir {
    pub root: PathBuf,
}

impl OutputDir {
    pub fn members_dir(&self, as_of: &str, run_id: &str) -> PathBuf {
        self.root
            .join("members")
            .join(format!("as_of={as_of}"))
            .join(format!("run={run_id}"))
    }
    pub fn run_dir(&self, as_of: &str, run_id: &str) -> PathBuf {
        self.root
            .join("runs")
            .join(format!("as_of={as_of}"))
            .join(format!("run={run_id}"))
    }
    pub fn manifest_path(&self, as_of: &str) -> PathBuf {
        self.root
            .join("runs")
            .join(format!("as_of={as_of}"))
            .join("_MANIFEST.json")
    }

    /// The committed manifest of an as-of, if any.
    pub fn manifest(&self, as_of: &str) -> Result<Option<Manifest>> {
        let path = self.manifest_path(as_of);
        match std::fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes)
                .map(Some)
                .map_err(|e| EngineError::output(path.display().to_string(), e)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(EngineError::output(path.display().to_string(), e)),
        }
    }

    /// The latest committed as-of strictly before `as_of`.
    pub fn previous_committed(&self, as_of: &str) -> Result<Option<Manifest>> {
        let runs = self.root.join("runs");
        let Ok(entries) = std::fs::read_dir(&runs) else {
            return Ok(None);
        };
        let mut dates: Vec<String> = entries
            .filter_map(|e| e.ok())
            .filter_map(|e| {
                e.file_name()
                    .to_str()
                    .and_then(|n| n.strip_prefix("as_of="))
                    .map(str::to_string)
            })
            .filter(|d| d.as_str() < as_of)
            .collect();
        dates.sort();
        while let Some(d) = dates.pop() {
            if let Some(m) = self.manifest(&d)? {
                return Ok(Some(m));
            }
        }
        Ok(None)
    }

    /// Entities in a committed members file.
    pub fn read_members(&self, relative: &str) -> Result<HashSet<String>> {
        let path = self.root.join(relative);
        let object = path.display().to_string();
        let file = File::open(&path).map_err(|e| EngineError::output(&object, e))?;
        let reader = ParquetRecordBatchReaderBuilder::try_new(file)
            .and_then(|b| b.build())
            .map_err(|e| EngineError::output(&object, e))?;
        let mut out = HashSet::new();
        for batch in reader {
            let batch = batch.map_err(|e| EngineError::output(&object, e))?;
            let entity = cast(batch.column(0), &DataType::Utf8)
                .map_err(|e| EngineError::output(&object, e))?;
            if let Some(s) = entity.as_any().downcast_ref::<StringArray>() {
                out.extend(s.iter().flatten().map(str::to_string));
            }
        }
        Ok(out)
    }

    /// Write the manifest atomically (temp file + rename): the commit point.
    pub fn commit(&self, manifest: &Manifest) -> Result<()> {
        let path = self.manifest_path(&manifest.as_of);
        let tmp = path.with_file_name(format!("._MANIFEST.json.{}", manifest.run_id));
        let bytes = serde_json::to_vec_pretty(manifest)
            .map_err(|e| EngineError::Internal(e.to_string()))?;
        write_synced(&tmp, &bytes)?;
        std::fs::rename(&tmp, &path).map_err(|e| EngineError::output(path.display().to_string(), e))
    }

    /// Remove run folders of an as-of other than `keep`.
    pub fn remove_other_runs(&self, as_of: &str, keep: &str) {
        for base in ["members", "runs"] {
            let dir = self.root.join(base).join(format!("as_of={as_of}"));
            let Ok(entries) = std::fs::read_dir(&dir) else {
                continue;
            };
            for e in entries.filter_map(|e| e.ok()) {
                let name = e.file_name();
                let name = name.to_string_lossy();
                if name.starts_with("run=") && name != format!("run={keep}") {
                    let _ = std::fs::remove_dir_all(e.path());
                }
            }
        }
    }

    /// Remove this run's own folders (after a failure).
    pub fn remove_run(&self, as_of: &str, run_id: &str) {
        let _ = std::fs::remove_dir_all(self.members_dir(as_of, run_id));
        let _ = std::fs::remove_dir_all(self.run_dir(as_of, run_id));
    }
}

/// Write bytes to a file and fsync it.
pub fn write_synced(path: &Path, bytes: &[u8]) -> Result<()> {
    use std::io::Write;
    let object = path.display().to_string();
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(|e| EngineError::output(&object, e))?;
    }
    let mut f = File::create(path).map_err(|e| EngineError::output(&object, e))?;
    f.write_all(bytes)
        .and_then(|_| f.sync_all())
        .map_err(|e| EngineError::output(&object, e))
}

/// Write record batches as one Parquet file (ZSTD).
pub fn write_parquet(
    path: &Path,
    batches: &[RecordBatch],
    schema: Arc<datafusion::arrow::datatypes::Schema>,
) -> Result<()> {
    let object = path.display().to_string();
    let props = WriterProperties::builder()
        .set_compression(Compression::ZSTD(ZstdLevel::default()))
        .build();
    let mut buffer = Vec::new();
    let mut writer = ArrowWriter::try_new(&mut buffer, schema, Some(props))
        .map_err(|e| EngineError::output(&object, e))?;
    for b in batches {
        writer
            .write(b)
            .map_err(|e| EngineError::output(&object, e))?;
    }
    writer
        .close()
        .map_err(|e| EngineError::output(&object, e))?;
    write_synced(path, &buffer)
}
