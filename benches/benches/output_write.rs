//! Writing a run's results: segmint's Delta `members` table (one commit replacing an
//! as-of) against the writer it replaced (one Parquet file per segment, then a manifest
//! PUT), for the same members of ≥ 1M entities. Prints both times and the ratio.
//!
//! The members are synthetic but shaped like the shipped library's: 36 segments (4 of them
//! tiered, covering everyone), on average 8 memberships per entity, two outputs each (a
//! count and a category).
//!
//! ```sh
//! cargo bench -p segmint-benches --bench output_write            # 1,000,000 entities
//! SEGMINT_BENCH_ENTITIES=200000 cargo bench -p segmint-benches --bench output_write
//! ```
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

use std::sync::Arc;
use std::time::Instant;

use arrow::array::{ArrayRef, BooleanArray, Int64Array, RecordBatch, StringArray};
use arrow::datatypes::{DataType, Field, Schema};
use chrono::NaiveDate;
use object_store::ObjectStoreExt;
use object_store::path::Path as ObjectPath;
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::properties::WriterProperties;
use segmint_compiler::{OutputColumn, SegmentColumn};
use segmint_engine::members::SegmentMembers;
use segmint_engine::output::members_table::{AsOfRows, replace_as_of};
use segmint_engine::output::{OutputField, OutputTables};
use segmint_engine::storage::StoreRegistry;

const SEGMENTS: usize = 36;
const TIERED: usize = 4;
const CHUNK: usize = 65_536;
const CATEGORIES: [&str; 5] = ["camping", "electronics", "books", "apparel", "home"];

/// A cheap deterministic hash of (entity, segment) in [0, 1).
fn unit(entity: usize, salt: usize) -> f64 {
    let mut x = (entity as u64) ^ ((salt as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15));
    x ^= x >> 33;
    x = x.wrapping_mul(0xff51_afd7_ed55_8ccd);
    x ^= x >> 33;
    (x % 1_000_000) as f64 / 1_000_000.0
}

fn segment_name(i: usize) -> String {
    format!("segment_{i:02}")
}

/// The fused result rows: entity, one column per segment, two outputs per segment.
fn fused(entities: usize) -> (Vec<RecordBatch>, Vec<SegmentColumn>, Vec<OutputColumn>) {
    let segments: Vec<SegmentColumn> = (0..SEGMENTS)
        .map(|i| SegmentColumn {
            name: segment_name(i),
            tiered: i < TIERED,
        })
        .collect();
    let outputs: Vec<OutputColumn> = segments
        .iter()
        .flat_map(|s| {
            ["count", "category"].map(|o| OutputColumn {
                segment: s.name.clone(),
                name: o.to_string(),
                column: format!("{}:{o}", s.name),
            })
        })
        .collect();
    let mut fields = vec![Field::new("entity", DataType::Utf8, false)];
    for s in &segments {
        let t = if s.tiered {
            DataType::Utf8
        } else {
            DataType::Boolean
        };
        fields.push(Field::new(&s.name, t, true));
    }
    for o in &outputs {
        let t = if o.name == "count" {
            DataType::Int64
        } else {
            DataType::Utf8
        };
        fields.push(Field::new(&o.column, t, true));
    }
    let schema = Arc::new(Schema::new(fields));
    // Untiered segments hold 2% .. 30% of the entities: with the 4 tiered ones, about 8
    // memberships per entity.
    let rate = |i: usize| 0.02 + 0.28 * ((i - TIERED) as f64 / (SEGMENTS - TIERED - 1) as f64);
    let mut batches = Vec::new();
    for start in (0..entities).step_by(CHUNK) {
        let rows: Vec<usize> = (start..(start + CHUNK).min(entities)).collect();
        let mut columns: Vec<ArrayRef> = vec![Arc::new(StringArray::from_iter_values(
            rows.iter().map(|e| format!("u{e:08}")),
        ))];
        for (i, s) in segments.iter().enumerate() {
            if s.tiered {
                columns.push(Arc::new(StringArray::from_iter_values(rows.iter().map(
                    |e| ["daily", "weekly", "monthly", "dormant"][(unit(*e, i) * 4.0) as usize],
                ))));
            } else {
                columns.push(Arc::new(BooleanArray::from_iter(
                    rows.iter().map(|e| Some(unit(*e, i) < rate(i))),
                )));
            }
        }
        for (i, _) in outputs.iter().enumerate() {
            if i % 2 == 0 {
                columns.push(Arc::new(Int64Array::from_iter_values(
                    rows.iter().map(|e| (unit(*e, 1000 + i) * 100.0) as i64),
                )));
            } else {
                columns.push(Arc::new(StringArray::from_iter_values(
                    rows.iter()
                        .map(|e| CATEGORIES[(unit(*e, 1000 + i) * 5.0) as usize]),
                )));
            }
        }
        batches.push(RecordBatch::try_new(schema.clone(), columns).unwrap());
    }
    (batches, segments, outputs)
}

/// The writer segmint had before the Delta tables: one ZSTD Parquet file per segment under
/// a run folder, then the manifest, each one PUT.
async fn old_writer(
    store: &Arc<dyn object_store::ObjectStore>,
    root: &str,
    members: &[SegmentMembers],
) -> usize {
    let mut bytes_written = 0;
    let mut manifest = serde_json::Map::new();
    for m in members {
        let props = WriterProperties::builder()
            .set_compression(Compression::ZSTD(ZstdLevel::default()))
            .build();
        let mut buffer = Vec::new();
        let mut writer = ArrowWriter::try_new(&mut buffer, m.schema.clone(), Some(props)).unwrap();
        for b in &m.batches {
            writer.write(b).unwrap();
        }
        writer.close().unwrap();
        bytes_written += buffer.len();
        let relative = format!(
            "members/as_of=2026-11-22/run=bench/segment={}/part-0.parquet",
            m.segment.name
        );
        store
            .put(
                &ObjectPath::from(format!("{root}/{relative}")),
                buffer.into(),
            )
            .await
            .unwrap();
        manifest.insert(m.segment.name.clone(), relative.into());
    }
    let body = serde_json::to_vec(&manifest).unwrap();
    store
        .put(
            &ObjectPath::from(format!("{root}/runs/as_of=2026-11-22/_MANIFEST.json")),
            body.into(),
        )
        .await
        .unwrap();
    bytes_written
}

fn main() {
    let entities: usize = std::env::var("SEGMINT_BENCH_ENTITIES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let as_of = NaiveDate::from_ymd_opt(2026, 11, 22).unwrap();
    let t = Instant::now();
    let (batches, segments, outputs) = fused(entities);
    let members: Vec<SegmentMembers> = segments
        .iter()
        .map(|s| {
            let own: Vec<&OutputColumn> = outputs.iter().filter(|o| o.segment == s.name).collect();
            SegmentMembers::from_result(&batches, s, &own, as_of, None).unwrap()
        })
        .collect();
    let rows: u64 = members.iter().map(|m| m.size()).sum();
    println!(
        "{entities} entities, {rows} member rows in {SEGMENTS} segments, built in {:.1}s",
        t.elapsed().as_secs_f64()
    );
    let fields: Vec<OutputField> = outputs
        .iter()
        .map(|o| OutputField {
            segment: o.segment.clone(),
            output: o.name.clone(),
            data_type: if o.name == "count" {
                DataType::Int64
            } else {
                DataType::Utf8
            },
        })
        .collect();

    let dir = tempfile::tempdir().unwrap();
    let registry = StoreRegistry::default();
    let old = registry.locate(dir.path(), "old").unwrap();
    let new = registry.locate(dir.path(), "new").unwrap();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let root = old.prefix.to_string();
        // Warm-up of both (file system caches, table creation), then the timed writes.
        old_writer(&old.store, &root, &members).await;
        let tables = OutputTables::new(new.clone());
        let table = tables.members_for_write(&fields).await.unwrap();
        let commit = |table| {
            let rows = AsOfRows {
                as_of,
                run_id: "bench",
                members: &members,
                only: None,
                summary: serde_json::json!({}),
            };
            replace_as_of(table, rows, "bench")
        };
        commit(&table).await.unwrap();

        let t = Instant::now();
        let bytes = old_writer(&old.store, &root, &members).await;
        let old_s = t.elapsed().as_secs_f64();
        let table = tables.members_for_write(&fields).await.unwrap();
        let t = Instant::now();
        commit(&table).await.unwrap();
        let new_s = t.elapsed().as_secs_f64();
        println!(
            "old writer (Parquet per segment + manifest): {old_s:.2}s ({:.1} MB)",
            bytes as f64 / 1e6
        );
        println!("Delta members table (replace one as-of, one commit): {new_s:.2}s");
        println!("ratio new/old: {:.2}", new_s / old_s);
    });
}
