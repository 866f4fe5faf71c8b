//! Object stores by URL: every location of `segmint.yaml` (events, profiles, output), and
//! every store a Ballista executor needs, goes through this one door: [`StoreRegistry`],
//! DataFusion's `ObjectStoreRegistry` built from a project's [`StorageOptions`] (an
//! executor uses the defaults and its environment).
//!
//! | location | store |
//! |---|---|
//! | a path, `file:///…` | the local file system |
//! | `s3://bucket/prefix` | Amazon S3 or an S3-compatible server |
//! | `gs://bucket/prefix` | Google Cloud Storage |
//! | `az://container/prefix`, `abfss://container@account.dfs.core.windows.net/prefix` | Azure Blob / ADLS Gen2 |
//! | `http(s)://host/prefix` | read-only HTTP (WebDAV for writes) |
//!
//! Credentials come only from each provider's standard environment variables and credential
//! chain (`AmazonS3Builder::from_env` and friends); `segmint.yaml` only holds endpoint,
//! region, retry and timeout settings. Secrets never reach logs, errors or outputs: every
//! error message goes through [`redact`].

use std::collections::HashMap;
use std::path::Path as FsPath;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use datafusion::common::{DataFusionError, Result as DfResult};
use datafusion::execution::object_store::ObjectStoreRegistry;

use object_store::aws::{AmazonS3Builder, AmazonS3ConfigKey};
use object_store::azure::{AzureConfigKey, MicrosoftAzureBuilder};
use object_store::gcp::{GoogleCloudStorageBuilder, GoogleConfigKey};
use object_store::http::HttpBuilder;
use object_store::local::LocalFileSystem;
use object_store::path::Path;
use object_store::{ClientConfigKey, ObjectStore, RetryConfig};
use segmint_spec::StorageOptions;
use url::Url;

use crate::error::{EngineError, Result};
use crate::quiet_store::QuietStore;

/// A location resolved to its store.
#[derive(Debug, Clone)]
pub struct Located {
    pub store: Arc<dyn ObjectStore>,
    /// `scheme://authority/`: the key under which the store is registered.
    pub store_url: Url,
    /// The location inside the store (no leading or trailing `/`).
    pub prefix: Path,
    /// The location as written, for messages.
    pub display: String,
}

impl Located {
    /// The location as a URL ending in `/` (what listing tables take).
    pub fn table_url(&self) -> String {
        let mut url = self.store_url.to_string();
        if !url.ends_with('/') {
            url.push('/');
        }
        let prefix = self.prefix.as_ref();
        if !prefix.is_empty() {
            url.push_str(prefix);
            url.push('/');
        }
        url
    }

    /// A path below this location.
    pub fn child(&self, relative: &str) -> Path {
        let prefix = self.prefix.as_ref();
        if prefix.is_empty() {
            Path::from(relative)
        } else {
            Path::from(format!("{prefix}/{relative}"))
        }
    }

    /// The full URL of a path below this location, for messages.
    pub fn describe(&self, path: &Path) -> String {
        format!(
            "{}{}",
            self.store_url.as_str().trim_end_matches('/'),
            if path.as_ref().is_empty() {
                String::new()
            } else {
                format!("/{path}")
            }
        )
    }
}

/// Environment variables whose values must never be shown.
const SECRET_VARIABLES: [&str; 12] = [
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_ACCESS_KEY_ID",
    "GOOGLE_SERVICE_ACCOUNT_KEY",
    "GOOGLE_APPLICATION_CREDENTIALS_JSON",
    "AZURE_STORAGE_ACCOUNT_KEY",
    "AZURE_STORAGE_ACCESS_KEY",
    "AZURE_STORAGE_MASTER_KEY",
    "AZURE_STORAGE_SAS_KEY",
    "AZURE_STORAGE_SAS_TOKEN",
    "AZURE_CLIENT_SECRET",
    "AZURE_STORAGE_TOKEN",
];

/// `text` with the value of every credential variable replaced by `***`.
pub fn redact(text: &str) -> String {
    let mut out = text.to_string();
    for var in SECRET_VARIABLES {
        if let Ok(value) = std::env::var(var)
            && value.len() >= 4
        {
            out = out.replace(&value, "***");
        }
    }
    out
}

fn retry(options: &StorageOptions) -> RetryConfig {
    RetryConfig {
        max_retries: options.retries as usize,
        retry_timeout: Duration::from_secs(60),
        ..RetryConfig::default()
    }
}

/// Client settings as (key, value) pairs, applied on top of what the environment set
/// (replacing the builder's whole `ClientOptions` would drop e.g. `AWS_ALLOW_HTTP`).
fn client(options: &StorageOptions) -> Vec<(ClientConfigKey, String)> {
    let mut out = vec![
        (
            ClientConfigKey::Timeout,
            format!("{}s", options.timeout_seconds),
        ),
        (
            ClientConfigKey::ConnectTimeout,
            format!("{}s", options.connect_timeout_seconds),
        ),
    ];
    if let Some(allow) = options.allow_http {
        out.push((ClientConfigKey::AllowHttp, allow.to_string()));
    }
    out
}

fn bad(location: &str, message: impl std::fmt::Display) -> EngineError {
    EngineError::Usage(format!("location `{location}`: {message}"))
}

/// Object stores created on first use, one per `scheme://authority`, from a project's
/// storage options and the process's environment (credentials, `AWS_ENDPOINT_URL`, …).
/// Local sessions, the output and Ballista executors all use it; stores registered by
/// hand (tests) are served as well.
#[derive(Debug, Default)]
pub struct StoreRegistry {
    options: StorageOptions,
    stores: RwLock<HashMap<String, Arc<dyn ObjectStore>>>,
}

impl StoreRegistry {
    /// A registry building stores with these options.
    pub fn new(options: StorageOptions) -> Self {
        StoreRegistry {
            options,
            stores: RwLock::default(),
        }
    }

    /// Resolve a location of the project file (relative paths against `root`).
    pub fn locate(&self, root: &FsPath, location: &str) -> Result<Located> {
        if !location.contains("://") || location.starts_with("file://") {
            let path = match location.strip_prefix("file://") {
                Some(p) => FsPath::new(p).to_path_buf(),
                None => root.join(location),
            };
            let path = std::path::absolute(&path).map_err(|e| bad(location, e))?;
            let prefix = Path::from_absolute_path(&path).map_err(|e| bad(location, e))?;
            let store_url = Url::parse("file:///").map_err(|e| bad(location, e))?;
            return Ok(Located {
                store: self.store(&store_url, location)?,
                store_url,
                prefix,
                display: path.display().to_string(),
            });
        }
        let url = Url::parse(location).map_err(|e| bad(location, e))?;
        let prefix = Path::from(url.path().trim_matches('/'));
        let store_url = Url::parse(&format!("{}://{}", url.scheme(), url_authority(&url)))
            .map_err(|e| bad(location, e))?;
        Ok(Located {
            store: self.store(&store_url, location)?,
            store_url,
            prefix,
            display: location.to_string(),
        })
    }

    /// The store of `scheme://authority`, built on first use.
    fn store(&self, store_url: &Url, location: &str) -> Result<Arc<dyn ObjectStore>> {
        let key = key(store_url);
        if let Some(store) = self.stores.read().ok().and_then(|s| s.get(&key).cloned()) {
            return Ok(store);
        }
        let built = build(store_url, location, &self.options)?;
        let store: Arc<dyn ObjectStore> = Arc::new(QuietStore::new(built, key.clone()));
        if let Ok(mut stores) = self.stores.write() {
            stores.entry(key).or_insert_with(|| store.clone());
        }
        Ok(store)
    }
}

impl ObjectStoreRegistry for StoreRegistry {
    fn register_store(
        &self,
        url: &Url,
        store: Arc<dyn ObjectStore>,
    ) -> Option<Arc<dyn ObjectStore>> {
        self.stores.write().ok()?.insert(key(url), store)
    }

    fn deregister_store(&self, url: &Url) -> DfResult<Arc<dyn ObjectStore>> {
        self.stores
            .write()
            .map_err(|e| DataFusionError::Execution(e.to_string()))?
            .remove(&key(url))
            .ok_or_else(|| DataFusionError::Execution(format!("no store for {url}")))
    }

    fn get_store(&self, url: &Url) -> DfResult<Arc<dyn ObjectStore>> {
        let store_url = Url::parse(&format!("{}://{}", url.scheme(), url_authority(url)))
            .map_err(|e| DataFusionError::Execution(e.to_string()))?;
        self.store(&store_url, &format!("{}/", key(&store_url)))
            .map_err(|e| DataFusionError::Execution(e.to_string()))
    }
}

/// The registry key of a store: `scheme://authority`.
fn key(url: &Url) -> String {
    format!(
        "{}://{}",
        url.scheme(),
        &url[url::Position::BeforeUsername..url::Position::AfterPort]
    )
}

/// A new store for `scheme://authority` (`location`, as written, for messages and Azure).
fn build(
    store_url: &Url,
    location: &str,
    options: &StorageOptions,
) -> Result<Arc<dyn ObjectStore>> {
    let authority = store_url.host_str().unwrap_or_default().to_string();
    let store: Arc<dyn ObjectStore> = match store_url.scheme() {
        // Deleting the last object of a folder removes the folder too.
        "file" => Arc::new(LocalFileSystem::new().with_automatic_cleanup(true)),
        "s3" | "s3a" => {
            let mut b = AmazonS3Builder::from_env()
                .with_bucket_name(&authority)
                .with_retry(retry(options));
            for (key, value) in client(options) {
                b = b.with_config(AmazonS3ConfigKey::Client(key), value);
            }
            if let Some(endpoint) = &options.endpoint {
                b = b.with_endpoint(endpoint);
            }
            if let Some(allow) = options.allow_http {
                b = b.with_allow_http(allow);
            }
            if let Some(region) = &options.region {
                b = b.with_region(region);
            }
            if let Some(v) = options.virtual_hosted_style {
                b = b.with_virtual_hosted_style_request(v);
            }
            Arc::new(
                b.build()
                    .map_err(|e| bad(location, redact(&e.to_string())))?,
            )
        }
        "gs" => {
            let mut b = GoogleCloudStorageBuilder::from_env()
                .with_bucket_name(&authority)
                .with_retry(retry(options));
            for (key, value) in client(options) {
                b = b.with_config(GoogleConfigKey::Client(key), value);
            }
            Arc::new(
                b.build()
                    .map_err(|e| bad(location, redact(&e.to_string())))?,
            )
        }
        "az" | "adl" | "azure" | "abfs" | "abfss" => {
            let mut b = MicrosoftAzureBuilder::from_env()
                .with_url(location)
                .with_retry(retry(options));
            for (key, value) in client(options) {
                b = b.with_config(AzureConfigKey::Client(key), value);
            }
            Arc::new(
                b.build()
                    .map_err(|e| bad(location, redact(&e.to_string())))?,
            )
        }
        "http" | "https" => {
            let mut b = HttpBuilder::new()
                .with_url(store_url.as_str())
                .with_retry(retry(options));
            for (key, value) in client(options) {
                b = b.with_config(key, value);
            }
            Arc::new(
                b.build()
                    .map_err(|e| bad(location, redact(&e.to_string())))?,
            )
        }
        other => {
            return Err(bad(
                location,
                format!(
                    "unknown scheme `{other}://`; use s3://, gs://, az://, abfss://, http(s)://, file:// or a path"
                ),
            ));
        }
    };
    Ok(store)
}

/// `host[:port]`, and for `abfss://container@account…` the whole user@host.
fn url_authority(url: &Url) -> String {
    let mut authority = String::new();
    if !url.username().is_empty() {
        authority.push_str(url.username());
        authority.push('@');
    }
    authority.push_str(url.host_str().unwrap_or_default());
    if let Some(port) = url.port() {
        authority.push_str(&format!(":{port}"));
    }
    authority
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn paths_and_urls_resolve_to_stores() {
        let local = StoreRegistry::default();
        let events = local
            .locate(FsPath::new("/tmp/project"), "lake/events")
            .unwrap();
        assert_eq!(events.table_url(), "file:///tmp/project/lake/events/");
        assert_eq!(
            events.child("a/b.json").as_ref(),
            "tmp/project/lake/events/a/b.json"
        );
        let s3_options = StorageOptions {
            endpoint: Some("http://127.0.0.1:9000".into()),
            allow_http: Some(true),
            region: Some("us-east-1".into()),
            ..StorageOptions::default()
        };
        let registry = StoreRegistry::new(s3_options);
        let s3 = registry
            .locate(FsPath::new("/"), "s3://acme-lake/events/")
            .unwrap();
        assert_eq!(s3.store_url.as_str(), "s3://acme-lake");
        assert_eq!(s3.table_url(), "s3://acme-lake/events/");
        // One store per bucket, whichever door asks for it.
        let output = registry
            .locate(FsPath::new("/"), "s3://acme-lake/out")
            .unwrap();
        assert!(Arc::ptr_eq(&s3.store, &output.store));
        let url = Url::parse("s3://acme-lake/events/date=2026-11-22/part-0.parquet").unwrap();
        assert!(Arc::ptr_eq(&s3.store, &registry.get_store(&url).unwrap()));
        assert!(local.locate(FsPath::new("/"), "ftp://x/y").is_err());
    }

    #[test]
    fn credentials_are_redacted() {
        // Only variables that are set are redacted; this one is not set in tests.
        assert_eq!(redact("no secrets here"), "no secrets here");
    }
}
