//! Naming the object behind a read failure. DataFusion reports "Parquet error: Corrupt
//! footer" without saying which of thousands of files it was; when a read fails with a
//! Parquet error, the events location's objects are checked one by one (their footers
//! only) and the first damaged one is named.

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

/// The error of a failed read of `located`: a data error naming the damaged object when
/// the cause is a Parquet error and one is found, else naming the location.
pub async fn read_error(located: &Located, error: DataFusionError) -> EngineError {
    let text = error.to_string();
    if text.contains("Parquet error") {
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
