//! Plan snapshots: the fused logical plan of every shipped segment, compiled without any
//! storage (schema-only table sources), at a fixed as-of.

use std::sync::Arc;

use chrono::NaiveDate;
use datafusion::arrow::datatypes::{DataType, Field, Schema};
use datafusion::logical_expr::{LogicalTableSource, TableSource};
use segmint_compiler::{AsOf, compile};
use segmint_engine::lake_gen::{events_schema, profiles_schema};

pub(crate) fn sources() -> (Arc<dyn TableSource>, Arc<dyn TableSource>) {
    let mut fields: Vec<Field> = events_schema()
        .fields()
        .iter()
        .map(|f| f.as_ref().clone())
        .collect();
    fields.push(Field::new("date", DataType::Date32, false));
    (
        Arc::new(LogicalTableSource::new(Arc::new(Schema::new(fields)))),
        Arc::new(LogicalTableSource::new(profiles_schema())),
    )
}

#[test]
fn every_shipped_segment_has_a_plan_snapshot() {
    let dir = tempfile::tempdir().unwrap();
    let project = segmint_tests::write_project(dir.path());
    let checked = segmint_engine::check_offline(&project).unwrap();
    let as_of = AsOf::new(NaiveDate::from_ymd_opt(2026, 11, 22).unwrap(), "UTC").unwrap();
    let (events, profiles) = sources();
    assert!(checked.segments.len() >= 12);
    for segment in &checked.segments {
        let compiled = compile(
            &checked,
            std::slice::from_ref(&segment.name),
            as_of,
            events.clone(),
            Some(profiles.clone()),
            false,
        )
        .unwrap();
        insta::assert_snapshot!(
            format!("plan_{}", segment.name),
            compiled.plan.display_indent().to_string()
        );
    }
}

#[test]
fn shared_leaves_are_computed_once() {
    let dir = tempfile::tempdir().unwrap();
    let project = segmint_tests::write_project(dir.path());
    let checked = segmint_engine::check_offline(&project).unwrap();
    let as_of = AsOf::new(NaiveDate::from_ymd_opt(2026, 11, 22).unwrap(), "UTC").unwrap();
    let (events, profiles) = sources();
    let compiled = compile(&checked, &[], as_of, events, Some(profiles), false).unwrap();
    let text = compiled.plan.display_indent().to_string();
    // heavy_users, engagement_tiers/daily and paying_power_users share one active-days aggregate.
    let aggregate = text.lines().find(|l| l.contains("Aggregate:")).unwrap();
    let active_days_28 = aggregate
        .matches(
            "distinct_count(CAST(events.event_time AS Date32)) FILTER (WHERE events.event_time >= TimestampMicrosecond(1792972800000000",
        )
        .count();
    assert_eq!(active_days_28, 1, "{aggregate}");
    assert_eq!(text.matches("TableScan: events").count(), 1, "{text}");
}
