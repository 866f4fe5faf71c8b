//! Runs every `tests/slt/**/*.slt` file (segmint's own function tests and the ported
//! ClickHouse cases) with the `sqllogictest` runner against a DataFusion `SessionContext`
//! that only ran `segmint_udfs::register_all`.

use std::path::{Path, PathBuf};

use async_trait::async_trait;
use datafusion::arrow::array::Array;
use datafusion::arrow::util::display::{ArrayFormatter, FormatOptions};
use datafusion::error::DataFusionError;
use datafusion::prelude::{SessionConfig, SessionContext};
use sqllogictest::{DBOutput, DefaultColumnType};

/// A fresh session with segmint's functions.
pub fn session(target_partitions: usize) -> SessionContext {
    let config = SessionConfig::new().with_target_partitions(target_partitions);
    let mut ctx = SessionContext::new_with_config(config);
    segmint_udfs::register_all(&mut ctx).unwrap();
    ctx
}

struct Segmint {
    ctx: SessionContext,
}

#[async_trait]
impl sqllogictest::AsyncDB for Segmint {
    type Error = DataFusionError;
    type ColumnType = DefaultColumnType;

    async fn run(&mut self, sql: &str) -> Result<DBOutput<DefaultColumnType>, DataFusionError> {
        let frame = self.ctx.sql(sql).await?;
        let columns = frame.schema().fields().len();
        let batches = frame.collect().await?;
        if columns == 0 {
            return Ok(DBOutput::StatementComplete(0));
        }
        let options = FormatOptions::default().with_null("NULL");
        let mut rows = Vec::new();
        for batch in &batches {
            let formatters = batch
                .columns()
                .iter()
                .map(|c| ArrayFormatter::try_new(c.as_ref(), &options))
                .collect::<Result<Vec<_>, _>>()?;
            for row in 0..batch.num_rows() {
                rows.push(
                    formatters
                        .iter()
                        .zip(batch.columns())
                        .map(|(f, column)| {
                            let text = f.value(row).to_string();
                            if column.is_valid(row) && text.is_empty() {
                                "(empty)".into()
                            } else {
                                text
                            }
                        })
                        .collect(),
                );
            }
        }
        Ok(DBOutput::Rows {
            types: vec![DefaultColumnType::Any; columns],
            rows,
        })
    }

    async fn shutdown(&mut self) {}

    fn engine_name(&self) -> &str {
        "segmint"
    }
}

fn slt_files(dir: &Path, found: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            slt_files(&path, found);
        } else if path.extension().is_some_and(|e| e == "slt") {
            found.push(path);
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_slt_file_passes() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("slt");
    let mut files = Vec::new();
    slt_files(&root, &mut files);
    files.sort();
    assert!(
        files.len() >= 14,
        "expected the function and ClickHouse .slt files, found {files:?}"
    );
    let mut failures = Vec::new();
    for file in &files {
        // Four partitions: partial and final aggregation states are merged in every file.
        let mut runner = sqllogictest::Runner::new(|| async { Ok(Segmint { ctx: session(4) }) });
        if let Err(error) = runner.run_file_async(file).await {
            failures.push(format!("{}:\n{error}", file.display()));
        }
    }
    assert!(
        failures.is_empty(),
        "{} .slt file(s) failed:\n\n{}",
        failures.len(),
        failures.join("\n\n")
    );
}
