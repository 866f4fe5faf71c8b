//! Plans that use every segmint function survive `datafusion-proto`: encoded on one
//! context, decoded into a fresh context that only ran `segmint_udfs::register_all`, they
//! give the same results. This is what lets a Ballista executor rebuild any call from the
//! function's name and its constant arguments alone.

use std::sync::Arc;

use datafusion::arrow::util::pretty::pretty_format_batches;
use datafusion::physical_plan::collect;
use datafusion::prelude::{ParquetReadOptions, SessionContext};
use datafusion_proto::bytes::{
    logical_plan_from_bytes, logical_plan_to_bytes, physical_plan_from_bytes,
    physical_plan_to_bytes,
};

use crate::udfs_slt::session;

/// Uses every function: the nine aggregates, the two window functions and the two scalars.
const QUERY: &str = "
WITH s AS (
  SELECT entity, ts, code,
         session_id(ts, INTERVAL '30 minutes') OVER (PARTITION BY entity ORDER BY ts) AS sid
  FROM events)
SELECT entity,
       rfm_class(CAST(1 + entity % 5 AS INT), CAST(1 + code_max % 5 AS INT), 3) AS class,
       funnel, retained, matched, matches, sessions, rhythm, pace, codes, favourite, last_session,
       last_day, rank_count(codes > 2, pace, true) OVER () AS pace_rank
FROM (
  SELECT entity,
         max(code) AS code_max,
         window_funnel(INTERVAL '2 hours', 'strict_increase', ts, code = 0, code = 1, code = 2) AS funnel,
         retention(code = 0, code = 1, code = 2) AS retained,
         sequence_match('(?1).*(?t<=86400)(?2)', ts, code = 0, code = 1) AS matched,
         sequence_count('(?1)(?2)', ts, code = 0, code = 1) AS matches,
         session_stats(ts, 1800) AS sessions,
         cadence(ts, TIMESTAMP '2026-01-16 00:00:00') AS rhythm,
         momentum(ts, TIMESTAMP '2026-01-16 00:00:00', INTERVAL '3 days', INTERVAL '7 days') AS pace,
         distinct_count(code) AS codes,
         dominant(code) AS favourite,
         max(sid) AS last_session,
         day_of(max(ts)) AS last_day
  FROM s GROUP BY entity)
ORDER BY entity";

/// A Parquet file of 600 events of 40 entities over 20 days, and a context reading it.
async fn events(dir: &std::path::Path) -> SessionContext {
    let ctx = session(4);
    let path = dir.join("events.parquet");
    let write = format!(
        "COPY (SELECT CAST(i % 40 AS BIGINT) AS entity,
                      CAST(to_timestamp_seconds(1767225600 + i * 2897 % 1728000) AS TIMESTAMP) AS ts,
                      CAST(i * 7 % 4 AS BIGINT) AS code
               FROM generate_series(0, 599) AS t(i))
         TO '{}' STORED AS PARQUET",
        path.display()
    );
    ctx.sql(&write).await.unwrap().collect().await.unwrap();
    ctx.register_parquet(
        "events",
        path.to_str().unwrap(),
        ParquetReadOptions::default(),
    )
    .await
    .unwrap();
    ctx
}

/// A context that knows nothing but segmint's functions (tables come from the plan).
fn fresh() -> SessionContext {
    session(4)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logical_plans_round_trip_through_proto() {
    let dir = tempfile::tempdir().unwrap();
    let ctx = events(dir.path()).await;
    let frame = ctx.sql(QUERY).await.unwrap();
    let plan = frame.logical_plan().clone();
    let expected = pretty_format_batches(&frame.collect().await.unwrap())
        .unwrap()
        .to_string();
    assert!(
        expected.lines().count() > 40,
        "40 entities expected:\n{expected}"
    );

    let bytes = logical_plan_to_bytes(&plan).unwrap();
    let remote = fresh();
    let decoded = logical_plan_from_bytes(&bytes, &remote.task_ctx()).unwrap();
    let got = remote
        .execute_logical_plan(decoded)
        .await
        .unwrap()
        .collect()
        .await
        .unwrap();
    assert_eq!(pretty_format_batches(&got).unwrap().to_string(), expected);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn physical_plans_round_trip_through_proto() {
    let dir = tempfile::tempdir().unwrap();
    let ctx = events(dir.path()).await;
    let frame = ctx.sql(QUERY).await.unwrap();
    let physical = frame.clone().create_physical_plan().await.unwrap();
    let expected = pretty_format_batches(&frame.collect().await.unwrap())
        .unwrap()
        .to_string();

    let bytes = physical_plan_to_bytes(Arc::clone(&physical)).unwrap();
    let remote = fresh();
    let decoded = physical_plan_from_bytes(&bytes, &remote.task_ctx()).unwrap();
    let got = collect(decoded, remote.task_ctx()).await.unwrap();
    assert_eq!(pretty_format_batches(&got).unwrap().to_string(), expected);

    // And without segmint's functions the plan cannot be rebuilt: the names are the link.
    let bare = SessionContext::new();
    let error = physical_plan_from_bytes(&bytes, &bare.task_ctx()).unwrap_err();
    assert!(
        error.to_string().contains("window_funnel")
            || error.to_string().contains("session_id")
            || error.to_string().contains("rfm_class")
            || error.to_string().contains("not found")
            || error.to_string().contains("not registered"),
        "unexpected error: {error}"
    );
}
