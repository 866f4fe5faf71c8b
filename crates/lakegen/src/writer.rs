//! Crash-safe Parquet file writing: ZSTD-compressed `ArrowWriter` output
//! (row groups of at most 128Ki rows, sorting-column metadata) written to a
//! hidden temporary name in the target directory, synced, then renamed into
//! place so a final name never refers to a half-written file.

use std::fs::{self, File};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use arrow::array::RecordBatch;
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::metadata::SortingColumn;
use parquet::file::properties::WriterProperties;

use super::GenerateError;

/// Maximum rows per row group.
pub(crate) const ROW_GROUP_ROWS: usize = 128 * 1024;

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> GenerateError + '_ {
    move |source| GenerateError::Io {
        path: path.to_path_buf(),
        source,
    }
}

fn pq_err(path: &Path) -> impl FnOnce(parquet::errors::ParquetError) -> GenerateError + '_ {
    move |source| GenerateError::Parquet {
        path: path.to_path_buf(),
        source,
    }
}

/// Writer properties; `sorted_prefix` = number of leading columns the rows
/// are sorted by (ascending), recorded as sorting-column metadata.
fn properties(sorted_prefix: usize) -> WriterProperties {
    let sorting = (0..sorted_prefix)
        .map(|i| SortingColumn {
            column_idx: i as i32,
            descending: false,
            nulls_first: false,
        })
        .collect();
    WriterProperties::builder()
        .set_compression(Compression::ZSTD(ZstdLevel::default()))
        .set_max_row_group_row_count(Some(ROW_GROUP_ROWS))
        .set_sorting_columns(Some(sorting))
        .build()
}

/// Creates `dir` (and parents) if needed.
pub(crate) fn create_dir(dir: &Path) -> Result<(), GenerateError> {
    fs::create_dir_all(dir).map_err(io_err(dir))
}

/// Removes `dir` recursively if it exists.
pub(crate) fn remove_dir_if_exists(dir: &Path) -> Result<(), GenerateError> {
    match fs::remove_dir_all(dir) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(io_err(dir)(e)),
    }
}

/// Writes `batch` to `dir/file_name` via a temporary file + rename.
/// Returns the size of the final file in bytes.
pub(crate) fn write_parquet_atomic(
    dir: &Path,
    file_name: &str,
    batch: &RecordBatch,
    sorted_prefix: usize,
) -> Result<u64, GenerateError> {
    let final_path = dir.join(file_name);
    let tmp_path: PathBuf = dir.join(format!(".{file_name}.inprogress"));
    let result = write_to(&tmp_path, batch, sorted_prefix)
        .and_then(|()| fs::rename(&tmp_path, &final_path).map_err(io_err(&final_path)));
    if result.is_err() {
        // Best effort: never leave the temporary file behind.
        let _ = fs::remove_file(&tmp_path);
    }
    result?;
    let len = fs::metadata(&final_path)
        .map_err(io_err(&final_path))?
        .len();
    Ok(len)
}

fn write_to(path: &Path, batch: &RecordBatch, sorted_prefix: usize) -> Result<(), GenerateError> {
    let file = File::create(path).map_err(io_err(path))?;
    let mut writer = ArrowWriter::try_new(
        BufWriter::with_capacity(1 << 20, file),
        batch.schema(),
        Some(properties(sorted_prefix)),
    )
    .map_err(pq_err(path))?;
    writer.write(batch).map_err(pq_err(path))?;
    let mut buf = writer.into_inner().map_err(pq_err(path))?;
    buf.flush().map_err(io_err(path))?;
    let file = buf.into_inner().map_err(|e| io_err(path)(e.into_error()))?;
    file.sync_all().map_err(io_err(path))?;
    Ok(())
}
