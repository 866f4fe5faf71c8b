//! A real S3-protocol server on 127.0.0.1 for the tests: `s3s-fs` (the `s3s` project's
//! file-system backend) running in-process on its own runtime. It checks SigV4 request
//! signatures against one access key, records every request it serves (method and path),
//! and can go away on demand — after a given number of further requests — and come back.
//!
//! Conditional writes: `s3s-fs` refuses a `PUT` with `If-None-Match: *` when the object
//! exists (as S3 does since 2024), but checks and writes in two steps, so two such PUTs
//! of one key at the same instant could both succeed. The server serializes conditional
//! PUTs, which makes put-if-absent hold under concurrency as it does on S3 — what Delta
//! commits rely on.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::{Arc, Mutex};

use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto::Builder as ConnBuilder;
use s3s::auth::SimpleAuth;
use s3s::service::S3ServiceBuilder;
use tokio::net::TcpListener;

pub const ACCESS_KEY: &str = "segmint-test-access";
pub const SECRET_KEY: &str = "segmint-test-secret-1f4b9c";
pub const BUCKET: &str = "segmint";

/// Why a connection was dropped.
#[derive(Debug)]
struct Gone(String);

impl std::fmt::Display for Gone {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Gone {}

/// The running server.
pub struct S3Server {
    pub endpoint: String,
    /// The files behind the bucket; removed when the server is dropped.
    _root: tempfile::TempDir,
    requests: Arc<Mutex<Vec<(String, String)>>>,
    /// Requests left before the server goes away (negative: never).
    budget: Arc<AtomicI64>,
    down: Arc<AtomicBool>,
    runtime: Option<tokio::runtime::Runtime>,
}

impl S3Server {
    /// Start a server with one bucket, [`BUCKET`].
    pub fn start() -> S3Server {
        let root = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(root.path().join(BUCKET)).unwrap();
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let requests = Arc::new(Mutex::new(Vec::new()));
        let budget = Arc::new(AtomicI64::new(-1));
        let down = Arc::new(AtomicBool::new(false));
        let listener = runtime.block_on(TcpListener::bind("127.0.0.1:0")).unwrap();
        let addr: SocketAddr = listener.local_addr().unwrap();
        let service = {
            let fs = s3s_fs::FileSystem::new(root.path()).unwrap();
            let mut b = S3ServiceBuilder::new(fs);
            b.set_auth(SimpleAuth::from_single(ACCESS_KEY, SECRET_KEY));
            b.build()
        };
        let (log, left, gone) = (requests.clone(), budget.clone(), down.clone());
        let conditional = Arc::new(tokio::sync::Mutex::new(()));
        runtime.spawn(async move {
            let http = ConnBuilder::new(TokioExecutor::new());
            loop {
                let Ok((socket, _)) = listener.accept().await else {
                    continue;
                };
                if gone.load(Ordering::SeqCst) {
                    drop(socket);
                    continue;
                }
                let (service, log, left, gone, conditional) = (
                    service.clone(),
                    log.clone(),
                    left.clone(),
                    gone.clone(),
                    conditional.clone(),
                );
                let handler = service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
                    let service = service.clone();
                    let (log, left, gone) = (log.clone(), left.clone(), gone.clone());
                    let conditional = conditional.clone();
                    async move {
                        let put_if_absent = req.method() == hyper::Method::PUT
                            && req.headers().contains_key(hyper::header::IF_NONE_MATCH);
                        let _serialized = match put_if_absent {
                            true => Some(conditional.lock().await),
                            false => None,
                        };
                        if left.load(Ordering::SeqCst) == 0 {
                            gone.store(true, Ordering::SeqCst);
                        }
                        if gone.load(Ordering::SeqCst) {
                            return Err(Gone("server went away".into()));
                        }
                        if left.load(Ordering::SeqCst) > 0 {
                            left.fetch_sub(1, Ordering::SeqCst);
                        }
                        log.lock()
                            .unwrap()
                            .push((req.method().to_string(), req.uri().path().to_string()));
                        hyper::service::Service::call(&service, req)
                            .await
                            .map_err(|e| Gone(format!("{e:?}")))
                    }
                });
                let conn = http
                    .serve_connection(TokioIo::new(socket), handler)
                    .into_owned();
                tokio::spawn(async move {
                    let _ = conn.await;
                });
            }
        });
        S3Server {
            endpoint: format!("http://{addr}"),
            _root: root,
            requests,
            budget,
            down,
            runtime: Some(runtime),
        }
    }

    /// Every request served so far, as (method, path).
    pub fn requests(&self) -> Vec<(String, String)> {
        self.requests.lock().unwrap().clone()
    }

    pub fn clear_requests(&self) {
        self.requests.lock().unwrap().clear();
    }

    /// Serve `n` more requests, then drop every connection and refuse new ones.
    pub fn go_away_after(&self, n: i64) {
        self.budget.store(n, Ordering::SeqCst);
    }

    /// Serve again.
    pub fn come_back(&self) {
        self.budget.store(-1, Ordering::SeqCst);
        self.down.store(false, Ordering::SeqCst);
    }

    /// The environment the `segmint` binary needs to reach this server.
    pub fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("AWS_ACCESS_KEY_ID", ACCESS_KEY.to_string()),
            ("AWS_SECRET_ACCESS_KEY", SECRET_KEY.to_string()),
            ("AWS_REGION", "us-east-1".to_string()),
            ("AWS_ENDPOINT_URL", self.endpoint.clone()),
            ("AWS_ALLOW_HTTP", "true".to_string()),
        ]
    }

    /// An object store client for the bucket (to upload lakes and inspect outputs).
    pub fn client(&self) -> object_store::aws::AmazonS3 {
        object_store::aws::AmazonS3Builder::new()
            .with_bucket_name(BUCKET)
            .with_access_key_id(ACCESS_KEY)
            .with_secret_access_key(SECRET_KEY)
            .with_region("us-east-1")
            .with_endpoint(&self.endpoint)
            .with_allow_http(true)
            .build()
            .unwrap()
    }

    /// Make an object look `age` old (its last-modified time), as an old crash's leftovers.
    pub fn backdate(&self, key: &str, age: std::time::Duration) {
        let path = self._root.path().join(BUCKET).join(key);
        let file = std::fs::File::options().write(true).open(&path).unwrap();
        file.set_modified(std::time::SystemTime::now() - age)
            .unwrap();
    }

    /// Upload every file under `dir` to `prefix/…` with real PUTs.
    pub fn upload(&self, dir: &Path, prefix: &str) {
        use object_store::ObjectStoreExt;
        let client = self.client();
        let mut files = Vec::new();
        fn walk(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
            for e in std::fs::read_dir(dir).unwrap() {
                let p = e.unwrap().path();
                if p.is_dir() {
                    walk(&p, out);
                } else {
                    out.push(p);
                }
            }
        }
        walk(dir, &mut files);
        self.block_on(async {
            for f in files {
                let key = format!("{prefix}/{}", f.strip_prefix(dir).unwrap().display());
                client
                    .put(
                        &object_store::path::Path::from(key),
                        std::fs::read(&f).unwrap().into(),
                    )
                    .await
                    .unwrap();
            }
        });
    }

    /// The keys of every object under `prefix`.
    pub fn list(&self, prefix: &str) -> Vec<String> {
        use futures::TryStreamExt;
        let client = self.client();
        self.block_on(async {
            object_store::ObjectStore::list(&client, Some(&object_store::path::Path::from(prefix)))
                .map_ok(|m| m.location.to_string())
                .try_collect()
                .await
                .unwrap()
        })
    }

    /// Run a future on the server's runtime.
    pub fn block_on<F: std::future::Future>(&self, f: F) -> F::Output {
        self.runtime.as_ref().unwrap().block_on(f)
    }
}

impl Drop for S3Server {
    fn drop(&mut self) {
        if let Some(rt) = self.runtime.take() {
            rt.shutdown_background();
        }
    }
}
