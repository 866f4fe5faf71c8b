//! Differential tests against the real thing: 1,200 random event sets evaluated by segmint's
//! `window_funnel` (every mode), `retention`, `sequence_match` and `sequence_count`, and by
//! embedded ClickHouse 26.x (`chdb`, installed from PyPI by the test setup), which must
//! agree on every case.
//!
//! No two events of a case share a timestamp: ClickHouse leaves ties in an unspecified
//! order, segmint orders them by the conditions they meet (a documented difference).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::process::Command;
use std::sync::Arc;

use datafusion::arrow::array::{Array, Int64Array, RecordBatch, StringArray};
use datafusion::arrow::datatypes::{DataType, Field, Schema};
use datafusion::arrow::util::display::{ArrayFormatter, FormatOptions};
use datafusion::datasource::MemTable;

use crate::udfs_slt::session;
use segmint_tests::python_env;

const CASES: u32 = 1_200;
const WINDOW: i64 = 20;

/// A small deterministic generator (xorshift64*), so the cases are the same on every run.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// (case, ts, event) rows: 0–14 events per case at distinct times in 0..60, named A–D or X
/// (X meets no condition).
fn cases() -> Vec<(i64, i64, &'static str)> {
    let mut rng = Rng(0x5EED_CA5E);
    let names = ["A", "A", "B", "B", "C", "C", "D", "X"];
    let mut rows = Vec::new();
    for case in 0..i64::from(CASES) {
        let n = rng.below(15);
        let mut times: Vec<i64> = (0..60).collect();
        for i in 0..n as usize {
            let j = i + rng.below((60 - i) as u64) as usize;
            times.swap(i, j);
            rows.push((case, times[i], names[rng.below(8) as usize]));
        }
    }
    // The regression case of the issue: catalog → cart → catalog → catalog → cart →
    // delivery_choice → delivery_courier → payment_choice (A B A A B C X D), level 3 in
    // ClickHouse under strict_order.
    let case = i64::from(CASES);
    for (t, e) in ["A", "B", "A", "A", "B", "C", "X", "D"].iter().enumerate() {
        rows.push((case, 10 + t as i64, e));
    }
    rows
}

/// (name, ClickHouse expression, segmint expression) of every function and mode compared.
fn expressions() -> Vec<(String, String, String)> {
    let steps = "e = 'A', e = 'B', e = 'C', e = 'D'";
    let mut out = Vec::new();
    for modes in [
        "",
        "strict_order",
        "strict_deduplication",
        "strict_increase",
        "strict_order,allow_reentry",
        "strict_order,strict_deduplication",
        "strict_order,strict_increase,strict_deduplication",
    ] {
        let params: String = modes
            .split(',')
            .filter(|m| !m.is_empty())
            .map(|m| format!(", '{m}'"))
            .collect();
        out.push((
            format!("window_funnel[{modes}]"),
            format!("windowFunnel({WINDOW}{params})(ts, {steps})"),
            format!("window_funnel({WINDOW}, '{modes}', ts, {steps})"),
        ));
    }
    out.push((
        "retention".into(),
        "retention(e = 'A', e = 'B', e = 'C')".into(),
        "retention(e = 'A', e = 'B', e = 'C')".into(),
    ));
    for pattern in [
        "(?1)(?2)",
        "(?1).*(?2)",
        "(?1).(?2)",
        "(?1)(?t<=10)(?2)",
        "(?1)(?t>5)(?2).*(?3)",
        "(?2).*(?1)(?3)",
    ] {
        for (ch, ours) in [
            ("sequenceMatch", "sequence_match"),
            ("sequenceCount", "sequence_count"),
        ] {
            out.push((
                format!("{ours}[{pattern}]"),
                format!("{ch}('{pattern}')(ts, e = 'A', e = 'B', e = 'C')"),
                format!("{ours}('{pattern}', ts, e = 'A', e = 'B', e = 'C')"),
            ));
        }
    }
    out
}

/// ClickHouse's values as segmint prints them: booleans as 0/1, arrays as `[a, b]`.
fn normalize(value: &serde_json::Value) -> String {
    match value {
        serde_json::Value::Array(items) => {
            let items: Vec<String> = items.iter().map(normalize).collect();
            format!("[{}]", items.join(", "))
        }
        serde_json::Value::Bool(b) => u8::from(*b).to_string(),
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// segmint's value of every expression for every case.
async fn segmint_results(
    rows: &[(i64, i64, &str)],
    exprs: &[(String, String, String)],
) -> BTreeMap<String, BTreeMap<String, String>> {
    let schema = Arc::new(Schema::new(vec![
        Field::new("cid", DataType::Int64, false),
        Field::new("ts", DataType::Int64, false),
        Field::new("e", DataType::Utf8, false),
    ]));
    let batch = RecordBatch::try_new(
        schema.clone(),
        vec![
            Arc::new(Int64Array::from_iter_values(rows.iter().map(|r| r.0))),
            Arc::new(Int64Array::from_iter_values(rows.iter().map(|r| r.1))),
            Arc::new(StringArray::from_iter_values(rows.iter().map(|r| r.2))),
        ],
    )
    .unwrap();
    // Three partitions, so partial states are built and merged.
    let third = batch.num_rows() / 3;
    let parts = vec![
        vec![batch.slice(0, third)],
        vec![batch.slice(third, third)],
        vec![batch.slice(2 * third, batch.num_rows() - 2 * third)],
    ];
    let ctx = session(4);
    ctx.register_table(
        "events",
        Arc::new(MemTable::try_new(schema, parts).unwrap()),
    )
    .unwrap();
    let mut out = BTreeMap::new();
    for (name, _, ours) in exprs {
        let sql = format!("SELECT cid, {ours} AS v FROM events GROUP BY cid");
        let batches = ctx.sql(&sql).await.unwrap().collect().await.unwrap();
        let mut values = BTreeMap::new();
        let options = FormatOptions::default().with_null("NULL");
        for b in &batches {
            let cases = b.column(0).as_any().downcast_ref::<Int64Array>().unwrap();
            let v = b.column(1);
            let v = if v.data_type() == &DataType::Boolean {
                datafusion::arrow::compute::cast(v, &DataType::UInt8).unwrap()
            } else {
                v.clone()
            };
            let shown = ArrayFormatter::try_new(v.as_ref(), &options).unwrap();
            for r in 0..b.num_rows() {
                values.insert(cases.value(r).to_string(), shown.value(r).to_string());
            }
        }
        out.insert(name.clone(), values);
    }
    out
}

#[tokio::test(flavor = "multi_thread")]
async fn funnels_retention_and_sequences_agree_with_embedded_clickhouse() {
    let rows = cases();
    let exprs = expressions();
    let dir = tempfile::tempdir().unwrap();
    let mut csv = String::from("cid,ts,e\n");
    for (case, ts, e) in &rows {
        writeln!(csv, "{case},{ts},{e}").unwrap();
    }
    let events = dir.path().join("events.csv");
    std::fs::write(&events, csv).unwrap();
    let wanted: BTreeMap<&str, &str> = exprs
        .iter()
        .map(|(name, ch, _)| (name.as_str(), ch.as_str()))
        .collect();
    let expressions = dir.path().join("expressions.json");
    std::fs::write(&expressions, serde_json::to_string(&wanted).unwrap()).unwrap();

    let out = Command::new(python_env::python())
        .arg(python_env::script("clickhouse_oracle.py"))
        .arg(&events)
        .arg(&expressions)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "chdb: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let oracle: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let version = oracle["version"].as_str().unwrap();
    assert!(version.starts_with("26."), "ClickHouse {version}");

    let ours = segmint_results(&rows, &exprs).await;
    let mut disagreements = Vec::new();
    let mut compared = 0;
    for (name, _, _) in &exprs {
        let theirs = oracle["results"][name].as_object().unwrap();
        let mine = &ours[name];
        assert_eq!(
            theirs.len(),
            mine.len(),
            "{name}: both evaluate every non-empty case"
        );
        assert!(
            theirs.len() as u32 >= CASES * 9 / 10,
            "{name}: {} cases",
            theirs.len()
        );
        // The cases exercise the function: several different answers.
        let distinct: std::collections::BTreeSet<String> = theirs.values().map(normalize).collect();
        assert!(distinct.len() >= 2, "{name}: always {distinct:?}");
        compared += theirs.len();
        for (case, value) in theirs {
            let expected = normalize(value);
            if mine.get(case) != Some(&expected) {
                let events: Vec<String> = rows
                    .iter()
                    .filter(|r| r.0.to_string() == *case)
                    .map(|r| format!("{}@{}", r.2, r.1))
                    .collect();
                disagreements.push(format!(
                    "{name} case {case} [{}]: ClickHouse {expected}, segmint {:?}",
                    events.join(" "),
                    mine.get(case)
                ));
            }
        }
    }
    eprintln!(
        "{compared} values of {} expressions compared with ClickHouse {version}",
        exprs.len()
    );
    assert!(
        disagreements.is_empty(),
        "{} disagreement(s) with ClickHouse {version}:\n{}",
        disagreements.len(),
        disagreements
            .iter()
            .take(20)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n")
    );
    let regression = ours["window_funnel[strict_order]"][&CASES.to_string()].clone();
    assert_eq!(
        regression, "3",
        "the issue's clickstream under strict_order"
    );
}
