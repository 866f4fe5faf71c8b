//! Incremental runs: the run's aggregates merged from per-(entity, day) summaries instead of
//! computed from every event of their windows (docs/incremental.md).
//!
//! 1. The compiler splits each aggregate into an as-of-free part — the aggregate and its
//!    event predicate — and the days its window covers ([`segmint_compiler::daily`]); runs it
//!    cannot split are full, with the reason in the run summary.
//! 2. A summary is `state_of[f](args) FILTER (predicate)` per entity and local day: the
//!    partial state of every distinct part, one struct column each, one Delta table per set
//!    of parts ([`table`]).
//! 3. Days without a summary, days whose lake files changed ([`lake_days`]) and the
//!    `lookback_days` before the as-of are summarised from their events.
//! 4. The run's `GROUP BY entity` becomes `merge_of[f](state) FILTER (day in window)` over
//!    the summaries of the read days; everything above it (profiles, ranks, segment columns)
//!    is the compiled plan as it is, so members equal a full run's.

mod inner;
mod lake_days;
mod merge_of;
mod state_of;
mod stored;
mod table;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use chrono::{Duration, NaiveDate};
use datafusion::arrow::array::{Array, AsArray, RecordBatch};
use datafusion::arrow::compute::filter_record_batch;
use datafusion::arrow::datatypes::{DataType, Date32Type, Field, Schema, SchemaRef};
use datafusion::common::tree_node::{Transformed, TreeNode};
use datafusion::common::{Column, ScalarValue};
use datafusion::datasource::file_format::parquet::ParquetFormat;
use datafusion::datasource::listing::{
    ListingOptions, ListingTable, ListingTableConfig, ListingTableUrl,
};
use datafusion::datasource::provider_as_source;
use datafusion::logical_expr::expr::AggregateFunction;
use datafusion::logical_expr::{
    Expr, ExprFunctionExt, LogicalPlan, LogicalPlanBuilder, cast, col, lit,
};
use datafusion::physical_expr::PhysicalExpr;
use datafusion::physical_expr::expressions::Literal;
use segmint_compiler::{AsOf, Compiled, Daily};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::{EngineError, Result};
use crate::session::ProjectSession;
use datafusion::error::{DataFusionError, Result as PlanResult};
use datafusion::logical_expr::ExprSchemable;
use inner::InnerCall;
use merge_of::MergeOf;
use state_of::StateOf;
use table::SummaryTable;

/// How a run was evaluated (in its summary).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct IncrementalUse {
    /// `incremental` (merged from summaries) or `full` (from every event of the window).
    pub mode: String,
    /// Why a run of a project with `incremental:` was full.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Days summarised from their events by this run.
    pub days_summarised: u64,
    /// Days whose summaries were merged.
    pub days_merged: u64,
}

impl IncrementalUse {
    /// A full run, and why.
    pub fn full(reason: impl Into<String>) -> Self {
        IncrementalUse {
            mode: "full".into(),
            reason: Some(reason.into()),
            ..Default::default()
        }
    }
}

/// Days summarised per plan when many are missing (the first run): bounds the summary rows
/// held before they are written.
const DAYS_PER_PASS: i64 = 8;

/// One distinct summarised part: its column and how it is computed and merged.
struct Part {
    column: String,
    /// `state_of[f](args) FILTER (predicate)`.
    state: Expr,
}

/// The run's parts and the summary set they form.
struct Parts {
    parts: Vec<Part>,
    /// Summary column of each aggregate's key.
    by_key: BTreeMap<String, String>,
    /// Names the set: the parts, the timezone and the segmint version.
    set: String,
}

fn hash16(text: &str) -> String {
    hex::encode(&Sha256::digest(text.as_bytes())[..8])
}

fn parts_of(daily: &Daily, timezone: &str) -> Parts {
    let mut by_key = BTreeMap::new();
    let mut parts = Vec::new();
    for aggregate in &daily.aggregates {
        if by_key.contains_key(&aggregate.key) {
            continue;
        }
        let column = format!("s_{}", hash16(&aggregate.key));
        by_key.insert(aggregate.key.clone(), column.clone());
        let Expr::AggregateFunction(call) = &aggregate.aggregate else {
            continue;
        };
        let state = Expr::AggregateFunction(AggregateFunction::new_udf(
            Arc::new(StateOf::udaf(call.func.clone())),
            call.params.args.clone(),
            false,
            aggregate.predicate.clone().map(Box::new),
            vec![],
            None,
        ));
        parts.push(Part { column, state });
    }
    parts.sort_by(|a, b| a.column.cmp(&b.column));
    let mut identity = format!("{}\n{timezone}\n", env!("CARGO_PKG_VERSION"));
    for key in by_key.keys() {
        identity.push_str(key);
        identity.push('\n');
    }
    Parts {
        parts,
        by_key,
        set: hash16(&identity),
    }
}

/// The summary plan of the local days `[first, end)`: one row per entity and day.
fn summary_plan(
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
fn merge_calls(
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
async fn summarise_days(
    session: &ProjectSession,
    clock: &AsOf,
    parts: &Parts,
    table: &mut SummaryTable,
    schema: &SchemaRef,
    days: &BTreeMap<NaiveDate, String>,
) -> Result<()> {
    let mut pending: Vec<NaiveDate> = days.keys().copied().collect();
    pending.sort();
    let mut passes: Vec<(NaiveDate, NaiveDate)> = Vec::new();
    for day in pending {
        match passes.last_mut() {
            Some((first, end)) if *end == day && (day - *first).num_days() < DAYS_PER_PASS => {
                *end = day + Duration::days(1);
            }
            _ => passes.push((day, day + Duration::days(1))),
        }
    }
    for (first, end) in passes {
        let plan = summary_plan(session, clock, parts, (first, end)).map_err(EngineError::Plan)?;
        let batches = match crate::run::collect_plan(session, plan).await {
            Ok(b) => b,
            Err(e) => return Err(crate::failure::read_error(&session.events_location, e).await),
        };
        let mut by_day: BTreeMap<NaiveDate, (String, Vec<RecordBatch>)> = first
            .iter_days()
            .take_while(|d| *d < end)
            .map(|d| (d, (days.get(&d).cloned().unwrap_or_default(), Vec::new())))
            .collect();
        for batch in &batches {
            let batch = stored_batch(batch, schema).map_err(EngineError::Plan)?;
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
                let rows = filter_record_batch(&batch, &mask)?;
                let date = NaiveDate::default() + Duration::days(i64::from(day));
                if let Some((_, kept)) = by_day.get_mut(&date) {
                    kept.push(rows);
                }
            }
        }
        table.replace_days(schema, by_day).await?;
    }
    Ok(())
}

/// A summary batch in the table's stored types.
fn stored_batch(batch: &RecordBatch, schema: &SchemaRef) -> PlanResult<RecordBatch> {
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

/// A table over the summary files of `days`.
fn summaries_source(
    table: &SummaryTable,
    schema: &SchemaRef,
    days: &[NaiveDate],
) -> PlanResult<Arc<dyn datafusion::logical_expr::TableSource>> {
    let urls = days
        .iter()
        .filter_map(|d| table.days.get(d))
        .map(|f| ListingTableUrl::parse(format!("{}{}", table.root, f.path)))
        .collect::<std::result::Result<Vec<_>, _>>()?;
    let options =
        ListingOptions::new(Arc::new(ParquetFormat::default())).with_file_extension(".parquet");
    let config = ListingTableConfig::new_with_multi_paths(urls)
        .with_listing_options(options)
        .with_schema(schema.clone());
    Ok(provider_as_source(Arc::new(ListingTable::try_new(config)?)))
}

/// Days from 1970-01-01 (`DATE`'s number).
fn day_number(day: NaiveDate) -> i32 {
    (day - NaiveDate::default()).num_days() as i32
}

fn date_literal(day: NaiveDate) -> Expr {
    lit(ScalarValue::Date32(Some(day_number(day))))
}

/// The run's grouped aggregates merged from the summaries: a plan whose columns are the
/// compiled `GROUP BY`'s (`__entity`, `__agg_N`).
///
/// Each part is read only for the days its aggregates need: parts with the same days form a
/// branch that scans those days' files (only its columns) and groups them by entity, and the
/// branches are full-joined on the entity. The branch of the whole range (which may have no
/// aggregate) gives every entity with an event in the run's range, as the events scan does.
/// An entity without a row in a branch gets each of its aggregates' value over no rows.
#[allow(clippy::too_many_arguments)]
fn merged_plan(
    daily: &Daily,
    parts: &Parts,
    calls: &BTreeMap<String, InnerCall>,
    table: &SummaryTable,
    schema: &SchemaRef,
    read: &[NaiveDate],
    (first, as_of): (NaiveDate, NaiveDate),
    entity_type: &DataType,
) -> PlanResult<LogicalPlan> {
    let end = as_of + Duration::days(1);
    let days_of = |a: &segmint_compiler::DailyAggregate| {
        (
            a.first_day.map_or(first, |f| f.max(first)),
            a.end_day.min(end),
        )
    };
    let column_of = |a: &segmint_compiler::DailyAggregate| {
        parts
            .by_key
            .get(&a.key)
            .cloned()
            .ok_or_else(|| DataFusionError::Internal(format!("no summary of `{}`", a.column)))
    };
    // The days each part is read for: those of all its aggregates.
    let mut part_days: BTreeMap<String, (NaiveDate, NaiveDate)> = BTreeMap::new();
    for aggregate in &daily.aggregates {
        let (lo, hi) = days_of(aggregate);
        part_days
            .entry(column_of(aggregate)?)
            .and_modify(|(l, h)| {
                *l = (*l).min(lo);
                *h = (*h).max(hi);
            })
            .or_insert((lo, hi));
    }
    let mut branches: BTreeMap<(NaiveDate, NaiveDate), Vec<(Expr, Expr)>> =
        BTreeMap::from([((first, end), Vec::new())]);
    for aggregate in &daily.aggregates {
        let column = column_of(aggregate)?;
        let call = calls
            .get(&column)
            .ok_or_else(|| DataFusionError::Internal(format!("no merge of `{column}`")))?;
        let branch = part_days.get(&column).copied().unwrap_or((first, end));
        let (lo, hi) = days_of(aggregate);
        let mut days = Vec::new();
        if lo > branch.0 {
            days.push(col("day").gt_eq(date_literal(lo)));
        }
        if hi < branch.1 {
            days.push(col("day").lt(date_literal(hi)));
        }
        let merge = Arc::new(MergeOf::udaf(call.clone(), &column)?);
        let empty = lit(merge_of::value_over_no_rows(call)?);
        let merged = Expr::AggregateFunction(AggregateFunction::new_udf(
            merge,
            vec![col(column.as_str())],
            false,
            None,
            vec![],
            None,
        ));
        let merged = match days.into_iter().reduce(Expr::and) {
            Some(f) => merged.filter(f).build()?,
            None => merged,
        };
        branches
            .entry(branch)
            .or_default()
            .push((merged.alias(&aggregate.column), empty));
    }

    let mut joined: Option<LogicalPlanBuilder> = None;
    let mut outputs: Vec<Expr> = Vec::new();
    let mut keys: Vec<Expr> = Vec::new();
    for (i, ((lo, hi), aggregates)) in branches.into_iter().enumerate() {
        let days: Vec<NaiveDate> = read
            .iter()
            .copied()
            .filter(|d| *d >= lo && *d < hi)
            .collect();
        if days.is_empty() {
            // No summarised day in the branch: every entity has the values over no rows.
            outputs.extend(
                aggregates
                    .into_iter()
                    .map(|(merged, empty)| empty.alias(merged.schema_name().to_string())),
            );
            continue;
        }
        let key = format!("__entity_{i}");
        let branch = LogicalPlanBuilder::scan(
            format!("summaries_{i}"),
            summaries_source(table, schema, &days)?,
            None,
        )?
        .filter(
            col("day")
                .gt_eq(date_literal(lo))
                .and(col("day").lt(date_literal(hi))),
        )?
        .aggregate(
            vec![col("entity").alias(&key)],
            aggregates
                .iter()
                .map(|(m, _)| m.clone())
                .collect::<Vec<_>>(),
        )?
        .build()?;
        for (merged, empty) in aggregates {
            let name = merged.schema_name().to_string();
            outputs.push(
                datafusion::logical_expr::when(col(key.as_str()).is_null(), empty)
                    .otherwise(col(name.as_str()))?
                    .alias(name),
            );
        }
        joined = Some(match joined {
            None => LogicalPlanBuilder::from(branch),
            Some(left) => {
                let before = datafusion::functions::expr_fn::coalesce(keys.clone());
                left.join_on(
                    branch,
                    datafusion::logical_expr::JoinType::Full,
                    vec![before.eq(col(key.as_str()))],
                )?
            }
        });
        keys.push(col(key.as_str()));
    }
    let joined = joined.ok_or_else(|| DataFusionError::Internal("no summaries to read".into()))?;
    let entity = cast(
        datafusion::functions::expr_fn::coalesce(keys),
        entity_type.clone(),
    );
    let mut columns = vec![entity.alias("__entity")];
    columns.extend(outputs);
    joined.project(columns)?.build()
}

/// `plan` with its events `GROUP BY` replaced by `merged`.
fn with_merged(plan: &LogicalPlan, merged: &LogicalPlan) -> PlanResult<LogicalPlan> {
    let replaced = plan.clone().transform_up(|node| {
        if matches!(node, LogicalPlan::Aggregate(_))
            && node.schema().has_column(&Column::from_name("__entity"))
        {
            return Ok(Transformed::yes(merged.clone()));
        }
        Ok(Transformed::yes(node.recompute_schema()?))
    })?;
    Ok(replaced.data)
}

/// The `__entity` type of a compiled plan's `GROUP BY`.
fn entity_type(plan: &LogicalPlan) -> DataType {
    let mut found = DataType::Utf8;
    let _ = plan.apply(|node| {
        if let LogicalPlan::Aggregate(a) = node
            && let Ok(field) = a.schema.field_with_unqualified_name("__entity")
        {
            found = field.data_type().clone();
            return Ok(datafusion::common::tree_node::TreeNodeRecursion::Stop);
        }
        Ok(datafusion::common::tree_node::TreeNodeRecursion::Continue)
    });
    found
}

/// `compiled` evaluated from daily summaries (made first where missing or stale): the
/// compiled run with its `GROUP BY` merged from them, and what was done. `Ok(Err(reason))`:
/// this run cannot be incremental.
///
/// `run` is the run's selection compiled for the as-of and the next day; `project` every
/// segment of the project, likewise: the summaries hold the whole project's parts, so runs
/// of different selections share one summary table.
pub async fn prepare(
    session: &ProjectSession,
    (compiled, next): (&Compiled, &Compiled),
    project: (&Compiled, &Compiled),
    as_of: NaiveDate,
    lookback_days: u32,
) -> Result<std::result::Result<(Compiled, IncrementalUse), String>> {
    let checked = &session.checked;
    let clock = AsOf::new(as_of, &checked.project.timezone)?;
    if session.memory.is_none() {
        return Ok(Err(
            "incremental runs are local; this session runs on a cluster".into(),
        ));
    }
    let daily = match segmint_compiler::daily(checked, compiled, next, &clock) {
        Ok(d) => d,
        Err(reason) => return Ok(Err(reason)),
    };
    let whole = match segmint_compiler::daily(checked, project.0, project.1, &clock) {
        Ok(d) => d,
        Err(reason) => return Ok(Err(reason)),
    };
    let lake = match lake_days::lake_days(session, &clock, whole.first_day).await? {
        Ok(l) => l,
        Err(reason) => return Ok(Err(reason)),
    };
    let parts = parts_of(&whole, &checked.project.timezone);
    let probe = summary_plan(session, &clock, &parts, (as_of, as_of + Duration::days(1)))
        .map_err(EngineError::Plan)?;
    let (calls, schema) = merge_calls(session, &probe).map_err(EngineError::Plan)?;
    let mut table = SummaryTable::open(&session.output, &parts.set, &schema).await?;

    let recent = as_of - Duration::days(i64::from(lookback_days));
    let stale: BTreeMap<NaiveDate, String> = lake
        .fingerprints
        .iter()
        .filter(|(day, fingerprint)| {
            **day >= recent || table.days.get(day).is_none_or(|f| &f.lake != *fingerprint)
        })
        .map(|(d, f)| (*d, f.clone()))
        .collect();
    let summarised = stale.len() as u64;
    summarise_days(session, &clock, &parts, &mut table, &schema, &stale).await?;

    let read: Vec<NaiveDate> = lake.fingerprints.keys().copied().collect();
    let first = read.first().copied().unwrap_or(as_of);
    let merged = merged_plan(
        &daily,
        &parts,
        &calls,
        &table,
        &schema,
        &read,
        (first, as_of),
        &entity_type(&compiled.plan),
    )
    .map_err(EngineError::Plan)?;
    let mut evaluated = compiled.clone();
    evaluated.plan = with_merged(&compiled.plan, &merged).map_err(EngineError::Plan)?;
    evaluated.staged.grouped =
        with_merged(&compiled.staged.grouped, &merged).map_err(EngineError::Plan)?;
    Ok(Ok((
        evaluated,
        IncrementalUse {
            mode: "incremental".into(),
            reason: None,
            days_summarised: summarised,
            days_merged: read.len() as u64,
        },
    )))
}
