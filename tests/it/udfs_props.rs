//! Property tests for segmint's aggregates: on random event sets, every aggregate equals a
//! plain reference implementation written here (independently of `segmint-udfs`), and
//! gives the same result with 1 and 8 target partitions (the input is spread over three
//! partitions, so partial states are built, shuffled and merged).
//!
//! The references follow the documented semantics of each function; where ClickHouse's
//! algorithm is itself the definition (strict funnel modes, pattern backtracking), the
//! ported ClickHouse `.slt` cases are the check instead.

use std::collections::BTreeMap;
use std::sync::Arc;

use datafusion::arrow::array::{
    Array, AsArray, Int64Array, RecordBatch, StructArray, TimestampMicrosecondArray,
};
use datafusion::arrow::datatypes::{
    DataType, Field, Float64Type, Int64Type, Schema, TimeUnit, UInt8Type, UInt64Type,
};
use datafusion::datasource::MemTable;
use proptest::prelude::*;

use crate::udfs_slt::session;

/// 2026-01-01T00:00:00Z.
const BASE: i64 = 1_767_225_600;
const DAY: i64 = 86_400;
/// The as-of of `cadence` and `momentum`: 2026-01-16T00:00:00Z.
const AS_OF: i64 = BASE + 15 * DAY;
const FUNNEL_WINDOW: i64 = 7_200;
const SESSION_GAP: i64 = 1_800;
const PAIR_WITHIN: i64 = 3_600;
const RECENT: i64 = 3 * DAY;
const BASELINE: i64 = 7 * DAY;

/// One row: entity, time in seconds, event code 0..4.
#[derive(Debug, Clone, Copy)]
struct Row {
    entity: i64,
    time: i64,
    code: i64,
}

fn rows() -> impl Strategy<Value = Vec<Row>> {
    // Minute offsets from two ranges: a narrow one (ties and tight sequences) and one over
    // 20 days (days, sessions, windows).
    let minute = prop_oneof![0i64..40, 0i64..(20 * 24 * 60)];
    prop::collection::vec((0i64..5, minute, 0i64..4), 0..70).prop_map(|raw| {
        raw.into_iter()
            .map(|(entity, minute, code)| Row {
                entity,
                time: BASE + minute * 60,
                code,
            })
            .collect()
    })
}

/// Everything the query returns for one entity.
#[derive(Debug, Clone, PartialEq)]
struct Results {
    funnel: u8,
    retention: Vec<u8>,
    match_anywhere: bool,
    match_adjacent_within: bool,
    count_anywhere: u64,
    count_adjacent: u64,
    sessions: (i64, Option<f64>, Option<f64>),
    cadence: (i64, Option<f64>, Option<i64>, Option<f64>, Option<i64>),
    momentum: Option<f64>,
    distinct_codes: i64,
    distinct_days: i64,
    dominant: (Option<i64>, i64, Option<f64>),
}

const QUERY: &str = "SELECT entity,
    window_funnel(7200, '', ts, code = 0, code = 1 OR code = 3, code >= 2),
    retention(code = 0, code = 1, code = 2),
    sequence_match('(?1).*(?2)', ts, code = 0, code = 1),
    sequence_match('(?1)(?t<=3600)(?2)', ts, code = 0, code = 1),
    sequence_count('(?1).*(?2)', ts, code = 0, code = 1),
    sequence_count('(?1)(?2)', ts, code = 0, code = 1),
    session_stats(ts, INTERVAL '30 minutes'),
    cadence(ts, TIMESTAMP '2026-01-16 00:00:00'),
    momentum(ts, TIMESTAMP '2026-01-16 00:00:00', INTERVAL '3 days', 604800),
    distinct_count(code),
    distinct_count(CAST(ts AS DATE)),
    dominant(code)
  FROM ev GROUP BY entity ORDER BY entity";

// ---------------------------------------------------------------------------------------
// References
// ---------------------------------------------------------------------------------------

/// Condition masks of the three funnel steps (a row with code 3 meets steps 2 and 3).
fn funnel_steps(code: i64) -> [bool; 3] {
    [code == 0, code == 1 || code == 3, code >= 2]
}

/// The longest chain of steps 1..k with non-decreasing times (one row may serve as several
/// consecutive steps) whose last step is at most the window after the first. For a fixed
/// start, taking the earliest possible row for each next step is optimal.
fn reference_funnel(events: &[Row]) -> u8 {
    let mut best = 0u8;
    for start in events.iter().filter(|e| funnel_steps(e.code)[0]) {
        let mut level = 1u8;
        let mut previous = start.time;
        for step in 1..3 {
            let next = events
                .iter()
                .filter(|e| funnel_steps(e.code)[step] && e.time >= previous)
                .map(|e| e.time)
                .min();
            match next {
                Some(t) if t - start.time <= FUNNEL_WINDOW => {
                    level += 1;
                    previous = t;
                }
                _ => break,
            }
        }
        best = best.max(level);
    }
    best
}

fn reference_retention(events: &[Row]) -> Vec<u8> {
    let any = |code: i64| events.iter().any(|e| e.code == code);
    let first = any(0);
    vec![
        u8::from(first),
        u8::from(first && any(1)),
        u8::from(first && any(2)),
    ]
}

/// The rows meeting `code = 0` (mask 1) or `code = 1` (mask 2), by time, ties by mask.
fn pattern_events(events: &[Row]) -> Vec<(i64, u32)> {
    let mut kept: Vec<(i64, u32)> = events
        .iter()
        .filter_map(|e| match e.code {
            0 => Some((e.time, 1)),
            1 => Some((e.time, 2)),
            _ => None,
        })
        .collect();
    kept.sort_unstable();
    kept
}

/// Non-overlapping `(?1).*(?2)` matches, left to right: the first condition-1 event, then
/// the nearest condition-2 event after it; the next search starts after that event.
fn reference_count_anywhere(events: &[(i64, u32)]) -> u64 {
    let mut count = 0;
    let mut at = 0;
    while let Some(start) = (at..events.len()).find(|&i| events[i].1 == 1) {
        match (start + 1..events.len()).find(|&j| events[j].1 == 2) {
            Some(end) => {
                count += 1;
                at = end + 1;
            }
            None => break,
        }
    }
    count
}

/// Non-overlapping `(?1)(?2)` matches: a condition-1 event immediately followed (among the
/// kept events) by a condition-2 event.
fn reference_count_adjacent(events: &[(i64, u32)]) -> u64 {
    let mut count = 0;
    let mut i = 0;
    while i + 1 < events.len() {
        if events[i].1 == 1 && events[i + 1].1 == 2 {
            count += 1;
            i += 2;
        } else {
            i += 1;
        }
    }
    count
}

fn reference_adjacent_within(events: &[(i64, u32)]) -> bool {
    events
        .windows(2)
        .any(|w| w[0].1 == 1 && w[1].1 == 2 && w[1].0 - w[0].0 <= PAIR_WITHIN)
}

fn reference_sessions(events: &[Row]) -> (i64, Option<f64>, Option<f64>) {
    let mut times: Vec<i64> = events.iter().map(|e| e.time).collect();
    times.sort_unstable();
    let mut sessions: Vec<(i64, i64, usize)> = Vec::new();
    for t in times {
        match sessions.last_mut() {
            Some((_, last, n)) if t - *last <= SESSION_GAP => {
                *last = t;
                *n += 1;
            }
            _ => sessions.push((t, t, 1)),
        }
    }
    if sessions.is_empty() {
        return (0, None, None);
    }
    let k = sessions.len() as f64;
    let length = sessions.iter().map(|(a, b, _)| (b - a) as f64).sum::<f64>() / k;
    let per = sessions.iter().map(|(_, _, n)| *n as f64).sum::<f64>() / k;
    (sessions.len() as i64, Some(length), Some(per))
}

fn reference_cadence(events: &[Row]) -> (i64, Option<f64>, Option<i64>, Option<f64>, Option<i64>) {
    let as_of_day = AS_OF.div_euclid(DAY);
    let mut days: Vec<i64> = events
        .iter()
        .map(|e| e.time.div_euclid(DAY))
        .filter(|d| *d <= as_of_day)
        .collect();
    days.sort_unstable();
    days.dedup();
    let gaps: Vec<f64> = days.windows(2).map(|w| (w[1] - w[0]) as f64).collect();
    let median = if gaps.is_empty() {
        None
    } else {
        let mut g = gaps.clone();
        g.sort_by(f64::total_cmp);
        let n = g.len();
        Some(if n % 2 == 1 {
            g[n / 2]
        } else {
            (g[n / 2 - 1] + g[n / 2]) / 2.0
        })
    };
    let regularity = (gaps.len() >= 2).then(|| {
        let n = gaps.len() as f64;
        let mean = gaps.iter().sum::<f64>() / n;
        let var = gaps.iter().map(|g| (g - mean) * (g - mean)).sum::<f64>() / n;
        var.sqrt() / mean
    });
    (
        days.len() as i64,
        median,
        days.last().map(|d| as_of_day - d),
        regularity,
        (days.len() >= 2).then(|| days[days.len() - 1] - days[days.len() - 2]),
    )
}

fn reference_momentum(events: &[Row]) -> Option<f64> {
    let recent_start = AS_OF - RECENT;
    let baseline_start = recent_start - BASELINE;
    let recent = events
        .iter()
        .filter(|e| e.time > recent_start && e.time <= AS_OF)
        .count() as f64;
    let baseline = events
        .iter()
        .filter(|e| e.time > baseline_start && e.time <= recent_start)
        .count() as f64;
    (baseline > 0.0).then(|| (recent / RECENT as f64) / (baseline / BASELINE as f64))
}

/// The most frequent code (ties: the smallest), its count and share.
fn reference_dominant(events: &[Row]) -> (Option<i64>, i64, Option<f64>) {
    let mut counts: BTreeMap<i64, i64> = BTreeMap::new();
    for e in events {
        *counts.entry(e.code).or_default() += 1;
    }
    let best = counts
        .iter()
        .fold(None::<(i64, i64)>, |best, (&code, &n)| match best {
            Some((_, m)) if m >= n => best,
            _ => Some((code, n)),
        });
    match best {
        Some((code, n)) => (Some(code), n, Some(n as f64 / events.len() as f64)),
        None => (None, 0, None),
    }
}

fn reference(events: &[Row]) -> Results {
    let kept = pattern_events(events);
    let mut codes: Vec<i64> = events.iter().map(|e| e.code).collect();
    codes.sort_unstable();
    codes.dedup();
    let mut days: Vec<i64> = events.iter().map(|e| e.time.div_euclid(DAY)).collect();
    days.sort_unstable();
    days.dedup();
    Results {
        funnel: reference_funnel(events),
        retention: reference_retention(events),
        match_anywhere: reference_count_anywhere(&kept) > 0,
        match_adjacent_within: reference_adjacent_within(&kept),
        count_anywhere: reference_count_anywhere(&kept),
        count_adjacent: reference_count_adjacent(&kept),
        sessions: reference_sessions(events),
        cadence: reference_cadence(events),
        momentum: reference_momentum(events),
        distinct_codes: codes.len() as i64,
        distinct_days: days.len() as i64,
        dominant: reference_dominant(events),
    }
}

// ---------------------------------------------------------------------------------------
// Running the query
// ---------------------------------------------------------------------------------------

fn table(rows: &[Row]) -> MemTable {
    let schema = Arc::new(Schema::new(vec![
        Field::new("entity", DataType::Int64, false),
        Field::new(
            "ts",
            DataType::Timestamp(TimeUnit::Microsecond, None),
            false,
        ),
        Field::new("code", DataType::Int64, false),
    ]));
    // Three partitions, rows dealt round-robin, so no partition holds a whole entity.
    let partitions = (0..3)
        .map(|p| {
            let part: Vec<&Row> = rows.iter().skip(p).step_by(3).collect();
            let batch = RecordBatch::try_new(
                schema.clone(),
                vec![
                    Arc::new(Int64Array::from_iter_values(part.iter().map(|r| r.entity))),
                    Arc::new(TimestampMicrosecondArray::from_iter_values(
                        part.iter().map(|r| r.time * 1_000_000),
                    )),
                    Arc::new(Int64Array::from_iter_values(part.iter().map(|r| r.code))),
                ],
            )
            .unwrap();
            vec![batch]
        })
        .collect();
    MemTable::try_new(schema, partitions).unwrap()
}

fn f64_at(array: &dyn Array, row: usize) -> Option<f64> {
    let values = array.as_primitive::<Float64Type>();
    values.is_valid(row).then(|| values.value(row))
}

fn i64_at(array: &dyn Array, row: usize) -> Option<i64> {
    let values = array.as_primitive::<Int64Type>();
    values.is_valid(row).then(|| values.value(row))
}

fn decode(batches: &[RecordBatch]) -> BTreeMap<i64, Results> {
    let mut out = BTreeMap::new();
    for batch in batches {
        let c = |i: usize| batch.column(i);
        for row in 0..batch.num_rows() {
            let entity = c(0).as_primitive::<Int64Type>().value(row);
            let retention = c(2).as_list::<i32>().value(row);
            let sessions: &StructArray = c(7).as_struct();
            let cadence: &StructArray = c(8).as_struct();
            let results = Results {
                funnel: c(1).as_primitive::<UInt8Type>().value(row),
                retention: retention.as_primitive::<UInt8Type>().values().to_vec(),
                match_anywhere: c(3).as_boolean().value(row),
                match_adjacent_within: c(4).as_boolean().value(row),
                count_anywhere: c(5).as_primitive::<UInt64Type>().value(row),
                count_adjacent: c(6).as_primitive::<UInt64Type>().value(row),
                sessions: (
                    i64_at(sessions.column(0).as_ref(), row).unwrap_or(-1),
                    f64_at(sessions.column(1).as_ref(), row),
                    f64_at(sessions.column(2).as_ref(), row),
                ),
                cadence: (
                    i64_at(cadence.column(0).as_ref(), row).unwrap_or(-1),
                    f64_at(cadence.column(1).as_ref(), row),
                    i64_at(cadence.column(2).as_ref(), row),
                    f64_at(cadence.column(3).as_ref(), row),
                    i64_at(cadence.column(4).as_ref(), row),
                ),
                momentum: f64_at(c(9).as_ref(), row),
                distinct_codes: c(10).as_primitive::<Int64Type>().value(row),
                distinct_days: c(11).as_primitive::<Int64Type>().value(row),
                dominant: {
                    let d: &StructArray = c(12).as_struct();
                    (
                        i64_at(d.column(0).as_ref(), row),
                        i64_at(d.column(1).as_ref(), row).unwrap_or(-1),
                        f64_at(d.column(2).as_ref(), row),
                    )
                },
            };
            out.insert(entity, results);
        }
    }
    out
}

fn run(rows: &[Row], target_partitions: usize) -> BTreeMap<i64, Results> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    runtime.block_on(async {
        let ctx = session(target_partitions);
        ctx.register_table("ev", Arc::new(table(rows))).unwrap();
        let batches = ctx.sql(QUERY).await.unwrap().collect().await.unwrap();
        decode(&batches)
    })
}

fn close(a: Option<f64>, b: Option<f64>) -> bool {
    match (a, b) {
        (None, None) => true,
        (Some(x), Some(y)) => (x - y).abs() <= 1e-9 * x.abs().max(y.abs()).max(1.0),
        _ => false,
    }
}

fn same(got: &Results, want: &Results) -> bool {
    got.funnel == want.funnel
        && got.retention == want.retention
        && got.match_anywhere == want.match_anywhere
        && got.match_adjacent_within == want.match_adjacent_within
        && got.count_anywhere == want.count_anywhere
        && got.count_adjacent == want.count_adjacent
        && got.sessions.0 == want.sessions.0
        && close(got.sessions.1, want.sessions.1)
        && close(got.sessions.2, want.sessions.2)
        && got.cadence.0 == want.cadence.0
        && close(got.cadence.1, want.cadence.1)
        && got.cadence.2 == want.cadence.2
        && close(got.cadence.3, want.cadence.3)
        && got.cadence.4 == want.cadence.4
        && close(got.momentum, want.momentum)
        && got.distinct_codes == want.distinct_codes
        && got.distinct_days == want.distinct_days
        && got.dominant.0 == want.dominant.0
        && got.dominant.1 == want.dominant.1
        && close(got.dominant.2, want.dominant.2)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn aggregates_equal_their_references_at_1_and_8_partitions(rows in rows()) {
        let mut by_entity: BTreeMap<i64, Vec<Row>> = BTreeMap::new();
        for r in &rows {
            by_entity.entry(r.entity).or_default().push(*r);
        }
        let want: BTreeMap<i64, Results> =
            by_entity.iter().map(|(e, events)| (*e, reference(events))).collect();
        for partitions in [1, 8] {
            let got = run(&rows, partitions);
            prop_assert_eq!(got.keys().collect::<Vec<_>>(), want.keys().collect::<Vec<_>>());
            for (entity, expected) in &want {
                let actual = &got[entity];
                prop_assert!(
                    same(actual, expected),
                    "entity {} at {} partition(s):\n got  {:?}\n want {:?}\n events {:?}",
                    entity, partitions, actual, expected, by_entity[entity]
                );
            }
        }
    }
}
