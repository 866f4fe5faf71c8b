//! The checked spec: names resolved, windows parsed, every leaf in one normal form.
//!
//! This is what the compiler consumes. It holds no spans: everything that could be wrong
//! about the input was reported by `check` already.

use std::path::PathBuf;

use chrono::NaiveDate;
use serde::Serialize;

use crate::syntax::{Literal, MetricAgg, PartitionType};
use crate::window::Span;

/// The resolved project file.
#[derive(Debug, Clone, Serialize)]
pub struct Project {
    /// Where `segmint.yaml` lives; relative locations resolve against it.
    pub root: PathBuf,
    pub events: EventsTable,
    pub profiles: Option<ProfilesTable>,
    pub output_location: String,
    /// IANA timezone name (`UTC`, `Europe/Berlin`).
    pub timezone: String,
}

/// The events table and its column roles.
#[derive(Debug, Clone, Serialize)]
pub struct EventsTable {
    pub location: String,
    pub partitioning: Vec<(String, PartitionType)>,
    pub entity: String,
    pub time: String,
    pub event: String,
}

/// The optional profiles table (one row per entity).
#[derive(Debug, Clone, Serialize)]
pub struct ProfilesTable {
    pub location: String,
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
    /// SHA-256 of the segment file's bytes, for run summaries.
    pub spec_hash: String,
}

/// Membership rule of a segment.
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

/// A resolved condition tree.
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

/// Where the first/last event must lie.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub enum When {
    /// In `[as_of − span, as_of)`.
    Within(Span),
    /// Before `as_of − span`.
    Before(Span),
    /// In `[from, to)`.
    Between(NaiveDate, NaiveDate),
}

/// A leaf of the behavioral vocabulary, normalized.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub enum Leaf {
    /// Count of matching events in the window, compared (`not_performed` is `Eq(0)`).
    Performed {
        matching: EventMatch,
        window: Window,
        count: Vec<Comparison>,
    },
    /// First (`first = true`) or last matching event, placed in time.
    Occurrence {
        first: bool,
        matching: EventMatch,
        when: When,
    },
    /// An aggregate over matching events in the window, compared.
    Metric {
        agg: MetricAgg,
        of: Option<String>,
        equals: Option<Literal>,
        matching: EventMatch,
        window: Window,
        value: Vec<Comparison>,
    },
    /// Profile columns, compared.
    Trait { filters: Vec<Filter> },
}

impl Leaf {
    /// The window of events this leaf needs to read.
    pub fn events_window(&self) -> Option<Window> {
        match self {
            Leaf::Performed { window, .. } | Leaf::Metric { window, .. } => Some(*window),
            // The first/last event ever must be found among all events before as-of.
            Leaf::Occurrence { .. } => Some(Window::AllTime),
            Leaf::Trait { .. } => None,
        }
    }
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
