//! The built `segmint` binary: exit codes, `--json` and `--error-format json`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::process::{Command, Output};

fn segmint(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_segmint"))
        .current_dir(dir)
        .args(args)
        .output()
        .unwrap()
}

#[test]
fn exit_codes_and_json_summary() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // demo: generate, run the library, print sizes.
    let out = segmint(d, &["demo", "--dir", "demo", "--users", "300"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("heavy_users") && text.contains("engagement_tiers"),
        "{text}"
    );

    // run --json: exactly one JSON line on stdout.
    let out = segmint(
        d,
        &[
            "-p",
            "demo/segmint.yaml",
            "run",
            "--as-of",
            "2026-11-15",
            "--json",
        ],
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert_eq!(stdout.lines().count(), 1, "{stdout}");
    let json: serde_json::Value = serde_json::from_str(stdout.trim()).unwrap();
    assert_eq!(json["status"], "ok");
    assert_eq!(json["as_of"], "2026-11-15");
    assert!(json["segments"]["heavy_users"]["size"].as_u64().unwrap() > 0);
    assert!(
        d.join("demo/out/runs/as_of=2026-11-15/_MANIFEST.json")
            .is_file()
    );

    // validate ok.
    let out = segmint(d, &["-p", "demo/segmint.yaml", "validate"]);
    assert_eq!(out.status.code(), Some(0));

    // compile --emit physical shows one events scan.
    let out = segmint(
        d,
        &[
            "-p",
            "demo/segmint.yaml",
            "compile",
            "--as-of",
            "2026-11-22",
            "--emit",
            "physical",
        ],
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let plan = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        plan.lines()
            .filter(|l| l.contains("DataSourceExec") && l.contains("lake/events"))
            .count(),
        1,
        "{plan}"
    );

    // preview shows leaf values.
    let out = segmint(
        d,
        &[
            "-p",
            "demo/segmint.yaml",
            "preview",
            "silent_friction",
            "--as-of",
            "2026-11-22",
            "--limit",
            "3",
        ],
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("leaf_0") && text.contains("count(error)"),
        "{text}"
    );

    // 2: invalid spec, as JSON diagnostics on stderr.
    std::fs::write(
        d.join("demo/segments/zz_bad.yaml"),
        "segment: bad\nwhere:\n  performed: {within: 30days}\n",
    )
    .unwrap();
    let out = segmint(
        d,
        &[
            "-p",
            "demo/segmint.yaml",
            "--error-format",
            "json",
            "run",
            "--as-of",
            "2026-11-22",
        ],
    );
    assert_eq!(out.status.code(), Some(2));
    let err: serde_json::Value = serde_json::from_slice(&out.stderr).unwrap();
    assert_eq!(err["diagnostics"][0]["code"], "SM014");
    assert_eq!(err["diagnostics"][0]["line"], 3);
    std::fs::remove_file(d.join("demo/segments/zz_bad.yaml")).unwrap();

    // 2: unknown segment on the command line; usage errors from clap too.
    let out = segmint(
        d,
        &[
            "-p",
            "demo/segmint.yaml",
            "run",
            "--as-of",
            "2026-11-22",
            "--segment",
            "nope",
        ],
    );
    assert_eq!(out.status.code(), Some(2));
    let out = segmint(d, &["run", "--as-of", "not-a-date"]);
    assert_eq!(out.status.code(), Some(2));

    // 3: the lake is missing; the previous committed result stays.
    std::fs::rename(d.join("demo/lake/events"), d.join("demo/lake/events.moved")).unwrap();
    let out = segmint(
        d,
        &["-p", "demo/segmint.yaml", "run", "--as-of", "2026-11-15"],
    );
    assert_eq!(out.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&out.stderr).contains("lake/events"));
    assert!(
        d.join("demo/out/runs/as_of=2026-11-15/_MANIFEST.json")
            .is_file()
    );
    std::fs::rename(d.join("demo/lake/events.moved"), d.join("demo/lake/events")).unwrap();

    // 3: a corrupt Parquet object is named.
    let day = d.join("demo/lake/events/date=2026-11-20/part-0.parquet");
    std::fs::write(&day, b"not parquet at all").unwrap();
    let out = segmint(
        d,
        &["-p", "demo/segmint.yaml", "run", "--as-of", "2026-11-22"],
    );
    assert_eq!(
        out.status.code(),
        Some(3),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
