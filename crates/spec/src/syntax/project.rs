//! The project file (`segmint.yaml`) as written: where events live and where results go.
//!
//! ```yaml
//! lake:
//!   events:
//!     location: s3://acme-lake/events/   # s3:// gs:// az:// abfss:// http(s):// file:// or a path
//!     format: parquet                    # or delta (a Delta Lake table)
//!     partitioning: {date: date}         # hive-style columns, used for pruning (Parquet only)
//!     columns: {entity: user_id, time: event_time, event: event_name}
//!   profiles:                            # optional: one row per entity
//!     location: ./lake/profiles
//!     key: user_id
//! output:
//!   location: ./out
//! timezone: UTC
//! segments: segments                     # folder of segment files, relative to this file
//! holdout_salt: acme-2026                # mixes into holdout assignment (default "segmint")
//! memory_limit: 2GiB                     # cap on query memory; spills to disk beyond it (default: none)
//! incremental:                           # optional: daily runs read the new day plus daily summaries
//!   lookback_days: 2                     # days before the as-of summarised again every run (default 1)
//! features: features.yaml                # measurable leaves for models (default: this file, if present)
//! models: models                         # folder of model files (default: `models`, if present)
//! archetypes: archetypes                 # folder of archetype files (default: `archetypes`, if present)
//! destinations:                          # where `segmint sync` delivers membership changes
//!   crm:
//!     webhook: {url: https://crm.example.com/hooks, signing_key_env: CRM_SIGNING_KEY}
//!     segments: [cart_abandoners]
//!   exports:
//!     files: {location: s3://acme-lake/exports, format: csv, mode: delta}
//! identity:                              # optional: stitch identifiers into people (docs/identity.md)
//!   identifiers: [user_id, anonymous_id]  # event columns, highest priority first
//!   limits: {user_id: 1, anonymous_id: 100}
//!   blocked: ['^test-']                   # regexes, on top of the default placeholders
//!   edges:                                # optional tables of identifier pairs
//!     - {location: ./lake/aliases, columns: {user_id: uid, anonymous_id: device}}
//!   max_person_size: 1000                 # identifiers per person; beyond: exit 5
//! storage:                               # optional object-store settings (never credentials)
//!   endpoint: http://127.0.0.1:9000      # S3-compatible servers (else AWS_ENDPOINT_URL)
//!   allow_http: true                     # (else AWS_ALLOW_HTTP)
//!   region: us-east-1
//!   retries: 3                           # retries of transient failures per request
//!   timeout_seconds: 30                  # per request
//! ```

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_saphyr::Spanned;

/// The whole project file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProjectSyntax {
    pub lake: LakeSyntax,
    pub output: OutputSyntax,
    #[serde(default)]
    pub timezone: Option<Spanned<String>>,
    #[serde(default)]
    pub segments: Option<Spanned<String>>,
    #[serde(default)]
    pub storage: Option<StorageSyntax>,
    #[serde(default)]
    pub holdout_salt: Option<Spanned<String>>,
    /// The most memory a local evaluation's operators may reserve (`512MB`, `2GiB`);
    /// beyond it they spill to disk.
    #[serde(default)]
    pub memory_limit: Option<Spanned<String>>,
    /// Incremental runs from daily summaries (docs/incremental.md).
    #[serde(default)]
    pub incremental: Option<IncrementalSyntax>,
    /// The features file (default `features.yaml` beside this file, when it exists).
    #[serde(default)]
    pub features: Option<Spanned<String>>,
    /// The folder of model files (default `models`, when it exists).
    #[serde(default)]
    pub models: Option<Spanned<String>>,
    /// The folder of archetype files (default `archetypes`, when it exists).
    #[serde(default)]
    pub archetypes: Option<Spanned<String>>,
    /// Name → destination.
    #[serde(default)]
    pub destinations: Option<BTreeMap<String, Spanned<DestinationSyntax>>>,
    /// Identity resolution: events' identifiers stitched into people before segmenting.
    #[serde(default)]
    pub identity: Option<Spanned<IdentitySyntax>>,
}

/// `identity:` — which identifiers name a person, and the rules for joining them.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IdentitySyntax {
    /// Identifier columns of the events table, highest priority first.
    pub identifiers: Spanned<Vec<Spanned<String>>>,
    /// Identifier type → the most values of that type one person may have.
    #[serde(default)]
    pub limits: Option<BTreeMap<String, Spanned<u32>>>,
    /// Regexes of values that never identify anyone (on top of the defaults).
    #[serde(default)]
    pub blocked: Option<Vec<Spanned<String>>>,
    /// Keep the default placeholder patterns (`''`, `0`, `-1`, `null`, `guest`, …; default true).
    #[serde(default)]
    pub default_blocked: Option<Spanned<bool>>,
    /// Tables of identifier pairs (identify/alias calls, CRM exports).
    #[serde(default)]
    pub edges: Option<Vec<Spanned<EdgeTableSyntax>>>,
    /// The most identifiers one person may have before `identity build` fails (default 1000).
    #[serde(default)]
    pub max_person_size: Option<Spanned<u64>>,
    /// Commit people above `max_person_size` anyway, reporting them (default false).
    #[serde(default)]
    pub allow_oversized: Option<Spanned<bool>>,
}

/// A table whose rows link identifiers: each row joins its non-blank identifier columns.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EdgeTableSyntax {
    pub location: Spanned<String>,
    #[serde(default)]
    pub format: Option<Spanned<TableFormat>>,
    /// Identifier type → the column holding it (two or more).
    pub columns: BTreeMap<String, Spanned<String>>,
}

/// One destination of `segmint sync`: a webhook or files, and which members go there.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DestinationSyntax {
    #[serde(default)]
    pub webhook: Option<Spanned<WebhookSyntax>>,
    #[serde(default)]
    pub files: Option<Spanned<FilesSyntax>>,
    /// The segments delivered (default: every segment).
    #[serde(default)]
    pub segments: Option<Spanned<Vec<Spanned<String>>>>,
    /// Deliver holdout members too (default: no).
    #[serde(default)]
    pub include_holdout: Option<Spanned<bool>>,
}

/// A webhook receiving JSON batches of entered and exited members. Secrets are named by the
/// environment variables that hold them, never written here.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookSyntax {
    pub url: Spanned<String>,
    /// The variable holding the HMAC-SHA256 signing key.
    #[serde(default)]
    pub signing_key_env: Option<Spanned<String>>,
    /// Header name → the variable holding its value (e.g. `Authorization: CRM_TOKEN`).
    #[serde(default)]
    pub headers_env: Option<BTreeMap<String, Spanned<String>>>,
    /// Entities per request (default 500).
    #[serde(default)]
    pub batch_size: Option<Spanned<u32>>,
    /// Requests per second at most (default 10).
    #[serde(default)]
    pub requests_per_second: Option<Spanned<f64>>,
    /// Retries of a request that times out, is refused with 429 or fails with 5xx (default 5).
    #[serde(default)]
    pub max_retries: Option<Spanned<u32>>,
    /// Seconds before a request times out (default 10).
    #[serde(default)]
    pub timeout_seconds: Option<Spanned<u32>>,
}

/// Files of full member lists or of entered/exited deltas.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FilesSyntax {
    pub location: Spanned<String>,
    pub format: Spanned<FileFormat>,
    /// `delta` (entered and exited since the last delivery) or `full` (every member).
    #[serde(default)]
    pub mode: Option<Spanned<FileMode>>,
}

/// The format of a files destination.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FileFormat {
    Csv,
    Jsonl,
    Parquet,
}

/// What a files destination writes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FileMode {
    /// Entered and exited members since the last delivery.
    #[default]
    Delta,
    /// Every member.
    Full,
}

/// Object-store settings. Credentials never go here: they come from each provider's
/// standard environment variables and credential chain.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StorageSyntax {
    /// Endpoint of an S3-compatible server (MinIO, Ceph, R2, a local test server).
    #[serde(default)]
    pub endpoint: Option<String>,
    /// Allow plain HTTP (local S3-compatible servers).
    #[serde(default)]
    pub allow_http: Option<bool>,
    #[serde(default)]
    pub region: Option<String>,
    /// Address buckets as `bucket.endpoint` instead of `endpoint/bucket`.
    #[serde(default)]
    pub virtual_hosted_style: Option<bool>,
    /// Retries of a failed request (default 3).
    #[serde(default)]
    pub retries: Option<u32>,
    /// Seconds before a request times out (default 30).
    #[serde(default)]
    pub timeout_seconds: Option<u32>,
    /// Seconds to wait for a connection (default 5).
    #[serde(default)]
    pub connect_timeout_seconds: Option<u32>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LakeSyntax {
    pub events: EventsSyntax,
    #[serde(default)]
    pub profiles: Option<ProfilesSyntax>,
}

/// How a lake table is stored.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TableFormat {
    /// Parquet files, hive-partitioned folders (`date=2026-11-22/`).
    #[default]
    Parquet,
    /// A Delta Lake table: its log names the files, their partitions and statistics.
    Delta,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EventsSyntax {
    pub location: Spanned<String>,
    #[serde(default)]
    pub format: Option<Spanned<TableFormat>>,
    #[serde(default)]
    pub partitioning: Option<BTreeMap<String, Spanned<PartitionType>>>,
    pub columns: EventColumnsSyntax,
}

/// The type of a hive partition column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PartitionType {
    /// `date=2026-11-22`: enables pruning by time window.
    Date,
    /// Any text value.
    String,
    /// An integer value.
    Int,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EventColumnsSyntax {
    pub entity: Spanned<String>,
    pub time: Spanned<String>,
    pub event: Spanned<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProfilesSyntax {
    pub location: Spanned<String>,
    #[serde(default)]
    pub format: Option<Spanned<TableFormat>>,
    pub key: Spanned<String>,
}

/// `incremental:` as written.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IncrementalSyntax {
    /// Days before the as-of whose summaries every run makes again (late data).
    #[serde(default)]
    pub lookback_days: Option<Spanned<i64>>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OutputSyntax {
    pub location: Spanned<String>,
}
