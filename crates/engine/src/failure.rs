//! The one place where DataFusion, Parquet and object-store errors become engine errors.
//!
//! [`blame`] says whose fault a DataFusion error is: the lake's (an object store, a file, a
//! decoder), the query's (a plan that does not type-check, a value it cannot handle), or
//! segmint's. Reads name the object behind a failure: DataFusion reports "Parquet error:
//! Corrupt footer" without saying which of thousands of files it was, so after such a
//! failure the location's objects are checked one by one (their footers only) and the first
//! damaged one is named. Messages are redacted of credentials.

use datafusion::error::DataFusionError;
use futures::TryStreamExt;
use object_store::{ObjectStoreExt, path::Path};
use parquet::file::metadata::ParquetMetaDataReader;

use crate::error::EngineError;
use crate::storage::{Located, redact};

/// Whether a Parquet object's footer reads; the reason when it does not.
async fn footer_problem(located: &Located, path: &Path, size: u64) -> Option<String> {
    if size < 12 {
        return Some(format!("{size} bytes is too short to be a Parquet file"));
    }
    let tail = match located.store.get_range(path, size - 8..size).await {
        Ok(t) => t,
        Err(e) => return Some(redact(&e.to_string())),
    };
    if &tail[4..] != b"PAR1" {
        return Some("no Parquet magic at the end: the file is cut short or not Parquet".into());
    }
    let footer = u64::from(u32::from_le_bytes([tail[0], tail[1], tail[2], tail[3]]));
    if footer + 8 > size {
        return Some(format!(
            "its footer claims {footer} bytes but the object has {size}: the file is damaged"
        ));
    }
    let bytes = match located
        .store
        .get_range(path, size - 8 - footer..size - 8)
        .await
    {
        Ok(b) => b,
        Err(e) => return Some(redact(&e.to_string())),
    };
    ParquetMetaDataReader::decode_metadata(&bytes)
        .err()
        .map(|e| format!("unreadable footer: {e}"))
}

/// Whose fault a failed query is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Blame {
    /// Reading the lake failed: an object store, I/O, a damaged or mismatched file.
    Lake,
    /// The query cannot be planned or cannot handle a value (a bad cast, a wrong argument).
    Query,
    /// Anything else: a bug.
    Segmint,
}

/// Whose fault `error` is, judged by its root cause.
pub(crate) fn blame(error: &DataFusionError) -> Blame {
    match error.find_root() {
        DataFusionError::ObjectStore(_)
        | DataFusionError::IoError(_)
        | DataFusionError::ParquetError(_)
        | DataFusionError::ArrowError(..) => Blame::Lake,
        DataFusionError::Plan(_)
        | DataFusionError::SchemaError(..)
        | DataFusionError::Execution(_)
        | DataFusionError::NotImplemented(_) => Blame::Query,
        _ => Blame::Segmint,
    }
}

/// The error of a query that failed while being planned (`segmint sql`): the lake's fault
/// is a data error, anything else the query's.
pub(crate) fn planning_error(error: DataFusionError) -> EngineError {
    match blame(&error) {
        Blame::Lake => EngineError::data("the lake", error),
        Blame::Query | Blame::Segmint => EngineError::Usage(format!("SQL: {error}")),
    }
}

/// The error of an ad-hoc query that failed while running: a read failure names the
/// object; a value the query cannot handle is the query's fault.
pub(crate) async fn query_error(located: &Located, error: DataFusionError) -> EngineError {
    match blame(&error) {
        Blame::Lake => read_error(located, error).await,
        Blame::Query => EngineError::Usage(format!("SQL: {error}")),
        Blame::Segmint => EngineError::Internal(error.to_string()),
    }
}

/// The error of a failed read of `located` (a run's evaluation: whatever stops it, the
/// lake does not give what the specs need): a data error naming the damaged object when the
/// cause is a Parquet error and one is found, else naming the location.
pub(crate) async fn read_error(located: &Located, error: DataFusionError) -> EngineError {
    let text = error.to_string();
    let parquet = matches!(error.find_root(), DataFusionError::ParquetError(_));
    if parquet || text.contains("Parquet error") {
        let mut listing = located.store.list(Some(&located.prefix));
        while let Ok(Some(meta)) = listing.try_next().await {
            if !meta.location.as_ref().ends_with(".parquet") {
                continue;
            }
            if let Some(problem) = footer_problem(located, &meta.location, meta.size).await {
                return EngineError::data(located.describe(&meta.location), problem);
            }
        }
    }
    EngineError::data(located.display.clone(), text)
}
