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
    /// Computed traits written beside membership, by column name.
    pub outputs: Vec<Output>,
    /// SHA-256 of the segment file's bytes, for run summaries.
    pub spec_hash: String,
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

/// Where the first/last event must lie.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub enum When {
    /// In `[as_of − span, as_of)`.
    Within(Span),
    /// Before `as_of − span`.
    Before(Span),
    /// In `[from, to)`.
    Between(NaiveDate, NaiveDate),
    /// Any time before as-of (`first_performed: {}`: there is such an event at all).
    Ever,
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
    /// How far through ordered steps within `window` (ClickHouse `windowFunnel`).
    Funnel {
        steps: Vec<EventMatch>,
        /// Longest time from the first step to the last.
        window: Span,
        /// `window_funnel` modes, comma-separated (`""` for none).
        modes: String,
        /// Which events are looked at.
        events: Window,
        outcome: FunnelOutcome,
    },
    /// Do the steps occur in order with the given gaps (ClickHouse `sequenceMatch`).
    Sequence {
        steps: Vec<SequenceStep>,
        events: Window,
    },
    /// Sessions split by an inactivity gap, compared.
    Sessions {
        matching: EventMatch,
        window: Window,
        gap: Span,
        count: Vec<Comparison>,
        mean_minutes: Vec<Comparison>,
        events_per_session: Vec<Comparison>,
    },
    /// The rhythm class of the entity's active days.
    Cadence {
        matching: EventMatch,
        window: Window,
        classes: Vec<CadenceClass>,
        rules: CadenceRules,
    },
    /// Recent event rate over the baseline rate, compared.
    Momentum {
        matching: EventMatch,
        recent: Span,
        baseline: Span,
        value: Vec<Comparison>,
    },
    /// Recency, frequency and monetary scores (1–5) and the named class.
    Rfm {
        matching: EventMatch,
        monetary: String,
        window: Window,
        /// `None`: quintiles over the entities with at least one matching event.
        cut_points: Option<RfmCutPoints>,
        classes: Vec<String>,
        r: Vec<Comparison>,
        f: Vec<Comparison>,
        m: Vec<Comparison>,
    },
    /// The dominant value of a property by share of matching events.
    Affinity {
        of: String,
        matching: EventMatch,
        window: Window,
        /// The dominant value must be one of these (empty: any).
        values: Vec<Literal>,
        min_share: Option<f64>,
    },
}

/// What a funnel leaf asks of the level reached.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub enum FunnelOutcome {
    /// Every step.
    Completed,
    /// The number of steps completed, compared.
    Reached(Vec<Comparison>),
    /// Reached step `n` (1-based) but not the next one.
    DroppedAfter(usize),
}

/// One step of a sequence and its gap from the previous step.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SequenceStep {
    pub matching: EventMatch,
    pub gap: Gap,
}

/// How a sequence step follows the previous one.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub enum Gap {
    /// Any time later, other events in between.
    Eventually,
    /// The next step event (no other step event in between).
    Immediately,
    /// At most this long after the previous step.
    Within(Span),
    /// At least this long after the previous step.
    After(Span),
}

/// A rhythm class.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum CadenceClass {
    Regular,
    Returning,
    Fading,
    Lapsed,
}

impl CadenceClass {
    /// The YAML (and output) spelling.
    pub fn name(self) -> &'static str {
        match self {
            CadenceClass::Regular => "regular",
            CadenceClass::Returning => "returning",
            CadenceClass::Fading => "fading",
            CadenceClass::Lapsed => "lapsed",
        }
    }

    /// Every class.
    pub const ALL: [CadenceClass; 4] = [
        CadenceClass::Regular,
        CadenceClass::Returning,
        CadenceClass::Fading,
        CadenceClass::Lapsed,
    ];
}

/// The thresholds of the cadence classes (see docs/segments.md).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct CadenceRules {
    /// Fewer active days than this: no rhythm, no class.
    pub min_active_days: u32,
    /// Away at least this many usual gaps (and `fading_min_days`): fading.
    pub fading_after: f64,
    pub fading_min_days: i64,
    /// Away at least this many usual gaps (and `lapsed_min_days`): lapsed.
    pub lapsed_after: f64,
    pub lapsed_min_days: i64,
    /// Came back, within `returning_within_days`, after a break of at least this many
    /// usual gaps (and `returning_min_days`): returning.
    pub returning_after: f64,
    pub returning_min_days: i64,
    pub returning_within_days: i64,
}

impl Default for CadenceRules {
    fn default() -> Self {
        CadenceRules {
            min_active_days: 3,
            fading_after: 2.0,
            fading_min_days: 7,
            lapsed_after: 4.0,
            lapsed_min_days: 28,
            returning_after: 4.0,
            returning_min_days: 14,
            returning_within_days: 14,
        }
    }
}

/// Fixed RFM cut points (four, increasing, per score).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RfmCutPoints {
    pub recency_days: Vec<f64>,
    pub frequency: Vec<f64>,
    pub monetary: Vec<f64>,
}

impl Leaf {
    /// The window of events this leaf needs to read.
    pub fn events_window(&self) -> Option<Window> {
        match self {
            Leaf::Performed { window, .. }
            | Leaf::Metric { window, .. }
            | Leaf::Sessions { window, .. }
            | Leaf::Cadence { window, .. }
            | Leaf::Rfm { window, .. }
            | Leaf::Affinity { window, .. } => Some(*window),
            Leaf::Funnel { events, .. } | Leaf::Sequence { events, .. } => Some(*events),
            Leaf::Momentum {
                recent, baseline, ..
            } => Some(Window::Last(recent.plus(*baseline).plus(Span {
                amount: 1,
                unit: crate::window::Unit::Days,
            }))),
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
