//! The example Airflow DAG (`examples/airflow/`), executed by a real Airflow installed from
//! PyPI by `examples/airflow/run_example.sh`: two consecutive days and a re-run of the
//! first, each an `airflow dags test` that runs the built `segmint` binary. The committed
//! outputs are checked after each.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

fn manifest(dir: &Path, as_of: &str) -> serde_json::Value {
    let path = dir.join(format!("out/runs/as_of={as_of}/_MANIFEST.json"));
    serde_json::from_slice(&std::fs::read(&path).unwrap_or_else(|e| panic!("{path:?}: {e}")))
        .unwrap()
}

fn members(dir: &Path, manifest: &serde_json::Value, segment: &str) -> BTreeSet<String> {
    use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
    let file = manifest["members"][segment].as_str().unwrap();
    let reader = ParquetRecordBatchReaderBuilder::try_new(
        std::fs::File::open(dir.join("out").join(file)).unwrap(),
    )
    .unwrap()
    .build()
    .unwrap();
    let mut out = BTreeSet::new();
    for batch in reader {
        let batch = batch.unwrap();
        let entity = batch
            .column(0)
            .as_any()
            .downcast_ref::<datafusion::arrow::array::StringArray>()
            .unwrap();
        out.extend(entity.iter().flatten().map(str::to_string));
    }
    out
}

fn dags_test(dir: &Path, day: &str) {
    let script =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/airflow/run_example.sh");
    let out = Command::new("bash")
        .arg(script)
        .arg(dir.join("segmint.yaml"))
        .arg(env!("CARGO_BIN_EXE_segmint"))
        .arg(day)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "airflow dags test {day} failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn the_example_dag_runs_two_days_and_a_rerun_in_airflow() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    crate::exit_codes::generate_small_lake(d);
    let segments = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../segments");
    segmint_lakegen::demo::write_project(d, &segments.display().to_string()).unwrap();

    let checked = ["heavy_users", "cart_abandoners", "engagement_tiers"];
    dags_test(d, "2026-11-21");
    let first = manifest(d, "2026-11-21");
    let first_members: Vec<BTreeSet<String>> =
        checked.iter().map(|s| members(d, &first, s)).collect();
    dags_test(d, "2026-11-22");
    let second = manifest(d, "2026-11-22");
    let summary: serde_json::Value = serde_json::from_slice(
        &std::fs::read(d.join("out").join(second["summary"].as_str().unwrap())).unwrap(),
    )
    .unwrap();
    assert_eq!(summary["previous_as_of"], "2026-11-21");
    assert!(summary["segments"]["heavy_users"]["size"].as_u64().unwrap() > 0);

    // Clearing and re-running the first day replaces it with the same members.
    dags_test(d, "2026-11-21");
    let rerun = manifest(d, "2026-11-21");
    assert_ne!(rerun["run_id"], first["run_id"]);
    for (segment, before) in checked.iter().zip(&first_members) {
        assert_eq!(before, &members(d, &rerun, segment), "{segment}");
        assert!(!before.is_empty(), "{segment}");
    }
    let runs = std::fs::read_dir(d.join("out/members/as_of=2026-11-21"))
        .unwrap()
        .count();
    assert_eq!(runs, 1, "the superseded run was removed");
}
