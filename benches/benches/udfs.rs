//! Throughput of every segmint aggregate over 10M events of 1M entities (criterion), next to
//! `count(*)` (the cost of the GROUP BY itself) and DataFusion's `count(DISTINCT …)`.
//!
//! ```sh
//! cargo bench -p segmint-benches --bench udfs                       # release profile
//! cargo bench -p segmint-benches --bench udfs --profile dev         # a warm dev target
//! SEGMINT_BENCH_ROWS=1000000 SEGMINT_BENCH_GROUPS=100000 cargo bench -p segmint-benches --bench udfs
//! ```
//!
//! Criterion prints each function's time per query and its throughput in events per
//! second ("elem/s"). The events are in memory (two partitions), roughly in time order
//! with entities interleaved, as a time-partitioned lake delivers them.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use datafusion::arrow::array::{Int64Array, RecordBatch, StringArray, TimestampMicrosecondArray};
use datafusion::arrow::datatypes::{DataType, Field, Schema, TimeUnit};
use datafusion::datasource::MemTable;
use datafusion::prelude::{SessionConfig, SessionContext};
use segmint_benches::{env_usize, events};

/// The as-of used by `cadence` and `momentum`: the end of the generated 90 days.
const AS_OF: &str = "TIMESTAMP '2026-04-01 00:00:00'";

fn context(rows: usize, groups: usize) -> SessionContext {
    let config = SessionConfig::new().with_target_partitions(2);
    let mut ctx = SessionContext::new_with_config(config);
    segmint_udfs::register_all(&mut ctx).unwrap();
    let schema = Arc::new(Schema::new(vec![
        Field::new("entity", DataType::Int64, false),
        Field::new(
            "ts",
            DataType::Timestamp(TimeUnit::Microsecond, None),
            false,
        ),
        Field::new("code", DataType::Int64, false),
        Field::new("activity", DataType::Utf8, false),
    ]));
    let mut partitions = vec![Vec::new(), Vec::new()];
    for (i, chunk) in events(rows, groups).enumerate() {
        let batch = RecordBatch::try_new(
            schema.clone(),
            vec![
                Arc::new(Int64Array::from(chunk.entity)),
                Arc::new(TimestampMicrosecondArray::from(chunk.ts_us)),
                Arc::new(Int64Array::from(chunk.code)),
                Arc::new(StringArray::from(chunk.activity)),
            ],
        )
        .unwrap();
        partitions[i % 2].push(batch);
    }
    ctx.register_table(
        "ev",
        Arc::new(MemTable::try_new(schema, partitions).unwrap()),
    )
    .unwrap();
    ctx
}

fn aggregates(c: &mut Criterion) {
    let rows = env_usize("SEGMINT_BENCH_ROWS", 10_000_000);
    let groups = env_usize("SEGMINT_BENCH_GROUPS", 1_000_000);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let ctx = context(rows, groups);
    let queries: Vec<(&str, String)> = vec![
        ("count_star (baseline)", "count(*)".into()),
        (
            "window_funnel",
            "window_funnel(86400, '', ts, code = 0, code = 1, code = 2)".into(),
        ),
        (
            "retention",
            "retention(code = 0, code = 1, code = 2)".into(),
        ),
        (
            "sequence_match",
            "sequence_match('(?1).*(?t<=3600)(?2)', ts, code = 0, code = 1)".into(),
        ),
        (
            "sequence_count",
            "sequence_count('(?1)(?2)', ts, code = 0, code = 1)".into(),
        ),
        ("session_stats", "session_stats(ts, 1800)".into()),
        ("cadence", format!("cadence(ts, {AS_OF})")),
        (
            "momentum",
            format!("momentum(ts, {AS_OF}, INTERVAL '7 days', INTERVAL '84 days')"),
        ),
        ("distinct_count", "distinct_count(activity)".into()),
        (
            "count(DISTINCT) (DataFusion)",
            "count(DISTINCT activity)".into(),
        ),
    ];
    let mut group = c.benchmark_group(format!("{rows}_events_{groups}_entities"));
    group
        .throughput(Throughput::Elements(rows as u64))
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(15));
    for (name, aggregate) in queries {
        // The whole result is collected (one row per entity): an unused aggregate would be
        // optimized away.
        let sql = format!("SELECT entity, {aggregate} AS a FROM ev GROUP BY entity");
        group.bench_function(name, |b| {
            b.iter(|| {
                runtime.block_on(async {
                    let batches = ctx.sql(&sql).await.unwrap().collect().await.unwrap();
                    let entities: usize = batches.iter().map(RecordBatch::num_rows).sum();
                    assert!(entities > groups / 2, "{entities} entities");
                })
            })
        });
    }
    group.finish();
}

criterion_group!(benches, aggregates);
criterion_main!(benches);
