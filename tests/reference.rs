//! An independent evaluator of checked segments over raw lake rows (UTC projects only).
//!
//! It reads the Parquet files with the `parquet` crate, never DataFusion, and evaluates
//! each leaf by scanning the entity's events in plain Rust, so the compiler's plan is
//! checked against a second implementation of the same semantics.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::Path;

use arrow::array::{Array, AsArray};
use arrow::datatypes::{Float64Type, TimestampMicrosecondType};
use chrono::NaiveDate;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use segmint_spec::{
    Checked, Comparison, Cond, EventMatch, Leaf, Literal, Measure, Metric, Occurrence, Performed,
    SegmentBody, Span, Trait, When, Which, Window,
};

use crate::behavior;

/// A property value.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Str(String),
    Num(f64),
    Null,
}

/// One event row.
#[derive(Debug, Clone)]
pub struct Event {
    pub ts: i64,
    pub props: HashMap<String, Value>,
}

/// The raw lake: events by entity, profiles by entity.
pub struct Lake {
    pub events: BTreeMap<String, Vec<Event>>,
    pub profiles: BTreeMap<String, HashMap<String, Value>>,
}

fn read_dir_parquet(dir: &Path, out: &mut Vec<arrow::array::RecordBatch>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            read_dir_parquet(&path, out);
        } else if path.extension().is_some_and(|e| e == "parquet") {
            let file = std::fs::File::open(&path).unwrap();
            let reader = ParquetRecordBatchReaderBuilder::try_new(file)
                .unwrap()
                .build()
                .unwrap();
            out.extend(reader.map(|b| b.unwrap()));
        }
    }
}

fn value(array: &dyn Array, i: usize) -> Value {
    if array.is_null(i) {
        return Value::Null;
    }
    if let Some(s) = array.as_string_opt::<i32>() {
        return Value::Str(s.value(i).to_string());
    }
    if let Some(f) = array.as_primitive_opt::<Float64Type>() {
        return Value::Num(f.value(i));
    }
    Value::Null
}

impl Lake {
    /// Read `lake/events` and `lake/profiles`.
    pub fn read(lake: &Path) -> Lake {
        Self::read_keyed(
            lake,
            &|b, i| {
                let users = b.column_by_name("user_id").unwrap().as_string::<i32>();
                users.is_valid(i).then(|| users.value(i).to_string())
            },
            &|user| Some(user.to_string()),
        )
    }

    /// Read `lake/events` and `lake/profiles`, each event keyed by `event_key` (skipped when
    /// `None`) and each profile by `profile_key` of its `user_id`.
    pub fn read_keyed(
        lake: &Path,
        event_key: &dyn Fn(&arrow::array::RecordBatch, usize) -> Option<String>,
        profile_key: &dyn Fn(&str) -> Option<String>,
    ) -> Lake {
        let mut batches = Vec::new();
        read_dir_parquet(&lake.join("events"), &mut batches);
        let mut events: BTreeMap<String, Vec<Event>> = BTreeMap::new();
        for b in &batches {
            let schema = b.schema();
            let ts = b
                .column_by_name("event_time")
                .unwrap()
                .as_primitive::<TimestampMicrosecondType>();
            for i in 0..b.num_rows() {
                let Some(key) = event_key(b, i) else {
                    continue;
                };
                let mut props = HashMap::new();
                for (f, col) in schema.fields().iter().zip(b.columns()) {
                    if f.name() != "user_id" && f.name() != "event_time" {
                        props.insert(f.name().clone(), value(col.as_ref(), i));
                    }
                }
                events.entry(key).or_default().push(Event {
                    ts: ts.value(i),
                    props,
                });
            }
        }
        let mut batches = Vec::new();
        read_dir_parquet(&lake.join("profiles"), &mut batches);
        let mut profiles = BTreeMap::new();
        for b in &batches {
            let schema = b.schema();
            let users = b.column_by_name("user_id").unwrap().as_string::<i32>();
            for i in 0..b.num_rows() {
                let mut props = HashMap::new();
                for (f, col) in schema.fields().iter().zip(b.columns()) {
                    props.insert(f.name().clone(), value(col.as_ref(), i));
                }
                if let Some(key) = profile_key(users.value(i)) {
                    profiles.insert(key, props);
                }
            }
        }
        Lake { events, profiles }
    }
}

pub(crate) const DAY: i64 = 86_400_000_000;

pub(crate) struct Clock {
    pub(crate) end: i64,
}

impl Clock {
    pub(crate) fn minus(&self, s: Span) -> i64 {
        match s.calendar_days() {
            Some(d) => self.end - d * DAY,
            None => self.end - s.exact_seconds().unwrap() * 1_000_000,
        }
    }
    pub(crate) fn day(d: NaiveDate) -> i64 {
        d.and_hms_opt(0, 0, 0).unwrap().and_utc().timestamp_micros()
    }
    pub(crate) fn window(&self, w: Window) -> (i64, i64) {
        match w {
            Window::AllTime => (i64::MIN, self.end),
            Window::Last(s) => (self.minus(s), self.end),
            Window::Between(a, b) => (Self::day(a), Self::day(b).min(self.end)),
        }
    }
}

pub(crate) fn lit_value(l: &Literal) -> Value {
    match l {
        Literal::Str(s) => Value::Str(s.clone()),
        Literal::Int(i) => Value::Num(*i as f64),
        Literal::Float(f) => Value::Num(*f),
        Literal::Bool(b) => Value::Str(b.to_string()),
    }
}

pub(crate) fn order(a: &Value, b: &Value) -> Option<std::cmp::Ordering> {
    match (a, b) {
        (Value::Num(x), Value::Num(y)) => x.partial_cmp(y),
        (Value::Str(x), Value::Str(y)) => Some(x.cmp(y)),
        _ => None,
    }
}

/// SQL semantics: any comparison with NULL is false, except `is_null`.
pub fn compare(v: &Value, c: &Comparison) -> bool {
    use std::cmp::Ordering::*;
    if let Comparison::IsNull(want) = c {
        return (*v == Value::Null) == *want;
    }
    if *v == Value::Null {
        return false;
    }
    let o = |l: &Literal| order(v, &lit_value(l));
    match c {
        Comparison::Eq(l) => o(l) == Some(Equal),
        Comparison::Ne(l) => matches!(o(l), Some(Less | Greater)),
        Comparison::Gt(l) => o(l) == Some(Greater),
        Comparison::Gte(l) => matches!(o(l), Some(Greater | Equal)),
        Comparison::Lt(l) => o(l) == Some(Less),
        Comparison::Lte(l) => matches!(o(l), Some(Less | Equal)),
        Comparison::In(ls) => ls.iter().any(|l| o(l) == Some(Equal)),
        Comparison::NotIn(ls) => ls.iter().all(|l| matches!(o(l), Some(Less | Greater))),
        Comparison::Between(a, b) => {
            matches!(o(a), Some(Greater | Equal)) && matches!(o(b), Some(Less | Equal))
        }
        Comparison::Contains(s) => matches!(v, Value::Str(x) if x.contains(s.as_str())),
        Comparison::IsNull(_) => unreachable!(),
    }
}

pub(crate) fn matches(e: &Event, m: &EventMatch) -> bool {
    if let Some(name) = &m.event
        && e.props.get("event_name") != Some(&Value::Str(name.clone()))
    {
        return false;
    }
    m.filters
        .iter()
        .all(|f| compare(e.props.get(&f.column).unwrap_or(&Value::Null), &f.cmp))
}

/// Whether a leaf holds for one entity.
fn leaf(
    ctx: &behavior::Population,
    entity: &str,
    events: &[Event],
    profile: Option<&HashMap<String, Value>>,
    l: &Leaf,
) -> bool {
    let clock = &ctx.clock;
    fn in_range<'a>(
        events: &'a [Event],
        m: &'a EventMatch,
        (lo, hi): (i64, i64),
    ) -> impl Iterator<Item = &'a Event> + 'a {
        events
            .iter()
            .filter(move |e| e.ts >= lo && e.ts < hi && matches(e, m))
    }
    let seen = |m, range| in_range(events, m, range);
    match l {
        Leaf::Performed(Performed {
            matching,
            window,
            count,
        }) => {
            let n = seen(matching, clock.window(*window)).count() as f64;
            count.iter().all(|c| compare(&Value::Num(n), c))
        }
        Leaf::Occurrence(Occurrence {
            which,
            matching,
            when,
        }) => {
            let ts = seen(matching, (i64::MIN, clock.end)).map(|e| e.ts);
            let t = match which {
                Which::First => ts.min(),
                Which::Last => ts.max(),
            };
            let Some(t) = t else { return false };
            match when {
                When::Within(s) => t >= clock.minus(*s),
                When::Before(s) => t < clock.minus(*s),
                When::Between(a, b) => t >= Clock::day(*a) && t < Clock::day(*b),
                When::Ever => true,
            }
        }
        Leaf::Metric(Metric {
            measure,
            matching,
            window,
            value,
        }) => {
            let rows: Vec<&Event> = seen(matching, clock.window(*window)).collect();
            let prop = |e: &Event| {
                e.props
                    .get(measure.of().unwrap_or(""))
                    .cloned()
                    .unwrap_or(Value::Null)
            };
            let nums: Vec<f64> = rows
                .iter()
                .filter_map(|e| match prop(e) {
                    Value::Num(x) => Some(x),
                    _ => None,
                })
                .collect();
            let v = match measure {
                Measure::Count { of: None } => Value::Num(rows.len() as f64),
                Measure::Count { of: Some(_) } => {
                    Value::Num(rows.iter().filter(|e| prop(e) != Value::Null).count() as f64)
                }
                Measure::CountDistinct { .. } => {
                    let set: BTreeSet<String> = rows
                        .iter()
                        .filter_map(|e| match prop(e) {
                            Value::Str(s) => Some(s),
                            Value::Num(x) => Some(x.to_string()),
                            Value::Null => None,
                        })
                        .collect();
                    Value::Num(set.len() as f64)
                }
                Measure::ActiveDays => {
                    let set: BTreeSet<i64> = rows.iter().map(|e| e.ts.div_euclid(DAY)).collect();
                    Value::Num(set.len() as f64)
                }
                Measure::Sum { .. } => Value::Num(nums.iter().sum()),
                Measure::Avg { .. } if nums.is_empty() => Value::Null,
                Measure::Avg { .. } => Value::Num(nums.iter().sum::<f64>() / nums.len() as f64),
                Measure::Min { .. } => nums
                    .iter()
                    .copied()
                    .reduce(f64::min)
                    .map_or(Value::Null, Value::Num),
                Measure::Max { .. } => nums
                    .iter()
                    .copied()
                    .reduce(f64::max)
                    .map_or(Value::Null, Value::Num),
                Measure::Share { .. } if rows.is_empty() => Value::Null,
                Measure::Share { equals, .. } => {
                    let want = lit_value(equals);
                    let hits = rows.iter().filter(|e| prop(e) == want).count();
                    Value::Num(hits as f64 / rows.len() as f64)
                }
                Measure::Mode { of } => {
                    behavior::dominant(&rows, of).map_or(Value::Null, |(v, _)| v)
                }
            };
            value.iter().all(|c| compare(&v, c))
        }
        Leaf::Trait(Trait { filters }) => filters.iter().all(|f| {
            let v = profile
                .and_then(|p| p.get(&f.column))
                .unwrap_or(&Value::Null);
            compare(v, &f.cmp)
        }),
        other => behavior::holds(ctx, entity, events, other),
    }
}

fn cond(
    ctx: &behavior::Population,
    entity: &str,
    events: &[Event],
    profile: Option<&HashMap<String, Value>>,
    members: &HashMap<String, bool>,
    c: &Cond,
) -> bool {
    match c {
        Cond::All(cs) => cs
            .iter()
            .all(|c| cond(ctx, entity, events, profile, members, c)),
        Cond::Any(cs) => cs
            .iter()
            .any(|c| cond(ctx, entity, events, profile, members, c)),
        Cond::Not(c) => !cond(ctx, entity, events, profile, members, c),
        Cond::InSegment(s) => members[s],
        Cond::Leaf(l) => leaf(ctx, entity, events, profile, l),
    }
}

/// Members (entity → tier, `""` for untiered segments) of every segment at an as-of.
/// The universe is every profile plus every entity with events before as-of.
pub fn evaluate(
    checked: &Checked,
    lake: &Lake,
    as_of: NaiveDate,
) -> BTreeMap<String, BTreeMap<String, String>> {
    let clock = Clock {
        end: Clock::day(as_of.succ_opt().unwrap()),
    };
    let mut universe: BTreeSet<&String> = lake.profiles.keys().collect();
    universe.extend(
        lake.events
            .iter()
            .filter(|(_, ev)| ev.iter().any(|e| e.ts < clock.end))
            .map(|(k, _)| k),
    );
    let ctx = behavior::Population::new(clock, as_of, checked, lake, &universe);
    let mut out: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
    let empty = Vec::new();
    for entity in universe {
        let events = lake.events.get(entity).unwrap_or(&empty);
        let profile = lake.profiles.get(entity);
        let mut members: HashMap<String, bool> = HashMap::new();
        for s in &checked.segments {
            let tier = match &s.body {
                SegmentBody::Where(c) => {
                    cond(&ctx, entity, events, profile, &members, c).then(String::new)
                }
                SegmentBody::Tiers(ts) => ts
                    .iter()
                    .find(|t| {
                        t.condition
                            .as_ref()
                            .is_none_or(|c| cond(&ctx, entity, events, profile, &members, c))
                    })
                    .map(|t| t.name.clone()),
            };
            members.insert(s.name.clone(), tier.is_some());
            if let Some(t) = tier {
                out.entry(s.name.clone())
                    .or_default()
                    .insert(entity.clone(), t);
            }
        }
    }
    out
}
