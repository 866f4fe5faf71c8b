//! Summarising days: the summary plan of a range of local days (one row per entity and day,
//! `state_of[f]` of every part), run a few days per pass and committed to the summary table;
//! and what merging each part needs, read from that plan after type coercion.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use chrono::{Duration, NaiveDate};
use datafusion::arrow::array::{Array, AsArray, RecordBatch};
use datafusion::arrow::compute::filter_record_batch;
use datafusion::arrow::datatypes::{Date32Type, Field, Schema, SchemaRef};
use datafusion::common::ScalarValue;
use datafusion::common::tree_node::TreeNode;
use datafusion::error::{DataFusionError, Result as PlanResult};
use datafusion::logical_expr::{Expr, ExprSchemable, LogicalPlan, LogicalPlanBuilder, col};
use datafusion::physical_expr::PhysicalExpr;
use datafusion::physical_expr::expressions::Literal;
use segmint_compiler::AsOf;

use super::inner::InnerCall;
use super::state_of::StateOf;
use super::table::{SummaryTable, Written};
use super::{Parts, stored};
use crate::error::{EngineError, Result};
use crate::session::ProjectSession;

/// Days summarised per plan when many are missing (the first run): bounds the summary rows
/// held before they are written.
const DAYS_PER_PASS: i64 = 8;

/// The summary plan of the local days `[first, end)`: one row per entity and day.
pub(super) fn summary_plan(
    session: &ProjectSession,
    clock: &AsOf,
    parts: &Parts,
    (first, end): (NaiveDate, NaiveDate),
) -> PlanResult<LogicalPlan> {
    let checked = &session.checked;
    let bound = |d: NaiveDate| {
        clock.day_start_us(d).ok_or_else(|| {
            DataFusionError::Plan(format!("{d} has no start in the project timezone"))
        })
    };
    let (lo, hi) = (bound(first)?, bound(end)?);
    let events = session
        .events
        .for_range(Some(lo), hi)
        .map_err(|e| DataFusionError::External(Box::new(e)))?;
    let aggregates: Vec<Expr> = parts
        .parts
        .iter()
        .map(|p| p.state.clone().alias(&p.column))
        .collect();
    LogicalPlanBuilder::scan("events", events, None)?
        .filter(segmint_compiler::time_range_filter(checked, lo, hi))?
        .aggregate(
            vec![
                col(&checked.project.events.entity).alias("entity"),
                segmint_compiler::event_day(checked, clock).alias("day"),
            ],
            aggregates,
        )?
        .build()
}

/// What merging a part needs: the wrapped function with its constant arguments as they are
/// after type coercion (column arguments as typed NULLs: a merge never reads them).
pub(super) fn merge_calls(
    session: &ProjectSession,
    summary: &LogicalPlan,
) -> PlanResult<(BTreeMap<String, InnerCall>, SchemaRef)> {
    let optimized = session.ctx.state().optimize(summary)?;
    let mut calls = BTreeMap::new();
    let mut schema = None;
    optimized.apply(|node| {
        if let LogicalPlan::Aggregate(aggregate) = node {
            schema = Some(aggregate.schema.inner().clone());
            for e in &aggregate.aggr_expr {
                let (Expr::Alias(alias), input) = (e, aggregate.input.schema()) else {
                    continue;
                };
                let Expr::AggregateFunction(call) = alias.expr.as_ref() else {
                    continue;
                };
                let any: &dyn std::any::Any = call.func.inner().as_ref();
                let Some(state_of) = any.downcast_ref::<StateOf>() else {
                    continue;
                };
                let mut exprs: Vec<Arc<dyn PhysicalExpr>> = Vec::new();
                let mut fields = Vec::new();
                for arg in &call.params.args {
                    let field = arg.to_field(input)?.1;
                    let value = match arg {
                        Expr::Literal(v, _) => v.clone(),
                        _ => ScalarValue::try_from(field.data_type())?,
                    };
                    exprs.push(Arc::new(Literal::new(value)));
                    fields.push(field);
                }
                calls.insert(
                    alias.name.clone(),
                    InnerCall::detached(state_of.inner().clone(), exprs, fields),
                );
            }
        }
        Ok(datafusion::common::tree_node::TreeNodeRecursion::Continue)
    })?;
    let schema = schema
        .ok_or_else(|| DataFusionError::Internal("the summary plan lost its GROUP BY".into()))?;
    // Stored types: what the table holds.
    let stored: Vec<Field> = schema
        .fields()
        .iter()
        .map(|f| Field::new(f.name(), stored::stored_type(f.data_type()), true))
        .collect();
    Ok((calls, Arc::new(Schema::new(stored))))
}

/// Summarise the days `days` (with their lake fingerprints) from their events, a few days
/// per plan, each pass committed to `table`.
pub(super) async fn summarise_days(
    session: &ProjectSession,
    clock: &AsOf,
    parts: &Parts,
    table: &mut SummaryTable,
    schema: &SchemaRef,
    days: &BTreeMap<NaiveDate, String>,
) -> Result<()> {
    for pass in passes(days) {
        let rows = summarised(session, clock, parts, schema, pass).await?;
        table
            .replace_days(schema, by_day(&rows, pass, days)?)
            .await?;
    }
    Ok(())
}

/// Summarise the days `days` (at most [`DAYS_PER_PASS`], see [`one_pass`]), give their rows
/// to the merge through `give` as soon as they are summarised, then write their files (not
/// committed: see [`SummaryTable::commit`]). When summarising fails, `give` is dropped
/// unsent and the error returned.
pub(super) async fn summarise_fresh(
    session: &ProjectSession,
    clock: &AsOf,
    parts: &Parts,
    (table, schema): (&SummaryTable, &SchemaRef),
    days: &BTreeMap<NaiveDate, String>,
    give: tokio::sync::oneshot::Sender<Arc<Vec<RecordBatch>>>,
) -> Result<Vec<Written>> {
    let mut all = Vec::new();
    let mut split = Vec::new();
    for pass in passes(days) {
        let rows = summarised(session, clock, parts, schema, pass).await?;
        split.push(by_day(&rows, pass, days)?);
        all.extend(rows);
    }
    // The merge may have failed and gone: its error is the run's.
    let _ = give.send(Arc::new(all));
    let mut written = Vec::new();
    for days in split {
        written.extend(table.write_days(schema, days).await?);
    }
    Ok(written)
}

/// Whether `days` are summarised in one plan ([`summarise_fresh`] holds their rows).
pub(super) fn one_pass(days: &BTreeMap<NaiveDate, String>) -> bool {
    passes(days).len() == 1
}

/// The plans that summarise `days`: runs of consecutive days, at most [`DAYS_PER_PASS`]
/// each, as `[first, end)`.
fn passes(days: &BTreeMap<NaiveDate, String>) -> Vec<(NaiveDate, NaiveDate)> {
    let mut passes: Vec<(NaiveDate, NaiveDate)> = Vec::new();
    for &day in days.keys() {
        match passes.last_mut() {
            Some((first, end)) if *end == day && (day - *first).num_days() < DAYS_PER_PASS => {
                *end = day + Duration::days(1);
            }
            _ => passes.push((day, day + Duration::days(1))),
        }
    }
    passes
}

/// The summary rows of the days `[first, end)` from their events, in stored types.
async fn summarised(
    session: &ProjectSession,
    clock: &AsOf,
    parts: &Parts,
    schema: &SchemaRef,
    pass: (NaiveDate, NaiveDate),
) -> Result<Vec<RecordBatch>> {
    let plan = summary_plan(session, clock, parts, pass).map_err(EngineError::Plan)?;
    let batches = match crate::run::collect_plan(session, plan).await {
        Ok(b) => b,
        Err(e) => {
            return Err(match super::memory_error(session, &e) {
                Some(limit) => limit,
                None => crate::failure::read_error(&session.events_location, e).await,
            });
        }
    };
    batches
        .iter()
        .map(|b| stored_batch(b, schema).map_err(EngineError::Plan))
        .collect()
}

/// Each day of `[first, end)` with its lake fingerprint (from `days`) and its rows of
/// `rows`: a day without rows has none (an empty file).
fn by_day(
    rows: &[RecordBatch],
    (first, end): (NaiveDate, NaiveDate),
    days: &BTreeMap<NaiveDate, String>,
) -> Result<BTreeMap<NaiveDate, (String, Vec<RecordBatch>)>> {
    let mut by_day: BTreeMap<NaiveDate, (String, Vec<RecordBatch>)> = first
        .iter_days()
        .take_while(|d| *d < end)
        .map(|d| (d, (days.get(&d).cloned().unwrap_or_default(), Vec::new())))
        .collect();
    for batch in rows {
        let Some(day_column) = batch
            .column_by_name("day")
            .and_then(|c| c.as_primitive_opt::<Date32Type>())
        else {
            return Err(EngineError::Internal(
                "a summary row without its day".into(),
            ));
        };
        let present: BTreeSet<i32> = day_column.iter().flatten().collect();
        for day in present {
            let mask = datafusion::arrow::compute::kernels::cmp::eq(
                day_column,
                &datafusion::arrow::array::Date32Array::new_scalar(day),
            )?;
            let kept_rows = filter_record_batch(batch, &mask)?;
            let date = NaiveDate::default() + Duration::days(i64::from(day));
            if let Some((_, kept)) = by_day.get_mut(&date) {
                kept.push(kept_rows);
            }
        }
    }
    Ok(by_day)
}

/// A summary batch in the table's stored types.
pub(super) fn stored_batch(batch: &RecordBatch, schema: &SchemaRef) -> PlanResult<RecordBatch> {
    let mut columns = Vec::with_capacity(schema.fields().len());
    for field in schema.fields() {
        let column = batch.column_by_name(field.name()).ok_or_else(|| {
            DataFusionError::Internal(format!("summary column `{}` is missing", field.name()))
        })?;
        let converted = stored::stored(column)?;
        let converted = if converted.data_type() == field.data_type() {
            converted
        } else {
            datafusion::arrow::compute::cast(&converted, field.data_type())?
        };
        columns.push(converted);
    }
    Ok(RecordBatch::try_new(schema.clone(), columns)?)
}
