//! The grouped count-distinct trap, measured: a 5.2M-event log of 262k cases queried as
//! `SELECT case_id, count(*), min(ts), max(ts), count(DISTINCT activity) … GROUP BY case_id`
//! with DataFusion's `count(DISTINCT)`, with segmint's `distinct_count`, without the
//! distinct count, and — on the same Parquet file — with DuckDB (when `python3 -c 'import
//! duckdb'` works; `pip install duckdb`).
//!
//! ```sh
//! cargo bench -p segmint-benches --bench distinct_count [--profile dev]
//! SEGMINT_BENCH_ROWS=1000000 SEGMINT_BENCH_GROUPS=50000 cargo bench -p segmint-benches --bench distinct_count
//! ```
//!
//! Each query runs three times after one warm-up; the best time is reported.
//! `SEGMINT_BENCH_ONLY=distinct_count` runs only the shapes whose name contains that text.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::time::Instant;

use arrow::array::{Int64Array, RecordBatch, StringArray, TimestampMicrosecondArray};
use arrow::datatypes::{DataType, Field, Schema, TimeUnit};
use datafusion::prelude::{ParquetReadOptions, SessionConfig, SessionContext};
use parquet::arrow::ArrowWriter;
use segmint_benches::{env_usize, events};

const SHAPES: [(&str, &str); 3] = [
    (
        "count(DISTINCT activity)",
        "SELECT case_id, count(*), min(ts), max(ts), count(DISTINCT activity) FROM log GROUP BY case_id",
    ),
    (
        "distinct_count(activity)",
        "SELECT case_id, count(*), min(ts), max(ts), distinct_count(activity) FROM log GROUP BY case_id",
    ),
    (
        "no distinct",
        "SELECT case_id, count(*), min(ts), max(ts) FROM log GROUP BY case_id",
    ),
];

fn write_log(path: &Path, rows: usize, groups: usize) {
    let schema = Arc::new(Schema::new(vec![
        Field::new("case_id", DataType::Int64, false),
        Field::new(
            "ts",
            DataType::Timestamp(TimeUnit::Microsecond, None),
            false,
        ),
        Field::new("activity", DataType::Utf8, false),
    ]));
    let file = std::fs::File::create(path).unwrap();
    let mut writer = ArrowWriter::try_new(file, schema.clone(), None).unwrap();
    for chunk in events(rows, groups) {
        let batch = RecordBatch::try_new(
            schema.clone(),
            vec![
                Arc::new(Int64Array::from(chunk.entity)),
                Arc::new(TimestampMicrosecondArray::from(chunk.ts_us)),
                Arc::new(StringArray::from(chunk.activity)),
            ],
        )
        .unwrap();
        writer.write(&batch).unwrap();
    }
    writer.close().unwrap();
}

fn main() {
    let rows = env_usize("SEGMINT_BENCH_ROWS", 5_200_000);
    let groups = env_usize("SEGMINT_BENCH_GROUPS", 262_000);
    let dir = std::env::temp_dir().join(format!("segmint-bench-distinct-{rows}-{groups}"));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("log.parquet");
    if !file.exists() {
        write_log(&file, rows, groups);
    }
    println!("log: {rows} events, {groups} cases, {}", file.display());
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let mut datafusion_s = Vec::new();
    runtime.block_on(async {
        let mut ctx = SessionContext::new_with_config(SessionConfig::new());
        segmint_udfs::register_all(&mut ctx).unwrap();
        ctx.register_parquet("log", file.to_str().unwrap(), ParquetReadOptions::default())
            .await
            .unwrap();
        let only = std::env::var("SEGMINT_BENCH_ONLY").ok();
        for (name, sql) in SHAPES {
            if only.as_deref().is_some_and(|o| !name.contains(o)) {
                datafusion_s.push(f64::NAN);
                continue;
            }
            let mut best = f64::MAX;
            for attempt in 0..4 {
                let t = Instant::now();
                let batches = ctx.sql(sql).await.unwrap().collect().await.unwrap();
                let elapsed = t.elapsed().as_secs_f64();
                let n: usize = batches.iter().map(RecordBatch::num_rows).sum();
                assert!(n > groups / 2);
                if attempt > 0 {
                    best = best.min(elapsed);
                }
            }
            println!("datafusion  {name:<26} {best:>7.3}s");
            datafusion_s.push(best);
        }
    });
    println!(
        "count(DISTINCT) / distinct_count: {:.2}x   distinct_count / no distinct: {:.2}x",
        datafusion_s[0] / datafusion_s[1],
        datafusion_s[1] / datafusion_s[2]
    );
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("peers/distinct_count_duckdb.py");
    match Command::new("python3").arg(&script).arg(&file).output() {
        Ok(out) if out.status.success() => {
            let text = String::from_utf8_lossy(&out.stdout);
            print!("{text}");
            let seconds: Vec<f64> = text
                .lines()
                .filter_map(|l| {
                    l.split_whitespace()
                        .last()?
                        .trim_end_matches('s')
                        .parse()
                        .ok()
                })
                .collect();
            if let [distinct, plain] = seconds[..] {
                println!(
                    "distinct_count (segmint) / count(DISTINCT) (duckdb): {:.2}x   no distinct, datafusion / duckdb: {:.2}x",
                    datafusion_s[1] / distinct,
                    datafusion_s[2] / plain
                );
            }
        }
        Ok(out) => println!(
            "duckdb peer skipped: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ),
        Err(e) => println!("duckdb peer skipped: {e}"),
    }
}
