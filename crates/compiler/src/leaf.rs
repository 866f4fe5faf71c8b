//! One leaf → its (deduplicated) aggregates over the entity's events, plus the value and
//! the predicate evaluated on the aggregated row.
//!
//! Identical aggregates of different leaves or segments are computed once: [`Aggregates`]
//! keys them by expression. Each leaf type of the model plans itself in its own file under
//! `leaves/` ([`LeafPlan`]); this module holds what they share.

use std::collections::HashMap;

use datafusion::arrow::datatypes::{DataType, SchemaRef, TimeUnit};
use datafusion::common::ScalarValue;
use datafusion::logical_expr::{Expr, ExprFunctionExt, cast, col, lit};
use segmint_spec::{EventMatch, EventsTable, Leaf, Span, Window};

use crate::compare::{compare, conjunction, timestamp};
use crate::error::{CompileError, Result};
use crate::time::AsOf;

/// The type floating-point properties are summed in: nine decimal places, 29 digits before
/// the point (docs/decisions.md, "Order-free sums").
const EXACT_SUM: DataType = DataType::Decimal128(38, 9);

/// The distinct aggregates of a run, each an output column `__agg_N` of the GROUP BY, and
/// the distinct window expressions over the grouped rows (population ranks for RFM).
#[derive(Default)]
pub struct Aggregates {
    pub exprs: Vec<Expr>,
    index: HashMap<Expr, usize>,
    pub windows: Vec<Expr>,
    window_index: HashMap<Expr, usize>,
}

impl Aggregates {
    /// The column holding this aggregate, adding it on first use.
    pub fn column(&mut self, aggregate: Expr) -> Expr {
        let next = self.exprs.len();
        let i = *self.index.entry(aggregate.clone()).or_insert(next);
        if i == next {
            self.exprs.push(aggregate.alias(format!("__agg_{i}")));
        }
        col(format!("__agg_{i}"))
    }

    /// The column holding this window expression (computed once per run, after the
    /// GROUP BY and the profiles join), adding it on first use.
    pub fn window(&mut self, window: Expr) -> Expr {
        let next = self.windows.len();
        let i = *self.window_index.entry(window.clone()).or_insert(next);
        if i == next {
            self.windows.push(window);
        }
        col(format!("__win_{i}"))
    }
}

/// A compiled leaf: its value (for `preview` and outputs) and its truth (never null).
pub struct CompiledLeaf {
    pub value: Expr,
    pub holds: Expr,
}

impl CompiledLeaf {
    /// A leaf whose value is its truth.
    pub(crate) fn truth(holds: Expr) -> Self {
        CompiledLeaf {
            value: holds.clone(),
            holds,
        }
    }
}

/// How one leaf type becomes part of the fused plan: one implementation per file in
/// `leaves/`.
pub(crate) trait LeafPlan {
    /// Register the leaf's aggregates; return its value and truth over the grouped row.
    fn plan(&self, c: &LeafCompiler, aggs: &mut Aggregates) -> Result<CompiledLeaf>;
    /// A short human description, e.g. `count(purchase) in last 30d` (preview labels).
    fn describe(&self) -> String;
}

/// The planning of a leaf, whichever its type.
pub(crate) fn plan_of(leaf: &Leaf) -> &dyn LeafPlan {
    match leaf {
        Leaf::Performed(l) => l,
        Leaf::Occurrence(l) => l,
        Leaf::Metric(l) => l,
        Leaf::Trait(l) => l,
        Leaf::Funnel(l) => l,
        Leaf::Sequence(l) => l,
        Leaf::Sessions(l) => l,
        Leaf::Cadence(l) => l,
        Leaf::Momentum(l) => l,
        Leaf::Rfm(l) => l,
        Leaf::Affinity(l) => l,
        Leaf::Predict(l) => l,
        Leaf::Archetype(l) => l,
    }
}

/// Compiles leaves against the events table's column roles.
pub struct LeafCompiler<'a> {
    pub events: &'a EventsTable,
    pub as_of: AsOf,
    pub profiles_qualifier: &'a str,
    /// Fitted parameters for `predict` and `archetype` leaves.
    pub trained: &'a crate::trained::Trained,
    /// The events table's columns: sums of floating-point columns are planned exactly.
    pub schema: SchemaRef,
}

impl LeafCompiler<'_> {
    /// Compile one leaf, registering its aggregates.
    pub fn leaf(&self, leaf: &Leaf, aggs: &mut Aggregates) -> Result<CompiledLeaf> {
        plan_of(leaf).plan(self, aggs)
    }

    pub(crate) fn time(&self) -> Expr {
        col(&self.events.time)
    }

    /// `count(*)` of the events a FILTER keeps, as `count(time)`: the run's scan keeps only
    /// events with a time in its range, so the time is never NULL and the counts are equal —
    /// and a column argument is read as it is, where `count(1)`'s literal is expanded to an
    /// array per batch and aggregate (9% of a library run's CPU).
    pub(crate) fn count_events(&self) -> Expr {
        datafusion::functions_aggregate::expr_fn::count(self.time())
    }

    /// Event name and property filters.
    pub(crate) fn matching(&self, m: &EventMatch) -> Vec<Expr> {
        matching_parts(self.events, m)
    }

    /// `[lo, hi)` as conditions on the event time (`hi` at the as-of needs none: the scan
    /// ends there).
    pub(crate) fn range(&self, lo: Option<i64>, hi: i64) -> Vec<Expr> {
        let mut parts = Vec::new();
        if let Some(lo) = lo {
            parts.push(self.time().gt_eq(timestamp(lo)));
        }
        if hi < self.as_of.end_us {
            parts.push(self.time().lt(timestamp(hi)));
        }
        parts
    }

    /// Time bounds of a window as conditions on the event time.
    pub(crate) fn window(&self, w: Window) -> Result<Vec<Expr>> {
        let (lo, hi) = self
            .as_of
            .window(w)
            .ok_or_else(|| CompileError::OutOfRange(format!("{w:?}")))?;
        Ok(self.range(lo, hi))
    }

    /// The event filter of a leaf: its window, then its event name and property filters.
    ///
    /// The window comes first on purpose: a batch usually comes from one day's file, so the
    /// window is all true or all false on it, and DataFusion's `AND` then skips the rest
    /// (all false) or evaluates it alone (all true). With a selective event match first,
    /// `AND` would copy every column of the batch to evaluate the window on the matches.
    pub(crate) fn events_in(&self, m: &EventMatch, w: Window) -> Result<Vec<Expr>> {
        let mut cond = self.window(w)?;
        cond.extend(self.matching(m));
        Ok(cond)
    }

    /// `as_of − span` in microseconds.
    pub(crate) fn minus(&self, span: Span) -> Result<i64> {
        self.as_of
            .minus(span)
            .ok_or_else(|| CompileError::OutOfRange(span.to_string()))
    }

    /// The argument of a `sum` or `avg` of the events' column `of`: a floating-point column
    /// as `TRY_CAST(of AS DECIMAL(38, 9))`, so its sum is exact and does not depend on the
    /// order events reach the accumulator (which varies from run to run once events are
    /// hash-partitioned by entity); read it back with [`Self::summed`]. Values beyond
    /// ±10^29, NaN and infinities are NULL there (skipped, as a NULL property is).
    pub(crate) fn summand(&self, of: &str) -> Expr {
        if self.is_float(of) {
            datafusion::logical_expr::try_cast(col(of), EXACT_SUM)
        } else {
            col(of)
        }
    }

    /// A `sum`/`avg` of [`Self::summand`]`(of)` as the column's own kind of number: DOUBLE
    /// for a floating-point column, as it is.
    pub(crate) fn summed(&self, of: &str, aggregate: Expr) -> Expr {
        if self.is_float(of) {
            cast(aggregate, DataType::Float64)
        } else {
            aggregate
        }
    }

    fn is_float(&self, of: &str) -> bool {
        self.schema
            .field_with_name(of)
            .is_ok_and(|f| f.data_type().is_floating())
    }

    /// `agg FILTER (WHERE cond)`, or plain `agg` when cond is always true.
    pub(crate) fn filtered(agg: Expr, cond: Vec<Expr>) -> Result<Expr> {
        if cond.is_empty() {
            return Ok(agg);
        }
        Ok(agg.filter(conjunction(cond)).build()?)
    }

    /// The event time as wall-clock time in the project timezone (UTC: the time itself),
    /// so calendar days are the project's days.
    pub(crate) fn local_time(&self) -> Expr {
        local_time_of(self.time(), self.as_of.tz.name())
    }

    /// Calendar day of the event in the project timezone.
    pub(crate) fn day(&self) -> Expr {
        day_of(self.time(), self.as_of.tz.name())
    }

    /// Local calendar day of each event as a day number.
    pub(crate) fn day_number(&self) -> Expr {
        cast(self.day(), DataType::Int32)
    }

    /// The as-of day (local) as a `DATE` literal.
    pub(crate) fn as_of_date(&self) -> Expr {
        let epoch = chrono::NaiveDate::from_ymd_opt(1970, 1, 1).unwrap_or_default();
        lit(ScalarValue::Date32(Some(
            (self.as_of.date - epoch).num_days() as i32,
        )))
    }
}

/// `time` as wall-clock time in timezone `tz` (UTC: the time itself).
pub(crate) fn local_time_of(time: Expr, tz: &str) -> Expr {
    if tz == "UTC" {
        return time;
    }
    let zoned = cast(
        time,
        DataType::Timestamp(TimeUnit::Microsecond, Some(tz.into())),
    );
    datafusion::functions::expr_fn::to_local_time(vec![zoned])
}

/// The calendar day of `time` in timezone `tz`, as a `DATE`. In UTC the time is first read
/// as a plain timestamp, so the day is arithmetic instead of a time-zone lookup per event;
/// `day_of` takes the day of the wall clock by a division, not a calendar conversion.
pub(crate) fn day_of(time: Expr, tz: &str) -> Expr {
    if tz == "UTC" {
        let plain = cast(time, DataType::Timestamp(TimeUnit::Microsecond, None));
        return segmint_udfs::expr_fn::day_of(plain);
    }
    segmint_udfs::expr_fn::day_of(local_time_of(time, tz))
}

/// The conditions an event must meet to match: its name and property filters.
pub(crate) fn matching_parts(events: &EventsTable, m: &EventMatch) -> Vec<Expr> {
    let mut parts = Vec::new();
    if let Some(e) = &m.event {
        parts.push(col(&events.event).eq(lit(e.as_str())));
    }
    for f in &m.filters {
        parts.push(compare(col(&f.column), &f.cmp));
    }
    parts
}

/// The filter selecting the events a match describes (`true` for any event).
pub fn event_filter(events: &EventsTable, m: &EventMatch) -> Expr {
    conjunction(matching_parts(events, m))
}

/// `coalesce(e, false)`: a leaf's truth is never NULL.
pub(crate) fn never_null(e: Expr) -> Expr {
    datafusion::functions::expr_fn::coalesce(vec![e, lit(false)])
}

/// `coalesce(e, 0)`: counts over no events are 0.
pub(crate) fn zero(e: Expr) -> Expr {
    datafusion::functions::expr_fn::coalesce(vec![e, lit(0i64)])
}

/// A duration in seconds, as the behavioral functions take it.
pub(crate) fn seconds(span: Span) -> Expr {
    lit(span.fixed_seconds())
}
