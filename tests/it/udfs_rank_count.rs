//! `rank_count(group, value, descending) OVER ()` against the window it replaces, on random
//! rows: DataFusion's own `count(*) OVER (PARTITION BY group ORDER BY value [DESC] NULLS
//! LAST RANGE BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)` and, for a constant value,
//! `count(*) OVER (PARTITION BY group)`. Groups and values are nullable and tie often;
//! integer and float values (no `-0.0`: Arrow's total order puts it before `0.0`, as the
//! function documents).

use std::sync::Arc;

use datafusion::arrow::array::{
    Array, AsArray, BooleanArray, Float64Array, Int64Array, RecordBatch,
};
use datafusion::arrow::datatypes::{DataType, Field, Int64Type, Schema};
use datafusion::datasource::MemTable;
use proptest::prelude::*;

use crate::udfs_slt::session;

/// One row: its id, a nullable boolean group, a nullable integer and a nullable float.
type Row = (i64, Option<bool>, Option<i64>, Option<f64>);

fn rows() -> impl Strategy<Value = Vec<Row>> {
    let float = prop_oneof![Just(0.0f64), Just(0.5), Just(2.25), -3.0f64..3.0];
    prop::collection::vec(
        (
            prop::option::of(any::<bool>()),
            prop::option::of(0i64..6),
            prop::option::of(float),
        ),
        0..60,
    )
    .prop_map(|raw| {
        raw.into_iter()
            .enumerate()
            .map(|(id, (g, v, f))| (id as i64, g, v, f))
            .collect()
    })
}

fn table(rows: &[Row]) -> MemTable {
    let schema = Arc::new(Schema::new(vec![
        Field::new("id", DataType::Int64, false),
        Field::new("g", DataType::Boolean, true),
        Field::new("v", DataType::Int64, true),
        Field::new("f", DataType::Float64, true),
    ]));
    // Two partitions, so the window's input is coalesced from several streams.
    let partitions = (0..2)
        .map(|p| {
            let part: Vec<&Row> = rows.iter().skip(p).step_by(2).collect();
            let batch = RecordBatch::try_new(
                schema.clone(),
                vec![
                    Arc::new(Int64Array::from_iter_values(part.iter().map(|r| r.0))),
                    Arc::new(BooleanArray::from(
                        part.iter().map(|r| r.1).collect::<Vec<_>>(),
                    )),
                    Arc::new(Int64Array::from(
                        part.iter().map(|r| r.2).collect::<Vec<_>>(),
                    )),
                    Arc::new(Float64Array::from(
                        part.iter().map(|r| r.3).collect::<Vec<_>>(),
                    )),
                ],
            )
            .unwrap();
            vec![batch]
        })
        .collect();
    MemTable::try_new(schema, partitions).unwrap()
}

const RANGE: &str = "RANGE BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW";

/// Pairs of (rank_count, the window it replaces), each pair two columns of the result.
fn query() -> String {
    let pairs = [
        ("v, false", "ORDER BY v ASC NULLS LAST"),
        ("v, true", "ORDER BY v DESC NULLS LAST"),
        ("f, false", "ORDER BY f ASC NULLS LAST"),
        ("f, true", "ORDER BY f DESC NULLS LAST"),
    ];
    let mut columns: Vec<String> = pairs
        .iter()
        .map(|(args, order)| {
            format!("rank_count(g, {args}) OVER (), count(*) OVER (PARTITION BY g {order} {RANGE})")
        })
        .collect();
    columns.push("rank_count(g, 0, false) OVER (), count(*) OVER (PARTITION BY g)".into());
    format!("SELECT id, {} FROM t ORDER BY id", columns.join(", "))
}

fn run(rows: &[Row]) -> Vec<RecordBatch> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    runtime.block_on(async {
        let ctx = session(4);
        ctx.register_table("t", Arc::new(table(rows))).unwrap();
        ctx.sql(&query()).await.unwrap().collect().await.unwrap()
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn rank_count_equals_the_sorted_count_window(rows in rows()) {
        let batches = run(&rows);
        let total: usize = batches.iter().map(|b| b.num_rows()).sum();
        prop_assert_eq!(total, rows.len());
        for batch in &batches {
            for pair in 0..5 {
                let got = batch.column(1 + 2 * pair).as_primitive::<Int64Type>();
                let want = batch.column(2 + 2 * pair).as_primitive::<Int64Type>();
                prop_assert_eq!(got.null_count(), 0);
                prop_assert_eq!(
                    got.values(),
                    want.values(),
                    "pair {} of {}\nrows {:?}",
                    pair,
                    query(),
                    rows
                );
            }
        }
    }
}
