//! Delivering batches to a webhook: JSON bodies signed with HMAC-SHA256, an idempotency
//! key per batch, a rate limit, and retries with exponential backoff and jitter on
//! timeouts, refused connections, 429 (honouring `Retry-After`) and 5xx.
//!
//! | header | value |
//! |---|---|
//! | `Content-Type` | `application/json` |
//! | `Idempotency-Key` | the batch's key: the same batch gets the same key on every attempt and every sync |
//! | `X-Segmint-Signature` | `sha256=<hex HMAC-SHA256 of the body with the signing key>` (when `signing_key_env` is set) |
//! | headers of `headers_env` | the values of the named variables |
//!
//! Secrets are read from the environment when the sender is made and never printed,
//! logged or written; errors name the variable, not its value.

use std::time::{Duration, Instant};

use hmac::{KeyInit, Mac};
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use segmint_spec::Webhook;

use crate::error::{EngineError, Result};
use crate::storage::redact;

/// Longest wait between two attempts.
const MAX_BACKOFF: Duration = Duration::from_secs(30);
/// First wait between attempts (doubled each time, with jitter).
const FIRST_BACKOFF: Duration = Duration::from_millis(500);

/// A webhook ready to send.
pub struct Sender {
    destination: String,
    webhook: Webhook,
    client: reqwest::Client,
    signing_key: Option<Vec<u8>>,
    headers: HeaderMap,
    last_request: Option<Instant>,
}

/// The value of a secret variable, or an error naming it (never its value).
fn secret(variable: &str, destination: &str, what: &str) -> Result<String> {
    std::env::var(variable).map_err(|_| EngineError::MissingSecret {
        variable: variable.to_string(),
        destination: destination.to_string(),
        what: what.to_string(),
    })
}

/// A wait in `[d/2, d)`, so retrying clients spread out.
fn jittered(d: Duration) -> Duration {
    let random = uuid::Uuid::new_v4().as_u128() as u64;
    let factor = 0.5 + (random % 1_000_000) as f64 / 2_000_000.0;
    d.mul_f64(factor)
}

/// Seconds of a `Retry-After` header (the seconds form; a date is treated as absent).
fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let seconds: u64 = headers
        .get("retry-after")?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()?;
    Some(Duration::from_secs(seconds).min(MAX_BACKOFF * 2))
}

impl Sender {
    /// Read the secrets and build the client; a missing variable is an error before
    /// anything is sent.
    pub fn new(destination: &str, webhook: &Webhook) -> Result<Sender> {
        let signing_key = match &webhook.signing_key_env {
            Some(v) => Some(secret(v, destination, "signing key")?.into_bytes()),
            None => None,
        };
        let mut headers = HeaderMap::new();
        for (name, variable) in &webhook.headers_env {
            let value = secret(variable, destination, &format!("header {name}"))?;
            let name = HeaderName::from_bytes(name.as_bytes()).map_err(|e| {
                EngineError::Usage(format!("destination `{destination}`: header `{name}`: {e}"))
            })?;
            let mut value = HeaderValue::from_str(&value).map_err(|_| {
                EngineError::Usage(format!(
                    "destination `{destination}`: the value of {variable} is not a valid header value"
                ))
            })?;
            value.set_sensitive(true);
            headers.insert(name, value);
        }
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(u64::from(webhook.timeout_seconds)))
            .build()
            .map_err(|e| EngineError::Internal(e.to_string()))?;
        Ok(Sender {
            destination: destination.to_string(),
            webhook: webhook.clone(),
            client,
            signing_key,
            headers,
            last_request: None,
        })
    }

    /// `sha256=<hex>` of the body, or nothing without a key.
    fn signature(&self, body: &[u8]) -> Result<Option<String>> {
        let Some(key) = &self.signing_key else {
            return Ok(None);
        };
        let mut mac = hmac::Hmac::<sha2_hmac::Sha256>::new_from_slice(key)
            .map_err(|e| EngineError::Internal(e.to_string()))?;
        mac.update(body);
        Ok(Some(format!(
            "sha256={}",
            hex::encode(mac.finalize().into_bytes())
        )))
    }

    /// Keep to the destination's rate.
    async fn pace(&mut self) {
        let gap = Duration::from_secs_f64(1.0 / self.webhook.requests_per_second);
        if let Some(last) = self.last_request {
            let since = last.elapsed();
            if since < gap {
                tokio::time::sleep(gap - since).await;
            }
        }
        self.last_request = Some(Instant::now());
    }

    /// POST one batch until it is accepted (2xx) or the retries are spent; the number of
    /// requests made. `segment` names the batch in errors.
    pub async fn send(&mut self, body: Vec<u8>, key: &str, segment: &str) -> Result<u64> {
        let signature = self.signature(&body)?;
        let mut backoff = FIRST_BACKOFF;
        let mut requests = 0u64;
        loop {
            self.pace().await;
            requests += 1;
            let mut request = self
                .client
                .post(&self.webhook.url)
                .headers(self.headers.clone())
                .header("content-type", "application/json")
                .header("idempotency-key", key)
                .body(body.clone());
            if let Some(s) = &signature {
                request = request.header("x-segmint-signature", s);
            }
            let (retryable, wait, problem) = match request.send().await {
                Ok(response) if response.status().is_success() => return Ok(requests),
                Ok(response) => {
                    let status = response.status();
                    let wait = retry_after(response.headers());
                    let text = response.text().await.unwrap_or_default();
                    let snippet: String = text.chars().take(200).collect();
                    (
                        status.as_u16() == 429 || status.is_server_error(),
                        wait,
                        format!("HTTP {status}: {snippet}"),
                    )
                }
                Err(e) => (
                    e.is_timeout() || e.is_connect() || e.is_request(),
                    None,
                    redact(&e.to_string()),
                ),
            };
            if !retryable || requests > u64::from(self.webhook.max_retries) {
                return Err(EngineError::Delivery {
                    destination: self.destination.clone(),
                    segment: segment.to_string(),
                    message: format!("{problem} (after {requests} request(s))"),
                });
            }
            tracing::warn!(destination = %self.destination, %segment, attempt = requests, %problem, "retrying");
            tokio::time::sleep(wait.unwrap_or_else(|| jittered(backoff))).await;
            backoff = (backoff * 2).min(MAX_BACKOFF);
        }
    }
}
