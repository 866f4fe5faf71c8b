//! The reference evaluator's behavioral leaves, written from the documented semantics in
//! plain Rust (never calling segmint-udfs): funnels (ClickHouse's level algorithm),
//! sequences (an exhaustive search over step events), sessions, cadence classes, momentum,
//! RFM quintiles or cut points with their named classes, and affinity.
//!
//! UTC projects only, like the rest of the reference.

use std::collections::{BTreeSet, HashMap};

use chrono::NaiveDate;
use segmint_spec::{
    Affinity, Cadence, CadenceClass, CadenceRules, Checked, Comparison, Cond, EventMatch, Funnel,
    FunnelMode, FunnelOutcome, Gap, Leaf, Momentum, Rfm, RfmCutPoints, RfmScoring, Sequence,
    SequenceStep, Sessions, Span, Window,
};

use crate::reference::{Clock, DAY, Event, Lake, Value, compare, lit_value, matches, order};

/// Run-wide facts: the clock, the as-of day and, per RFM leaf, every entity's scores.
pub struct Population {
    pub(crate) clock: Clock,
    as_of_day: i64,
    rfm: Vec<(Leaf, HashMap<String, [i64; 3]>)>,
}

fn in_window<'a>(
    clock: &Clock,
    events: &'a [Event],
    m: &'a EventMatch,
    w: Window,
) -> Vec<&'a Event> {
    let (lo, hi) = clock.window(w);
    events
        .iter()
        .filter(|e| e.ts >= lo && e.ts < hi && matches(e, m))
        .collect()
}

fn day_of(ts: i64) -> i64 {
    ts.div_euclid(DAY)
}

fn all_leaves(c: &Cond, out: &mut Vec<Leaf>) {
    match c {
        Cond::All(cs) | Cond::Any(cs) => cs.iter().for_each(|c| all_leaves(c, out)),
        Cond::Not(c) => all_leaves(c, out),
        Cond::InSegment(_) => {}
        Cond::Leaf(l) => out.push(l.clone()),
    }
}

impl Population {
    pub(crate) fn new(
        clock: Clock,
        as_of: NaiveDate,
        checked: &Checked,
        lake: &Lake,
        universe: &BTreeSet<&String>,
    ) -> Self {
        let as_of_day = day_of(Clock::day(as_of));
        let mut leaves = Vec::new();
        for s in &checked.segments {
            for c in s.conditions() {
                all_leaves(c, &mut leaves);
            }
            leaves.extend(s.outputs.iter().map(|o| o.measure.clone()));
        }
        let mut rfm: Vec<(Leaf, HashMap<String, [i64; 3]>)> = Vec::new();
        let empty = Vec::new();
        for leaf in leaves {
            let Leaf::Rfm(Rfm {
                matching,
                monetary,
                window,
                scoring,
                ..
            }) = &leaf
            else {
                continue;
            };
            if rfm.iter().any(|(l, _)| l == &leaf) {
                continue;
            }
            // (recency days, frequency, money) of every buyer.
            let mut buyers: Vec<(String, i64, i64, f64)> = Vec::new();
            for entity in universe {
                let events = lake.events.get(*entity).unwrap_or(&empty);
                let rows = in_window(&clock, events, matching, *window);
                if rows.is_empty() {
                    continue;
                }
                let last = rows.iter().map(|e| day_of(e.ts)).max().unwrap_or(0);
                let spent: f64 = rows
                    .iter()
                    .filter_map(|e| match e.props.get(monetary) {
                        Some(Value::Num(x)) => Some(*x),
                        _ => None,
                    })
                    .sum();
                buyers.push((
                    (*entity).clone(),
                    as_of_day - last,
                    rows.len() as i64,
                    spent,
                ));
            }
            let cuts = match scoring {
                RfmScoring::CutPoints(c) => Some(c),
                RfmScoring::Quintiles => None,
            };
            let scores = score_buyers(&buyers, cuts);
            rfm.push((leaf.clone(), scores));
        }
        Population {
            clock,
            as_of_day,
            rfm,
        }
    }
}

/// Scores 1–5: quintiles (ties share a score: ceil(5k/n) with k the buyers at or below)
/// or fixed cut points.
fn score_buyers(
    buyers: &[(String, i64, i64, f64)],
    cuts: Option<&RfmCutPoints>,
) -> HashMap<String, [i64; 3]> {
    let n = buyers.len() as i64;
    let quintile = |k: usize| (5 * k as i64 + n - 1) / n;
    buyers
        .iter()
        .map(|(entity, days, freq, spent)| {
            let scores = match cuts {
                Some(c) => {
                    let r = 5 - c
                        .recency_days
                        .iter()
                        .filter(|x| (*days as f64) > **x)
                        .count();
                    let up = |v: f64, cuts: &[f64]| 1 + cuts.iter().filter(|x| v >= **x).count();
                    [
                        r as i64,
                        up(*freq as f64, &c.frequency) as i64,
                        up(*spent, &c.monetary) as i64,
                    ]
                }
                None => [
                    quintile(buyers.iter().filter(|b| b.1 >= *days).count()),
                    quintile(buyers.iter().filter(|b| b.2 <= *freq).count()),
                    quintile(buyers.iter().filter(|b| b.3 <= *spent).count()),
                ],
            };
            (entity.clone(), scores)
        })
        .collect()
}

/// The RFM class grid of docs/functions.md: rows r = 5..1, columns fm = 1..5.
fn rfm_class(r: i64, f: i64, m: i64) -> &'static str {
    const GRID: [[&str; 5]; 5] = [
        [
            "new_customers",
            "potential_loyalists",
            "potential_loyalists",
            "champions",
            "champions",
        ],
        [
            "promising",
            "potential_loyalists",
            "potential_loyalists",
            "loyal",
            "champions",
        ],
        [
            "about_to_sleep",
            "need_attention",
            "need_attention",
            "loyal",
            "loyal",
        ],
        [
            "hibernating",
            "hibernating",
            "at_risk",
            "at_risk",
            "cannot_lose_them",
        ],
        ["lost", "lost", "at_risk", "at_risk", "cannot_lose_them"],
    ];
    let fm = (f + m + 1) / 2;
    GRID[(5 - r) as usize][(fm - 1) as usize]
}

/// The most frequent non-NULL value of `of` and its share (ties: the smallest value).
pub fn dominant(rows: &[&Event], of: &str) -> Option<(Value, f64)> {
    let mut counts: Vec<(Value, usize)> = Vec::new();
    let mut total = 0;
    for e in rows {
        let v = e.props.get(of).cloned().unwrap_or(Value::Null);
        if v == Value::Null {
            continue;
        }
        total += 1;
        match counts.iter_mut().find(|(x, _)| *x == v) {
            Some((_, n)) => *n += 1,
            None => counts.push((v, 1)),
        }
    }
    counts.sort_by(|a, b| {
        b.1.cmp(&a.1)
            .then_with(|| order(&a.0, &b.0).unwrap_or(std::cmp::Ordering::Equal))
    });
    counts
        .into_iter()
        .next()
        .map(|(v, n)| (v, n as f64 / total as f64))
}

fn all(value: &Value, cmps: &[Comparison]) -> bool {
    cmps.iter().all(|c| compare(value, c))
}

/// ClickHouse's `windowFunnel` level over (time, step) entries, as ClickHouse 26.x computes
/// it (a repeated step 1 restarts the first step; `allow_reentry` skips a step that comes
/// too early under `strict_order`).
fn funnel_level(
    entries: &mut [(i64, usize)],
    steps: usize,
    window: i64,
    modes: &[FunnelMode],
) -> usize {
    let has = |m: FunnelMode| modes.contains(&m);
    let (strict_order, dedup, increase, reentry) = (
        has(FunnelMode::StrictOrder),
        has(FunnelMode::StrictDeduplication),
        has(FunnelMode::StrictIncrease),
        has(FunnelMode::AllowReentry),
    );
    entries.sort_unstable();
    let mut level: Vec<Option<(i64, i64)>> = vec![None; steps];
    let reached =
        |level: &[Option<(i64, i64)>]| level.iter().rposition(Option::is_some).map_or(0, |i| i + 1);
    let mut started = false;
    for &(t, step) in entries.iter() {
        if step == 0 {
            if strict_order && started {
                break;
            }
            continue;
        }
        let i = step - 1;
        if i == 0 {
            level[0] = Some((t, t));
            started = true;
        } else if dedup && level[i].is_some() {
            return reached(&level);
        } else if strict_order && started && level[i - 1].is_none() {
            if reentry {
                continue;
            }
            return level.iter().position(Option::is_none).unwrap_or(steps);
        } else if let Some((first, last)) = level[i - 1]
            && t <= first + window
            && (!increase || last < t)
        {
            level[i] = Some((first, t));
            if i + 1 == steps {
                return steps;
            }
        }
    }
    reached(&level)
}

/// Does the sequence occur: indices i1 < i2 < … among the step events (rows meeting any
/// step, by time then condition set) with each step's condition and gap.
fn sequence_occurs(events: &[(i64, u32)], steps: &[SequenceStep]) -> bool {
    fn from(
        events: &[(i64, u32)],
        steps: &[SequenceStep],
        k: usize,
        prev: usize,
        memo: &mut HashMap<(usize, usize), bool>,
    ) -> bool {
        if k == steps.len() {
            return true;
        }
        if let Some(&r) = memo.get(&(k, prev)) {
            return r;
        }
        let t0 = events[prev].0;
        let mut found = false;
        for j in prev + 1..events.len() {
            if steps[k].gap == Gap::Immediately && j > prev + 1 {
                break;
            }
            let dt = events[j].0 - t0;
            let gap_ok = match steps[k].gap {
                Gap::Within(s) => dt <= s.fixed_seconds() * 1_000_000,
                Gap::After(s) => dt >= s.fixed_seconds() * 1_000_000,
                Gap::Eventually | Gap::Immediately => true,
            };
            if gap_ok && events[j].1 & (1 << k) != 0 && from(events, steps, k + 1, j, memo) {
                found = true;
                break;
            }
        }
        memo.insert((k, prev), found);
        found
    }
    let mut memo = HashMap::new();
    (0..events.len()).any(|i| events[i].1 & 1 != 0 && from(events, steps, 1, i, &mut memo))
}

/// Sessions (count, mean length in minutes, mean events) with an inactivity gap.
fn sessions(times: &mut [i64], gap: Span) -> (i64, Option<f64>, Option<f64>) {
    times.sort_unstable();
    let gap = gap.fixed_seconds() * 1_000_000;
    let mut spans: Vec<(i64, i64, usize)> = Vec::new();
    for &t in times.iter() {
        match spans.last_mut() {
            Some((_, last, n)) if t - *last <= gap => {
                *last = t;
                *n += 1;
            }
            _ => spans.push((t, t, 1)),
        }
    }
    if spans.is_empty() {
        return (0, None, None);
    }
    let k = spans.len() as f64;
    let mean_seconds = spans
        .iter()
        .map(|(a, b, _)| (b - a) as f64 / 1e6)
        .sum::<f64>()
        / k;
    let per = spans.iter().map(|s| s.2 as f64).sum::<f64>() / k;
    (spans.len() as i64, Some(mean_seconds / 60.0), Some(per))
}

/// The cadence class of an entity (None: too few active days).
fn cadence_class(
    ctx: &Population,
    events: &[Event],
    m: &EventMatch,
    w: Window,
    rules: &CadenceRules,
) -> Option<CadenceClass> {
    let rows = in_window(&ctx.clock, events, m, w);
    let days: BTreeSet<i64> = rows
        .iter()
        .map(|e| day_of(e.ts))
        .filter(|d| *d <= ctx.as_of_day)
        .collect();
    let days: Vec<i64> = days.into_iter().collect();
    if days.len() < rules.min_active_days as usize {
        return None;
    }
    let mut gaps: Vec<f64> = days.windows(2).map(|p| (p[1] - p[0]) as f64).collect();
    gaps.sort_by(f64::total_cmp);
    let n = gaps.len();
    let usual = if n % 2 == 1 {
        gaps[n / 2]
    } else {
        (gaps[n / 2 - 1] + gaps[n / 2]) / 2.0
    };
    let away = (ctx.as_of_day - days[days.len() - 1]) as f64;
    let threshold = |factor: f64, floor: i64| (usual * factor).max(floor as f64);
    if away >= threshold(rules.lapsed_after, rules.lapsed_min_days) {
        return Some(CadenceClass::Lapsed);
    }
    if away >= threshold(rules.fading_after, rules.fading_min_days) {
        return Some(CadenceClass::Fading);
    }
    let boundary = ctx.clock.end - rules.returning_within_days * DAY;
    let before = rows
        .iter()
        .filter(|e| e.ts < boundary)
        .map(|e| day_of(e.ts))
        .max();
    let after = rows
        .iter()
        .filter(|e| e.ts >= boundary)
        .map(|e| day_of(e.ts))
        .min();
    if let (Some(b), Some(a)) = (before, after)
        && (a - b) as f64 >= threshold(rules.returning_after, rules.returning_min_days)
    {
        return Some(CadenceClass::Returning);
    }
    Some(CadenceClass::Regular)
}

/// Whether a behavioral leaf holds for one entity.
pub fn holds(ctx: &Population, entity: &str, events: &[Event], leaf: &Leaf) -> bool {
    let clock = &ctx.clock;
    match leaf {
        Leaf::Funnel(Funnel {
            steps,
            window,
            modes,
            events: w,
            outcome,
        }) => {
            let (lo, hi) = clock.window(*w);
            let strict_order = modes.contains(&FunnelMode::StrictOrder);
            let mut entries = Vec::new();
            for e in events.iter().filter(|e| e.ts >= lo && e.ts < hi) {
                let met: Vec<usize> = (0..steps.len())
                    .filter(|&k| matches(e, &steps[k]))
                    .map(|k| k + 1)
                    .collect();
                if met.is_empty() && strict_order {
                    entries.push((e.ts, 0));
                }
                entries.extend(met.into_iter().map(|k| (e.ts, k)));
            }
            let level = if entries.is_empty() {
                0
            } else {
                funnel_level(
                    &mut entries,
                    steps.len(),
                    window.fixed_seconds() * 1_000_000,
                    modes,
                )
            };
            match outcome {
                FunnelOutcome::Completed => level == steps.len(),
                FunnelOutcome::Reached(c) => all(&Value::Num(level as f64), c),
                FunnelOutcome::DroppedAfter(k) => level == *k,
            }
        }
        Leaf::Sequence(Sequence { steps, events: w }) => {
            let (lo, hi) = clock.window(*w);
            let mut kept: Vec<(i64, u32)> = events
                .iter()
                .filter(|e| e.ts >= lo && e.ts < hi)
                .filter_map(|e| {
                    let mask = (0..steps.len())
                        .filter(|&k| matches(e, &steps[k].matching))
                        .fold(0u32, |m, k| m | 1 << k);
                    (mask != 0).then_some((e.ts, mask))
                })
                .collect();
            kept.sort_unstable();
            sequence_occurs(&kept, steps)
        }
        Leaf::Sessions(Sessions {
            matching,
            window,
            gap,
            count,
            mean_minutes,
            events_per_session,
        }) => {
            let mut times: Vec<i64> = in_window(clock, events, matching, *window)
                .iter()
                .map(|e| e.ts)
                .collect();
            let (n, minutes, per) = sessions(&mut times, *gap);
            let num = |v: Option<f64>| v.map_or(Value::Null, Value::Num);
            all(&Value::Num(n as f64), count)
                && all(&num(minutes), mean_minutes)
                && all(&num(per), events_per_session)
        }
        Leaf::Cadence(Cadence {
            matching,
            window,
            classes,
            rules,
        }) => cadence_class(ctx, events, matching, *window, rules)
            .is_some_and(|c| classes.contains(&c)),
        Leaf::Momentum(Momentum {
            matching,
            recent,
            baseline,
            value,
        }) => {
            let r_len = recent.fixed_seconds() * 1_000_000;
            let b_len = baseline.fixed_seconds() * 1_000_000;
            let end = clock.end;
            let hits = |lo: i64, hi: i64| {
                events
                    .iter()
                    .filter(|e| e.ts >= lo && e.ts < hi && matches(e, matching))
                    .count() as f64
            };
            let r = hits(end - r_len, end);
            let b = hits(end - r_len - b_len, end - r_len);
            let ratio = if b > 0.0 {
                Value::Num((r * b_len as f64) / (b * r_len as f64))
            } else {
                Value::Null
            };
            all(&ratio, value)
        }
        Leaf::Rfm(Rfm {
            classes, r, f, m, ..
        }) => {
            let Some((_, table)) = ctx.rfm.iter().find(|(l, _)| l == leaf) else {
                return false;
            };
            let Some([rs, fs, ms]) = table.get(entity).copied() else {
                return false;
            };
            let class_ok = classes.is_empty() || classes.iter().any(|c| c == rfm_class(rs, fs, ms));
            class_ok
                && all(&Value::Num(rs as f64), r)
                && all(&Value::Num(fs as f64), f)
                && all(&Value::Num(ms as f64), m)
        }
        Leaf::Affinity(Affinity {
            of,
            matching,
            window,
            values,
            min_share,
        }) => {
            let rows = in_window(clock, events, matching, *window);
            let Some((top, share)) = dominant(&rows, of) else {
                return false;
            };
            let value_ok = values.is_empty() || values.iter().any(|v| lit_value(v) == top);
            value_ok && min_share.is_none_or(|s| share >= s)
        }
        _ => unreachable!("counting leaves are evaluated in reference.rs"),
    }
}
