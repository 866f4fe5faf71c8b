//! A real Ballista cluster of separate processes — one `segmint scheduler` and two
//! `segmint executor` on 127.0.0.1 — reading a lake from the S3-protocol test server: the
//! whole shipped library gives exactly the local members with the adaptive planner on and
//! off, an executor killed mid-run is survived (or fails cleanly), and no credential shows
//! up in any process's logs.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use segmint_tests::local_cluster::{ClusterSpec, LocalCluster};

use crate::s3_server::{ACCESS_KEY, BUCKET, S3Server, SECRET_KEY};
use crate::text;

const AS_OF: &str = "2026-11-22";

/// One scheduler and `executors` executors (2 tasks each) with the server's credentials,
/// logging everything (trace level, JSON) to files in `logs`.
fn start_cluster(server: &S3Server, logs: &Path, executors: usize) -> LocalCluster {
    LocalCluster::start(&ClusterSpec {
        binary: PathBuf::from(env!("CARGO_BIN_EXE_segmint")),
        dir: logs.to_path_buf(),
        executors,
        tasks_per_executor: 2,
        log_level: "trace".into(),
        env: server
            .env()
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect(),
    })
}

/// Run the binary with the server's credentials; the client logs everything too (checked
/// for credentials below).
fn segmint(server: &S3Server, dir: &Path, args: &[&str]) -> Output {
    crate::storage::segmint(server, dir, args, &[("RUST_LOG", "trace")])
}

/// A lake on the server and project files writing to `s3://segmint/<output>`; the same lake
/// as Delta tables at `s3://segmint/delta-lake`, read by `delta.yaml` (writing to `delta`).
fn lake(server: &S3Server, dir: &Path, outputs: &[&str]) {
    crate::storage::upload_generated_lake(server, dir, "250");
    let segments = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../segments");
    let converted = Command::new(env!("CARGO_BIN_EXE_segmint"))
        .current_dir(dir)
        .args([
            "generate-lake",
            "--out",
            "delta-lake",
            "--users",
            "250",
            "--days",
            "40",
            "--format",
            "delta",
        ])
        .output()
        .unwrap();
    crate::succeeded(&converted);
    server.upload(&dir.join("delta-lake"), "delta-lake");
    std::fs::write(
        dir.join("delta.yaml"),
        segmint_lakegen::demo::delta_project_yaml(
            &format!("s3://{BUCKET}/delta-lake"),
            &format!("s3://{BUCKET}/delta"),
            &segments.display().to_string(),
        ),
    )
    .unwrap();
    for output in outputs {
        std::fs::write(
            dir.join(format!("{output}.yaml")),
            segmint_lakegen::demo::project_yaml_at(
                &format!("s3://{BUCKET}/lake"),
                &format!("s3://{BUCKET}/{output}"),
                &segments.display().to_string(),
            ),
        )
        .unwrap();
    }
}

/// Segment → entity → tier committed at [`AS_OF`] in `output` (delta-rs's own reader).
fn members(server: &S3Server, output: &str) -> BTreeMap<String, BTreeMap<String, String>> {
    let store = std::sync::Arc::new(server.client());
    let batches = server.block_on(segmint_tests::delta_reader::query_on(
        store,
        &format!("s3://{BUCKET}/{output}/members/"),
        None,
        &format!(
            "SELECT segment, entity, tier FROM t WHERE as_of = DATE '{AS_OF}' ORDER BY segment, entity"
        ),
    ));
    use segmint_tests::delta_reader::strings;
    let (segments, entities, tiers) = (
        strings(&batches, 0),
        strings(&batches, 1),
        strings(&batches, 2),
    );
    let mut all: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
    for ((s, e), t) in segments.into_iter().zip(entities).zip(tiers) {
        all.entry(s.unwrap_or_default())
            .or_default()
            .insert(e.unwrap_or_default(), t.unwrap_or_default());
    }
    all
}

#[test]
fn the_library_on_a_cluster_equals_the_local_run_with_and_without_adaptive_planning() {
    let server = S3Server::start();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    lake(&server, d, &["local", "adaptive", "static"]);
    let logs = d.join("logs");
    std::fs::create_dir_all(&logs).unwrap();
    let cluster = start_cluster(&server, &logs, 2);

    let out = segmint(
        &server,
        d,
        &["-p", "local.yaml", "run", "--as-of", AS_OF, "--json"],
    );
    crate::succeeded(&out);
    let expected = members(&server, "local");
    assert!(expected.len() >= 25);

    let mut client_logs = String::new();
    for (output, adaptive) in [
        ("adaptive", "true"),
        ("static", "false"),
        ("delta", "false"),
    ] {
        let setting = format!("ballista.planner.adaptive.enabled={adaptive}");
        let out = segmint(
            &server,
            d,
            &[
                "-p",
                &format!("{output}.yaml"),
                "--log-format",
                "json",
                "--cluster",
                &cluster.url(),
                "--cluster-config",
                &setting,
                "run",
                "--as-of",
                AS_OF,
                "--json",
            ],
        );
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}\n{}",
            text(&out),
            cluster.all_logs()
        );
        client_logs.push_str(&String::from_utf8_lossy(&out.stderr));
        let got = members(&server, output);
        assert_eq!(
            got.keys().collect::<Vec<_>>(),
            expected.keys().collect::<Vec<_>>()
        );
        for (segment, want) in &expected {
            assert_eq!(
                &got[segment], want,
                "segment {segment}, adaptive={adaptive}"
            );
        }
    }

    // The physical plan of a cluster run is Ballista's distributed plan.
    let out = segmint(
        &server,
        d,
        &[
            "-p",
            "local.yaml",
            "--cluster",
            &cluster.url(),
            "compile",
            "--as-of",
            AS_OF,
            "--emit",
            "physical",
        ],
    );
    crate::succeeded(&out);
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("DistributedQueryExec"),
        "{}",
        text(&out)
    );

    // `--cluster-config` reached the scheduler: the adaptive run used the adaptive planner.
    assert!(cluster.log("scheduler").contains("AdaptiveDatafusionExec"));

    // `validate` and `preview` run on the cluster too; a preview (size, leaves and the first
    // members by id with their values) reads exactly as it does locally.
    let out = segmint(
        &server,
        d,
        &["-p", "local.yaml", "--cluster", &cluster.url(), "validate"],
    );
    crate::succeeded(&out);
    let preview = |cluster_args: &[&str]| {
        let mut args = vec!["-p", "local.yaml"];
        args.extend_from_slice(cluster_args);
        args.extend(["preview", "cart_abandoners", "--as-of", AS_OF]);
        let out = segmint(&server, d, &args);
        crate::succeeded(&out);
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let local_preview = preview(&[]);
    assert!(local_preview.contains("member(s)"), "{local_preview}");
    assert_eq!(preview(&["--cluster", &cluster.url()]), local_preview);

    // SQL with segmint's functions runs on the cluster too.
    let out = segmint(
        &server,
        d,
        &[
            "-p",
            "local.yaml",
            "--cluster",
            &cluster.url(),
            "sql",
            "--format",
            "csv",
            "SELECT count(*) AS n FROM (SELECT user_id, window_funnel(86400, '', event_time, event_name = 'add_to_cart', event_name = 'purchase') AS s FROM events GROUP BY user_id) WHERE s = 2",
        ],
    );
    crate::succeeded(&out);
    let n: u64 = String::from_utf8_lossy(&out.stdout)
        .lines()
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    assert!(n > 0);

    // Both executors (the second found the scheduler as `localhost`) ran tasks.
    for i in 0..2 {
        let log = cluster.log(&format!("executor-{i}"));
        assert!(
            log.contains("Execute task") || log.contains("Received task"),
            "executor-{i} ran no task:\n{log}"
        );
    }

    // Trace-level logs of the client, the scheduler and the executors (JSON) hold no credential.
    assert!(client_logs.contains("\"level\""), "the client logged JSON");
    assert!(!client_logs.contains(SECRET_KEY) && !client_logs.contains(ACCESS_KEY));
    let logs = cluster.all_logs();
    assert!(logs.len() > 1000, "the processes logged something");
    assert!(!logs.contains(SECRET_KEY), "secret in cluster logs");
    assert!(!logs.contains(ACCESS_KEY), "access key in cluster logs");
}

#[test]
fn an_executor_killed_mid_run_is_survived_or_fails_cleanly() {
    let server = S3Server::start();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    lake(&server, d, &["local", "cluster"]);
    let logs = d.join("logs");
    std::fs::create_dir_all(&logs).unwrap();
    let mut cluster = start_cluster(&server, &logs, 2);
    let out = segmint(&server, d, &["-p", "local.yaml", "run", "--as-of", AS_OF]);
    crate::succeeded(&out);
    let expected = members(&server, "local");
    // A first committed cluster run, so "intact" has something to check.
    let out = segmint(
        &server,
        d,
        &[
            "-p",
            "cluster.yaml",
            "--cluster",
            &cluster.url(),
            "run",
            "--as-of",
            AS_OF,
        ],
    );
    crate::succeeded(&out);
    let before = members(&server, "cluster");

    let mut cmd = Command::new(env!("CARGO_BIN_EXE_segmint"));
    cmd.current_dir(d)
        .args([
            "-p",
            "cluster.yaml",
            "--cluster",
            &cluster.url(),
            "run",
            "--as-of",
            AS_OF,
            "--json",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in server.env() {
        cmd.env(k, v);
    }
    let mut run = cmd.spawn().unwrap();
    std::thread::sleep(Duration::from_millis(1500));
    assert!(
        run.try_wait().unwrap().is_none(),
        "the run ended before the kill"
    );
    let mut victim = cluster.executors.pop().unwrap();
    victim.kill().unwrap();
    victim.wait().unwrap();
    let out = run.wait_with_output().unwrap();
    match out.status.code() {
        // Ballista rescheduled the lost tasks: the same members.
        Some(0) => assert_eq!(members(&server, "cluster"), expected),
        // The run failed: a documented code, and the previous result is still committed.
        Some(1) | Some(3) => assert_eq!(members(&server, "cluster"), before, "{}", text(&out)),
        other => panic!("unexpected exit {other:?}: {}", text(&out)),
    }
    // segmint asks for Ballista's static planner by default (its adaptive one can hang a
    // job that loses an executor): no adaptive plan reached the scheduler.
    assert!(
        !cluster.log("scheduler").contains("AdaptiveDatafusionExec"),
        "the default cluster run used the adaptive planner"
    );
    eprintln!(
        "executor killed mid-run: segmint exited {:?}",
        out.status.code()
    );
}

/// The identity map's `(type, value, person, component)` rows of an output on the server.
fn identity_rows(server: &S3Server, output: &str) -> Vec<String> {
    let store = std::sync::Arc::new(server.client());
    let batches = server.block_on(segmint_tests::delta_reader::query_on(
        store,
        &format!("s3://{BUCKET}/{output}/identity/"),
        None,
        "SELECT id_type, id_value, person_id, component, dropped, other_value FROM t \
         WHERE kind IN ('node', 'edge') ORDER BY 1, 2, 3, 4, 5, 6",
    ));
    use segmint_tests::delta_reader::strings;
    let columns: Vec<_> = (0..6).map(|i| strings(&batches, i)).collect();
    (0..columns[0].len())
        .map(|r| format!("{:?}", columns.iter().map(|c| &c[r]).collect::<Vec<_>>()))
        .collect()
}

#[test]
fn identity_build_on_a_cluster_equals_the_local_build() {
    let server = S3Server::start();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let generated = Command::new(env!("CARGO_BIN_EXE_segmint"))
        .current_dir(d)
        .args([
            "generate-lake",
            "--out",
            "id-lake",
            "--users",
            "250",
            "--days",
            "40",
            "--identities",
        ])
        .output()
        .unwrap();
    crate::succeeded(&generated);
    server.upload(&d.join("id-lake"), "id-lake");
    let segments = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../segments");
    for output in ["id-local", "id-cluster"] {
        let project = segmint_lakegen::demo::project_yaml_at(
            &format!("s3://{BUCKET}/id-lake"),
            &format!("s3://{BUCKET}/{output}"),
            &segments.display().to_string(),
        );
        std::fs::write(
            d.join(format!("{output}.yaml")),
            format!("{project}{}", segmint_lakegen::demo::IDENTITY_YAML),
        )
        .unwrap();
    }
    let logs = d.join("logs");
    std::fs::create_dir_all(&logs).unwrap();
    let cluster = start_cluster(&server, &logs, 2);
    // `segmint -p <output>.yaml [--cluster URL] ARGS`, which must succeed.
    let url = cluster.url();
    let run_on = |output: &str, on_cluster: bool, args: &[&str]| -> Output {
        let project = format!("{output}.yaml");
        let mut all = vec!["-p", project.as_str()];
        if on_cluster {
            all.extend(["--cluster", url.as_str()]);
        }
        all.extend(args);
        let out = segmint(&server, d, &all);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}\n{}",
            text(&out),
            cluster.all_logs()
        );
        out
    };
    let build = ["identity", "build", "--as-of", AS_OF, "--json"];
    let local = run_on("id-local", false, &build);
    let remote = run_on("id-cluster", true, &build);
    let summary = |o: &Output| -> serde_json::Value { serde_json::from_slice(&o.stdout).unwrap() };
    let (l, r) = (summary(&local), summary(&remote));
    for key in [
        "identifiers",
        "people",
        "edges",
        "dropped_edges",
        "size_histogram",
    ] {
        assert_eq!(l[key], r[key], "{key}");
    }
    assert!(r["rounds"].as_u64().unwrap() >= 1);
    assert!(l["people"].as_u64().unwrap() < l["identifiers"].as_u64().unwrap());
    let expected = identity_rows(&server, "id-local");
    assert!(!expected.is_empty());
    assert_eq!(identity_rows(&server, "id-cluster"), expected);
    // An update on the cluster (no new day: the edge tables and profiles are read again)
    // keeps the map as it is.
    let updated = run_on(
        "id-cluster",
        true,
        &["identity", "update", "--as-of", AS_OF, "--json"],
    );
    let u = summary(&updated);
    for key in [
        "identifiers",
        "people",
        "edges",
        "dropped_edges",
        "size_histogram",
    ] {
        assert_eq!(l[key], u[key], "{key} after the update");
    }
    assert_eq!(identity_rows(&server, "id-cluster"), expected);
    // The cluster's scratch files are gone.
    assert!(server.list("id-cluster/identity/_scratch").is_empty());

    // Person-level segments on the cluster equal the local run.
    for (output, on_cluster) in [("id-local", false), ("id-cluster", true)] {
        run_on(output, on_cluster, &["run", "--as-of", AS_OF, "--json"]);
    }
    let want = members(&server, "id-local");
    assert!(want["heavy_users"].keys().all(|p| p.starts_with("p_")));
    assert_eq!(members(&server, "id-cluster"), want);
}
