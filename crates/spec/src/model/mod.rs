//! The checked spec: names resolved, windows parsed, every leaf in one normal form.
//!
//! This is what every later stage reads — the compiler, the engine, the CLI — never the
//! YAML syntax. It holds no spans: everything that could be wrong about the input was
//! reported by `check` already. The leaves are in [`leaf`], one type each.

mod activation;
mod identity;
mod leaf;
mod models;

use std::path::PathBuf;

use chrono::NaiveDate;
use serde::Serialize;

use crate::syntax::{Literal, PartitionType, TableFormat};
use crate::window::Span;

pub use activation::{
    Destination, DestinationTarget, FilesTarget, Holdout, Webhook, holdout_position,
};
pub use identity::{DEFAULT_BLOCKED, EdgeTable, Identity, PERSON_ID};
pub use leaf::{
    Affinity, Cadence, CadenceClass, CadenceRules, Funnel, FunnelMode, FunnelOutcome, Gap, Leaf,
    Measure, Metric, Momentum, Occurrence, Performed, RFM_CLASSES, Rfm, RfmCutPoints, RfmScoring,
    Sequence, SequenceStep, Sessions, Trait, When, Which,
};
pub use models::{
    ArchetypeOf, ArchetypeSpec, Catalog, Feature, KChoice, ModelSpec, Predict, ScoreTest,
    archetype_name, features_hash,
};

/// The resolved project file.
#[derive(Debug, Clone, Serialize)]
pub struct Project {
    /// The folder holding `segmint.yaml`: relative locations resolve against it.
    pub root: PathBuf,
    pub events: EventsTable,
    pub profiles: Option<ProfilesTable>,
    /// Where results are committed (as written: a URL or a path relative to `root`).
    pub output_location: String,
    /// IANA timezone name (`UTC`, `Europe/Berlin`).
    pub timezone: String,
    /// How object stores are reached (never credentials).
    pub storage: StorageOptions,
    /// Mixed into every holdout assignment, so two projects hold out different people.
    pub holdout_salt: String,
    /// Where `segmint sync` delivers membership changes.
    pub destinations: Vec<Destination>,
    /// The most memory (bytes) a local evaluation may reserve; `None`: unbounded.
    pub memory_limit: Option<u64>,
    /// Incremental runs from daily summaries; `None`: every run reads its whole window.
    pub incremental: Option<Incremental>,
    /// Identity resolution; with it, `events.entity` and `profiles.key` are [`PERSON_ID`].
    pub identity: Option<Identity>,
}

/// How incremental runs keep their daily summaries fresh.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Incremental {
    /// Days before the as-of summarised again by every run, whatever their files say.
    pub lookback_days: u32,
}

/// The most days `lookback_days` may be.
pub const MAX_LOOKBACK_DAYS: i64 = 366;

/// Object-store settings of a project, defaults filled in. Credentials are never here:
/// they come from each provider's environment and credential chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StorageOptions {
    /// Endpoint of an S3-compatible server (else `AWS_ENDPOINT_URL`).
    pub endpoint: Option<String>,
    /// Allow plain HTTP (else `AWS_ALLOW_HTTP`).
    pub allow_http: Option<bool>,
    pub region: Option<String>,
    pub virtual_hosted_style: Option<bool>,
    /// Retries of a failed request.
    pub retries: u32,
    /// Seconds before a request times out.
    pub timeout_seconds: u32,
    /// Seconds to wait for a connection.
    pub connect_timeout_seconds: u32,
}

impl Default for StorageOptions {
    fn default() -> Self {
        StorageOptions {
            endpoint: None,
            allow_http: None,
            region: None,
            virtual_hosted_style: None,
            retries: 3,
            timeout_seconds: 30,
            connect_timeout_seconds: 5,
        }
    }
}

/// The events table and its column roles. With `identity:`, `entity` is [`PERSON_ID`]: the
/// engine maps each event's identifiers to a person before the one `GROUP BY`.
#[derive(Debug, Clone, Serialize)]
pub struct EventsTable {
    pub location: String,
    pub format: TableFormat,
    pub partitioning: Vec<(String, PartitionType)>,
    pub entity: String,
    pub time: String,
    pub event: String,
}

/// The optional profiles table (one row per entity).
#[derive(Debug, Clone, Serialize)]
pub struct ProfilesTable {
    pub location: String,
    pub format: TableFormat,
    pub key: String,
}

/// One checked segment.
#[derive(Debug, Clone, Serialize)]
pub struct Segment {
    pub name: String,
    pub description: String,
    /// The file it came from.
    pub file: String,
    pub body: SegmentBody,
    /// Computed traits written beside membership, by column name.
    pub outputs: Vec<Output>,
    /// SHA-256 of the segment file's bytes, for run summaries.
    pub spec_hash: String,
    /// Members held out of destinations, as a control group.
    pub holdout: Option<Holdout>,
}

/// Membership rule of a segment.
// A few hundred segments per project at most: boxing leaves would only add noise.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, Serialize)]
pub enum SegmentBody {
    /// Members are the entities for which the condition holds.
    Where(Cond),
    /// Every entity goes to the first tier that holds (`None`: catch-all).
    Tiers(Vec<Tier>),
}

/// A named bucket.
#[derive(Debug, Clone, Serialize)]
pub struct Tier {
    pub name: String,
    pub condition: Option<Cond>,
}

/// One output column: a leaf's value (its comparisons are empty and ignored).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Output {
    pub name: String,
    pub measure: Leaf,
}

/// A resolved condition tree.
// Built once per run; boxing the leaves would only add noise.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Serialize)]
pub enum Cond {
    All(Vec<Cond>),
    Any(Vec<Cond>),
    Not(Box<Cond>),
    /// Reference to a segment that is checked and ordered before this one.
    InSegment(String),
    Leaf(Leaf),
}

/// Which events a leaf looks at.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EventMatch {
    /// `None`: any event.
    pub event: Option<String>,
    /// All must hold (sorted by column).
    pub filters: Vec<Filter>,
}

/// One comparison of a column with literal values.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Filter {
    pub column: String,
    pub cmp: Comparison,
}

/// A comparison operator with its operand(s).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub enum Comparison {
    Eq(Literal),
    Ne(Literal),
    In(Vec<Literal>),
    NotIn(Vec<Literal>),
    Gt(Literal),
    Gte(Literal),
    Lt(Literal),
    Lte(Literal),
    /// Inclusive on both ends.
    Between(Literal, Literal),
    Contains(String),
    IsNull(bool),
}

/// Where in time a leaf looks, relative to as-of.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub enum Window {
    /// Everything before as-of.
    AllTime,
    /// `[as_of − span, as_of)`.
    Last(Span),
    /// `[from, to)` in the project timezone (and before as-of).
    Between(NaiveDate, NaiveDate),
}

impl Cond {
    /// Every leaf of this tree, depth first (references are not followed).
    pub fn leaves(&self) -> Vec<&Leaf> {
        let mut out = Vec::new();
        self.collect_leaves(&mut out);
        out
    }

    fn collect_leaves<'a>(&'a self, out: &mut Vec<&'a Leaf>) {
        match self {
            Cond::All(c) | Cond::Any(c) => c.iter().for_each(|c| c.collect_leaves(out)),
            Cond::Not(c) => c.collect_leaves(out),
            Cond::InSegment(_) => {}
            Cond::Leaf(l) => out.push(l),
        }
    }

    /// Names of segments this tree references directly.
    pub fn references(&self) -> Vec<&str> {
        match self {
            Cond::All(c) | Cond::Any(c) => c.iter().flat_map(Cond::references).collect(),
            Cond::Not(c) => c.references(),
            Cond::InSegment(s) => vec![s.as_str()],
            Cond::Leaf(_) => vec![],
        }
    }
}

impl Segment {
    /// Every condition of the segment (one, or one per tier).
    pub fn conditions(&self) -> Vec<&Cond> {
        match &self.body {
            SegmentBody::Where(c) => vec![c],
            SegmentBody::Tiers(t) => t.iter().filter_map(|t| t.condition.as_ref()).collect(),
        }
    }

    /// True for a tiered segment.
    pub fn is_tiered(&self) -> bool {
        matches!(self.body, SegmentBody::Tiers(_))
    }
}
