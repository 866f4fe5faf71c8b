//! Reading segmint's output tables the way another engine would: delta-rs's own DataFusion
//! table provider and SQL, none of segmint's reading code. (The Python `deltalake` reader
//! in the CLI tests is the fully independent one.)

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use datafusion::arrow::array::{Array, AsArray, RecordBatch};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::DataType;
use datafusion::prelude::SessionContext;
use object_store::ObjectStore;

/// A Delta table at `url` on `store` (e.g. a test S3 server's bucket), at its newest
/// version or at `version`.
pub async fn table_on(
    store: Arc<dyn ObjectStore>,
    url: &str,
    version: Option<u64>,
) -> deltalake_core::DeltaTable {
    segmint_engine::output::register_schemes();
    let url = url::Url::parse(url).unwrap();
    let mut builder = deltalake_core::DeltaTableBuilder::from_url(url.clone())
        .unwrap()
        .with_storage_backend(store, url);
    if let Some(v) = version {
        builder = builder.with_version(v);
    }
    builder.load().await.unwrap()
}

/// Run `sql` over the Delta table at `url` on `store`, registered as `t`.
pub async fn query_on(
    store: Arc<dyn ObjectStore>,
    url: &str,
    version: Option<u64>,
    sql: &str,
) -> Vec<RecordBatch> {
    let table = table_on(store.clone(), url, version).await;
    run(table, sql).await
}

async fn run(table: deltalake_core::DeltaTable, sql: &str) -> Vec<RecordBatch> {
    let ctx = SessionContext::new();
    table.update_datafusion_session(&ctx.state()).unwrap();
    ctx.register_table("t", table.table_provider().await.unwrap())
        .unwrap();
    ctx.sql(sql).await.unwrap().collect().await.unwrap()
}

/// A local Delta table, at its newest version or at `version`.
pub async fn table(dir: &Path, version: Option<u64>) -> deltalake_core::DeltaTable {
    let url = url::Url::from_directory_path(std::path::absolute(dir).unwrap()).unwrap();
    let mut builder = deltalake_core::DeltaTableBuilder::from_url(url).unwrap();
    if let Some(v) = version {
        builder = builder.with_version(v);
    }
    builder.load().await.unwrap()
}

/// Run `sql` over the Delta table at `dir`, registered as `t`.
pub async fn query(dir: &Path, version: Option<u64>, sql: &str) -> Vec<RecordBatch> {
    run(table(dir, version).await, sql).await
}

/// Column `i` of every row, as text (NULL as `None`).
pub fn strings(batches: &[RecordBatch], i: usize) -> Vec<Option<String>> {
    let mut out = Vec::new();
    for b in batches {
        let c = cast(b.column(i), &DataType::Utf8).unwrap();
        let c = c.as_string::<i32>();
        out.extend((0..c.len()).map(|r| c.is_valid(r).then(|| c.value(r).to_string())));
    }
    out
}

/// segment → entity → tier (`""` for untiered segments) of the members table at `as_of`.
pub async fn members_at(
    out_dir: &Path,
    version: Option<u64>,
    as_of: &str,
) -> BTreeMap<String, BTreeMap<String, String>> {
    let batches = query(
        &out_dir.join("members"),
        version,
        &format!(
            "SELECT segment, entity, tier FROM t WHERE as_of = DATE '{as_of}' ORDER BY segment, entity"
        ),
    )
    .await;
    let (segments, entities, tiers) = (
        strings(&batches, 0),
        strings(&batches, 1),
        strings(&batches, 2),
    );
    let mut out: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
    for ((s, e), t) in segments.into_iter().zip(entities).zip(tiers) {
        out.entry(s.unwrap_or_default())
            .or_default()
            .insert(e.unwrap_or_default(), t.unwrap_or_default());
    }
    out
}

/// segment → entity → whether it is held out, of the members table at `as_of`.
pub async fn holdout_at(out_dir: &Path, as_of: &str) -> BTreeMap<String, BTreeMap<String, bool>> {
    let batches = query(
        &out_dir.join("members"),
        None,
        &format!(
            "SELECT segment, entity, CAST(holdout AS VARCHAR) FROM t WHERE as_of = DATE '{as_of}'"
        ),
    )
    .await;
    let (segments, entities, flags) = (
        strings(&batches, 0),
        strings(&batches, 1),
        strings(&batches, 2),
    );
    let mut out: BTreeMap<String, BTreeMap<String, bool>> = BTreeMap::new();
    for ((s, e), h) in segments.into_iter().zip(entities).zip(flags) {
        out.entry(s.unwrap_or_default())
            .or_default()
            .insert(e.unwrap_or_default(), h.as_deref() == Some("true"));
    }
    out
}

/// The committed runs of a local output (the runs table's summaries), oldest first.
pub async fn runs(out_dir: &Path) -> Vec<serde_json::Value> {
    let batches = query(
        &out_dir.join("runs"),
        None,
        "SELECT summary FROM t ORDER BY committed_at",
    )
    .await;
    strings(&batches, 0)
        .into_iter()
        .map(|s| serde_json::from_str(&s.unwrap_or_default()).unwrap())
        .collect()
}

/// The latest committed run of an as-of in a local output.
pub async fn latest_run(out_dir: &Path, as_of: &str) -> Option<serde_json::Value> {
    runs(out_dir)
        .await
        .into_iter()
        .rev()
        .find(|r| r["as_of"] == as_of)
}

/// Run a future to completion from a synchronous test.
pub fn blocking<F: std::future::Future>(future: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(future)
}
