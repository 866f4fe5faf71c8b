//! A Ballista cluster of real processes on 127.0.0.1 — one `segmint scheduler` and N
//! `segmint executor` — started from a built `segmint` binary, for the CLI's cluster tests
//! and the cluster benchmark. Each process logs JSON to `<dir>/<name>.err`; all are killed
//! when the cluster is dropped.

use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// What to start.
#[derive(Debug, Clone)]
pub struct ClusterSpec {
    /// The `segmint` binary.
    pub binary: PathBuf,
    /// Logs and the executors' work folders go here.
    pub dir: PathBuf,
    pub executors: usize,
    /// `--concurrent-tasks` of each executor.
    pub tasks_per_executor: usize,
    /// `RUST_LOG` of every process.
    pub log_level: String,
    /// Extra environment of every process (object-store credentials, endpoint).
    pub env: Vec<(String, String)>,
}

/// A running cluster.
#[derive(Debug)]
pub struct LocalCluster {
    scheduler_port: u16,
    scheduler: Child,
    /// The executors, in start order (tests kill one of them).
    pub executors: Vec<Child>,
    dir: PathBuf,
}

/// A port nobody listens on right now.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A free port whose next port is free too (an executor's Flight and gRPC ports).
pub fn free_port_pair() -> u16 {
    loop {
        let p = free_port();
        if p < u16::MAX && TcpListener::bind(("127.0.0.1", p + 1)).is_ok() {
            return p;
        }
    }
}

/// Wait (at most a minute) until something listens on the port.
pub fn wait_for_port(port: u16) {
    let start = Instant::now();
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "port {port} never opened"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

impl LocalCluster {
    /// Start the scheduler, then the executors; returns once all listen and have had time
    /// to register. The second executor finds the scheduler by name (`localhost`).
    pub fn start(spec: &ClusterSpec) -> LocalCluster {
        std::fs::create_dir_all(&spec.dir).unwrap();
        let spawn = |name: &str, args: &[String]| {
            let log = |ext: &str| {
                Stdio::from(std::fs::File::create(spec.dir.join(format!("{name}.{ext}"))).unwrap())
            };
            let mut cmd = Command::new(&spec.binary);
            cmd.args(["--log-format", "json"])
                .args(args)
                .env("RUST_LOG", &spec.log_level)
                .envs(spec.env.iter().map(|(k, v)| (k, v)))
                .stdout(log("out"))
                .stderr(log("err"));
            cmd.spawn().unwrap()
        };
        let scheduler_port = free_port();
        let scheduler = spawn(
            "scheduler",
            &[
                "scheduler".into(),
                "--bind".into(),
                format!("127.0.0.1:{scheduler_port}"),
            ],
        );
        wait_for_port(scheduler_port);
        let mut executors = Vec::new();
        for i in 0..spec.executors {
            let port = free_port_pair();
            let work = spec.dir.join(format!("work-{i}"));
            std::fs::create_dir_all(&work).unwrap();
            let host = if i == 1 { "localhost" } else { "127.0.0.1" };
            executors.push(spawn(
                &format!("executor-{i}"),
                &[
                    "executor".into(),
                    "--scheduler".into(),
                    format!("{host}:{scheduler_port}"),
                    "--bind".into(),
                    format!("127.0.0.1:{port}"),
                    "--concurrent-tasks".into(),
                    spec.tasks_per_executor.to_string(),
                    "--work-dir".into(),
                    work.display().to_string(),
                ],
            ));
            wait_for_port(port);
        }
        // Executors register with the scheduler right after they listen.
        std::thread::sleep(Duration::from_secs(2));
        LocalCluster {
            scheduler_port,
            scheduler,
            executors,
            dir: spec.dir.clone(),
        }
    }

    /// `df://127.0.0.1:PORT`, for `--cluster`.
    pub fn url(&self) -> String {
        format!("df://127.0.0.1:{}", self.scheduler_port)
    }

    /// What one process (`scheduler`, `executor-0`, …) logged on stderr.
    pub fn log(&self, name: &str) -> String {
        std::fs::read_to_string(self.dir.join(format!("{name}.err"))).unwrap_or_default()
    }

    /// Everything the cluster's processes wrote to stdout and stderr.
    pub fn all_logs(&self) -> String {
        let mut text = String::new();
        for entry in std::fs::read_dir(&self.dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_file() {
                text.push_str(&std::fs::read_to_string(&path).unwrap_or_default());
            }
        }
        text
    }
}

impl Drop for LocalCluster {
    fn drop(&mut self) {
        for child in self
            .executors
            .iter_mut()
            .chain(std::iter::once(&mut self.scheduler))
        {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}
