//! Lakes and outputs on a real S3-protocol server (see `s3_server.rs`), driven through the
//! `segmint` binary the way a scheduler does: the run / diff / gc cycle, backfills, the
//! `--max-change` guard, partition pruning as the server sees it, and every failure mode —
//! each with its exit code, a cause naming the object or column, no secret anywhere, and the
//! previous committed result intact.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::{Command, Output};
use std::sync::Arc;

use object_store::ObjectStoreExt;
use object_store::path::Path as ObjectPath;

use segmint_tests::delta_reader::{query_on, strings, table_on};

use crate::s3_server::{ACCESS_KEY, BUCKET, S3Server, SECRET_KEY};
use crate::text;

const AS_OF_1: &str = "2026-11-20";
const AS_OF_2: &str = "2026-11-21";
const AS_OF_3: &str = "2026-11-22";

/// Run the binary in `dir` with the server's credentials in the environment.
pub(crate) fn segmint(
    server: &S3Server,
    dir: &Path,
    args: &[&str],
    extra_env: &[(&str, &str)],
) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_segmint"));
    cmd.current_dir(dir).args(args);
    for (k, v) in server.env() {
        cmd.env(k, v);
    }
    for (k, v) in extra_env {
        cmd.env(k, v);
    }
    cmd.output().unwrap()
}

/// A lake of `users` users and 40 days generated in `dir/local-lake` and uploaded to
/// `s3://segmint/lake/`.
pub(crate) fn upload_generated_lake(server: &S3Server, dir: &Path, users: &str) {
    let out = Command::new(env!("CARGO_BIN_EXE_segmint"))
        .current_dir(dir)
        .args([
            "generate-lake",
            "--out",
            "local-lake",
            "--users",
            users,
            "--days",
            "40",
        ])
        .output()
        .unwrap();
    crate::succeeded(&out);
    server.upload(&dir.join("local-lake"), "lake");
}

/// A generated lake uploaded to `s3://segmint/lake/`, and a project reading it with the
/// shipped library (or `segments`, when given) and writing to `s3://segmint/out/`.
fn s3_project(server: &S3Server, dir: &Path, users: &str, segments: Option<&str>) {
    upload_generated_lake(server, dir, users);
    let segments = match segments {
        Some(s) => s.to_string(),
        None => Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../segments")
            .display()
            .to_string(),
    };
    let project = segmint_lakegen::demo::project_yaml_at(
        &format!("s3://{BUCKET}/lake"),
        &format!("s3://{BUCKET}/out"),
        &segments,
    );
    std::fs::write(
        dir.join("segmint.yaml"),
        format!("{project}storage:\n  retries: 1\n  timeout_seconds: 10\n"),
    )
    .unwrap();
}

/// The committed runs on the server (the runs table's summaries), oldest first.
fn runs(server: &S3Server) -> Vec<serde_json::Value> {
    let store = Arc::new(server.client());
    let batches = server.block_on(query_on(
        store,
        &format!("s3://{BUCKET}/out/runs/"),
        None,
        "SELECT summary FROM t ORDER BY committed_at",
    ));
    strings(&batches, 0)
        .into_iter()
        .map(|s| serde_json::from_str(&s.unwrap()).unwrap())
        .collect()
}

/// The latest committed run of an as-of on the server.
fn latest_run(server: &S3Server, as_of: &str) -> Option<serde_json::Value> {
    runs(server).into_iter().rev().find(|r| r["as_of"] == as_of)
}

/// The members table's current files (paths relative to the table) on the server.
fn active_files(server: &S3Server) -> Vec<String> {
    let store = Arc::new(server.client());
    let table = server.block_on(table_on(
        store,
        &format!("s3://{BUCKET}/out/members/"),
        None,
    ));
    table
        .snapshot()
        .unwrap()
        .log_data()
        .iter()
        .map(|f| f.object_store_path().to_string())
        .collect()
}

/// Every file the members table's current version reads is on the server.
fn no_file_missing(server: &S3Server) {
    let all = keys(server, "out/members");
    for file in active_files(server) {
        assert!(
            all.contains(&format!("out/members/{file}")),
            "the current version needs out/members/{file}, which is gone"
        );
    }
}

/// Every object key under a prefix.
pub(crate) fn keys(server: &S3Server, prefix: &str) -> BTreeSet<String> {
    use futures::TryStreamExt;
    let client = server.client();
    server.block_on(async {
        object_store::ObjectStore::list(&client, Some(&ObjectPath::from(prefix)))
            .map_ok(|m| m.location.to_string())
            .try_collect()
            .await
            .unwrap()
    })
}

/// The one JSON line of a `--json` run.
fn json_line(out: &Output) -> serde_json::Value {
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(stdout.lines().count(), 1, "{}", text(out));
    serde_json::from_str(stdout.trim()).unwrap()
}

#[test]
fn run_diff_backfill_guard_and_gc_on_s3() {
    let server = S3Server::start();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    s3_project(&server, d, "300", None);

    // Two consecutive days, committed on the server.
    for as_of in [AS_OF_1, AS_OF_2] {
        let out = segmint(&server, d, &["run", "--as-of", as_of, "--json"], &[]);
        crate::succeeded(&out);
        let summary = json_line(&out);
        assert_eq!(summary["status"], "ok");
        assert_eq!(summary["output"], format!("s3://{BUCKET}/out"));
        assert_eq!(
            latest_run(&server, as_of).unwrap()["run_id"],
            summary["run_id"]
        );
    }
    let first = latest_run(&server, AS_OF_2).unwrap();

    // diff lists exactly the entered/exited counts of the summary.
    let out = segmint(&server, d, &["diff", "--as-of", AS_OF_2, "--json"], &[]);
    crate::succeeded(&out);
    let diff = json_line(&out);
    assert_eq!(diff["previous_as_of"], AS_OF_1);
    let mut moved = 0;
    for (name, s) in first["segments"].as_object().unwrap() {
        let entered = diff["segments"][name]["entered"].as_array().unwrap().len() as u64;
        let exited = diff["segments"][name]["exited"].as_array().unwrap().len() as u64;
        assert_eq!(Some(entered), s["entered"].as_u64(), "{name}");
        assert_eq!(Some(exited), s["exited"].as_u64(), "{name}");
        moved += entered + exited;
    }
    assert!(moved > 0, "someone moved between two days");

    // Re-running an as-of is idempotent: same members, its files replaced in one commit.
    let files_before = active_files(&server);
    let out = segmint(&server, d, &["run", "--as-of", AS_OF_2, "--json"], &[]);
    crate::succeeded(&out);
    let again = latest_run(&server, AS_OF_2).unwrap();
    assert_ne!(again["run_id"], first["run_id"]);
    let files_after = active_files(&server);
    assert_eq!(files_after.len(), files_before.len());
    assert!(
        files_after
            .iter()
            .all(|f| !files_before.contains(f) || !f.contains(&format!("as_of={AS_OF_2}"))),
        "the as-of's files were all replaced"
    );
    let out = segmint(&server, d, &["diff", "--as-of", AS_OF_2, "--json"], &[]);
    assert_eq!(json_line(&out)["segments"], diff["segments"]);

    // No credential in any object of the output (data, logs, run summaries) or the plan.
    let client = server.client();
    for key in keys(&server, "out") {
        let body = server.block_on(async {
            client
                .get(&ObjectPath::from(key.as_str()))
                .await
                .unwrap()
                .bytes()
                .await
                .unwrap()
        });
        let body = String::from_utf8_lossy(&body);
        assert!(
            !body.contains(SECRET_KEY) && !body.contains(ACCESS_KEY),
            "{key}"
        );
    }
    let out = segmint(
        &server,
        d,
        &["compile", "--as-of", AS_OF_2, "--emit", "physical"],
        &[],
    );
    crate::succeeded(&out);
    let plan = text(&out);
    assert!(
        plan.contains("DataSourceExec") && plan.contains("lake/events"),
        "{plan}"
    );
    assert!(
        !plan.contains(SECRET_KEY) && !plan.contains(ACCESS_KEY),
        "{plan}"
    );

    // A backfill over the three days resumes after the last committed one.
    let out = segmint(
        &server,
        d,
        &["run", "--from", AS_OF_1, "--to", AS_OF_3, "--json"],
        &[],
    );
    crate::succeeded(&out);
    let backfill = json_line(&out);
    assert_eq!(backfill["skipped"], serde_json::json!([AS_OF_1, AS_OF_2]));
    assert_eq!(backfill["runs"].as_array().unwrap().len(), 1);
    assert_eq!(backfill["runs"][0]["as_of"], AS_OF_3);
    let committed_3 = latest_run(&server, AS_OF_3).unwrap();

    // The guard: a tiny --max-change refuses to commit (exit 5); the committed run stays.
    let out = segmint(
        &server,
        d,
        &["run", "--as-of", AS_OF_3, "--max-change", "0.001", "--json"],
        &[],
    );
    assert_eq!(out.status.code(), Some(5), "{}", text(&out));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--max-change"));
    assert_eq!(
        latest_run(&server, AS_OF_3).unwrap()["run_id"],
        committed_3["run_id"]
    );

    // A crashed run (files written, never committed) is invisible to readers; gc removes
    // its files once they are over an hour old, and the files replaced by the re-run once
    // they are older than the retention — never a file the current version reads.
    let crashed = [
        "out/members/as_of=2026-11-19/part-00000-crashed.zstd.parquet",
        "out/members/as_of=2026-11-20/part-00000-crashed.zstd.parquet",
    ];
    let client = server.client();
    server.block_on(async {
        for key in crashed {
            client
                .put(&ObjectPath::from(key), b"partial".to_vec().into())
                .await
                .unwrap();
        }
    });
    let out = segmint(&server, d, &["diff", "--as-of", AS_OF_2, "--json"], &[]);
    assert_eq!(
        json_line(&out)["previous_as_of"],
        AS_OF_1,
        "uncommitted 2026-11-19 is not a run"
    );
    let out = segmint(&server, d, &["gc", "--retention", "24h", "--json"], &[]);
    crate::succeeded(&out);
    let kept = json_line(&out);
    assert_eq!(
        kept["removed_files"]["members"].as_array().unwrap().len(),
        0,
        "too young to collect: {kept}"
    );
    for key in crashed {
        server.backdate(key, std::time::Duration::from_secs(2 * 3600));
    }
    let out = segmint(&server, d, &["gc", "--retention", "0", "--json"], &[]);
    crate::succeeded(&out);
    let gc = json_line(&out);
    let removed: Vec<&str> = gc["removed_files"]["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    for key in crashed {
        let file = key.trim_start_matches("out/members/");
        assert!(removed.contains(&file), "{file} not removed: {gc}");
    }
    assert!(
        removed
            .iter()
            .any(|f| files_before.contains(&f.to_string())),
        "the files the re-run replaced are removed: {gc}"
    );
    no_file_missing(&server);
    for as_of in [AS_OF_1, AS_OF_2, AS_OF_3] {
        assert!(latest_run(&server, as_of).is_some());
    }
}

#[test]
fn partition_pruning_requests_only_in_window_partitions() {
    let server = S3Server::start();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::create_dir_all(d.join("segs")).unwrap();
    std::fs::write(
        d.join("segs/recent.yaml"),
        "segment: recent\nwhere:\n  performed: {within: 7d}\n",
    )
    .unwrap();
    s3_project(&server, d, "60", Some("segs"));
    server.clear_requests();
    let out = segmint(&server, d, &["run", "--as-of", AS_OF_3, "--json"], &[]);
    crate::succeeded(&out);
    // Every events object the server served lies in the window's partitions (with the one
    // day of slack on each side); nothing older was read.
    let dates: BTreeSet<String> = server
        .requests()
        .iter()
        .map(|(method, path)| (method, path.replace("%3D", "=")))
        .filter(|(method, path)| {
            (*method == "GET" || *method == "HEAD") && path.contains("/events/date=")
        })
        .filter_map(|(_, path)| {
            path.split("date=")
                .nth(1)
                .map(|p| p.chars().take(10).collect())
        })
        .collect();
    assert!(!dates.is_empty(), "{:?}", server.requests());
    assert!(dates.len() <= 9, "{dates:?}");
    assert!(
        dates.iter().all(|d| d.as_str() >= "2026-11-14"),
        "read outside the window: {dates:?}"
    );
}

#[test]
fn failures_exit_with_their_code_name_the_cause_and_leave_the_result_intact() {
    let server = S3Server::start();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    s3_project(&server, d, "120", None);
    server.clear_requests();
    let out = segmint(&server, d, &["run", "--as-of", AS_OF_3, "--json"], &[]);
    crate::succeeded(&out);
    let committed = latest_run(&server, AS_OF_3).unwrap();
    let requests_per_run = server.requests().len() as i64;
    let intact = |server: &S3Server| {
        assert_eq!(
            latest_run(server, AS_OF_3).unwrap()["run_id"],
            committed["run_id"]
        );
        no_file_missing(server);
    };

    // Wrong credentials: exit 3, a one-line cause, and the secret appears nowhere — not in
    // stdout, stderr, JSON errors or debug JSON logs.
    let wrong_secret = "wrong-secret-7c1e0d9a42";
    let out = segmint(
        &server,
        d,
        &[
            "--log-format",
            "json",
            "--error-format",
            "json",
            "run",
            "--as-of",
            AS_OF_3,
            "--json",
        ],
        &[
            ("AWS_SECRET_ACCESS_KEY", wrong_secret),
            ("RUST_LOG", "debug"),
        ],
    );
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    let all = text(&out);
    assert!(!all.contains(wrong_secret), "secret leaked:\n{all}");
    assert!(!all.contains(SECRET_KEY), "secret leaked:\n{all}");
    assert!(all.contains("lake/events"), "{all}");
    intact(&server);

    // A missing column: the lake does not match the spec (exit 3), naming the column.
    std::fs::create_dir_all(d.join("drift")).unwrap();
    std::fs::write(
        d.join("drift/spend.yaml"),
        "segment: spend\nwhere:\n  metric: {agg: sum, of: order_value, value: {gte: 1}}\n",
    )
    .unwrap();
    let project = std::fs::read_to_string(d.join("segmint.yaml")).unwrap();
    let drift = project
        .lines()
        .map(|l| {
            if l.starts_with("segments:") {
                "segments: drift".to_string()
            } else {
                l.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("\n");
    std::fs::write(d.join("drift.yaml"), drift).unwrap();
    let out = segmint(
        &server,
        d,
        &["-p", "drift.yaml", "run", "--as-of", AS_OF_3],
        &[],
    );
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("order_value") && stderr.contains("does not match"),
        "{stderr}"
    );

    // A corrupt Parquet object (cut short, as by an interrupted upload) is named in the
    // error; nothing is committed.
    let client = server.client();
    let corrupt = "lake/events/date=2026-11-21/part-0.parquet";
    let original = server.block_on(async {
        let key = ObjectPath::from(corrupt);
        let bytes = client.get(&key).await.unwrap().bytes().await.unwrap();
        client
            .put(&key, bytes.slice(..bytes.len() / 2).into())
            .await
            .unwrap();
        bytes
    });
    let out = segmint(&server, d, &["run", "--as-of", AS_OF_3], &[]);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("date=2026-11-21"),
        "{}",
        text(&out)
    );
    intact(&server);
    server.block_on(async {
        client
            .put(&ObjectPath::from(corrupt), original.into())
            .await
            .unwrap();
    });

    // A day whose partition has not landed (the day after the lake's end): exit 3, named;
    // `--allow-empty-day` runs anyway.
    let out = segmint(&server, d, &["run", "--as-of", "2026-11-23"], &[]);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no events on 2026-11-23"));
    assert!(latest_run(&server, "2026-11-23").is_none());
    let out = segmint(
        &server,
        d,
        &[
            "run",
            "--as-of",
            "2026-11-23",
            "--allow-empty-day",
            "--json",
        ],
        &[],
    );
    crate::succeeded(&out);

    // A missing lake: exit 3 naming the location.
    let missing = project.replace("lake/events", "no-such-lake/events");
    std::fs::write(d.join("missing.yaml"), missing).unwrap();
    let out = segmint(
        &server,
        d,
        &["-p", "missing.yaml", "run", "--as-of", AS_OF_3],
        &[],
    );
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("s3://segmint/no-such-lake/events"),
        "{}",
        text(&out)
    );
    intact(&server);

    // The server goes away in the middle of a run: exit 3 (reading) or 4 (writing), and once
    // it is back the previous committed result is there, complete.
    for fraction in [3, 2] {
        server.go_away_after(requests_per_run / fraction);
        let out = segmint(&server, d, &["run", "--as-of", AS_OF_3, "--json"], &[]);
        let code = out.status.code();
        assert!(matches!(code, Some(3) | Some(4)), "{}", text(&out));
        assert!(
            String::from_utf8_lossy(&out.stdout).is_empty(),
            "{}",
            text(&out)
        );
        server.come_back();
        intact(&server);
    }
}
