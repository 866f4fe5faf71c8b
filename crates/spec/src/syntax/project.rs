//! The project file (`segmint.yaml`) as written: where events live and where results go.
//!
//! ```yaml
//! lake:
//!   events:
//!     location: ./lake/events            # path or file:// URL (object stores come later)
//!     partitioning: {date: date}         # hive-style columns, used for pruning
//!     columns: {entity: user_id, time: event_time, event: event_name}
//!   profiles:                            # optional: one row per entity
//!     location: ./lake/profiles
//!     key: user_id
//! output:
//!   location: ./out
//! timezone: UTC
//! segments: segments                     # folder of segment files, relative to this file
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
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LakeSyntax {
    pub events: EventsSyntax,
    #[serde(default)]
    pub profiles: Option<ProfilesSyntax>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EventsSyntax {
    pub location: Spanned<String>,
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
    pub key: Spanned<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OutputSyntax {
    pub location: Spanned<String>,
}
