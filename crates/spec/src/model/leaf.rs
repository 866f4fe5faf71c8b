//! The leaves of the checked model: one type per leaf, each holding exactly what its
//! meaning needs. Everything that could be wrong was reported by `check`; what is left
//! cannot be built in an impossible state (a `sum` always names its column, a `share`
//! always has its value, a condition's funnel always has one outcome).
//!
//! In an output (`outputs:`) a leaf's comparisons are empty: its value is written as is.

use chrono::NaiveDate;
use serde::Serialize;

use super::{Comparison, EventMatch, Filter, Window};
use crate::syntax::{Literal, MetricAgg};
use crate::window::{Span, Unit};

/// A leaf of the behavioral vocabulary.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub enum Leaf {
    Performed(Performed),
    Occurrence(Occurrence),
    Metric(Metric),
    Trait(Trait),
    Funnel(Funnel),
    Sequence(Sequence),
    Sessions(Sessions),
    Cadence(Cadence),
    Momentum(Momentum),
    Rfm(Rfm),
    Affinity(Affinity),
    Predict(super::Predict),
    Archetype(super::ArchetypeOf),
}

/// `performed` / `not_performed`: the count of matching events in the window, compared
/// (`not_performed` is `= 0`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Performed {
    pub matching: EventMatch,
    pub window: Window,
    pub count: Vec<Comparison>,
}

/// Which end of an entity's history an [`Occurrence`] looks at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Which {
    First,
    Last,
}

/// `first_performed` / `last_performed`: the first or last matching event, placed in time.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Occurrence {
    pub which: Which,
    pub matching: EventMatch,
    pub when: When,
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

/// What a `metric` (or `breadth`) computes over the matching events.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub enum Measure {
    /// Matching events (`of: None`), or those with a non-null `of`.
    Count {
        of: Option<String>,
    },
    /// Distinct non-null values of a column.
    CountDistinct {
        of: String,
    },
    /// Distinct calendar days (project timezone) with a matching event.
    ActiveDays,
    Sum {
        of: String,
    },
    Avg {
        of: String,
    },
    Min {
        of: String,
    },
    Max {
        of: String,
    },
    /// The most frequent value.
    Mode {
        of: String,
    },
    /// The fraction of matching events whose `of` equals `equals`.
    Share {
        of: String,
        equals: Literal,
    },
}

impl Measure {
    /// The aggregate as written in YAML.
    pub fn agg(&self) -> MetricAgg {
        match self {
            Measure::Count { .. } => MetricAgg::Count,
            Measure::CountDistinct { .. } => MetricAgg::CountDistinct,
            Measure::ActiveDays => MetricAgg::ActiveDays,
            Measure::Sum { .. } => MetricAgg::Sum,
            Measure::Avg { .. } => MetricAgg::Avg,
            Measure::Min { .. } => MetricAgg::Min,
            Measure::Max { .. } => MetricAgg::Max,
            Measure::Mode { .. } => MetricAgg::Mode,
            Measure::Share { .. } => MetricAgg::Share,
        }
    }

    /// The column aggregated, if any.
    pub fn of(&self) -> Option<&str> {
        match self {
            Measure::Count { of } => of.as_deref(),
            Measure::ActiveDays => None,
            Measure::CountDistinct { of }
            | Measure::Sum { of }
            | Measure::Avg { of }
            | Measure::Min { of }
            | Measure::Max { of }
            | Measure::Mode { of }
            | Measure::Share { of, .. } => Some(of),
        }
    }
}

/// `metric` (and `breadth`, a distinct count): an aggregate over matching events, compared.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Metric {
    pub measure: Measure,
    pub matching: EventMatch,
    pub window: Window,
    pub value: Vec<Comparison>,
}

/// `trait`: profile columns, compared.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Trait {
    pub filters: Vec<Filter>,
}

/// A `window_funnel` mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum FunnelMode {
    StrictOrder,
    StrictDeduplication,
    StrictIncrease,
    AllowReentry,
}

impl FunnelMode {
    /// Every mode.
    pub const ALL: [FunnelMode; 4] = [
        FunnelMode::StrictOrder,
        FunnelMode::StrictDeduplication,
        FunnelMode::StrictIncrease,
        FunnelMode::AllowReentry,
    ];

    /// The spelling in YAML and in `window_funnel`'s mode argument.
    pub fn name(self) -> &'static str {
        match self {
            FunnelMode::StrictOrder => "strict_order",
            FunnelMode::StrictDeduplication => "strict_deduplication",
            FunnelMode::StrictIncrease => "strict_increase",
            FunnelMode::AllowReentry => "allow_reentry",
        }
    }
}

/// `funnel`: how far through ordered steps within `window` (ClickHouse `windowFunnel`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Funnel {
    /// 2 to 32 steps.
    pub steps: Vec<EventMatch>,
    /// Longest time from the first step to the last.
    pub window: Span,
    pub modes: Vec<FunnelMode>,
    /// Which events are looked at.
    pub events: Window,
    pub outcome: FunnelOutcome,
}

impl Funnel {
    /// The modes as `window_funnel`'s comma-separated argument (`""` for none).
    pub fn mode_argument(&self) -> String {
        let names: Vec<&str> = self.modes.iter().map(|m| m.name()).collect();
        names.join(",")
    }
}

/// What a funnel leaf asks of the level reached.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub enum FunnelOutcome {
    /// Every step.
    Completed,
    /// The number of steps completed, compared (empty in outputs: the level is written).
    Reached(Vec<Comparison>),
    /// Reached step `n` (1-based) but not the next one.
    DroppedAfter(usize),
}

/// `sequence`: do the steps occur in order with the given gaps (ClickHouse `sequenceMatch`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Sequence {
    /// 2 to 32 steps; the first one's gap is [`Gap::Eventually`].
    pub steps: Vec<SequenceStep>,
    pub events: Window,
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

/// `sessions`: sessions split by an inactivity gap, compared.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Sessions {
    pub matching: EventMatch,
    pub window: Window,
    pub gap: Span,
    /// Number of sessions.
    pub count: Vec<Comparison>,
    /// Mean session length in minutes.
    pub mean_minutes: Vec<Comparison>,
    pub events_per_session: Vec<Comparison>,
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

/// `cadence`: the rhythm class of the entity's active days.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Cadence {
    pub matching: EventMatch,
    pub window: Window,
    /// The class must be one of these (empty in outputs: the class is written).
    pub classes: Vec<CadenceClass>,
    pub rules: CadenceRules,
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

/// `momentum`: the recent event rate over the baseline rate, compared.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Momentum {
    pub matching: EventMatch,
    pub recent: Span,
    pub baseline: Span,
    pub value: Vec<Comparison>,
}

/// How RFM scores (1–5) are given.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub enum RfmScoring {
    /// Quintiles over the entities with at least one matching event.
    Quintiles,
    /// Fixed cut points.
    CutPoints(RfmCutPoints),
}

/// Fixed RFM cut points (four, increasing, per score).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RfmCutPoints {
    pub recency_days: Vec<f64>,
    pub frequency: Vec<f64>,
    pub monetary: Vec<f64>,
}

/// The named RFM classes, in the order of `rfm_class`'s grid (docs/functions.md). The same
/// list is `segmint_udfs::rfm_class::RFM_CLASSES`; a test keeps the two equal.
pub const RFM_CLASSES: [&str; 11] = [
    "champions",
    "loyal",
    "potential_loyalists",
    "new_customers",
    "promising",
    "need_attention",
    "about_to_sleep",
    "at_risk",
    "cannot_lose_them",
    "hibernating",
    "lost",
];

/// `rfm`: recency, frequency and monetary scores (1–5) and the named class.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Rfm {
    pub matching: EventMatch,
    /// The numeric column summed for the monetary score.
    pub monetary: String,
    pub window: Window,
    pub scoring: RfmScoring,
    /// Any of these classes (names from [`RFM_CLASSES`]); empty: any.
    pub classes: Vec<String>,
    pub r: Vec<Comparison>,
    pub f: Vec<Comparison>,
    pub m: Vec<Comparison>,
}

/// `affinity`: the dominant value of a property by share of matching events.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Affinity {
    pub of: String,
    pub matching: EventMatch,
    pub window: Window,
    /// The dominant value must be one of these (empty: any).
    pub values: Vec<Literal>,
    pub min_share: Option<f64>,
}

impl Leaf {
    /// Every window of events this leaf needs to read: its own, or its features' for
    /// `predict` and `archetype`.
    pub fn event_windows(&self) -> Vec<Window> {
        match self {
            Leaf::Predict(super::Predict { features, .. })
            | Leaf::Archetype(super::ArchetypeOf { features, .. }) => features
                .iter()
                .flat_map(|f| f.leaf.event_windows())
                .collect(),
            other => other.events_window().into_iter().collect(),
        }
    }

    /// The window of events this leaf needs to read (`None`: it reads no events, or it
    /// has several — `predict` and `archetype`, see [`Leaf::event_windows`]).
    pub fn events_window(&self) -> Option<Window> {
        match self {
            Leaf::Performed(Performed { window, .. })
            | Leaf::Metric(Metric { window, .. })
            | Leaf::Sessions(Sessions { window, .. })
            | Leaf::Cadence(Cadence { window, .. })
            | Leaf::Rfm(Rfm { window, .. })
            | Leaf::Affinity(Affinity { window, .. }) => Some(*window),
            Leaf::Funnel(Funnel { events, .. }) | Leaf::Sequence(Sequence { events, .. }) => {
                Some(*events)
            }
            Leaf::Momentum(m) => Some(Window::Last(m.recent.plus(m.baseline).plus(Span {
                amount: 1,
                unit: Unit::Days,
            }))),
            // The first/last event ever must be found among all events before as-of.
            Leaf::Occurrence(_) => Some(Window::AllTime),
            Leaf::Trait(_) => None,
            // Several windows (its features'): see `event_windows`.
            Leaf::Predict(_) | Leaf::Archetype(_) => None,
        }
    }
}
