//! The run in two steps, for memory-limited runs: first the grouped rows (one per entity:
//! every aggregate and profile column), which the engine writes to a temporary file; then the
//! population ranks and the segment columns computed from that file.
//!
//! In the fused plan the ranking windows (RFM quintiles by `rank_count`, `predict`
//! percentiles) read the *wide* grouped rows — every aggregate column — while the
//! aggregation still holds its state, and a window holds its whole input at once. In two
//! steps the aggregation's memory is released before the windows run, the windows read only
//! the entity and the columns they rank by, and the wide rows stream from the file into a
//! join with the ranks. Same rows, same columns.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use datafusion::common::Column;
use datafusion::common::tree_node::{Transformed, TreeNode};
use datafusion::logical_expr::{Expr, JoinType, LogicalPlan, LogicalPlanBuilder, TableSource, col};

use crate::error::Result;

/// The grouped rows' table name in the second step.
const GROUPED: &str = "__grouped";

/// The two steps of a run.
#[derive(Debug, Clone)]
pub struct Staged {
    /// Step one: the grouped rows, with flat column names (`__key` is the entity).
    pub grouped: LogicalPlan,
    windows: Vec<Expr>,
    projection: Vec<Expr>,
    filter: Expr,
}

/// The flat name of a (possibly qualified) column of the grouped rows.
fn flat(column: &Column) -> String {
    match &column.relation {
        Some(r) => format!("__{}__{}", r.table(), column.name),
        None => column.name.clone(),
    }
}

/// `e` with every column reference flattened.
fn flatten(e: &Expr) -> Result<Expr> {
    Ok(e.clone()
        .transform(|e| {
            Ok(match e {
                Expr::Column(c) => Transformed::yes(Expr::Column(Column::from_name(flat(&c)))),
                other => Transformed::no(other),
            })
        })?
        .data)
}

impl Staged {
    /// From the fused plan's pieces: `grouped` (the GROUP BY and profiles join), the window
    /// expressions, the final projection (the entity first) and the members filter.
    pub(crate) fn new(
        grouped: LogicalPlan,
        windows: &[Expr],
        projection: &[Expr],
        filter: &Expr,
    ) -> Result<Staged> {
        let mut columns: Vec<Expr> = grouped
            .schema()
            .columns()
            .iter()
            .map(|c| Expr::Column(c.clone()).alias(flat(c)))
            .collect();
        // The entity (the projection's first expression), as the join key of step two.
        let entity = match projection.first() {
            Some(Expr::Alias(a)) => (*a.expr).clone(),
            Some(e) => e.clone(),
            None => col("__entity"),
        };
        columns.push(entity.alias("__key"));
        let grouped = LogicalPlanBuilder::from(grouped)
            .project(columns)?
            .build()?;
        Ok(Staged {
            grouped,
            windows: windows.iter().map(flatten).collect::<Result<_>>()?,
            projection: projection.iter().map(flatten).collect::<Result<_>>()?,
            filter: flatten(filter)?,
        })
    }

    /// Step two over the grouped rows written by step one (`source`).
    pub fn finish(&self, source: Arc<dyn TableSource>) -> Result<LogicalPlan> {
        let wide = LogicalPlanBuilder::scan(GROUPED, source.clone(), None)?;
        let wide = if self.windows.is_empty() {
            wide
        } else {
            // The columns the windows read, and the entity.
            let mut needed: BTreeSet<String> = BTreeSet::new();
            for w in &self.windows {
                for c in w.column_refs() {
                    needed.insert(c.name.clone());
                }
            }
            let mut narrow_columns = vec![col("__key").alias("__wkey")];
            narrow_columns.extend(needed.iter().map(|n| col(n.as_str())));
            let narrow = LogicalPlanBuilder::scan("__ranked", source, None)?
                .project(narrow_columns)?
                .build()?;
            // Qualified as the narrow scan's columns, so output names can be matched.
            let windows: Vec<Expr> = self
                .windows
                .iter()
                .map(|w| datafusion::logical_expr::expr_rewriter::normalize_col(w.clone(), &narrow))
                .collect::<datafusion::common::Result<_>>()?;
            let windowed = LogicalPlanBuilder::window_plan(narrow, windows.clone())?;
            let names: HashMap<String, usize> = windows
                .iter()
                .enumerate()
                .map(|(i, w)| (w.schema_name().to_string(), i))
                .collect();
            let ranks: Vec<Expr> = windowed
                .schema()
                .iter()
                .filter_map(|(q, f)| {
                    let column = Expr::Column(Column::new(q.cloned(), f.name()));
                    match names.get(f.name()) {
                        Some(i) => Some(column.alias(format!("__win_{i}"))),
                        None if f.name() == "__wkey" => Some(column),
                        None => None,
                    }
                })
                .collect();
            // The ranks (entity and a few numbers) are the join's build side; the wide rows
            // stream through it.
            LogicalPlanBuilder::from(windowed).project(ranks)?.join(
                wide.build()?,
                JoinType::Inner,
                (
                    vec![Column::from_name("__wkey")],
                    vec![Column::from_name("__key")],
                ),
                None,
            )?
        };
        Ok(wide
            .project(self.projection.clone())?
            .filter(self.filter.clone())?
            .build()?)
    }
}
