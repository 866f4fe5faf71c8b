//! `segmint impact`: did acting on a segment work? Entrants of a segment with a holdout
//! group are compared — treated against held out — on a goal reached within N days after
//! entry.
//!
//! - **Entrants**: for each committed as-of of the segment in the range, the members not in
//!   the segment at its previous committed as-of (at the first committed as-of, every
//!   member: that is when a destination's first sync delivered them). An entity counts
//!   once, at its first entry in the range, with the holdout flag committed then.
//! - **Goal window**: from the end of the entry as-of to the end of the as-of N days later,
//!   in the project timezone. Entrants whose window reaches past the latest committed as-of
//!   are *pending*: counted, but not compared (their outcome is not known yet).
//! - **Goal**: a `performed` leaf (`{event: purchase, where: {…}}`) matched by the same code
//!   the segments use; optionally a numeric event column summed per entrant over the
//!   matching events (e.g. revenue).
//!
//! The join of entrants and goal events is one DataFusion plan over the events source;
//! the statistics are in [`stats`].

pub mod saved;
pub mod stats;

use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::Arc;

use chrono::{Days, NaiveDate};
use datafusion::arrow::array::{
    Array, ArrayRef, BooleanArray, Float64Array, RecordBatch, StringArray,
    TimestampMicrosecondArray,
};
use datafusion::arrow::datatypes::{DataType, Field, Schema, TimeUnit};
use datafusion::datasource::{MemTable, provider_as_source};
use datafusion::functions_aggregate::expr_fn::{count, sum};
use datafusion::logical_expr::{JoinType, LogicalPlanBuilder, cast};
use datafusion::prelude::{DataFrame, Expr, col, lit};
use segmint_compiler::AsOf;
use segmint_spec::SourceText;
use serde::{Deserialize, Serialize};

use crate::error::{EngineError, Result};
use crate::members::{ENTITY, HOLDOUT};
use crate::session::ProjectSession;
use stats::{Conversion, Group, Moments, ValueLift};

/// What to measure.
#[derive(Debug, Clone)]
pub struct ImpactRequest {
    pub segment: String,
    /// The goal, as YAML: a `performed` leaf.
    pub goal: String,
    /// Days after entry the goal is looked for in.
    pub days: u32,
    /// A numeric events column summed over the goal events (e.g. `revenue`).
    pub value: Option<String>,
    /// First and last entry as-of (default: every committed as-of of the segment).
    pub from: Option<NaiveDate>,
    pub to: Option<NaiveDate>,
}

/// What `impact` found.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ImpactReport {
    pub segment: String,
    pub goal: String,
    pub days: u32,
    /// The segment's holdout share.
    pub holdout_share: f64,
    /// The committed entry as-ofs looked at.
    pub entry_days: Vec<String>,
    /// Entrants whose goal window is not over yet (left out of the comparison).
    pub pending: u64,
    pub conversion: Option<Conversion>,
    pub value_column: Option<String>,
    pub value: Option<ValueLift>,
    /// Why a comparison is missing, when it is.
    pub note: Option<String>,
}

/// One entrant: who, when its goal window is, and whether it was held out.
struct Entrant {
    entity: String,
    window: (i64, i64),
    held_out: bool,
}

/// Measure `request` on the project's committed output and its lake.
pub async fn impact(session: &ProjectSession, request: &ImpactRequest) -> Result<ImpactReport> {
    let checked = &session.checked;
    let segment = checked
        .segments
        .iter()
        .find(|s| s.name == request.segment)
        .ok_or_else(|| EngineError::UnknownSegment(request.segment.clone()))?;
    let holdout = segment.holdout.ok_or_else(|| {
        EngineError::Usage(format!(
            "segment `{}` has no holdout group to compare with: add `holdout: 10%` to {} and run it",
            segment.name, segment.file
        ))
    })?;
    if request.days == 0 {
        return Err(EngineError::Usage("--days must be at least 1".into()));
    }
    let goal_source = SourceText {
        name: "--goal".into(),
        text: request.goal.as_str().into(),
    };
    let goal =
        segmint_spec::check_goal(&goal_source, Some(&session.schema)).map_err(EngineError::Spec)?;
    if let Some(column) = &request.value {
        match session.schema.events.get(column) {
            Some(kind) if kind.is_numeric() => {}
            Some(kind) => {
                return Err(EngineError::Usage(format!(
                    "--value `{column}` is {} in {}: it must be numeric",
                    kind.name(),
                    session.events_location.display
                )));
            }
            None => {
                return Err(EngineError::Usage(format!(
                    "--value `{column}` is not a column of {}",
                    session.events_location.display
                )));
            }
        }
    }

    let (entrants, entry_days, pending) = entrants(session, request).await?;
    let mut report = ImpactReport {
        segment: segment.name.clone(),
        goal: request.goal.trim().to_string(),
        days: request.days,
        holdout_share: holdout.fraction,
        entry_days: entry_days.iter().map(NaiveDate::to_string).collect(),
        pending,
        conversion: None,
        value_column: request.value.clone(),
        value: None,
        note: None,
    };
    if entrants.is_empty() {
        report.note = Some(if pending > 0 {
            format!(
                "every entrant's {}-day window is still open: run later as-ofs first",
                request.days
            )
        } else {
            "no entrants in the range".into()
        });
        return Ok(report);
    }
    let goal_filter = segmint_compiler::event_filter(&checked.project.events, &goal);
    let reached = goal_values(session, &entrants, goal_filter, request.value.as_deref()).await?;

    let (mut treated, mut held) = ((0, 0), (0, 0));
    let (mut treated_values, mut held_values) = (Moments::default(), Moments::default());
    for e in &entrants {
        let outcome = reached.get(&e.entity);
        let (group, values) = if e.held_out {
            (&mut held, &mut held_values)
        } else {
            (&mut treated, &mut treated_values)
        };
        group.0 += 1;
        group.1 += u64::from(outcome.is_some());
        values.add(outcome.copied().unwrap_or(0.0));
    }
    report.conversion =
        stats::conversion(Group::new(treated.0, treated.1), Group::new(held.0, held.1));
    if report.conversion.is_none() {
        report.note = Some(format!(
            "{} treated and {} held-out entrants: both groups need members",
            treated.0, held.0
        ));
    }
    if request.value.is_some() {
        report.value = stats::value_lift(treated_values, held_values);
    }
    Ok(report)
}

/// The entrants of the request's range with a closed goal window, the entry as-ofs, and
/// the number of entrants still pending.
async fn entrants(
    session: &ProjectSession,
    request: &ImpactRequest,
) -> Result<(Vec<Entrant>, Vec<NaiveDate>, u64)> {
    let out = &session.output;
    let history = out.history().await?;
    let Some(horizon) = history.days().last().copied() else {
        return Err(EngineError::Usage(format!(
            "nothing is committed in {} yet: run the segment first",
            out.location.display
        )));
    };
    let committed: Vec<NaiveDate> = history
        .days()
        .into_iter()
        .filter(|d| history.segments_at(*d).contains_key(&request.segment))
        .collect();
    let in_range: Vec<NaiveDate> = committed
        .iter()
        .copied()
        .filter(|d| request.from.is_none_or(|f| *d >= f) && request.to.is_none_or(|t| *d <= t))
        .collect();
    if in_range.is_empty() {
        return Err(EngineError::Usage(format!(
            "segment `{}` has no committed as-of in the range",
            request.segment
        )));
    }
    let timezone = &session.checked.project.timezone;
    let wanted = BTreeSet::from([request.segment.clone()]);
    let mut previous: HashSet<String> = match committed.iter().rfind(|d| **d < in_range[0]) {
        Some(day) => out
            .members_at(*day, Some(&wanted))
            .await?
            .remove(&request.segment)
            .unwrap_or_default(),
        None => HashSet::new(),
    };
    let mut seen = HashSet::new();
    let mut entrants = Vec::new();
    let mut pending = 0;
    for day in &in_range {
        let window_end = day
            .checked_add_days(Days::new(u64::from(request.days)))
            .ok_or_else(|| {
                EngineError::Usage(format!("{day} + {} days is out of range", request.days))
            })?;
        let open = window_end > horizon;
        let window = (
            AsOf::new(*day, timezone)?.end_us,
            AsOf::new(window_end, timezone)?.end_us,
        );
        let mut members = HashSet::new();
        for batch in out.segment_rows(*day, &request.segment).await? {
            let entities = text_column(&batch, ENTITY)?;
            let flags = batch
                .column_by_name(HOLDOUT)
                .and_then(|c| c.as_any().downcast_ref::<BooleanArray>().cloned());
            for row in 0..batch.num_rows() {
                if entities.is_null(row) {
                    continue;
                }
                let entity = entities.value(row);
                members.insert(entity.to_string());
                if previous.contains(entity) || !seen.insert(entity.to_string()) {
                    continue;
                }
                if open {
                    pending += 1;
                    continue;
                }
                entrants.push(Entrant {
                    entity: entity.to_string(),
                    window,
                    held_out: flags
                        .as_ref()
                        .is_some_and(|f| f.is_valid(row) && f.value(row)),
                });
            }
        }
        previous = members;
    }
    Ok((entrants, in_range, pending))
}

fn text_column<'a>(batch: &'a RecordBatch, name: &str) -> Result<&'a StringArray> {
    batch
        .column_by_name(name)
        .and_then(|c| c.as_any().downcast_ref::<StringArray>())
        .ok_or_else(|| EngineError::Internal(format!("`{name}` is not a text column")))
}

/// Each entrant that reached the goal in its window, with the summed value (0 without a
/// value column): one join of the entrants with the goal events.
async fn goal_values(
    session: &ProjectSession,
    entrants: &[Entrant],
    goal: Expr,
    value: Option<&str>,
) -> Result<HashMap<String, f64>> {
    let table = &session.checked.project.events;
    let utc = DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()));
    let schema = Arc::new(Schema::new(vec![
        Field::new("entrant", DataType::Utf8, false),
        Field::new("window_start", utc.clone(), false),
        Field::new("window_end", utc.clone(), false),
    ]));
    let columns: Vec<ArrayRef> = vec![
        Arc::new(StringArray::from_iter_values(
            entrants.iter().map(|e| e.entity.as_str()),
        )),
        Arc::new(
            TimestampMicrosecondArray::from_iter_values(entrants.iter().map(|e| e.window.0))
                .with_timezone("UTC"),
        ),
        Arc::new(
            TimestampMicrosecondArray::from_iter_values(entrants.iter().map(|e| e.window.1))
                .with_timezone("UTC"),
        ),
    ];
    let batch = RecordBatch::try_new(schema.clone(), columns)?;
    let entrants_table = MemTable::try_new(schema, vec![vec![batch]]).map_err(EngineError::Plan)?;
    let lo = entrants
        .iter()
        .map(|e| e.window.0)
        .min()
        .unwrap_or_default();
    let hi = entrants
        .iter()
        .map(|e| e.window.1)
        .max()
        .unwrap_or_default();

    let value_expr = match value {
        Some(v) => cast(col(v), DataType::Float64),
        None => lit(0.0f64),
    };
    let plan = LogicalPlanBuilder::scan("events", session.events.for_range(Some(lo), hi)?, None)
        .and_then(|b| {
            b.filter(segmint_compiler::time_range_filter(&session.checked, lo, hi).and(goal))
        })
        .and_then(|b| {
            b.project(vec![
                cast(col(&table.entity), DataType::Utf8).alias("goal_entity"),
                cast(col(&table.time), utc.clone()).alias("goal_time"),
                value_expr.alias("goal_value"),
            ])
        })
        .and_then(|b| {
            b.join_on(
                LogicalPlanBuilder::scan(
                    "entrants",
                    provider_as_source(Arc::new(entrants_table)),
                    None,
                )?
                .build()?,
                JoinType::Inner,
                vec![col("goal_entity").eq(col("entrant"))],
            )
        })
        .and_then(|b| {
            b.filter(
                col("goal_time")
                    .gt_eq(col("window_start"))
                    .and(col("goal_time").lt(col("window_end"))),
            )
        })
        .and_then(|b| {
            b.aggregate(
                vec![col("entrant")],
                vec![
                    sum(col("goal_value")).alias("value"),
                    count(lit(1)).alias("events"),
                ],
            )
        })
        .and_then(|b| b.build())
        .map_err(EngineError::Plan)?;
    let batches = match DataFrame::new(session.ctx.state(), plan).collect().await {
        Ok(batches) => batches,
        Err(e) => return Err(crate::failure::read_error(&session.events_location, e).await),
    };
    let mut reached = HashMap::new();
    for batch in &batches {
        let entities = text_column(batch, "entrant")?;
        let values = batch
            .column_by_name("value")
            .and_then(|c| c.as_any().downcast_ref::<Float64Array>())
            .ok_or_else(|| EngineError::Internal("goal value is not a float".into()))?;
        for row in 0..batch.num_rows() {
            let v = if values.is_valid(row) {
                values.value(row)
            } else {
                0.0
            };
            reached.insert(entities.value(row).to_string(), v);
        }
    }
    Ok(reached)
}
