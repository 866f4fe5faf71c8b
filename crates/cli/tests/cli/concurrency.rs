//! Concurrent runs never corrupt the output tables. Four runs start together — two of one
//! as-of, one each of two others — twenty times over, on a local output and on the
//! S3-protocol server (whose conditional PUTs are atomic, as S3's are). Every process exits
//! 0 or 4 with the conflict named; afterwards the independent reader (Python `deltalake`)
//! sees every committed as-of complete, coming from one committed run, the runs table lists
//! exactly the runs that exited 0, and no file any table version references is missing.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::{Child, Command, Stdio};

use crate::delta_tables::{python_view, reported, sizes};
use crate::s3_server::{BUCKET, S3Server};

const REPETITIONS: usize = 20;
const AS_OFS: [&str; 4] = ["2026-11-20", "2026-11-20", "2026-11-21", "2026-11-22"];

/// The segments the runs evaluate (a few of each kind keep twenty rounds quick).
const SEGMENTS: [&str; 6] = [
    "heavy_users",
    "engagement_tiers",
    "cart_abandoners",
    "rfm_classes",
    "new_users",
    "topic_clusters",
];

fn spawn(dir: &Path, as_of: &str, env: &[(String, String)]) -> Child {
    Command::new(env!("CARGO_BIN_EXE_segmint"))
        .current_dir(dir)
        .args(["run", "--as-of", as_of, "--json"])
        .envs(env.iter().map(|(k, v)| (k, v)))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// Copy the chosen shipped segments into `dir/segments`.
fn segments(dir: &Path) {
    let shipped = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../segments");
    std::fs::create_dir_all(dir.join("segments")).unwrap();
    for name in SEGMENTS {
        let file = format!("{name}.yaml");
        std::fs::copy(shipped.join(&file), dir.join("segments").join(&file)).unwrap();
    }
}

/// Run the rounds; the summaries of the runs that committed.
fn rounds(dir: &Path, env: &[(String, String)]) -> Vec<serde_json::Value> {
    let mut committed = Vec::new();
    let mut conflicts: Vec<String> = Vec::new();
    for round in 0..REPETITIONS {
        let children: Vec<Child> = AS_OFS.iter().map(|d| spawn(dir, d, env)).collect();
        for (child, as_of) in children.into_iter().zip(AS_OFS) {
            let out = child.wait_with_output().unwrap();
            match out.status.code() {
                Some(0) => committed.push(
                    serde_json::from_str(String::from_utf8_lossy(&out.stdout).trim()).unwrap(),
                ),
                Some(4) => {
                    let stderr = String::from_utf8_lossy(&out.stderr);
                    assert!(
                        stderr.contains("another run committed first"),
                        "round {round}: exit 4 without the conflict named: {}",
                        crate::text(&out)
                    );
                    conflicts.push(format!("round {round}, {as_of}: {}", stderr.trim()));
                }
                _ => panic!("round {round}: {}", crate::text(&out)),
            }
        }
    }
    // Each round commits at least one run of every as-of: only the two runs of one as-of
    // race for the same partitions. (A lost race is listed, to tell which run lost.)
    assert!(
        committed.len() >= REPETITIONS * 3,
        "{} runs committed; lost races:\n{}",
        committed.len(),
        conflicts.join("\n")
    );
    eprintln!(
        "{} runs committed, {} lost a commit race",
        committed.len(),
        conflicts.len()
    );
    committed
}

/// What the reader sees agrees with the runs that exited 0.
fn check(view: &serde_json::Value, committed: &[serde_json::Value]) {
    let mut latest: BTreeMap<String, &serde_json::Value> = BTreeMap::new();
    for run in committed {
        let day = run["as_of"].as_str().unwrap().to_string();
        let newer = latest.get(&day).is_none_or(|r| {
            r["table_version"].as_i64().unwrap() < run["table_version"].as_i64().unwrap()
        });
        if newer {
            latest.insert(day, run);
        }
    }
    for (day, run) in &latest {
        assert_eq!(sizes(view, day), reported(run), "{day}: complete");
        assert_eq!(
            view["run_ids"][day],
            serde_json::json!([run["run_id"]]),
            "{day}: every row from the last committed run"
        );
    }
    let listed: BTreeSet<&str> = view["runs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["run_id"].as_str().unwrap())
        .collect();
    let exited_0: BTreeSet<&str> = committed
        .iter()
        .map(|r| r["run_id"].as_str().unwrap())
        .collect();
    assert_eq!(
        listed, exited_0,
        "the runs table lists exactly the committed runs"
    );
}

#[test]
fn concurrent_runs_on_a_local_output_never_corrupt_a_table() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    crate::exit_codes::generate_small_lake(d);
    segments(d);
    segmint_lakegen::demo::write_project(d, "segments").unwrap();
    let committed = rounds(d, &[]);
    let view = python_view(&d.join("out").display().to_string(), None, true, &[]);
    assert_eq!(view["missing"], serde_json::json!([]));
    check(&view, &committed);
}

#[test]
fn concurrent_runs_on_s3_never_corrupt_a_table() {
    let server = S3Server::start();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    crate::storage::upload_generated_lake(&server, d, "200");
    segments(d);
    std::fs::write(
        d.join("segmint.yaml"),
        segmint_lakegen::demo::project_yaml_at(
            &format!("s3://{BUCKET}/lake"),
            &format!("s3://{BUCKET}/out"),
            "segments",
        ),
    )
    .unwrap();
    let env: Vec<(String, String)> = server
        .env()
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
    let committed = rounds(d, &env);
    let view = python_view(&format!("s3://{BUCKET}/out"), None, false, &env);
    check(&view, &committed);
    // Every file of every version of both tables is on the server.
    let keys = crate::storage::keys(&server, "out");
    for table in ["members", "runs"] {
        let url = format!("s3://{BUCKET}/out/{table}/");
        let store = std::sync::Arc::new(server.client());
        let latest = server
            .block_on(segmint_tests::delta_reader::table_on(
                store.clone(),
                &url,
                None,
            ))
            .version()
            .unwrap();
        for version in 0..=latest {
            let t = server.block_on(segmint_tests::delta_reader::table_on(
                store.clone(),
                &url,
                Some(version),
            ));
            for file in t.snapshot().unwrap().log_data().iter() {
                let key = format!("out/{table}/{}", file.object_store_path());
                assert!(keys.contains(&key), "{table}@{version} needs {key}, gone");
            }
        }
    }
}
