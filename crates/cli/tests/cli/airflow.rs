//! The example Airflow DAG (`examples/airflow/`), executed by a real Airflow installed from
//! PyPI by `examples/airflow/run_example.sh`: two consecutive days and a re-run of the
//! first, each an `airflow dags test` that runs the built `segmint` binary — `run` then
//! `sync` to a files destination. The committed outputs and the delivered files are
//! checked after each.

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

/// The entities of the JSONL member list the `audience` destination got for an as-of.
fn delivered(dir: &Path, as_of: &str, segment: &str) -> BTreeSet<String> {
    let file = dir.join(format!(
        "exports/audience/{segment}/as_of={as_of}/members.jsonl"
    ));
    std::fs::read_to_string(&file)
        .unwrap_or_else(|e| panic!("{}: {e}", file.display()))
        .lines()
        .map(|line| {
            let row: serde_json::Value = serde_json::from_str(line).unwrap();
            row["entity"].as_str().unwrap().to_string()
        })
        .collect()
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
    let project = segmint_lakegen::demo::write_project(d, &segments.display().to_string()).unwrap();
    let mut yaml = std::fs::read_to_string(&project).unwrap();
    yaml.push_str(
        "destinations:\n  audience:\n    files: {location: exports, format: jsonl, mode: full}\n    segments: [heavy_users, cart_abandoners]\n",
    );
    std::fs::write(&project, yaml).unwrap();

    let checked = ["heavy_users", "cart_abandoners", "engagement_tiers"];
    dags_test(d, "2026-11-21");
    let first = run_of(d, "2026-11-21");
    let first_members: Vec<BTreeSet<String>> = checked
        .iter()
        .map(|s| members(d, "2026-11-21", s))
        .collect();
    for segment in ["heavy_users", "cart_abandoners"] {
        assert_eq!(
            delivered(d, "2026-11-21", segment),
            members(d, "2026-11-21", segment)
        );
    }
    dags_test(d, "2026-11-22");
    for segment in ["heavy_users", "cart_abandoners"] {
        assert_eq!(
            delivered(d, "2026-11-22", segment),
            members(d, "2026-11-22", segment)
        );
    }
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
    // The destination already holds 11-22: the re-run's sync sends nothing back in time.
    assert_eq!(delivered(d, "2026-11-21", "heavy_users"), first_members[0]);
    let runs = blocking(segmint_tests::delta_reader::runs(&d.join("out")));
    assert_eq!(runs.len(), 3, "three committed runs: {runs:?}");
}
