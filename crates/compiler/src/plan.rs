//! Building the fused plan for a set of segments.

use std::collections::HashMap;
use std::sync::Arc;

use datafusion::arrow::datatypes::DataType;
use datafusion::common::{Column, ScalarValue};
use datafusion::logical_expr::{
    Expr, JoinType, LogicalPlan, LogicalPlanBuilder, TableSource, col, lit, when,
};
use segmint_spec::{Checked, Cond, PartitionType, Project, SegmentBody, Window};

use crate::compare::{conjunction, timestamp};
use crate::describe::describe;
use crate::error::{CompileError, Result};
use crate::leaf::{Aggregates, LeafCompiler};
use crate::staged::Staged;
use crate::time::AsOf;
use crate::trained::Trained;

/// Name of the profiles table in plans.
const PROFILES: &str = "profiles";

/// An output column holding one segment's membership.
#[derive(Debug, Clone)]
pub struct SegmentColumn {
    pub name: String,
    /// Tiered: the column holds the tier name (null: not a member); else a boolean.
    pub tiered: bool,
}

/// An output column holding one leaf's value (only with `explain_leaves`).
#[derive(Debug, Clone)]
pub struct LeafColumn {
    pub column: String,
    pub segment: String,
    pub label: String,
}

/// An output column (a computed trait written beside a segment's members).
#[derive(Debug, Clone)]
pub struct OutputColumn {
    pub segment: String,
    pub name: String,
    /// The plan's column: `segment:name`.
    pub column: String,
}

/// The compiled run: one plan whose rows are `entity`, one column per segment, leaf values.
#[derive(Debug, Clone)]
pub struct Compiled {
    pub plan: LogicalPlan,
    /// The same result in two steps, for runs under a memory limit: see [`Staged`].
    pub staged: Staged,
    pub segments: Vec<SegmentColumn>,
    pub leaves: Vec<LeafColumn>,
    pub outputs: Vec<OutputColumn>,
    /// The distinct aggregates of the GROUP BY, each aliased `__agg_N` (see [`crate::daily`]).
    pub aggregates: Vec<Expr>,
}

/// The `[lo, as_of)` microsecond range the run reads: the widest window of any segment's
/// conditions and outputs in the project (not only the selected ones), so a segment's
/// members never depend on which other segments run beside it. `lo = None`: all history.
pub fn scan_range(checked: &Checked, as_of: &AsOf) -> (Option<i64>, i64) {
    let mut lo = Some(as_of.end_us);
    for segment in &checked.segments {
        for cond in segment.conditions() {
            for leaf in cond.leaves() {
                lo = widen(lo, &leaf.event_windows(), as_of);
            }
        }
        // Outputs read events too (a `last_performed` output needs all history).
        for output in &segment.outputs {
            lo = widen(lo, &output.measure.event_windows(), as_of);
        }
    }
    (lo, as_of.end_us)
}

/// `lo` widened to cover `windows` at `as_of` (`None`: all history).
pub(crate) fn widen(mut lo: Option<i64>, windows: &[Window], as_of: &AsOf) -> Option<i64> {
    for w in windows {
        let leaf_lo = match w {
            Window::AllTime => None,
            w => as_of.window(*w).and_then(|(lo, _)| lo),
        };
        lo = match (lo, leaf_lo) {
            (Some(a), Some(b)) => Some(a.min(b)),
            _ => None,
        };
    }
    lo
}

/// Compile `selected` segments (empty: all) into one plan.
pub fn compile(
    checked: &Checked,
    selected: &[String],
    as_of: AsOf,
    events: Arc<dyn TableSource>,
    profiles: Option<Arc<dyn TableSource>>,
    explain_leaves: bool,
    trained: &Trained,
) -> Result<Compiled> {
    let segments = if selected.is_empty() {
        checked.segments.iter().collect()
    } else {
        checked
            .closure(selected)
            .map_err(CompileError::UnknownSegment)?
    };
    let table = &checked.project.events;
    let leaves = LeafCompiler {
        events: table,
        as_of,
        profiles_qualifier: PROFILES,
        trained,
        schema: events.schema(),
    };

    // Segment expressions, in dependency order; references inline earlier ones.
    let mut aggs = Aggregates::default();
    let mut membership: HashMap<String, Expr> = HashMap::new();
    let mut outputs: Vec<(SegmentColumn, Expr)> = Vec::new();
    let mut leaf_columns: Vec<(LeafColumn, Expr)> = Vec::new();
    let mut output_columns: Vec<(OutputColumn, Expr)> = Vec::new();
    for segment in &segments {
        let mut ctx = SegmentCtx {
            leaves: &leaves,
            aggs: &mut aggs,
            membership: &membership,
            explain: explain_leaves.then_some(&mut leaf_columns),
            segment: &segment.name,
        };
        let (value, is_member) = match &segment.body {
            SegmentBody::Where(c) => {
                let e = ctx.cond(c)?;
                (e.clone(), e)
            }
            SegmentBody::Tiers(tiers) => {
                let mut case: Option<
                    datafusion::logical_expr::conditional_expressions::CaseBuilder,
                > = None;
                let mut catch_all = None;
                for tier in tiers {
                    match &tier.condition {
                        Some(c) => {
                            let e = ctx.cond(c)?;
                            let name = lit(tier.name.as_str());
                            case = Some(match case {
                                None => when(e, name),
                                Some(mut b) => b.when(e, name),
                            });
                        }
                        None => catch_all = Some(lit(tier.name.as_str())),
                    }
                }
                let none = lit(ScalarValue::Utf8(None));
                let value = match (case, catch_all) {
                    (Some(mut b), Some(c)) => b.otherwise(c)?,
                    (Some(mut b), None) => b.otherwise(none)?,
                    (None, Some(c)) => c,
                    (None, None) => none,
                };
                (value.clone(), value.is_not_null())
            }
        };
        for output in &segment.outputs {
            let value = leaves.leaf(&output.measure, &mut aggs)?.value;
            let column = format!("{}:{}", segment.name, output.name);
            output_columns.push((
                OutputColumn {
                    segment: segment.name.clone(),
                    name: output.name.clone(),
                    column,
                },
                value,
            ));
        }
        membership.insert(segment.name.clone(), is_member);
        outputs.push((
            SegmentColumn {
                name: segment.name.clone(),
                tiered: segment.is_tiered(),
            },
            value,
        ));
    }
    // Only requested segments are output; dependencies are inlined.
    if !selected.is_empty() {
        outputs.retain(|(s, _)| selected.contains(&s.name));
        // Leaves of referenced segments stay: they explain `in_segment` members too.
        output_columns.retain(|(o, _)| selected.contains(&o.segment));
    }

    // One scan of the events, one GROUP BY entity.
    let mut plan = LogicalPlanBuilder::scan("events", events, None)?
        .filter(scan_filter(checked, &as_of))?
        .aggregate(
            vec![col(&table.entity).alias("__entity")],
            aggs.exprs.clone(),
        )?;

    let mut entity = col("__entity");
    if let (Some(source), Some(p)) = (profiles, &checked.project.profiles) {
        let profiles_plan = LogicalPlanBuilder::scan(PROFILES, source, None)?.build()?;
        plan = plan.join(
            profiles_plan,
            JoinType::Full,
            (
                vec![Column::from_name("__entity")],
                vec![Column::new(Some(PROFILES), &p.key)],
            ),
            None,
        )?;
        entity = datafusion::functions::expr_fn::coalesce(vec![
            col("__entity"),
            datafusion::logical_expr::cast(
                Expr::Column(Column::new(Some(PROFILES), &p.key)),
                DataType::Utf8,
            ),
        ]);
    }

    let grouped = plan.clone().build()?;
    plan = with_windows(plan, &aggs)?;

    let mut projection = vec![entity.alias("entity")];
    projection.extend(outputs.iter().map(|(s, e)| e.clone().alias(&s.name)));
    projection.extend(leaf_columns.iter().map(|(l, e)| e.clone().alias(&l.column)));
    projection.extend(
        output_columns
            .iter()
            .map(|(o, e)| e.clone().alias(&o.column)),
    );
    let any_member = outputs
        .iter()
        .map(|(s, _)| {
            if s.tiered {
                col(&s.name).is_not_null()
            } else {
                col(&s.name)
            }
        })
        .reduce(Expr::or)
        .unwrap_or(lit(false));
    let staged = Staged::new(grouped, &aggs.windows, &projection, &any_member)?;
    let plan = plan.project(projection)?.filter(any_member)?.build()?;
    Ok(Compiled {
        plan,
        staged,
        segments: outputs.into_iter().map(|(s, _)| s).collect(),
        leaves: leaf_columns.into_iter().map(|(l, _)| l).collect(),
        outputs: output_columns.into_iter().map(|(o, _)| o).collect(),
        aggregates: aggs.exprs,
    })
}

/// Population-wide ranks (RFM quintiles, `predict` percentiles) over the grouped rows, once
/// each; each window column is then renamed `__win_N`, as aggregates are `__agg_N`.
pub(crate) fn with_windows(
    mut plan: LogicalPlanBuilder,
    aggs: &Aggregates,
) -> Result<LogicalPlanBuilder> {
    if aggs.windows.is_empty() {
        return Ok(plan);
    }
    let windowed = LogicalPlanBuilder::window_plan(plan.build()?, aggs.windows.clone())?;
    let names: HashMap<String, usize> = aggs
        .windows
        .iter()
        .enumerate()
        .map(|(i, w)| (w.schema_name().to_string(), i))
        .collect();
    let columns: Vec<Expr> = windowed
        .schema()
        .iter()
        .map(|(qualifier, field)| {
            let column = Expr::Column(Column::new(qualifier.cloned(), field.name()));
            match names.get(field.name()) {
                Some(i) => column.alias(format!("__win_{i}")),
                None => column,
            }
        })
        .collect();
    plan = LogicalPlanBuilder::from(windowed).project(columns)?;
    Ok(plan)
}

/// The filter of the run's one events scan: an entity, the scanned time range, and the
/// matching date partitions (so only those are listed and read).
pub fn scan_filter(checked: &Checked, as_of: &AsOf) -> Expr {
    let (lo, hi) = scan_range(checked, as_of);
    bounded_filter(checked, lo, hi)
}

/// Events of the as-of day itself (and only its date partitions): a daily run checks that
/// the day's data has landed.
pub fn as_of_day_filter(checked: &Checked, as_of: &AsOf) -> Option<Expr> {
    let table = &checked.project.events;
    let lo = as_of.day_start_us(as_of.date)?;
    let time = col(&table.time);
    let mut parts = vec![
        time.clone().gt_eq(timestamp(lo)),
        time.lt(timestamp(as_of.end_us)),
    ];
    parts.extend(partition_bounds(&checked.project, Some(lo), as_of.end_us));
    Some(conjunction(parts))
}

/// Events with a time in `[lo, hi)` (UTC microseconds) and an entity, reading only the
/// matching date partitions — e.g. the goal windows of `segmint impact`.
pub fn time_range_filter(checked: &Checked, lo: i64, hi: i64) -> Expr {
    bounded_filter(checked, Some(lo), hi)
}

/// Events with an entity and a time in `[lo, hi)` (`lo = None`: from the beginning), and
/// only the matching date partitions.
pub(crate) fn bounded_filter(checked: &Checked, lo: Option<i64>, hi: i64) -> Expr {
    col(&checked.project.events.entity)
        .is_not_null()
        .and(span_filter(&checked.project, lo, hi))
}

/// Events with a time in `[lo, hi)` (`lo = None`: from the beginning), reading only the
/// matching date partitions — whatever their entity (e.g. identity resolution's scan).
pub fn span_filter(project: &Project, lo: Option<i64>, hi: i64) -> Expr {
    let time = col(&project.events.time);
    let mut parts = vec![time.clone().lt(timestamp(hi))];
    if let Some(lo) = lo {
        parts.push(time.gt_eq(timestamp(lo)));
    }
    parts.extend(partition_bounds(project, lo, hi));
    conjunction(parts)
}

/// Bounds on `date`-typed hive partition columns, one day of slack on each side because
/// partition dates need not be in the project timezone.
fn partition_bounds(project: &Project, lo: Option<i64>, hi: i64) -> Vec<Expr> {
    let mut out = Vec::new();
    for (name, kind) in &project.events.partitioning {
        if *kind != PartitionType::Date {
            continue;
        }
        let epoch_day = |us: i64| (us.div_euclid(86_400_000_000)) as i32;
        let hi_day = epoch_day(hi) + 1;
        out.push(col(name).lt_eq(lit(ScalarValue::Date32(Some(hi_day)))));
        if let Some(lo) = lo {
            out.push(col(name).gt_eq(lit(ScalarValue::Date32(Some(epoch_day(lo) - 1)))));
        }
    }
    out
}

struct SegmentCtx<'a, 'b> {
    leaves: &'a LeafCompiler<'a>,
    aggs: &'a mut Aggregates,
    membership: &'a HashMap<String, Expr>,
    explain: Option<&'b mut Vec<(LeafColumn, Expr)>>,
    segment: &'a str,
}

impl SegmentCtx<'_, '_> {
    fn cond(&mut self, c: &Cond) -> Result<Expr> {
        Ok(match c {
            Cond::All(cs) => {
                let parts = cs
                    .iter()
                    .map(|c| self.cond(c))
                    .collect::<Result<Vec<_>>>()?;
                conjunction(parts)
            }
            Cond::Any(cs) => {
                let parts = cs
                    .iter()
                    .map(|c| self.cond(c))
                    .collect::<Result<Vec<_>>>()?;
                parts.into_iter().reduce(Expr::or).unwrap_or(lit(false))
            }
            Cond::Not(c) => !self.cond(c)?,
            Cond::InSegment(name) => self
                .membership
                .get(name)
                .cloned()
                .ok_or_else(|| CompileError::UnknownSegment(name.clone()))?,
            Cond::Leaf(leaf) => {
                let compiled = self.leaves.leaf(leaf, self.aggs)?;
                if let Some(explain) = self.explain.as_deref_mut() {
                    let i = explain.len();
                    explain.push((
                        LeafColumn {
                            column: format!("leaf_{i}"),
                            segment: self.segment.to_string(),
                            label: describe(leaf),
                        },
                        compiled.value,
                    ));
                }
                compiled.holds
            }
        })
    }
}
