//! Events and profiles as segments see them with identity resolution: each row gains
//! `person_id`, the person of its highest-priority identifier that the map knows (blocked
//! values are not in the map, so they fall through to the next identifier).
//!
//! Both are DataFusion views over the raw table left-joined with the map's `node` rows, so
//! the analyzer inlines them into the run's plan: the time and partition filters still
//! reach the raw scan, and the compiled `GROUP BY person_id` is the one aggregation.

use std::sync::Arc;

use datafusion::arrow::array::Array;
use datafusion::arrow::datatypes::DataType;
use datafusion::common::Column;
use datafusion::datasource::{ViewTable, provider_as_source};
use datafusion::logical_expr::{Expr, JoinType, LogicalPlanBuilder, TableSource, cast, col, lit};
use segmint_spec::{Identity, PERSON_ID};

use super::stored::existing;
use super::table::IDENTITY;
use crate::error::{EngineError, Result};
use crate::output::OutputTables;

/// The map's `node` rows as a table (`id_type`, `id_value`, `person_id`, …), and the last
/// day whose events it includes.
pub async fn map_source(
    output: &OutputTables,
) -> Result<(Arc<dyn TableSource>, Option<chrono::NaiveDate>)> {
    let object = output.describe(IDENTITY);
    let Some(table) = existing(output).await? else {
        return Err(EngineError::Usage(format!(
            "`identity:` is configured but there is no identity map at {object}: run `segmint identity build --as-of <day>` first"
        )));
    };
    let listing = super::stored::kind_listing(&table, "node", &object)?
        .ok_or_else(|| EngineError::output(&object, "the identity map has no identifiers"))?;
    let mut built = None;
    for b in super::stored::read_kind(&table, "state", &object).await? {
        if let Some(days) = b.column_by_name("as_of").and_then(|c| {
            c.as_any()
                .downcast_ref::<datafusion::arrow::array::Date32Array>()
        }) && !days.is_empty()
            && days.is_valid(0)
        {
            built = Some(crate::members::date_of_days(days.value(0)));
        }
    }
    Ok((provider_as_source(Arc::new(listing)), built))
}

/// `source` with a `person_id` column: the person of the first of `columns` (identifier
/// type, column), in priority order, that the map knows.
fn with_person(
    source: Arc<dyn TableSource>,
    map: &Arc<dyn TableSource>,
    columns: &[(String, String)],
) -> Result<Arc<dyn TableSource>> {
    let plan = EngineError::Plan;
    let raw = "raw";
    let mut b = LogicalPlanBuilder::scan(raw, source.clone(), None).map_err(plan)?;
    let mut people: Vec<Expr> = Vec::new();
    for (i, (id_type, column)) in columns.iter().enumerate() {
        let alias = format!("map{i}");
        let m = LogicalPlanBuilder::scan(&alias, map.clone(), None)
            .and_then(|m| {
                m.filter(col(Column::new(Some(&alias), "id_type")).eq(lit(id_type.as_str())))
            })
            .and_then(|m| {
                m.project(vec![
                    col(Column::new(Some(&alias), "id_value")),
                    col(Column::new(Some(&alias), "person_id")),
                ])
            })
            .and_then(|m| m.build())
            .map_err(plan)?;
        b = b
            .join_on(
                m,
                JoinType::Left,
                vec![
                    cast(col(Column::new(Some(raw), column)), DataType::Utf8)
                        .eq(col(Column::new(Some(&alias), "id_value"))),
                ],
            )
            .map_err(plan)?;
        people.push(col(Column::new(Some(&alias), "person_id")));
    }
    let mut projection: Vec<Expr> = source
        .schema()
        .fields()
        .iter()
        .map(|f| col(Column::new(Some(raw), f.name())))
        .collect();
    projection.push(datafusion::functions::expr_fn::coalesce(people).alias(PERSON_ID));
    let view = b
        .project(projection)
        .and_then(|b| b.build())
        .map_err(plan)?;
    Ok(provider_as_source(Arc::new(ViewTable::new(view, None))))
}

/// The events with `person_id`.
pub fn events(
    identity: &Identity,
    source: Arc<dyn TableSource>,
    map: &Arc<dyn TableSource>,
) -> Result<Arc<dyn TableSource>> {
    let columns: Vec<(String, String)> = identity
        .identifiers
        .iter()
        .map(|t| (t.clone(), t.clone()))
        .collect();
    with_person(source, map, &columns)
}

/// The profiles with `person_id` (joined by their key, an identifier type).
pub fn profiles(
    identity: &Identity,
    source: Arc<dyn TableSource>,
    map: &Arc<dyn TableSource>,
) -> Result<Arc<dyn TableSource>> {
    let key = identity.profiles_key.clone().unwrap_or_default();
    with_person(source, map, &[(key.clone(), key)])
}

/// The entity ids of a members batch's `column`.
pub fn entity_ids(
    rows: &datafusion::arrow::array::RecordBatch,
    column: &str,
) -> Result<Vec<String>> {
    use datafusion::arrow::array::Array;
    let values = rows
        .column_by_name(column)
        .map(|c| datafusion::arrow::compute::cast(c, &DataType::Utf8))
        .transpose()
        .map_err(EngineError::Arrow)?
        .ok_or_else(|| EngineError::Internal(format!("no `{column}` column")))?;
    let values = values
        .as_any()
        .downcast_ref::<datafusion::arrow::array::StringArray>()
        .ok_or_else(|| EngineError::Internal("entity ids are not text".into()))?;
    Ok((0..values.len())
        .filter(|i| values.is_valid(*i))
        .map(|i| values.value(i).to_string())
        .collect())
}

/// Each of `people`'s identifiers (`type:value`, sorted), from the map.
pub async fn identifiers_of(
    ctx: &datafusion::prelude::SessionContext,
    map: &Arc<dyn TableSource>,
    people: &[String],
) -> Result<std::collections::BTreeMap<String, Vec<String>>> {
    let plan = EngineError::Plan;
    if people.is_empty() {
        return Ok(Default::default());
    }
    let list: Vec<Expr> = people.iter().map(|p| lit(p.as_str())).collect();
    let query = LogicalPlanBuilder::scan("map", map.clone(), None)
        .and_then(|b| b.filter(col("person_id").in_list(list, false)))
        .and_then(|b| b.project(vec![col("person_id"), col("id_type"), col("id_value")]))
        .and_then(|b| b.build())
        .map_err(plan)?;
    let batches = datafusion::prelude::DataFrame::new(ctx.state(), query)
        .collect()
        .await
        .map_err(plan)?;
    let mut out: std::collections::BTreeMap<String, Vec<String>> = Default::default();
    for b in &batches {
        let (p, t, v) = (
            entity_ids(b, "person_id")?,
            entity_ids(b, "id_type")?,
            entity_ids(b, "id_value")?,
        );
        for ((p, t), v) in p.into_iter().zip(t).zip(v) {
            out.entry(p).or_default().push(format!("{t}:{v}"));
        }
    }
    for ids in out.values_mut() {
        ids.sort();
    }
    Ok(out)
}
