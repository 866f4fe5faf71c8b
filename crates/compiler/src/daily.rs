//! A compiled run split for incremental evaluation: each aggregate as a part that does not
//! depend on the as-of — the aggregate and the event predicate of its `FILTER`, evaluated
//! once per entity and local day and kept (the engine's daily summaries) — and the days its
//! window covers at this as-of, whose summaries are merged.
//!
//! A run's aggregates are `agg(args) FILTER (WHERE window AND match)`, the window being
//! `time >= lo` / `time < hi` conditions on the event time. When `lo` and `hi` are local
//! midnights (every `Nd`/`Nw` window, first/last and cadence boundaries, absolute dates),
//! `agg FILTER (match)` per day, merged over the days `[lo, hi)`, is the aggregate itself.
//! The split is refused — with the reason — when a bound is not a midnight (`within: 12h`),
//! when an aggregate is ordered or distinct, or when what is left still changes with the
//! as-of (compared with the same specs compiled for the next day).

use chrono::{NaiveDate, TimeZone};
use datafusion::common::ScalarValue;
use datafusion::logical_expr::expr::AggregateFunction;
use datafusion::logical_expr::utils::split_conjunction;
use datafusion::logical_expr::{BinaryExpr, Expr, Operator, lit};
use segmint_spec::Checked;

use crate::compare::conjunction;
use crate::plan::{Compiled, scan_range};
use crate::time::AsOf;

/// One aggregate of the run, split.
#[derive(Debug, Clone)]
pub struct DailyAggregate {
    /// The grouped row's column it fills (`__agg_N`).
    pub column: String,
    /// The aggregate without its `FILTER` (no alias): what a day's summary keeps the state of.
    pub aggregate: Expr,
    /// The event predicate of its `FILTER`, window removed (`None`: every event).
    pub predicate: Option<Expr>,
    /// Text that names the summarised part whatever the as-of: equal parts of different
    /// aggregates (the same events counted over 30 and 90 days) share one summary.
    pub key: String,
    /// The local days `[first, end)` whose summaries are merged (`first = None`: all).
    pub first_day: Option<NaiveDate>,
    pub end_day: NaiveDate,
}

/// A run split into daily parts.
#[derive(Debug, Clone)]
pub struct Daily {
    pub aggregates: Vec<DailyAggregate>,
    /// The first local day the run reads (`None`: all history); the last is the as-of.
    pub first_day: Option<NaiveDate>,
}

/// Split `compiled` (for `as_of`) into daily parts; `next` is the same selection compiled for
/// the day after, to tell which parts change with the as-of. `Err`: why the run cannot be
/// evaluated from daily summaries.
pub fn daily(
    checked: &Checked,
    compiled: &Compiled,
    next: &Compiled,
    as_of: &AsOf,
) -> Result<Daily, String> {
    let time = &checked.project.events.time;
    let (scan_lo, _) = scan_range(checked, as_of);
    let first_day = match scan_lo {
        Some(lo) => Some(midnight_day(as_of, lo).ok_or_else(|| {
            "the widest window does not start at a midnight of the project's timezone".to_string()
        })?),
        None => None,
    };
    if compiled.aggregates.len() != next.aggregates.len() {
        return Err("the run's aggregates change from one day to the next".into());
    }
    let end_day = as_of
        .date
        .succ_opt()
        .ok_or_else(|| "the as-of is the last representable day".to_string())?;
    let mut aggregates = Vec::with_capacity(compiled.aggregates.len());
    for (now, tomorrow) in compiled.aggregates.iter().zip(&next.aggregates) {
        let (column, call) = aliased_call(now)?;
        let (_, next_call) = aliased_call(tomorrow)?;
        let part = split(call, time)?;
        let next_part = split(next_call, time)?;
        let free = part.as_of_free();
        if free != next_part.as_of_free() {
            return Err(format!(
                "`{}` depends on the as-of beyond its window",
                call.func.name()
            ));
        }
        let mut first = first_day;
        let mut end = end_day;
        for (op, us) in &part.bounds {
            let day = midnight_day(as_of, *us).ok_or_else(|| {
                format!(
                    "a window of `{}` does not start or end at a midnight (e.g. `within: 12h`)",
                    call.func.name()
                )
            })?;
            match op {
                Operator::GtEq => first = Some(first.map_or(day, |f| f.max(day))),
                _ => end = end.min(day),
            }
        }
        aggregates.push(DailyAggregate {
            column,
            aggregate: part.aggregate,
            predicate: part.predicate,
            key: free.to_string(),
            first_day: first,
            end_day: end,
        });
    }
    Ok(Daily {
        aggregates,
        first_day,
    })
}

/// The local day of each event (a `DATE` in the project timezone): what summaries are
/// grouped by.
pub fn event_day(checked: &Checked, as_of: &AsOf) -> Expr {
    crate::leaf::day_of(
        datafusion::logical_expr::col(&checked.project.events.time),
        as_of.tz.name(),
    )
}

/// The local day starting at `us`, when `us` is a local midnight.
fn midnight_day(as_of: &AsOf, us: i64) -> Option<NaiveDate> {
    let day = as_of.tz.timestamp_micros(us).single()?.date_naive();
    // A midnight skipped by a DST change starts the day at the first valid instant.
    (as_of.day_start_us(day) == Some(us)).then_some(day)
}

/// `(alias, call)` of an `agg(…) FILTER (…) AS __agg_N` expression.
fn aliased_call(e: &Expr) -> Result<(String, &AggregateFunction), String> {
    match e {
        Expr::Alias(alias) => match alias.expr.as_ref() {
            Expr::AggregateFunction(call) => Ok((alias.name.clone(), call)),
            other => Err(format!("`{other}` is not a plain aggregate")),
        },
        other => Err(format!("`{other}` has no column name")),
    }
}

/// An aggregate split into its time bounds and the rest.
struct Split {
    aggregate: Expr,
    predicate: Option<Expr>,
    /// `time >= lo` (`GtEq`) and `time < hi` (`Lt`) conditions, in microseconds.
    bounds: Vec<(Operator, i64)>,
}

impl Split {
    /// The split without its bounds, with the as-of argument of `cadence` (its state is
    /// absolute days; the as-of only limits what it counts) left out.
    fn as_of_free(&self) -> Expr {
        let aggregate = match &self.aggregate {
            Expr::AggregateFunction(call) if call.func.name() == "cadence" => {
                let mut call = call.clone();
                if let Some(as_of) = call.params.args.get_mut(1) {
                    *as_of = lit(ScalarValue::Null);
                }
                Expr::AggregateFunction(call)
            }
            other => other.clone(),
        };
        match &self.predicate {
            Some(p) => aggregate.and(p.clone()),
            None => aggregate,
        }
    }
}

fn split(call: &AggregateFunction, time: &str) -> Result<Split, String> {
    let name = call.func.name();
    if call.params.distinct || !call.params.order_by.is_empty() {
        return Err(format!("`{name}` is ordered or DISTINCT"));
    }
    let mut bounds = Vec::new();
    let mut rest = Vec::new();
    if let Some(filter) = &call.params.filter {
        for part in split_conjunction(filter) {
            match time_bound(part, time) {
                Some(bound) => bounds.push(bound),
                None => rest.push(part.clone()),
            }
        }
    }
    let mut bare = call.clone();
    bare.params.filter = None;
    Ok(Split {
        aggregate: Expr::AggregateFunction(bare),
        predicate: (!rest.is_empty()).then(|| conjunction(rest)),
        bounds,
    })
}

/// `time >= TIMESTAMP lo` or `time < TIMESTAMP hi`.
fn time_bound(e: &Expr, time: &str) -> Option<(Operator, i64)> {
    let Expr::BinaryExpr(BinaryExpr { left, op, right }) = e else {
        return None;
    };
    let (Expr::Column(column), Expr::Literal(ScalarValue::TimestampMicrosecond(Some(us), _), _)) =
        (left.as_ref(), right.as_ref())
    else {
        return None;
    };
    (column.name == time && matches!(op, Operator::GtEq | Operator::Lt)).then_some((*op, *us))
}
