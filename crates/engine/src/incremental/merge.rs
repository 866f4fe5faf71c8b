//! Merging: the compiled run's `GROUP BY` replaced by `merge_of[f]` over the summaries, each
//! part read in a branch of the days its aggregates need.

use std::collections::BTreeMap;
use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, RecordBatch, UInt32Array, new_empty_array};
use datafusion::arrow::compute::kernels::zip::zip;
use datafusion::arrow::compute::{cast as cast_array, concat, take};
use datafusion::arrow::datatypes::{Field, Schema};
use datafusion::arrow::row::{RowConverter, SortField};
use datafusion::datasource::MemTable;

use chrono::{Duration, NaiveDate};
use datafusion::arrow::datatypes::{DataType, SchemaRef};
use datafusion::common::tree_node::{Transformed, TreeNode};
use datafusion::common::{Column, ScalarValue};
use datafusion::datasource::file_format::parquet::ParquetFormat;
use datafusion::datasource::listing::{
    ListingOptions, ListingTable, ListingTableConfig, ListingTableUrl,
};
use datafusion::datasource::provider_as_source;
use datafusion::error::{DataFusionError, Result as PlanResult};
use datafusion::logical_expr::expr::AggregateFunction;
use datafusion::logical_expr::{Expr, ExprFunctionExt, LogicalPlan, LogicalPlanBuilder, col, lit};
use segmint_compiler::Daily;

use super::Parts;
use super::blocks::{Readable, in_blocks};
use super::fresh::{Fresh, FreshSummaries};
use super::inner::InnerCall;
use super::merge_of::{self, MergeOf};
use super::table::SummaryTable;
use crate::error::{EngineError, Result};
use crate::session::ProjectSession;

/// A table over the summary files `paths` (below the table root).
pub(super) fn summaries_source(
    table: &SummaryTable,
    schema: &SchemaRef,
    paths: &[String],
) -> PlanResult<Arc<dyn datafusion::logical_expr::TableSource>> {
    Ok(provider_as_source(summaries_table(table, schema, paths)?))
}

/// [`summaries_source`]'s table.
fn summaries_table(
    table: &SummaryTable,
    schema: &SchemaRef,
    paths: &[String],
) -> PlanResult<Arc<ListingTable>> {
    let urls = paths
        .iter()
        .map(|path| ListingTableUrl::parse(format!("{}{path}", table.root)))
        .collect::<std::result::Result<Vec<_>, _>>()?;
    let options =
        ListingOptions::new(Arc::new(ParquetFormat::default())).with_file_extension(".parquet");
    let config = ListingTableConfig::new_with_multi_paths(urls)
        .with_listing_options(options)
        .with_schema(schema.clone());
    Ok(Arc::new(ListingTable::try_new(config)?))
}

/// A branch's table: the summary files `paths`, then the rows of the days this run
/// summarised when they come from memory.
fn branch_source(
    table: &SummaryTable,
    schema: &SchemaRef,
    paths: &[String],
    fresh: Option<&Fresh>,
) -> PlanResult<Arc<dyn datafusion::logical_expr::TableSource>> {
    let Some(fresh) = fresh else {
        return summaries_source(table, schema, paths);
    };
    let settled = if paths.is_empty() {
        None
    } else {
        Some(summaries_table(table, schema, paths)?)
    };
    Ok(provider_as_source(Arc::new(FreshSummaries::new(
        schema.clone(),
        settled,
        fresh.rows.clone(),
    ))))
}

/// Days from 1970-01-01 (`DATE`'s number).
fn day_number(day: NaiveDate) -> i32 {
    (day - NaiveDate::default()).num_days() as i32
}

fn date_literal(day: NaiveDate) -> Expr {
    lit(ScalarValue::Date32(Some(day_number(day))))
}

/// The run's grouped aggregates merged from the summaries: the branches to run
/// ([`Merge::evaluate`] gives the compiled `GROUP BY`'s columns, `__entity` and `__agg_N`).
///
/// Aggregates with the same days form a branch that scans the files of those days (only its
/// columns), as few as the blocks allow ([`Readable::cover`]), and groups them by entity;
/// the branches are full-joined on the entity. Parts that blocks do not hold (funnels,
/// sequences, sessions: [`super::blocks`]) are read from day files once, for the days of all
/// their aggregates, each aggregate merging its own days (a `FILTER`). The branch of the whole range (which may have no
/// aggregate) gives every entity with an event in the run's range, as the events scan does.
/// An entity without a row in a branch gets each of its aggregates' value over no rows.
///
/// With `fresh`, the days this run summarises come from memory ([`super::fresh`]) and
/// `readable` holds the days before them.
#[allow(clippy::too_many_arguments)]
pub(super) fn merged_plan(
    daily: &Daily,
    parts: &Parts,
    calls: &BTreeMap<String, InnerCall>,
    table: &SummaryTable,
    (schema, block_schema): (&SchemaRef, &SchemaRef),
    (readable, fresh): (&Readable, Option<&Fresh>),
    (first, as_of): (NaiveDate, NaiveDate),
) -> PlanResult<Merge> {
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
    let call_of = |column: &str| {
        calls
            .get(column)
            .ok_or_else(|| DataFusionError::Internal(format!("no merge of `{column}`")))
    };
    // The days of all the aggregates of each part that blocks do not hold: read once.
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
    let mut branches: BTreeMap<Branch, Vec<(Expr, ScalarValue)>> =
        BTreeMap::from([((first, end, true), Vec::new())]);
    for aggregate in &daily.aggregates {
        let column = column_of(aggregate)?;
        let call = call_of(&column)?;
        let (lo, hi) = days_of(aggregate);
        let branch = if in_blocks(call) {
            (lo, hi, true)
        } else {
            let (l, h) = part_days.get(&column).copied().unwrap_or((lo, hi));
            (l, h, false)
        };
        let mut days = Vec::new();
        if lo > branch.0 {
            days.push(col("day").gt_eq(date_literal(lo)));
        }
        if hi < branch.1 {
            days.push(col("day").lt(date_literal(hi)));
        }
        let merge = Arc::new(MergeOf::udaf(call.clone(), &column)?);
        let empty = merge_of::value_over_no_rows(call)?;
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

    let mut merge = Merge {
        branches: Vec::new(),
        constants: Vec::new(),
        order: daily.aggregates.iter().map(|a| a.column.clone()).collect(),
        files_read: 0,
    };
    for ((lo, hi, blocked), aggregates) in branches {
        let universe = (lo, hi, blocked) == (first, end, true);
        // The settled files end where the fresh days start.
        let settled_end = fresh.and_then(Fresh::first).map_or(hi, |f| hi.min(f));
        let fresh_days = fresh.map_or(0, |f| f.days_in(lo, hi));
        if !readable.any_in(lo, settled_end) && fresh_days == 0 {
            // No summarised day in the branch: every entity has the values over no rows.
            merge.constants.extend(
                aggregates
                    .into_iter()
                    .map(|(merged, empty)| (merged.schema_name().to_string(), empty)),
            );
            continue;
        }
        let (files, schema) = if blocked {
            (readable.cover(lo, settled_end), block_schema)
        } else {
            (readable.days_of(lo, settled_end), schema)
        };
        merge.files_read += (files.len() + fresh_days) as u64;
        tracing::debug!(%lo, %hi, blocked, aggregates = aggregates.len(), ?files, fresh_days, "merge branch");
        // A branch without fresh days does not wait for them.
        let source = branch_source(table, schema, &files, fresh.filter(|_| fresh_days > 0))?;
        let plan = LogicalPlanBuilder::scan("summaries", source, None)?
            .filter(
                col("day")
                    .gt_eq(date_literal(lo))
                    .and(col("day").lt(date_literal(hi))),
            )?
            .aggregate(
                vec![col("entity")],
                aggregates
                    .iter()
                    .map(|(m, _)| m.clone())
                    .collect::<Vec<_>>(),
            )?
            .build()?;
        merge.branches.push(BranchPlan {
            plan,
            universe,
            columns: aggregates
                .into_iter()
                .map(|(merged, empty)| (merged.schema_name().to_string(), empty))
                .collect(),
        });
    }
    if !merge.branches.iter().any(|b| b.universe) {
        // No summarised day at all: no entity.
        merge.branches.clear();
    }
    Ok(merge)
}

/// One branch: its plan (`entity` and one column per aggregate) and what an entity without
/// a row in it gets.
pub(super) struct BranchPlan {
    plan: LogicalPlan,
    /// The branch of the run's whole range: its entities are the run's.
    universe: bool,
    columns: Vec<(String, ScalarValue)>,
}

/// The merge of a run: its branches, the aggregates without a summarised day (their value
/// over no rows for every entity), the aggregates' order and the summary files read.
pub(super) struct Merge {
    branches: Vec<BranchPlan>,
    constants: Vec<(String, ScalarValue)>,
    order: Vec<String>,
    pub files_read: u64,
}

impl Merge {
    /// Run the branches and line their rows up by entity: a plan over the result, whose
    /// columns are the compiled `GROUP BY`'s (`__entity` as `entity_type`, `__agg_N`), and
    /// the branches' (spills, spilled bytes).
    ///
    /// Each branch has at most one row per entity; an entity of the run without a row in a
    /// branch gets each of its aggregates' value over no rows. Lining up with a hash of the
    /// entities instead of a chain of full joins keeps this step linear in the entities.
    pub(super) async fn evaluate(
        self,
        session: &ProjectSession,
        entity_type: &DataType,
    ) -> Result<(LogicalPlan, (u64, u64))> {
        // At once, unless under a memory limit: then one at a time, so that each branch has
        // the whole pool to spill in.
        let limited = session.memory.as_ref().is_some_and(|p| p.limit().is_some());
        let plans = self.branches.iter().map(|b| b.plan.clone());
        let runs = if limited {
            let mut runs = Vec::with_capacity(self.branches.len());
            for plan in plans {
                runs.push(crate::run::collect_counting_spills(session, plan).await);
            }
            runs.into_iter()
                .collect::<datafusion::error::Result<Vec<_>>>()
        } else {
            futures::future::try_join_all(
                plans.map(|plan| crate::run::collect_alone_counting_spills(session, plan)),
            )
            .await
        }
        .map_err(|e| super::execution_error(session, e))?;
        let spills = runs
            .iter()
            .fold((0, 0), |(n, b), (_, (m, c))| (n + m, b + c));
        let outputs: Vec<Vec<RecordBatch>> = runs.into_iter().map(|(o, _)| o).collect();
        let started = std::time::Instant::now();
        let lined = line_up(&self, &outputs).map_err(EngineError::Plan)?;
        tracing::debug!(elapsed = ?started.elapsed(), "merge branches lined up");
        // Stored under other names than the plan's (`__entity` → `merged__entity`): a
        // projection renames them, and optimizer rules that push it down never see one name
        // both qualified and not.
        let stored = |name: &str| format!("merged{name}");
        let mut fields = vec![Field::new(stored("__entity"), entity_type.clone(), true)];
        let mut columns: Vec<ArrayRef> = vec![cast_array(&lined.entities, entity_type)?];
        for name in &self.order {
            let Some(column) = lined.columns.get(name) else {
                return Err(EngineError::Internal(format!("`{name}` was not merged")));
            };
            fields.push(Field::new(stored(name), column.data_type().clone(), true));
            columns.push(column.clone());
        }
        let schema = Arc::new(Schema::new(fields));
        let batch = RecordBatch::try_new(schema.clone(), columns)?;
        let table = MemTable::try_new(schema, vec![vec![batch]]).map_err(EngineError::Plan)?;
        LogicalPlanBuilder::scan("merged", provider_as_source(Arc::new(table)), None)
            .and_then(|b| {
                b.project(
                    std::iter::once("__entity".to_string())
                        .chain(self.order.iter().cloned())
                        .map(|n| col(Column::new(Some("merged"), stored(&n))).alias(n)),
                )
            })
            .and_then(|b| b.build())
            .map(|plan| (plan, spills))
            .map_err(EngineError::Plan)
    }
}

/// The merged columns of a run, one row per entity.
struct Lined {
    entities: ArrayRef,
    columns: BTreeMap<String, ArrayRef>,
}

/// One column of a branch's batches as one array (`data_type` when there are none).
fn column_of(batches: &[RecordBatch], index: usize, data_type: &DataType) -> PlanResult<ArrayRef> {
    let arrays: Vec<&dyn Array> = batches.iter().map(|b| b.column(index).as_ref()).collect();
    if arrays.is_empty() {
        return Ok(new_empty_array(data_type));
    }
    Ok(concat(&arrays)?)
}

/// The branches' rows lined up on the universe branch's entities, the branches shared among
/// the cores.
fn line_up(merge: &Merge, outputs: &[Vec<RecordBatch>]) -> PlanResult<Lined> {
    let entity_type = match merge.branches.first() {
        Some(b) => b.plan.schema().field(0).data_type().clone(),
        None => DataType::Utf8,
    };
    let universe = merge
        .branches
        .iter()
        .zip(outputs)
        .find(|(b, _)| b.universe)
        .map(|(_, o)| o.as_slice())
        .unwrap_or(&[]);
    let entities = column_of(universe, 0, &entity_type)?;
    let converter = RowConverter::new(vec![SortField::new(entities.data_type().clone())])?;
    let universe_rows = converter.convert_columns(std::slice::from_ref(&entities))?;
    let position: datafusion::common::HashMap<&[u8], u32> = universe_rows
        .iter()
        .enumerate()
        .map(|(i, row)| (row.data(), i as u32))
        .collect();
    let lined =
        |branch: &BranchPlan, batches: &[RecordBatch]| -> PlanResult<Vec<(String, ArrayRef)>> {
            let keys = column_of(batches, 0, &entity_type)?;
            let rows = converter.convert_columns(&[keys])?;
            // For each entity of the run, its row in the branch.
            let mut row_of: Vec<Option<u32>> = vec![None; entities.len()];
            for (i, row) in rows.iter().enumerate() {
                if let Some(p) = position.get(row.as_ref()) {
                    row_of[*p as usize] = Some(i as u32);
                }
            }
            let indices = UInt32Array::from(row_of);
            let present = datafusion::arrow::compute::is_not_null(&indices)?;
            let complete = present.true_count() == present.len();
            let mut columns = Vec::with_capacity(branch.columns.len());
            for (c, (name, empty)) in branch.columns.iter().enumerate() {
                let values = column_of(batches, c + 1, &empty.data_type())?;
                let taken = take(&values, &indices, None)?;
                // A missing row is NULL after `take`: only other values over no rows need a zip.
                let column = if complete || empty.is_null() {
                    taken
                } else {
                    let empty = empty.cast_to(taken.data_type())?.to_scalar()?;
                    zip(&present, &taken, &empty)?
                };
                columns.push((name.clone(), column));
            }
            Ok(columns)
        };
    let work: Vec<(&BranchPlan, &Vec<RecordBatch>)> = merge.branches.iter().zip(outputs).collect();
    let done = crate::on_cores::map_on_cores(
        &work,
        |(branch, batches)| lined(branch, batches),
        || {
            Err(DataFusionError::Internal(
                "lining up a merge branch panicked".into(),
            ))
        },
    );
    let mut columns = BTreeMap::new();
    for branch in done {
        columns.extend(branch?);
    }
    for (name, empty) in &merge.constants {
        columns.insert(name.clone(), empty.to_array_of_size(entities.len())?);
    }
    Ok(Lined { entities, columns })
}

/// A branch of the merge: its days `[first, end)` and whether it reads blocks.
type Branch = (NaiveDate, NaiveDate, bool);

/// `plan` with its events `GROUP BY` replaced by `merged`.
pub(super) fn with_merged(plan: &LogicalPlan, merged: &LogicalPlan) -> PlanResult<LogicalPlan> {
    let replaced = plan.clone().transform_up(|node| {
        if matches!(node, LogicalPlan::Aggregate(_))
            && node.schema().has_column(&Column::from_name("__entity"))
        {
            return Ok(Transformed::yes(merged.clone()));
        }
        Ok(Transformed::yes(node.recompute_schema()?))
    })?;
    profiles_build_side(replaced.data, merged)
}

/// The merged rows are in memory already (outside the pool): their full join with the
/// profiles builds its hash table on the profiles, with the merged rows streaming through,
/// so a memory-limited run does not reserve the merged rows a second time (they were the
/// build side: at 12,000 users 7.5 MB the join could not spill).
fn profiles_build_side(plan: LogicalPlan, merged: &LogicalPlan) -> PlanResult<LogicalPlan> {
    use datafusion::logical_expr::JoinType;
    let swapped = plan.transform_up(|node| match node {
        LogicalPlan::Join(join)
            if join.join_type == JoinType::Full && join.left.as_ref() == merged =>
        {
            let columns: Vec<Expr> = join
                .schema
                .columns()
                .into_iter()
                .map(Expr::Column)
                .collect();
            let (left_keys, right_keys): (Vec<Expr>, Vec<Expr>) = join.on.iter().cloned().unzip();
            let plan = LogicalPlanBuilder::from((*join.right).clone())
                .join_with_expr_keys(
                    (*join.left).clone(),
                    JoinType::Full,
                    (right_keys, left_keys),
                    join.filter.clone(),
                )?
                .project(columns)?
                .build()?;
            Ok(Transformed::yes(plan))
        }
        other => Ok(Transformed::no(other)),
    })?;
    Ok(swapped.data)
}

/// The `__entity` type of a compiled plan's `GROUP BY`.
pub(super) fn entity_type(plan: &LogicalPlan) -> DataType {
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
