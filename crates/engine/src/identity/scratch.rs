//! Intermediate results of a build, materialized between rounds: in memory on a local
//! session, as Parquet under the output's `identity/_scratch/<build>/` on a cluster (where
//! executors must read them; a client's in-memory table does not travel to them).

use std::sync::Arc;

use datafusion::arrow::array::RecordBatch;
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::datasource::MemTable;
use datafusion::parquet::arrow::ArrowWriter;
use datafusion::prelude::{DataFrame, ParquetReadOptions, SessionContext};
use object_store::ObjectStoreExt;

use crate::error::{EngineError, Result};
use crate::storage::Located;

/// A materialized intermediate and its row count.
pub struct Kept {
    pub df: DataFrame,
    pub rows: usize,
}

/// Where a build keeps its intermediates.
pub struct Scratch {
    /// `Some`: a cluster; files go under this location.
    files: Option<(Located, String)>,
    partitions: usize,
}

impl Scratch {
    /// In memory, split into `partitions` for parallel reads.
    pub fn memory(partitions: usize) -> Self {
        Scratch {
            files: None,
            partitions: partitions.max(1),
        }
    }

    /// As Parquet files under `location`'s `prefix` folder.
    pub fn files(location: Located, prefix: String) -> Self {
        Scratch {
            files: Some((location, prefix)),
            partitions: 1,
        }
    }

    /// Execute `df` and keep its rows as a table `name` that later plans read.
    pub async fn keep(&self, ctx: &SessionContext, name: &str, df: DataFrame) -> Result<Kept> {
        let schema = Arc::new(df.schema().as_arrow().clone());
        let batches = self.collect(df).await?;
        let rows = batches.iter().map(RecordBatch::num_rows).sum();
        let df = self.keep_batches(ctx, name, schema, batches).await?;
        Ok(Kept { df, rows })
    }

    /// Keep batches made here as a table `name` that later plans read.
    pub async fn keep_batches(
        &self,
        ctx: &SessionContext,
        name: &str,
        schema: SchemaRef,
        batches: Vec<RecordBatch>,
    ) -> Result<DataFrame> {
        Ok(match &self.files {
            None => {
                let mut parts: Vec<Vec<RecordBatch>> = vec![Vec::new(); self.partitions];
                for (i, b) in batches.into_iter().enumerate() {
                    parts[i % self.partitions].push(b);
                }
                let table = MemTable::try_new(schema, parts).map_err(EngineError::Plan)?;
                ctx.read_table(Arc::new(table)).map_err(EngineError::Plan)?
            }
            Some((location, prefix)) => {
                let path = location.child(&format!("{prefix}/{name}/part-0.parquet"));
                let mut bytes = Vec::new();
                let mut writer = ArrowWriter::try_new(&mut bytes, schema, None)
                    .map_err(|e| EngineError::output(location.describe(&path), e))?;
                for b in &batches {
                    writer
                        .write(b)
                        .map_err(|e| EngineError::output(location.describe(&path), e))?;
                }
                writer
                    .close()
                    .map_err(|e| EngineError::output(location.describe(&path), e))?;
                location
                    .store
                    .put(&path, bytes.into())
                    .await
                    .map_err(|e| EngineError::output(location.describe(&path), e))?;
                let url = format!("{}{prefix}/{name}/", location.table_url());
                ctx.read_parquet(url, ParquetReadOptions::default())
                    .await
                    .map_err(EngineError::Plan)?
            }
        })
    }

    /// Execute `df` to record batches.
    pub async fn collect(&self, df: DataFrame) -> Result<Vec<RecordBatch>> {
        df.collect().await.map_err(EngineError::Plan)
    }

    /// Remove the cluster files (nothing to do in memory).
    pub async fn clean(&self) -> Result<()> {
        use futures::TryStreamExt;
        if let Some((location, prefix)) = &self.files {
            let root = location.child(prefix);
            let paths: Vec<_> = location
                .store
                .list(Some(&root))
                .map_ok(|m| m.location)
                .try_collect()
                .await
                .map_err(|e| EngineError::output(location.describe(&root), e))?;
            for p in paths {
                location
                    .store
                    .delete(&p)
                    .await
                    .map_err(|e| EngineError::output(location.describe(&p), e))?;
            }
        }
        Ok(())
    }
}
