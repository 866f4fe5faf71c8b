//! One aggregation stage instead of two: events hash-partitioned by entity before the
//! `GROUP BY`, so every entity's state lives in exactly one partition.
//!
//! DataFusion plans a grouped aggregate as `Partial` per input partition, a hash
//! repartition of the partial states, then `FinalPartitioned`. For segmint's one
//! `GROUP BY entity` that doubles the state: every entity has events in every day's file,
//! so each partial aggregation holds state for nearly every entity, and the lists that
//! sessions and cadence keep (event times) are serialised once more between the stages.
//! Repartitioning the raw events by entity first and aggregating in one
//! `SinglePartitioned` stage holds each entity's state once. DataFusion's own optimizer
//! removes a hash repartition below a `Partial` aggregate, so this is a rewrite of the
//! finished physical plan (docs/decisions.md, "One aggregation stage").

use std::sync::Arc;

use datafusion::common::tree_node::{Transformed, TreeNode};
use datafusion::error::Result;
use datafusion::physical_expr::PhysicalExpr;
use datafusion::physical_expr::expressions::Column;
use datafusion::physical_plan::aggregates::{AggregateExec, AggregateMode};
use datafusion::physical_plan::execution_plan::{ChildrenPropertiesMode, ReplaceChildrenOptions};
use datafusion::physical_plan::projection::ProjectionExec;
use datafusion::physical_plan::repartition::RepartitionExec;
use datafusion::physical_plan::{ExecutionPlan, Partitioning};

/// Rewrite every `FinalPartitioned ← hash repartition ← Partial` chain of `plan` into
/// `SinglePartitioned ← hash repartition of the Partial's input`. Aggregates with grouping
/// sets or ordered arguments are left as they are.
pub fn single_stage_aggregation(plan: Arc<dyn ExecutionPlan>) -> Result<Arc<dyn ExecutionPlan>> {
    plan.transform_down(|node| {
        let rewritten = match one_stage(&node)? {
            Some(single) => Transformed::yes(single),
            None => Transformed::no(node),
        };
        Ok(rewritten)
    })
    .map(|t| t.data)
}

/// The single-stage replacement of `node`, when it is the final half of a two-stage
/// grouped aggregation that can run in one stage.
fn one_stage(node: &Arc<dyn ExecutionPlan>) -> Result<Option<Arc<dyn ExecutionPlan>>> {
    let Some(last) = node.downcast_ref::<AggregateExec>() else {
        return Ok(None);
    };
    if *last.mode() != AggregateMode::FinalPartitioned {
        return Ok(None);
    }
    let Some(shuffle) = last.input().downcast_ref::<RepartitionExec>() else {
        return Ok(None);
    };
    let Partitioning::Hash(_, partitions) = shuffle.partitioning() else {
        return Ok(None);
    };
    let Some(first) = shuffle.input().downcast_ref::<AggregateExec>() else {
        return Ok(None);
    };
    let ordered = first.aggr_expr().iter().any(|a| !a.order_bys().is_empty());
    if *first.mode() != AggregateMode::Partial
        || first.group_expr().has_grouping_set()
        || !first.group_expr().is_single()
        || ordered
    {
        return Ok(None);
    }
    let by_entity = by_entity(first.input(), first.group_expr().input_exprs(), *partitions)?;
    let single = AggregateExec::try_new(
        AggregateMode::SinglePartitioned,
        first.group_expr().clone(),
        first.aggr_expr().to_vec(),
        first.filter_expr().to_vec(),
        by_entity,
        first.input_schema(),
    )?
    .with_limit_options(last.limit_options());
    Ok(Some(Arc::new(single)))
}

/// `input` hash-partitioned on `keys` into `partitions`. When `input` is a projection that
/// passes the keys through (the run's filter masks and derived columns over the scan, in
/// one or more layers), the rows are partitioned below it and projected after: the
/// repartition then copies the scanned columns only, not the boolean masks (copied bit by
/// bit, they were 7.5 % of a library run's CPU), and each partition computes its own masks.
fn by_entity(
    input: &Arc<dyn ExecutionPlan>,
    keys: Vec<Arc<dyn PhysicalExpr>>,
    partitions: usize,
) -> Result<Arc<dyn ExecutionPlan>> {
    if let Some(projection) = input.downcast_ref::<ProjectionExec>()
        && let Some(below) = passed_through(projection, &keys)
    {
        let shuffled = by_entity(projection.input(), below, partitions)?;
        return Arc::clone(input).replace_children(
            vec![shuffled],
            ReplaceChildrenOptions::new(ChildrenPropertiesMode::Recompute),
        );
    }
    Ok(Arc::new(RepartitionExec::try_new(
        Arc::clone(input),
        Partitioning::Hash(keys, partitions),
    )?))
}

/// The projection's input columns that `keys` (columns of its output) pass through, or
/// `None` when a key is computed by the projection.
fn passed_through(
    projection: &ProjectionExec,
    keys: &[Arc<dyn PhysicalExpr>],
) -> Option<Vec<Arc<dyn PhysicalExpr>>> {
    keys.iter()
        .map(|key| {
            let column = key.downcast_ref::<Column>()?;
            let source = projection.expr().get(column.index())?;
            source.expr.downcast_ref::<Column>()?;
            Some(Arc::clone(&source.expr))
        })
        .collect()
}

/// The physical plan a run executes for `plan`: DataFusion's, with string tests through
/// codes (`segmint_compiler::with_value_codes`) and the entity aggregation in one stage.
/// `compile --emit physical|analyze` show the same plan.
pub async fn run_plan(
    session: &crate::session::ProjectSession,
    plan: &datafusion::logical_expr::LogicalPlan,
) -> Result<Arc<dyn ExecutionPlan>> {
    let plan = segmint_compiler::with_value_codes(plan.clone())?;
    let physical = session.ctx.state().create_physical_plan(&plan).await?;
    single_stage_aggregation(physical)
}

/// [`run_plan`] in one partition: for plans that run beside others (an incremental run's
/// merge branches), which then need no repartitioning of their rows.
pub(crate) async fn run_plan_alone(
    session: &crate::session::ProjectSession,
    plan: &datafusion::logical_expr::LogicalPlan,
) -> Result<Arc<dyn ExecutionPlan>> {
    let mut state = session.ctx.state();
    let execution = &mut state.config_mut().options_mut().execution;
    execution.target_partitions = 1;
    // Its files are chosen already: the footers' statistics (min/max of every column) would
    // cost more to gather than they could prune — 6 % of an incremental run's samples.
    execution.collect_statistics = false;
    let physical = state.create_physical_plan(plan).await?;
    single_stage_aggregation(physical)
}
