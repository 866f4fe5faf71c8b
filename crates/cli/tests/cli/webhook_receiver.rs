//! A real HTTP receiver on 127.0.0.1 for the webhook tests (hyper, in-process on its own
//! runtime). It checks each request's `X-Segmint-Signature` against the signing key,
//! answers from a script (`500`, `429` with `Retry-After`, …; `200` once the script is
//! used up) and records every request: when it came, its idempotency key, whether the
//! signature held, what it answered and the JSON body.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use bytes::Bytes;
use hmac::{KeyInit, Mac};
use http_body_util::{BodyExt, Full};
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto::Builder as ConnBuilder;
use tokio::net::TcpListener;

/// One scripted answer.
#[derive(Debug, Clone, Copy)]
pub enum Reply {
    Status(u16),
    /// 429 with `Retry-After: <seconds>`.
    TooMany(u64),
}

/// One request as received.
#[derive(Debug, Clone)]
pub struct Received {
    pub at: Instant,
    pub key: String,
    pub signature_valid: bool,
    pub status: u16,
    /// The raw body (to compare the bodies sent under one key).
    pub raw: Vec<u8>,
    pub body: serde_json::Value,
    /// Every header line, for the no-secret-leak checks.
    pub headers: Vec<(String, String)>,
}

struct State {
    key: Vec<u8>,
    script: VecDeque<Reply>,
    received: Vec<Received>,
}

/// The running receiver.
pub struct Receiver {
    pub url: String,
    state: Arc<Mutex<State>>,
    _runtime: tokio::runtime::Runtime,
}

fn valid_signature(key: &[u8], body: &[u8], header: Option<&str>) -> bool {
    let Some(hex_sig) = header.and_then(|h| h.strip_prefix("sha256=")) else {
        return false;
    };
    let Ok(sig) = hex::decode(hex_sig) else {
        return false;
    };
    let mut mac = hmac::Hmac::<sha2_hmac::Sha256>::new_from_slice(key).unwrap();
    mac.update(body);
    mac.verify_slice(&sig).is_ok()
}

impl Receiver {
    /// Start a receiver verifying signatures made with `signing_key`.
    pub fn start(signing_key: &str) -> Receiver {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let listener = runtime.block_on(TcpListener::bind("127.0.0.1:0")).unwrap();
        let addr: SocketAddr = listener.local_addr().unwrap();
        let state = Arc::new(Mutex::new(State {
            key: signing_key.as_bytes().to_vec(),
            script: VecDeque::new(),
            received: Vec::new(),
        }));
        let shared = state.clone();
        runtime.spawn(async move {
            let http = ConnBuilder::new(TokioExecutor::new());
            loop {
                let Ok((socket, _)) = listener.accept().await else {
                    continue;
                };
                let state = shared.clone();
                let handler = service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
                    let state = state.clone();
                    async move {
                        let at = Instant::now();
                        let headers: Vec<(String, String)> = req
                            .headers()
                            .iter()
                            .map(|(k, v)| {
                                (
                                    k.to_string(),
                                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                                )
                            })
                            .collect();
                        let header = |name: &str| {
                            headers
                                .iter()
                                .find(|(k, _)| k == name)
                                .map(|(_, v)| v.clone())
                        };
                        let key = header("idempotency-key").unwrap_or_default();
                        let signature = header("x-segmint-signature");
                        let raw = req.into_body().collect().await?.to_bytes().to_vec();
                        let mut state = state.lock().unwrap();
                        let signature_valid =
                            valid_signature(&state.key, &raw, signature.as_deref());
                        let reply = state.script.pop_front().unwrap_or(Reply::Status(200));
                        let mut response = hyper::Response::builder();
                        let status = match reply {
                            Reply::Status(s) => s,
                            Reply::TooMany(seconds) => {
                                response = response.header("retry-after", seconds.to_string());
                                429
                            }
                        };
                        state.received.push(Received {
                            at,
                            key,
                            signature_valid,
                            status,
                            body: serde_json::from_slice(&raw).unwrap_or(serde_json::Value::Null),
                            raw,
                            headers,
                        });
                        Ok::<_, hyper::Error>(
                            response
                                .status(status)
                                .body(Full::new(Bytes::from_static(b"{}")))
                                .unwrap(),
                        )
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
        Receiver {
            url: format!("http://{addr}/hooks"),
            state,
            _runtime: runtime,
        }
    }

    /// Answer the next requests with `replies`, in order (then 200 again).
    pub fn script(&self, replies: &[Reply]) {
        self.state
            .lock()
            .unwrap()
            .script
            .extend(replies.iter().copied());
    }

    /// Every request received so far.
    pub fn received(&self) -> Vec<Received> {
        self.state.lock().unwrap().received.clone()
    }
}
