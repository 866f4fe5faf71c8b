//! A run killed (SIGKILL) while it writes its members files and commits: the previous table
//! version stays intact and readable, and the next run succeeds.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::delta_tables::{python_view, reported, sizes};

const AS_OF: &str = "2026-11-21";

/// Files under the members table's folder for the as-of (in its segment partitions).
fn files(out: &Path) -> Vec<String> {
    fn walk(dir: &Path, names: &mut Vec<String>) {
        for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() {
                walk(&path, names);
            } else {
                names.push(path.display().to_string());
            }
        }
    }
    let mut names = Vec::new();
    walk(&out.join(format!("members/as_of={AS_OF}")), &mut names);
    names.sort();
    names
}

#[test]
fn a_run_killed_while_committing_leaves_the_previous_version_intact() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    crate::exit_codes::generate_small_lake(d);
    let segments = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../segments");
    segmint_lakegen::demo::write_project(d, &segments.display().to_string()).unwrap();
    let first = crate::exit_codes::segmint(d, &["run", "--as-of", AS_OF, "--json"]);
    let first: serde_json::Value = serde_json::from_str(crate::succeeded(&first).trim()).unwrap();
    let out = d.join("out");
    let location = out.display().to_string();

    let mut killed_before_commit = 0;
    for attempt in 0..5 {
        let before = python_view(&location, None, false, &[]);
        let known = files(&out);
        let mut child = Command::new(env!("CARGO_BIN_EXE_segmint"))
            .current_dir(d)
            .args(["run", "--as-of", AS_OF, "--json"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        // Kill it as soon as it has begun writing this as-of's files (the commit phase).
        let started = Instant::now();
        while files(&out) == known && started.elapsed() < Duration::from_secs(60) {
            std::thread::sleep(Duration::from_millis(1));
        }
        child.kill().unwrap();
        child.wait().unwrap();

        let after = python_view(&location, None, true, &[]);
        assert_eq!(after["missing"], serde_json::json!([]), "attempt {attempt}");
        if after["members_version"] == before["members_version"] {
            killed_before_commit += 1;
            // Nothing committed: readers see exactly what they saw before.
            assert_eq!(after["members"], before["members"], "attempt {attempt}");
            assert_eq!(after["runs"], before["runs"], "attempt {attempt}");
        } else {
            // The commit landed before the signal: it is complete.
            assert_eq!(sizes(&after, AS_OF), reported(&first), "attempt {attempt}");
        }
        assert_eq!(sizes(&after, AS_OF), reported(&first), "attempt {attempt}");
    }
    assert!(killed_before_commit > 0, "no kill landed before a commit");

    // The next run succeeds, and a vacuum removes nothing the current version needs (the
    // reader reads every current file; older versions may lose theirs: that is a vacuum).
    let next = crate::exit_codes::segmint(d, &["run", "--as-of", AS_OF, "--json"]);
    crate::succeeded(&next);
    crate::succeeded(&crate::exit_codes::segmint(
        d,
        &["gc", "--retention", "0", "--json"],
    ));
    let last = python_view(&location, None, false, &[]);
    assert_eq!(sizes(&last, AS_OF), reported(&first));
}
