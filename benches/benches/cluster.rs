//! The whole shipped library on a Ballista cluster of separate processes (one `segmint
//! scheduler`, N `segmint executor`s on this machine) over a generated lake of ≥ 20M
//! events, for each N, next to the same run in one process. Prints wall times and the
//! speed-up over one executor.
//!
//! ```sh
//! cargo build --workspace --profile dev            # the segmint binary the bench starts
//! SEGMINT_BENCH_USERS=60000 SEGMINT_BENCH_EXECUTORS=1,2 \
//!   cargo bench --workspace --profile dev --bench cluster
//! ```
//!
//! `SEGMINT_BIN` picks the binary (default: `target/debug/segmint`, or `target/release/segmint`
//! when it is newer). Executors run `SEGMINT_BENCH_TASKS` tasks each (default: the cores
//! divided among them, at least 1). `SEGMINT_BENCH_ADAPTIVE=1` uses Ballista's adaptive
//! planner instead of segmint's default, the static one.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use segmint_benches::env_usize;
use segmint_lakegen::{LakeGenConfig, generate_lake};
use segmint_tests::local_cluster::{ClusterSpec, LocalCluster};

fn binary() -> PathBuf {
    if let Ok(bin) = std::env::var("SEGMINT_BIN") {
        return PathBuf::from(bin);
    }
    let target = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target");
    let candidates = [target.join("release/segmint"), target.join("debug/segmint")];
    candidates
        .into_iter()
        .filter(|p| p.exists())
        .max_by_key(|p| p.metadata().and_then(|m| m.modified()).ok())
        .expect("build the segmint binary first (cargo build --workspace)")
}

/// Wall time of one `segmint run` (optionally on a cluster).
fn run(bin: &Path, project: &Path, as_of: &str, cluster: Option<&str>) -> f64 {
    let mut cmd = Command::new(bin);
    cmd.arg("-p").arg(project);
    if let Some(url) = cluster {
        cmd.args(["--cluster", url]);
        if std::env::var("SEGMINT_BENCH_ADAPTIVE").is_ok_and(|v| v == "1") {
            cmd.args(["--cluster-config", "ballista.planner.adaptive.enabled=true"]);
        }
    }
    cmd.args(["run", "--as-of", as_of, "--json"]);
    let t = Instant::now();
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    t.elapsed().as_secs_f64()
}

fn main() {
    let bin = binary();
    let users = env_usize("SEGMINT_BENCH_USERS", 60_000);
    let counts: Vec<usize> = std::env::var("SEGMINT_BENCH_EXECUTORS")
        .unwrap_or_else(|_| "1,2".into())
        .split(',')
        .filter_map(|n| n.trim().parse().ok())
        .collect();
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
    let root = std::env::temp_dir().join(format!("segmint-bench-cluster-{users}"));
    let config = LakeGenConfig {
        users,
        ..LakeGenConfig::default()
    };
    if !root.join("lake").exists() {
        let report = generate_lake(&root.join("lake"), &config).unwrap();
        println!(
            "lake: {} events, {} users, {} files",
            report.events, report.users, report.files
        );
    }
    let segments = Path::new(env!("CARGO_MANIFEST_DIR")).join("../segments");
    let project =
        segmint_lakegen::demo::write_project(&root, &segments.display().to_string()).unwrap();
    let as_of = config.end.to_string();
    println!("binary: {}  cores: {cores}  users: {users}", bin.display());
    run(&bin, &project, &as_of, None); // warm the page cache
    let local = run(&bin, &project, &as_of, None);
    println!("one process:                {local:>7.2}s");
    let mut first = None;
    for n in counts {
        let tasks = env_usize("SEGMINT_BENCH_TASKS", (cores / n).max(1));
        let cluster = LocalCluster::start(&ClusterSpec {
            binary: bin.clone(),
            dir: root.join(format!("cluster-{n}")),
            executors: n,
            tasks_per_executor: tasks,
            log_level: "warn".into(),
            env: Vec::new(),
        });
        let url = cluster.url();
        run(&bin, &project, &as_of, Some(&url)); // warm-up
        let t = run(&bin, &project, &as_of, Some(&url));
        let base = *first.get_or_insert(t);
        println!(
            "{n} executor(s) x {tasks} task(s): {t:>7.2}s   speed-up vs 1 executor: {:.2}x",
            base / t
        );
        drop(cluster);
    }
}
