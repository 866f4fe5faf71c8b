//! `segmint sql`: run a query over the project's lake and print the rows.

use std::io::Write;
use std::path::Path;

use datafusion::arrow::array::RecordBatch;
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::arrow::util::pretty::pretty_format_batches_with_schema;
use segmint_engine::EngineError;

use crate::SqlFormat;
use crate::cluster::Target;

/// Read the query (argument or file), run it, print it in `format`.
pub async fn sql(
    target: &Target,
    project: &Path,
    query: Option<&str>,
    file: Option<&Path>,
    format: SqlFormat,
) -> Result<(), EngineError> {
    let text = match (query, file) {
        (Some(q), _) => q.to_string(),
        (None, Some(f)) => std::fs::read_to_string(f)
            .map_err(|e| EngineError::Usage(format!("cannot read {}: {e}", f.display())))?,
        (None, None) => return Err(EngineError::Usage("give a query or --file".into())),
    };
    let lake = target.open_lake(project).await?;
    let (schema, batches) = segmint_engine::run_sql(&lake, &text).await?;
    if matches!(format, SqlFormat::Csv)
        && let Some(field) = schema.fields().iter().find(|f| f.data_type().is_nested())
    {
        return Err(EngineError::Usage(format!(
            "column `{}` is a {}, which CSV cannot hold: select its fields (e.g. `s.sessions`) \
             or use --format json",
            field.name(),
            field.data_type()
        )));
    }
    let mut out = std::io::stdout().lock();
    print(&mut out, &schema, &batches, format).map_err(|e| EngineError::Output {
        object: "stdout".into(),
        message: e.to_string(),
    })
}

fn print(
    out: &mut impl Write,
    schema: &SchemaRef,
    batches: &[RecordBatch],
    format: SqlFormat,
) -> anyhow::Result<()> {
    match format {
        SqlFormat::Table => writeln!(
            out,
            "{}",
            pretty_format_batches_with_schema(schema.clone(), batches)?
        )?,
        SqlFormat::Csv => {
            // The header row even when no row matched.
            let empty = RecordBatch::new_empty(schema.clone());
            let batches: &[RecordBatch] = if batches.is_empty() {
                std::slice::from_ref(&empty)
            } else {
                batches
            };
            let mut writer = arrow::csv::WriterBuilder::new()
                .with_header(true)
                .build(&mut *out);
            for batch in batches {
                writer.write(batch)?;
            }
        }
        SqlFormat::Json => {
            let mut writer = arrow::json::LineDelimitedWriter::new(&mut *out);
            for batch in batches {
                writer.write(batch)?;
            }
            writer.finish()?;
        }
    }
    out.flush()?;
    Ok(())
}
