//! The output tables read by an independent reader: the Python `deltalake` package from
//! PyPI (installed by the test setup). After two as-ofs and a re-run with a changed spec it
//! sees exactly the members and sizes segmint reported, the runs table lists every run,
//! and time travel to the version before the re-run gives the previous members.

use std::path::Path;
use std::process::Command;

use segmint_tests::delta_reader::{blocking, members_at};
use segmint_tests::python_env;

use crate::exit_codes::{generate_small_lake, segmint};

/// What the Python reader sees at `out` (a folder or an `s3://` URL, with `env` for its
/// credentials), at the members table's `version` if given; `--check-versions` adds the
/// files some version references that are gone (local outputs).
pub fn python_view(
    out: &str,
    version: Option<i64>,
    check_versions: bool,
    env: &[(String, String)],
) -> serde_json::Value {
    let mut command = Command::new(python_env::python());
    command.arg(python_env::script("read_delta.py")).arg(out);
    if let Some(v) = version {
        command.arg("--version").arg(v.to_string());
    }
    if check_versions {
        command.arg("--check-versions");
    }
    command.envs(env.iter().map(|(k, v)| (k, v)));
    let result = command.output().unwrap();
    assert!(
        result.status.success(),
        "{}",
        String::from_utf8_lossy(&result.stderr)
    );
    serde_json::from_slice(&result.stdout).unwrap()
}

fn run(d: &Path, as_of: &str) -> serde_json::Value {
    let out = segmint(d, &["run", "--as-of", as_of, "--json"]);
    serde_json::from_str(crate::succeeded(&out).trim()).unwrap()
}

/// Sizes per segment that the reader sees at an as-of.
pub fn sizes(view: &serde_json::Value, as_of: &str) -> serde_json::Map<String, serde_json::Value> {
    view["members"][as_of]
        .as_object()
        .map(|segments| {
            segments
                .iter()
                .map(|(s, m)| (s.clone(), m.as_array().unwrap().len().into()))
                .collect()
        })
        .unwrap_or_default()
}

/// Sizes per segment of a run summary, leaving out empty segments (they have no rows).
pub fn reported(summary: &serde_json::Value) -> serde_json::Map<String, serde_json::Value> {
    summary["segments"]
        .as_object()
        .unwrap()
        .iter()
        .filter(|(_, s)| s["size"].as_u64() != Some(0))
        .map(|(name, s)| (name.clone(), s["size"].clone()))
        .collect()
}

#[test]
fn an_independent_reader_sees_the_committed_members_sizes_and_history() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    generate_small_lake(d);
    let shipped = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../segments");
    std::fs::create_dir_all(d.join("segments")).unwrap();
    for entry in std::fs::read_dir(shipped).unwrap() {
        let path = entry.unwrap().path();
        std::fs::copy(&path, d.join("segments").join(path.file_name().unwrap())).unwrap();
    }
    segmint_lakegen::demo::write_project(d, "segments").unwrap();

    let first = run(d, "2026-11-21");
    let second = run(d, "2026-11-22");
    // Re-run the second day with a changed spec: fewer heavy users.
    let heavy = d.join("segments/heavy_users.yaml");
    let text = std::fs::read_to_string(&heavy).unwrap();
    std::fs::write(&heavy, text.replace("value: {gte: 20}", "value: {gte: 24}")).unwrap();
    let rerun = run(d, "2026-11-22");
    let (before, after) = (
        second["segments"]["heavy_users"]["size"].as_u64().unwrap(),
        rerun["segments"]["heavy_users"]["size"].as_u64().unwrap(),
    );
    assert!(after < before, "the changed spec changed the members");

    let out = d.join("out");
    let location = out.display().to_string();
    let view = python_view(&location, None, true, &[]);
    assert_eq!(view["missing"], serde_json::json!([]));
    assert_eq!(sizes(&view, "2026-11-21"), reported(&first));
    assert_eq!(sizes(&view, "2026-11-22"), reported(&rerun));
    // delta-rs's Rust reader sees the same entities.
    let rust = blocking(members_at(&out, None, "2026-11-22"));
    for (segment, entities) in view["members"]["2026-11-22"].as_object().unwrap() {
        let python: Vec<&str> = entities
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e.as_str().unwrap())
            .collect();
        let rust: Vec<&str> = rust[segment].keys().map(String::as_str).collect();
        assert_eq!(python, rust, "{segment}");
    }
    // The runs table holds every run, with the sizes segmint reported.
    let runs = view["runs"].as_array().unwrap();
    assert_eq!(runs.len(), 3);
    for (row, summary) in runs.iter().zip([&first, &second, &rerun]) {
        assert_eq!(row["run_id"], summary["run_id"]);
        assert_eq!(row["members_version"], summary["table_version"]);
        for (segment, size) in summary["segments"].as_object().unwrap() {
            assert_eq!(row["sizes"][segment], size["size"], "{segment}");
        }
    }
    assert!(
        view["columns"]
            .as_array()
            .unwrap()
            .contains(&"heavy_users__active_days_28d".into())
    );

    // Time travel: the version before the re-run holds the second run's members.
    let previous = rerun["table_version"].as_i64().unwrap() - 1;
    let old = python_view(&location, Some(previous), false, &[]);
    assert_eq!(old["members_version"], previous);
    assert_eq!(sizes(&old, "2026-11-22"), reported(&second));
    assert_eq!(
        old["members"]["2026-11-22"]["heavy_users"]
            .as_array()
            .unwrap()
            .len() as u64,
        before
    );
}
