//! Bounded memory: the shipped library under `--memory-limit` spills and still commits
//! exactly the members of an unbounded run; a limit it cannot fit in exits 6 and commits
//! nothing; the summary reports the limit, the peak and the spills.

use std::path::Path;

use segmint_tests::delta_reader::{blocking, members_at};

use crate::exit_codes::segmint;

const AS_OF: &str = "2026-11-22";

fn summary(out: &std::process::Output) -> serde_json::Value {
    serde_json::from_str(crate::succeeded(out).trim()).unwrap()
}

/// The demo project reading `lake`, writing to `output`, as `<output>.yaml`.
fn project(d: &Path, output: &str) -> String {
    let file = format!("{output}.yaml");
    std::fs::write(
        d.join(&file),
        segmint_lakegen::demo::project_yaml_at("lake", output, "segments"),
    )
    .unwrap();
    file
}

#[test]
fn a_limited_run_spills_and_commits_the_same_members() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    crate::succeeded(&segmint(
        d,
        &["generate-lake", "--out", "lake", "--users", "20000"],
    ));
    segmint_lakegen::demo::write_demo_project(d).unwrap();

    let free = summary(&segmint(
        d,
        &["-p", &project(d, "free"), "run", "--as-of", AS_OF, "--json"],
    ));
    let peak = free["memory"]["peak_bytes"].as_u64().unwrap();
    assert!(peak > 5_000_000, "{:#}", free["memory"]);
    assert_eq!(free["memory"]["limit_bytes"], serde_json::Value::Null);
    assert_eq!(free["memory"]["spills"], 0);

    // A quarter of the unbounded peak: the aggregation spills, the run goes in two steps
    // (grouped rows to a file, then the ranking windows), and the members are the same.
    // (The unbounded peak uses 32K-row batches, the limited run 1K-row batches.)
    let limit = (peak / 4).to_string();
    let limited = summary(&segmint(
        d,
        &[
            "-p",
            &project(d, "limited"),
            "--memory-limit",
            &limit,
            "run",
            "--as-of",
            AS_OF,
            "--json",
        ],
    ));
    let memory = &limited["memory"];
    assert_eq!(memory["limit_bytes"].as_u64(), Some(peak / 4));
    assert!(memory["spills"].as_u64().unwrap() > 0, "{memory:#}");
    assert!(memory["spilled_bytes"].as_u64().unwrap() > 0, "{memory:#}");
    assert!(
        memory["peak_bytes"].as_u64().unwrap() <= peak / 4,
        "{memory:#}"
    );
    let expected = blocking(members_at(&d.join("free"), None, AS_OF));
    let got = blocking(members_at(&d.join("limited"), None, AS_OF));
    assert!(expected.len() > 30);
    assert_eq!(
        got.keys().collect::<Vec<_>>(),
        expected.keys().collect::<Vec<_>>()
    );
    for (segment, members) in &expected {
        assert!(
            &got[segment] == members,
            "{segment} differs under the limit"
        );
    }

    // Far too little memory: exit 6, a message naming the limit, nothing committed.
    let out = segmint(
        d,
        &[
            "-p",
            &project(d, "starved"),
            "--memory-limit",
            "1MB",
            "run",
            "--as-of",
            AS_OF,
        ],
    );
    assert_eq!(out.status.code(), Some(6), "{}", crate::text(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("memory limit") && stderr.contains("--memory-limit"),
        "{stderr}"
    );
    assert!(
        !d.join("starved/members/_delta_log").exists(),
        "a starved run committed members"
    );

    // `memory_limit:` in segmint.yaml does the same as the flag.
    std::fs::write(
        d.join("configured.yaml"),
        format!(
            "{}memory_limit: 1MB\n",
            segmint_lakegen::demo::project_yaml_at("lake", "configured", "segments")
        ),
    )
    .unwrap();
    let out = segmint(d, &["-p", "configured.yaml", "run", "--as-of", AS_OF]);
    assert_eq!(out.status.code(), Some(6), "{}", crate::text(&out));
}
