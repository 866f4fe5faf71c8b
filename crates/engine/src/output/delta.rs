//! Delta Lake plumbing shared by the output tables and Delta lakes: log stores over
//! segmint's own object stores, opening and creating tables, and what delta-rs errors
//! mean for segmint.
//!
//! delta-rs is handed segmint's stores (`with_storage_backend`), so credentials still
//! come only from the provider chains of [`crate::storage::StoreRegistry`] and are never
//! logged. Commits use delta-rs's default log store: a commit is a put-if-absent of the
//! next `_delta_log/NNN.json` (`PutMode::Create`), atomic on the local file system
//! (hard link), S3 (`If-None-Match: *`, conditional writes), GCS (generation
//! preconditions) and Azure (`If-None-Match`). A store without it (plain HTTP/WebDAV)
//! cannot hold output tables: the put fails and nothing is committed.

use std::sync::{Arc, Once};

use deltalake_core::kernel::transaction::{CommitBuilder, CommitProperties, TransactionError};
use deltalake_core::logstore::{
    LogStore, LogStoreFactory, ObjectStoreRef, StorageConfig, default_logstore, logstore_factories,
};
use deltalake_core::protocol::SaveMode;
use deltalake_core::{DeltaResult, DeltaTable, DeltaTableBuilder, DeltaTableError};
use url::Url;

use crate::error::{EngineError, Result};
use crate::storage::Located;

/// The default (put-if-absent) log store for every scheme segmint's stores serve.
#[derive(Debug, Default)]
struct PutIfAbsentLogStores;

impl LogStoreFactory for PutIfAbsentLogStores {
    fn with_options(
        &self,
        prefixed_store: ObjectStoreRef,
        root_store: ObjectStoreRef,
        location: &Url,
        options: &StorageConfig,
    ) -> DeltaResult<Arc<dyn LogStore>> {
        Ok(default_logstore(
            prefixed_store,
            root_store,
            location,
            options,
        ))
    }
}

/// Register the put-if-absent log store for the cloud schemes (delta-rs registers `file`
/// and `memory` itself). Idempotent; called before any table is opened.
pub fn register_schemes() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let factories = logstore_factories();
        for scheme in ["s3", "s3a", "gs", "az", "adl", "azure", "abfs", "abfss"] {
            if let Ok(url) = Url::parse(&format!("{scheme}://")) {
                factories
                    .entry(url)
                    .or_insert_with(|| Arc::new(PutIfAbsentLogStores));
            }
        }
    });
}

/// The URL of a table folder below a location (`…/name/`).
pub(crate) fn table_url(location: &Located, name: &str) -> Result<Url> {
    let base = location.table_url();
    let url = if name.is_empty() {
        base
    } else {
        format!("{base}{name}/")
    };
    Url::parse(&url).map_err(|e| EngineError::Usage(format!("location `{url}`: {e}")))
}

/// A Delta table handle at `url`, on the location's store (not loaded).
pub(crate) fn unloaded(location: &Located, url: &Url) -> Result<DeltaTable> {
    register_schemes();
    let object = url.to_string();
    DeltaTableBuilder::from_url(url.clone())
        .and_then(|b| {
            b.with_storage_backend(location.store.clone(), url.clone())
                .build()
        })
        .map_err(|e| EngineError::output(object, e))
}

/// Whether a Delta log exists at `url` (any object under `_delta_log/`).
async fn has_log(location: &Located, url: &Url) -> Result<bool> {
    use futures::StreamExt;
    let relative = url
        .as_str()
        .strip_prefix(&location.table_url())
        .unwrap_or_default();
    let log = location.child(&format!("{relative}_delta_log"));
    match location.store.list(Some(&log)).next().await {
        None => Ok(false),
        Some(Ok(_)) => Ok(true),
        Some(Err(e)) => Err(EngineError::output(url.to_string(), e)),
    }
}

/// Commits to a table write a checkpoint of its log every this many versions (the
/// `delta.checkpointInterval` of the tables segmint creates), so opening a table replays at
/// most this many JSON commits after the checkpoint: a daily run opens `members` several
/// times, and its log grows by a commit a day.
const CHECKPOINT_INTERVAL: &str = "10";

/// A commit that writes a checkpoint when the table's `delta.checkpointInterval` says so
/// (delta-rs's `CommitBuilder::default()` never does). It never deletes log entries, so time
/// travel reaches as far back as `gc`'s retention kept the data files.
pub(crate) fn committer() -> CommitBuilder {
    CommitProperties::default()
        .with_cleanup_expired_logs(Some(false))
        .into()
}

/// The table at `url`, loaded; `None` when there is no table there yet.
pub(crate) async fn load(location: &Located, url: &Url) -> Result<Option<DeltaTable>> {
    if !has_log(location, url).await? {
        return Ok(None);
    }
    let mut table = unloaded(location, url)?;
    let started = std::time::Instant::now();
    let loaded = table.load().await;
    tracing::debug!(table = %url, version = ?table.version(), elapsed = ?started.elapsed(), "delta table loaded");
    match loaded {
        Ok(()) => Ok(Some(table)),
        Err(DeltaTableError::NotATable(_)) => Ok(None),
        Err(e) => Err(EngineError::output(url.to_string(), e)),
    }
}

/// The table at `url`, created with `schema` and `partitions` when missing. Two processes
/// creating it at once are fine: the loser of the version-0 commit loads the winner's.
pub(crate) async fn load_or_create(
    location: &Located,
    url: &Url,
    schema: &deltalake_core::kernel::StructType,
    partitions: &[&str],
    properties: &[(&str, &str)],
) -> Result<DeltaTable> {
    if let Some(table) = load(location, url).await? {
        return Ok(table);
    }
    let created = unloaded(location, url)?
        .create()
        .with_columns(schema.fields().cloned())
        .with_partition_columns(partitions.iter().map(|p| p.to_string()))
        .with_configuration(
            [("delta.checkpointInterval", CHECKPOINT_INTERVAL)]
                .iter()
                .chain(properties)
                .map(|(k, v)| (k.to_string(), Some(v.to_string()))),
        )
        .with_save_mode(SaveMode::ErrorIfExists)
        .await;
    match created {
        Ok(table) => Ok(table),
        Err(_) => load(location, url)
            .await?
            .ok_or_else(|| EngineError::output(url.to_string(), "the table could not be created")),
    }
}

/// A commit another run won: the committed state is the winner's, intact.
pub(crate) fn is_conflict(error: &DeltaTableError) -> bool {
    matches!(
        error,
        DeltaTableError::Transaction {
            source: TransactionError::CommitConflict(_)
                | TransactionError::VersionAlreadyExists(_)
                | TransactionError::MaxCommitAttempts(_)
        } | DeltaTableError::VersionAlreadyExists(_)
    )
}

/// The engine error of a failed commit to `table` (a lost race is its own kind).
pub(crate) fn commit_error(table: &str, error: DeltaTableError) -> EngineError {
    if is_conflict(&error) {
        EngineError::CommitConflict {
            table: table.to_string(),
            message: crate::storage::redact(&error.to_string()),
        }
    } else {
        EngineError::output(table, error)
    }
}

/// Append `batches` to `table` in one commit — a blind append, which concurrent appends
/// never conflict with; the committed version.
pub(crate) async fn append(
    table: &DeltaTable,
    batches: Vec<datafusion::arrow::array::RecordBatch>,
    object: &str,
) -> Result<i64> {
    use deltalake_core::kernel::Action;
    use deltalake_core::protocol::DeltaOperation;
    use deltalake_core::writer::{DeltaWriter, RecordBatchWriter};
    let snapshot = table
        .snapshot()
        .map_err(|e| EngineError::output(object, e))?;
    let mut writer =
        RecordBatchWriter::for_table(table).map_err(|e| EngineError::output(object, e))?;
    for batch in batches {
        writer
            .write(batch)
            .await
            .map_err(|e| EngineError::output(object, e))?;
    }
    let adds = writer
        .flush()
        .await
        .map_err(|e| EngineError::output(object, e))?;
    let operation = DeltaOperation::Write {
        mode: SaveMode::Append,
        partition_by: None,
        predicate: None,
    };
    let finalized = committer()
        .with_actions(adds.into_iter().map(Action::Add).collect())
        .build(Some(snapshot.snapshot()), table.log_store(), operation)
        .await
        .map_err(|e| commit_error(object, e))?;
    Ok(finalized.version() as i64)
}

/// Every value of one text column of a (small) table, e.g. the JSON documents of `runs`.
pub(crate) async fn read_text_column(
    table: &DeltaTable,
    column: &str,
    object: &str,
) -> Result<Vec<String>> {
    use datafusion::arrow::array::{Array, StringArray};
    let snapshot = table
        .snapshot()
        .map_err(|e| EngineError::output(object, e))?;
    let mut out = Vec::new();
    for file in snapshot.log_data().iter() {
        let path = file.object_store_path();
        for batch in read_file(table, &path, Some(&[column]), object).await? {
            let values = batch
                .column_by_name(column)
                .and_then(|c| c.as_any().downcast_ref::<StringArray>())
                .ok_or_else(|| {
                    EngineError::output(format!("{object}/{path}"), format!("no `{column}` column"))
                })?;
            out.extend(values.iter().flatten().map(str::to_string));
        }
    }
    Ok(out)
}

/// The record batches of one Parquet file of a table (`columns`: only these).
pub(crate) async fn read_file(
    table: &DeltaTable,
    path: &deltalake_core::Path,
    columns: Option<&[&str]>,
    object: &str,
) -> Result<Vec<datafusion::arrow::array::RecordBatch>> {
    use object_store::ObjectStoreExt;
    use parquet::arrow::ProjectionMask;
    use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
    let where_ = format!("{object}/{path}");
    let store = table.log_store().object_store(None);
    let bytes = store
        .get(path)
        .await
        .map_err(|e| EngineError::output(&where_, e))?
        .bytes()
        .await
        .map_err(|e| EngineError::output(&where_, e))?;
    let mut builder = ParquetRecordBatchReaderBuilder::try_new(bytes)
        .map_err(|e| EngineError::output(&where_, e))?;
    if let Some(columns) = columns {
        let indices: Vec<usize> = builder
            .schema()
            .fields()
            .iter()
            .enumerate()
            .filter(|(_, f)| columns.contains(&f.name().as_str()))
            .map(|(i, _)| i)
            .collect();
        let mask = ProjectionMask::roots(builder.parquet_schema(), indices);
        builder = builder.with_projection(mask);
    }
    builder
        .build()
        .map_err(|e| EngineError::output(&where_, e))?
        .map(|b| b.map_err(|e| EngineError::output(&where_, e)))
        .collect()
}
