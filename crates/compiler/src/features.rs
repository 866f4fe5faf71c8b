//! The feature plan of `segmint train` and `segmint archetypes fit`: one row per entity
//! with events in the features' widest window, one column per feature — numbers already
//! transformed by the expressions scoring uses ([`crate::trained::transformed`]), text
//! values as they are (their categories are learned from the data).

use std::sync::Arc;

use datafusion::arrow::datatypes::DataType;
use datafusion::logical_expr::{
    Expr, ExprSchemable, LogicalPlan, LogicalPlanBuilder, TableSource, cast, col,
};
use segmint_spec::{Checked, Feature};

use crate::error::Result;
use crate::leaf::{Aggregates, LeafCompiler};
use crate::plan::{bounded_filter, widen, with_windows};
use crate::time::AsOf;
use crate::trained::{Encoding, Trained, transformed};

/// How a feature column of the plan holds its values.
#[derive(Debug, Clone, PartialEq)]
pub enum FeatureKind {
    /// A number (after `log`, when asked): [`Encoding::Number`] / [`Encoding::DaysBefore`].
    Numeric(Encoding),
    /// Text: each value a category.
    Text,
}

/// A feature plan: `entity`, then one column per feature (named like the feature).
#[derive(Debug, Clone)]
pub struct FeaturePlan {
    pub plan: LogicalPlan,
    pub columns: Vec<(String, FeatureKind)>,
}

/// Compile the features (those named in `log` taken as `ln(1 + x)`) as of `as_of`.
pub fn compile_features(
    checked: &Checked,
    features: &[Feature],
    log: &[String],
    as_of: AsOf,
    events: Arc<dyn TableSource>,
) -> Result<FeaturePlan> {
    let trained = Trained::default();
    let leaves = LeafCompiler {
        events: &checked.project.events,
        as_of,
        profiles_qualifier: "profiles",
        trained: &trained,
        schema: events.schema(),
    };
    let mut aggs = Aggregates::default();
    let mut values = Vec::with_capacity(features.len());
    let mut lo = Some(as_of.end_us);
    for feature in features {
        values.push(leaves.leaf(&feature.leaf, &mut aggs)?.value);
        lo = widen(lo, &feature.leaf.event_windows(), &as_of);
    }
    let entity = &checked.project.events.entity;
    let plan = LogicalPlanBuilder::scan("events", events, None)?
        .filter(bounded_filter(checked, lo, as_of.end_us))?
        .aggregate(vec![col(entity).alias("__entity")], aggs.exprs.clone())?;
    let plan = with_windows(plan, &aggs)?;
    let schema = plan.schema().clone();
    let mut projection: Vec<Expr> = vec![cast(col("__entity"), DataType::Utf8).alias("entity")];
    let mut columns = Vec::with_capacity(features.len());
    for (feature, value) in features.iter().zip(values) {
        let kind = match value.get_type(&schema)? {
            DataType::Timestamp(_, _) | DataType::Date32 | DataType::Date64 => {
                FeatureKind::Numeric(Encoding::DaysBefore {
                    log: log.contains(&feature.name),
                })
            }
            DataType::Utf8
            | DataType::LargeUtf8
            | DataType::Utf8View
            | DataType::Dictionary(_, _) => FeatureKind::Text,
            _ => FeatureKind::Numeric(Encoding::Number {
                log: log.contains(&feature.name),
            }),
        };
        let column = match &kind {
            FeatureKind::Numeric(encoding) => transformed(encoding, value, as_of.end_us),
            FeatureKind::Text => cast(value, DataType::Utf8),
        };
        projection.push(column.alias(&feature.name));
        columns.push((feature.name.clone(), kind));
    }
    Ok(FeaturePlan {
        plan: plan.project(projection)?.build()?,
        columns,
    })
}
