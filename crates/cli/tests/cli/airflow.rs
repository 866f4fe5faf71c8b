//! The example Airflow DAG (`examples/airflow/`), executed by a real Airflow installed from
//! PyPI by `examples/airflow/run_example.sh`: two consecutive days and a re-run of the
//! first, each an `airflow dags test` that runs the built `segmint` binary. The committed
//! outputs are checked after each.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

use segmint_tests::delta_reader::{blocking, latest_run, members_at};

/// The members of a segment committed at an as-of (delta-rs's own reader).
fn members(dir: &Path, as_of: &str, segment: &str) -> BTreeSet<String> {
    blocking(members_at(&dir.join("out"), None, as_of))
        .remove(segment)
        .unwrap_or_default()
        .into_keys()
        .collect()
}

/// The latest committed run of an as-of.
fn run_of(dir: &Path, as_of: &str) -> serde_json::Value {
    blocking(latest_run(&dir.join("out"), as_of)).unwrap_or_else(|| panic!("no run of {as_of}"))
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
    let first = run_of(d, "2026-11-21");
    let first_members: Vec<BTreeSet<String>> = checked
        .iter()
        .map(|s| members(d, "2026-11-21", s))
        .collect();
    dags_test(d, "2026-11-22");
    let summary = run_of(d, "2026-11-22");
    assert_eq!(summary["previous_as_of"], "2026-11-21");
    assert!(summary["segments"]["heavy_users"]["size"].as_u64().unwrap() > 0);

    // Clearing and re-running the first day replaces it with the same members.
    dags_test(d, "2026-11-21");
    let rerun = run_of(d, "2026-11-21");
    assert_ne!(rerun["run_id"], first["run_id"]);
    for (segment, before) in checked.iter().zip(&first_members) {
        assert_eq!(before, &members(d, "2026-11-21", segment), "{segment}");
        assert!(!before.is_empty(), "{segment}");
    }
    let runs = blocking(segmint_tests::delta_reader::runs(&d.join("out")));
    assert_eq!(runs.len(), 3, "three committed runs: {runs:?}");
}
