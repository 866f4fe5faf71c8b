//! A real headless Chromium for the tests, driven over WebDriver by Debian's
//! `chromedriver`. Both come from the Debian packages `chromium` and `chromium-driver`,
//! installed with apt on first use (the tests run as root in CI; a failed install panics
//! with apt's output — never a skipped test).
//!
//! What a page asked the network for is read from Chromium's own DevTools log
//! (`Network.requestWillBeSent`, attributed to the page by its `documentURL`), so a test
//! can assert that a page fetched nothing. (The browser's own background traffic —
//! update checks, the new-tab page — is not the page's and is not counted.)

use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use base64::Engine;
use serde_json::{Value, json};

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

/// Install Chromium and ChromeDriver from Debian's packages when they are missing.
pub fn ensure_installed() {
    if Path::new(CHROMIUM).is_file() && Path::new(CHROMEDRIVER).is_file() {
        return;
    }
    for args in [
        vec!["update", "-qq"],
        vec!["install", "-y", "-qq", "chromium", "chromium-driver"],
    ] {
        let out = Command::new("apt-get")
            .args(&args)
            .env("DEBIAN_FRONTEND", "noninteractive")
            .output()
            .expect("apt-get runs");
        assert!(
            out.status.success(),
            "apt-get {args:?} failed:\n{}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

/// A free port on 127.0.0.1.
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A browser session: chromedriver and one headless Chromium.
pub struct Browser {
    driver: Child,
    base: String,
    session: String,
    runtime: tokio::runtime::Runtime,
    client: reqwest::Client,
    _profile: tempfile::TempDir,
}

impl Browser {
    /// Start chromedriver and a headless Chromium with a `width`×`height` window.
    pub fn start(width: u32, height: u32) -> Browser {
        ensure_installed();
        let port = free_port();
        let driver = Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver starts");
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let client = reqwest::Client::builder().no_proxy().build().unwrap();
        let base = format!("http://127.0.0.1:{port}");
        let profile = tempfile::tempdir().unwrap();
        let mut browser = Browser {
            driver,
            base,
            session: String::new(),
            runtime,
            client,
            _profile: profile,
        };
        // chromedriver is ready when /status says so.
        let mut ready = false;
        for _ in 0..200 {
            if let Ok(status) = browser.call(reqwest::Method::GET, "/status", None)
                && status["value"]["ready"] == true
            {
                ready = true;
                break;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        assert!(ready, "chromedriver never became ready");
        let args = vec![
            "--headless=new".to_string(),
            "--no-sandbox".into(),
            "--disable-gpu".into(),
            "--disable-quic".into(),
            "--no-first-run".into(),
            "--disable-background-networking".into(),
            "--disable-component-update".into(),
            "--disable-sync".into(),
            "--hide-scrollbars".into(),
            format!("--window-size={width},{height}"),
            format!("--user-data-dir={}", browser._profile.path().display()),
        ];
        let created = browser
            .call(
                reqwest::Method::POST,
                "/session",
                Some(json!({"capabilities": {"alwaysMatch": {
                    "browserName": "chrome",
                    "goog:chromeOptions": {"binary": CHROMIUM, "args": args},
                    "goog:loggingPrefs": {"performance": "ALL"}
                }}})),
            )
            .unwrap_or_else(|e| panic!("no Chromium session: {e}"));
        browser.session = created["value"]["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("no session id in {created}"))
            .to_string();
        browser
    }

    /// One WebDriver call; the JSON answer, or the error it reported.
    fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> Result<Value, String> {
        let url = format!("{}{path}", self.base);
        self.runtime.block_on(async {
            let mut request = self.client.request(method, &url);
            if let Some(body) = body {
                request = request
                    .header("content-type", "application/json")
                    .body(serde_json::to_vec(&body).unwrap());
            }
            let response = request.send().await.map_err(|e| e.to_string())?;
            let ok = response.status().is_success();
            let bytes = response.bytes().await.map_err(|e| e.to_string())?;
            let value: Value = serde_json::from_slice(&bytes).map_err(|e| e.to_string())?;
            if ok {
                Ok(value)
            } else {
                Err(value.to_string())
            }
        })
    }

    fn session_call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let path = format!("/session/{}{path}", self.session);
        self.call(method, &path, body)
            .unwrap_or_else(|e| panic!("WebDriver {path}: {e}"))
    }

    /// Open a local file.
    pub fn open(&self, file: &Path) {
        let url = format!("file://{}", std::path::absolute(file).unwrap().display());
        self.session_call(reqwest::Method::POST, "/url", Some(json!({"url": url})));
    }

    /// Run `script` (a function body; `arguments` are `args`) in the page; its result.
    pub fn eval(&self, script: &str, args: Value) -> Value {
        self.session_call(
            reqwest::Method::POST,
            "/execute/sync",
            Some(json!({"script": script, "args": args})),
        )["value"]
            .clone()
    }

    /// Evaluate `script` until it returns something other than `null`/`false`, checking
    /// every 100 ms, at most `attempts` times; its value.
    pub fn wait_for(&self, script: &str, attempts: u32) -> Value {
        for _ in 0..attempts {
            let v = self.eval(script, json!([]));
            if !(v.is_null() || v == false) {
                return v;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!("the page never answered `{script}`");
    }

    /// A PNG of the window, written to `path`.
    pub fn screenshot(&self, path: &Path) {
        let encoded = self.session_call(reqwest::Method::GET, "/screenshot", None);
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(encoded["value"].as_str().unwrap())
            .unwrap();
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).unwrap();
        }
        std::fs::write(path, bytes).unwrap();
    }

    /// Every URL the page at `file` asked for, other than itself and `data:` URLs:
    /// requests in Chromium's DevTools log whose document is the page, and the page's own
    /// resource timing entries.
    pub fn network_requests(&self, file: &Path) -> Vec<String> {
        let page = format!("file://{}", std::path::absolute(file).unwrap().display());
        let log = self.session_call(
            reqwest::Method::POST,
            "/se/log",
            Some(json!({"type": "performance"})),
        );
        let mut urls = Vec::new();
        let mut seen_page = false;
        for entry in log["value"].as_array().cloned().unwrap_or_default() {
            let Some(text) = entry["message"].as_str() else {
                continue;
            };
            let Ok(message) = serde_json::from_str::<Value>(text) else {
                continue;
            };
            let message = &message["message"];
            if message["method"] != "Network.requestWillBeSent" {
                continue;
            }
            let params = &message["params"];
            let url = params["request"]["url"].as_str().unwrap_or_default();
            if params["documentURL"].as_str() != Some(page.as_str()) {
                continue;
            }
            if url == page {
                seen_page = true;
            } else if !url.starts_with("data:") {
                urls.push(url.to_string());
            }
        }
        assert!(
            seen_page,
            "the DevTools log does not show the page itself: the check would see nothing"
        );
        let resources = self.eval(
            "return performance.getEntriesByType('resource').map(function (e) { return e.name; });",
            json!([]),
        );
        for url in resources.as_array().cloned().unwrap_or_default() {
            let url = url.as_str().unwrap_or_default();
            if !url.starts_with("data:") {
                urls.push(url.to_string());
            }
        }
        urls
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        if !self.session.is_empty() {
            let _ = self.call(
                reqwest::Method::DELETE,
                &format!("/session/{}", self.session),
                None,
            );
        }
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}
