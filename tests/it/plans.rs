//! Plan snapshots: the fused logical plan of every shipped segment, compiled without any
//! storage (schema-only table sources), at a fixed as-of.

use std::sync::Arc;

use chrono::NaiveDate;
use datafusion::common::tree_node::TreeNode;
use datafusion::logical_expr::{LogicalTableSource, TableSource};
use segmint_compiler::{AsOf, compile};
use segmint_engine::ProjectSession;
use segmint_lakegen::{events_table_schema, profiles_schema};

pub(crate) fn sources() -> (Arc<dyn TableSource>, Arc<dyn TableSource>) {
    (
        Arc::new(LogicalTableSource::new(events_table_schema())),
        Arc::new(LogicalTableSource::new(profiles_schema())),
    )
}

#[test]
fn every_shipped_segment_has_a_plan_snapshot() {
    let dir = tempfile::tempdir().unwrap();
    let project = segmint_tests::write_project(dir.path());
    let checked = ProjectSession::builder(&project).check_offline().unwrap();
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
            &Default::default(),
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
    let checked = ProjectSession::builder(&project).check_offline().unwrap();
    let as_of = AsOf::new(NaiveDate::from_ymd_opt(2026, 11, 22).unwrap(), "UTC").unwrap();
    let (events, profiles) = sources();
    let compiled = compile(
        &checked,
        &[],
        as_of,
        events,
        Some(profiles),
        false,
        &Default::default(),
    )
    .unwrap();
    let text = compiled.plan.display_indent().to_string();
    // heavy_users, engagement_tiers/daily and paying_power_users share one active-days aggregate.
    let aggregate = text.lines().find(|l| l.contains("Aggregate:")).unwrap();
    let active_days_28 = aggregate
        .matches(
            "distinct_count(day_of(CAST(events.event_time AS Timestamp(µs)))) FILTER (WHERE events.event_time >= TimestampMicrosecond(1792972800000000",
        )
        .count();
    assert_eq!(active_days_28, 1, "{aggregate}");
    assert_eq!(text.matches("TableScan: events").count(), 1, "{text}");
}

#[test]
fn the_whole_library_shares_its_behavioral_aggregates() {
    let dir = tempfile::tempdir().unwrap();
    let project = segmint_tests::write_project(dir.path());
    let checked = ProjectSession::builder(&project).check_offline().unwrap();
    assert!(
        checked.segments.len() >= 25,
        "the shipped library has 25+ segments"
    );
    let as_of = AsOf::new(NaiveDate::from_ymd_opt(2026, 11, 22).unwrap(), "UTC").unwrap();
    let (events, profiles) = sources();
    let compiled = compile(
        &checked,
        &[],
        as_of,
        events,
        Some(profiles),
        false,
        &Default::default(),
    )
    .unwrap();
    let text = compiled.plan.display_indent().to_string();
    assert_eq!(text.matches("TableScan: events").count(), 1, "{text}");
    let aggregate = text.lines().find(|l| l.contains("Aggregate:")).unwrap();
    let count = |needle: &str| aggregate.matches(needle).count();
    // Six topic tiers, their output and the advocates' output: one dominant(topic).
    assert_eq!(count("dominant(events.topic)"), 1, "{aggregate}");
    // Two funnels in the library, each computed once.
    assert_eq!(count("window_funnel("), 2, "{aggregate}");
    // Three sequences: retry_loops, and support_style's (error, retry within 10m).
    assert_eq!(count("sequence_match("), 2, "{aggregate}");
    // Five RFM tiers, two outputs and two more RFM segments: one year of purchase revenue.
    assert_eq!(
        count(
            "sum(TRY_CAST(events.revenue AS Decimal128(38, 9))) FILTER (WHERE events.event_time >= TimestampMicrosecond(1763856000000000, Some(\"UTC\")) AND events.event_name = Utf8(\"purchase\"))"
        ),
        1,
        "{aggregate}"
    );
    // One cadence for the cadence tiers, fading/returning/regular segments and journey stage.
    assert_eq!(count("cadence("), 1, "{aggregate}");
    // The quintile ranks: one partition size and three rank counts for every RFM quintile
    // leaf, all in one window with no PARTITION BY or ORDER BY (the wide grouped rows are
    // never sorted).
    let windows: Vec<&str> = text
        .lines()
        .filter(|l| l.trim_start().starts_with("WindowAggr:"))
        .collect();
    assert_eq!(windows.len(), 1, "{windows:?}");
    assert_eq!(windows[0].matches("rank_count(").count(), 4, "{windows:?}");
    assert!(
        !windows[0].contains("PARTITION BY") && !windows[0].contains("ORDER BY"),
        "{windows:?}"
    );
    // Every aggregate column is distinct (identical leaves were merged, never repeated).
    let mut aggregates = Vec::new();
    compiled
        .plan
        .apply(|node| {
            if let datafusion::logical_expr::LogicalPlan::Aggregate(a) = node {
                aggregates.extend(a.aggr_expr.iter().map(|e| e.clone().unalias()));
            }
            Ok(datafusion::common::tree_node::TreeNodeRecursion::Continue)
        })
        .unwrap();
    let distinct: std::collections::HashSet<_> = aggregates.iter().collect();
    assert_eq!(distinct.len(), aggregates.len());
    assert!(aggregates.len() >= 40, "{} aggregates", aggregates.len());
}
