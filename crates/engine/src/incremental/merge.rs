//! Merging: the compiled run's `GROUP BY` replaced by `merge_of[f]` over the summaries, each
//! part read in a branch of the days its aggregates need.

use std::collections::BTreeMap;
use std::sync::Arc;

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
use datafusion::logical_expr::{
    Expr, ExprFunctionExt, LogicalPlan, LogicalPlanBuilder, cast, col, lit,
};
use segmint_compiler::Daily;

use super::Parts;
use super::inner::InnerCall;
use super::merge_of::{self, MergeOf};
use super::table::SummaryTable;

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
pub(super) fn merged_plan(
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
pub(super) fn with_merged(plan: &LogicalPlan, merged: &LogicalPlan) -> PlanResult<LogicalPlan> {
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
