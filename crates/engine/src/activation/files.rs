//! The files destination: full member lists or entered/exited deltas as CSV, JSONL or
//! Parquet under a location segmint can write (local, S3, GCS, Azure), for ad-platform and
//! email-tool uploads.
//!
//! ```text
//! <location>/<destination>/<segment>/as_of=D/entered.csv   (mode: delta) entity, tier, outputs…
//! <location>/<destination>/<segment>/as_of=D/exited.csv    (mode: delta) entity
//! <location>/<destination>/<segment>/as_of=D/members.csv   (mode: full)  entity, tier, outputs…
//! ```
//!
//! Each file is one PUT (atomic); a re-sync of the same as-of rewrites the same files.

use datafusion::arrow::array::RecordBatch;
use object_store::ObjectStoreExt;
use segmint_spec::{FileFormat, FilesTarget};

use crate::error::{EngineError, Result};
use crate::storage::Located;

/// The file extension of a format.
fn extension(format: FileFormat) -> &'static str {
    match format {
        FileFormat::Csv => "csv",
        FileFormat::Jsonl => "jsonl",
        FileFormat::Parquet => "parquet",
    }
}

/// Encode batches (all of `schema`) in a format.
fn encode(
    format: FileFormat,
    schema: datafusion::arrow::datatypes::SchemaRef,
    batches: &[RecordBatch],
) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    match format {
        FileFormat::Csv => {
            let mut writer = arrow::csv::WriterBuilder::new()
                .with_header(true)
                .build(&mut out);
            if batches.is_empty() {
                writer.write(&RecordBatch::new_empty(schema))?;
            }
            for b in batches {
                writer.write(b)?;
            }
        }
        FileFormat::Jsonl => {
            let mut writer = arrow::json::LineDelimitedWriter::new(&mut out);
            for b in batches {
                writer.write(b)?;
            }
            writer.finish()?;
        }
        FileFormat::Parquet => {
            let mut writer = parquet::arrow::ArrowWriter::try_new(&mut out, schema, None)
                .map_err(|e| EngineError::Internal(e.to_string()))?;
            for b in batches {
                writer
                    .write(b)
                    .map_err(|e| EngineError::Internal(e.to_string()))?;
            }
            writer
                .close()
                .map_err(|e| EngineError::Internal(e.to_string()))?;
        }
    }
    Ok(out)
}

/// Write one file `<name>.<ext>` for a segment's delivery; its full URL.
pub async fn write(
    located: &Located,
    target: &FilesTarget,
    (destination, segment, as_of): (&str, &str, chrono::NaiveDate),
    name: &str,
    schema: datafusion::arrow::datatypes::SchemaRef,
    batches: &[RecordBatch],
) -> Result<String> {
    let relative = format!(
        "{destination}/{segment}/as_of={as_of}/{name}.{}",
        extension(target.format)
    );
    let path = located.child(&relative);
    let url = located.describe(&path);
    let bytes = encode(target.format, schema, batches)?;
    located
        .store
        .put(&path, bytes.into())
        .await
        .map_err(|e| EngineError::output(&url, e))?;
    Ok(url)
}
