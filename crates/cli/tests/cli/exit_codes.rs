//! The built `segmint` binary: exit codes, `--json` and `--error-format json`.

use std::path::Path;
use std::process::{Command, Output};

pub fn segmint(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_segmint"))
        .current_dir(dir)
        .args(args)
        .output()
        .unwrap()
}

/// The latest committed run of an as-of of the demo project in `d`.
fn committed(d: &Path, as_of: &str) -> Option<serde_json::Value> {
    use segmint_tests::delta_reader::{blocking, latest_run};
    blocking(latest_run(&d.join("demo/out"), as_of))
}

/// `segmint generate-lake` into `d/lake`: 200 users, 30 days.
pub fn generate_small_lake(d: &Path) {
    generate_small_lake_with(d, &[]);
}

/// [`generate_small_lake`] with more `generate-lake` flags (e.g. `--identities`).
pub fn generate_small_lake_with(d: &Path, flags: &[&str]) {
    let mut args = vec![
        "generate-lake",
        "--out",
        "lake",
        "--users",
        "200",
        "--days",
        "30",
    ];
    args.extend(flags);
    crate::succeeded(&segmint(d, &args));
}

#[test]
fn exit_codes_and_json_summary() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // demo: generate, run the library, print sizes.
    let out = segmint(d, &["demo", "--dir", "demo", "--users", "300"]);
    crate::succeeded(&out);
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
    crate::succeeded(&out);
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert_eq!(stdout.lines().count(), 1, "{stdout}");
    let json: serde_json::Value = serde_json::from_str(stdout.trim()).unwrap();
    assert_eq!(json["status"], "ok");
    assert_eq!(json["as_of"], "2026-11-15");
    assert!(json["segments"]["heavy_users"]["size"].as_u64().unwrap() > 0);
    assert!(committed(d, "2026-11-15").is_some());

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
    crate::succeeded(&out);
    let plan = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        plan.lines()
            .filter(|l| l.contains("DataSourceExec") && l.contains("lake/events"))
            .count(),
        1,
        "{plan}"
    );

    // compile --emit analyze runs the plan the run executes (the entity aggregation in one
    // stage) and shows each operator's metrics; it commits nothing.
    let out = segmint(
        d,
        &[
            "-p",
            "demo/segmint.yaml",
            "compile",
            "--as-of",
            "2026-11-20",
            "--emit",
            "analyze",
        ],
    );
    crate::succeeded(&out);
    let analyzed = String::from_utf8_lossy(&out.stdout);
    let aggregate = analyzed
        .lines()
        .find(|l| l.contains("AggregateExec") && l.contains("mode=Single"))
        .unwrap_or_else(|| panic!("{analyzed}"));
    assert!(
        aggregate.contains("output_rows=") && aggregate.contains("elapsed_compute="),
        "{aggregate}"
    );
    assert!(
        committed(d, "2026-11-20").is_none(),
        "analyze committed a run"
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
    crate::succeeded(&out);
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
    assert!(committed(d, "2026-11-15").is_some());
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

/// A generated lake with the demo project file and one deliberately broken segment file.
fn sql_project(d: &Path) {
    generate_small_lake(d);
    segmint_lakegen::demo::write_project(d, "segments").unwrap();
    std::fs::create_dir_all(d.join("segments")).unwrap();
    // `sql` must not read segment files: a spec being edited does not block it.
    std::fs::write(d.join("segments/broken.yaml"), "segment: [unclosed\n").unwrap();
}

const FUNNEL: &str = "SELECT user_id, window_funnel(INTERVAL '1 day', '', event_time, \
    event_name = 'product_view', event_name = 'add_to_cart', event_name = 'purchase') AS steps \
    FROM events GROUP BY user_id ORDER BY user_id";

#[test]
fn sql_runs_functions_over_the_lake() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    sql_project(d);

    // A table: the events and profiles tables are registered.
    let out = segmint(
        d,
        &[
            "sql",
            "SELECT count(*) AS n, count(DISTINCT user_id) AS users FROM events",
        ],
    );
    crate::succeeded(&out);
    let table = String::from_utf8(out.stdout).unwrap();
    assert!(table.contains("| n ") && table.contains("users"), "{table}");
    let out = segmint(d, &["sql", "SELECT count(*) AS n FROM profiles"]);
    let table = String::from_utf8(out.stdout).unwrap();
    assert!(table.contains("| 200 "), "{table}");

    // CSV: a header and one row per user, steps 0..=3, and someone bought within a day.
    let out = segmint(d, &["sql", "--format", "csv", FUNNEL]);
    crate::succeeded(&out);
    let csv = String::from_utf8(out.stdout).unwrap();
    let mut lines = csv.lines();
    assert_eq!(lines.next(), Some("user_id,steps"));
    let steps: Vec<u8> = lines
        .map(|l| l.rsplit(',').next().unwrap().parse().unwrap())
        .collect();
    assert!(steps.len() > 100, "{csv}");
    assert!(steps.iter().all(|s| *s <= 3));
    assert!(steps.contains(&3) && steps.contains(&0), "{steps:?}");

    // JSON lines from a file, with the same answer.
    std::fs::write(d.join("funnel.sql"), FUNNEL).unwrap();
    let out = segmint(d, &["sql", "--file", "funnel.sql", "--format", "json"]);
    crate::succeeded(&out);
    let json_steps: Vec<u8> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| {
            let row: serde_json::Value = serde_json::from_str(l).unwrap();
            row["steps"].as_u64().unwrap() as u8
        })
        .collect();
    assert_eq!(json_steps, steps);

    // Mistakes in the query are usage errors (exit 2) that say what is wrong.
    let out = segmint(d, &["sql", "SELECT no_such_column FROM events"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no_such_column"));
    let out = segmint(
        d,
        &[
            "sql",
            "SELECT window_funnel(3600, '', event_time, event_name) FROM events",
        ],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("must be BOOLEAN"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = segmint(
        d,
        &[
            "sql",
            "--format",
            "csv",
            "SELECT session_stats(event_time, 1800) AS s FROM events",
        ],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("`s`"));
    let out = segmint(d, &["sql"]);
    assert_eq!(out.status.code(), Some(2), "a query or --file is required");
}

/// `demo` shows every shipped segment with a non-zero size, and `preview` explains a member
/// of each: its row shows the value of every leaf that put it there.
#[test]
fn demo_sizes_are_non_zero_and_preview_explains_every_segment() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let out = segmint(d, &["demo", "--dir", "demo", "--users", "400"]);
    crate::succeeded(&out);
    let text = String::from_utf8(out.stdout).unwrap();
    let rows: Vec<(String, u64)> = text
        .lines()
        .skip_while(|l| !l.starts_with("segment "))
        .skip(1)
        .take_while(|l| !l.starts_with("as-of "))
        .map(|l| {
            let mut cols = l.split_whitespace();
            let name = cols.next().unwrap().to_string();
            (name, cols.next().unwrap().parse().unwrap())
        })
        .collect();
    let shipped = std::fs::read_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../segments"))
        .unwrap()
        .count();
    // The shipped library, and `likely_buyers` once the demo trained its model.
    assert_eq!(rows.len(), shipped + 1, "{text}");
    assert!(
        rows.iter().any(|(name, _)| name == "likely_buyers"),
        "{text}"
    );
    assert!(
        text.contains("archetype_1") && text.contains("AUC"),
        "{text}"
    );
    for (name, size) in &rows {
        assert!(*size > 0, "segment {name} is empty in the demo:\n{text}");
    }
    for (name, _) in &rows {
        let out = segmint(
            d,
            &[
                "-p",
                "demo/segmint.yaml",
                "preview",
                name,
                "--as-of",
                "2026-11-22",
                "--limit",
                "1",
            ],
        );
        crate::succeeded(&out);
        let shown = String::from_utf8(out.stdout).unwrap();
        let size: u64 = shown
            .split_whitespace()
            .nth(2)
            .and_then(|n| n.parse().ok())
            .unwrap_or(0);
        assert!(size > 0, "{shown}");
        // The leaves are listed, and the member's row holds a value for each of them.
        assert!(
            shown.contains("leaves:") && shown.contains("leaf_0"),
            "{shown}"
        );
        let header = shown.lines().find(|l| l.contains("| entity")).unwrap();
        let member = shown
            .lines()
            .skip_while(|l| !l.contains("| entity"))
            .nth(2)
            .unwrap();
        assert_eq!(header.matches('|').count(), member.matches('|').count());
        assert!(member.starts_with("| ") && member.len() > 10, "{shown}");
    }
}
