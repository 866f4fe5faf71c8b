//! Tests for the lake generator: determinism, schemas, partition/revenue
//! invariants, funnel ordering, and that every planted persona/trait shows
//! up as a non-empty behavioural segment.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fs::File;
use std::path::{Path, PathBuf};

use arrow::array::{Array, AsArray, RecordBatch};
use arrow::datatypes::{Date32Type, Float64Type, TimestampMicrosecondType};
use chrono::{DateTime, Days, NaiveDate};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

use super::*;

fn read_file(path: &Path) -> (arrow::datatypes::SchemaRef, Vec<RecordBatch>) {
    let builder = ParquetRecordBatchReaderBuilder::try_new(File::open(path).unwrap()).unwrap();
    let schema = builder.schema().clone();
    let batches = builder
        .build()
        .unwrap()
        .collect::<Result<Vec<_>, _>>()
        .unwrap();
    (schema, batches)
}

/// All files under `dir`, relative path -> bytes.
fn all_files(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<PathBuf, Vec<u8>>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let p = entry.unwrap().path();
            if p.is_dir() {
                walk(root, &p, out);
            } else {
                out.insert(
                    p.strip_prefix(root).unwrap().to_path_buf(),
                    std::fs::read(&p).unwrap(),
                );
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(dir, dir, &mut out);
    out
}

#[derive(Debug, Clone)]
struct Row {
    date: NaiveDate,
    user: String,
    micros: i64,
    name: String,
    channel: String,
    category: Option<String>,
    topic: Option<String>,
    feature: Option<String>,
    revenue: Option<f64>,
}

fn opt_str(a: &arrow::array::StringArray, i: usize) -> Option<String> {
    a.is_valid(i).then(|| a.value(i).to_string())
}

fn read_events(dir: &Path) -> Vec<Row> {
    let mut rows = Vec::new();
    let mut parts: Vec<PathBuf> = std::fs::read_dir(dir.join("events"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    parts.sort();
    for part in parts {
        let name = part.file_name().unwrap().to_str().unwrap().to_string();
        let date =
            NaiveDate::parse_from_str(name.strip_prefix("date=").unwrap(), "%Y-%m-%d").unwrap();
        let files: Vec<_> = std::fs::read_dir(&part).unwrap().collect();
        assert_eq!(
            files.len(),
            1,
            "exactly one file (no temp files) in {part:?}"
        );
        let (schema, batches) = read_file(&part.join("part-0.parquet"));
        assert_eq!(schema, events_schema());
        for b in batches {
            assert!(b.num_rows() <= writer::ROW_GROUP_ROWS);
            let user = b.column(0).as_string::<i32>();
            let time = b.column(1).as_primitive::<TimestampMicrosecondType>();
            let ev = b.column(2).as_string::<i32>();
            let ch = b.column(3).as_string::<i32>();
            let cat = b.column(4).as_string::<i32>();
            let topic = b.column(5).as_string::<i32>();
            let feat = b.column(6).as_string::<i32>();
            let rev = b.column(7).as_primitive::<Float64Type>();
            for i in 0..b.num_rows() {
                rows.push(Row {
                    date,
                    user: user.value(i).to_string(),
                    micros: time.value(i),
                    name: ev.value(i).to_string(),
                    channel: ch.value(i).to_string(),
                    category: opt_str(cat, i),
                    topic: opt_str(topic, i),
                    feature: opt_str(feat, i),
                    revenue: rev.is_valid(i).then(|| rev.value(i)),
                });
            }
        }
    }
    rows
}

fn generate(cfg: &LakeGenConfig) -> (tempfile::TempDir, LakeGenReport) {
    let dir = tempfile::tempdir().unwrap();
    let report = generate_lake(dir.path(), cfg).unwrap();
    (dir, report)
}

fn cfg(users: usize, days: u32, seed: u64) -> LakeGenConfig {
    LakeGenConfig {
        users,
        days,
        seed,
        ..LakeGenConfig::default()
    }
}

#[test]
fn default_config() {
    let c = LakeGenConfig::default();
    assert_eq!(c.users, 2_000);
    assert_eq!(c.days, 120);
    assert_eq!(c.end, NaiveDate::from_ymd_opt(2026, 11, 22).unwrap());
    assert_eq!(c.seed, 42);
}

#[test]
fn deterministic_and_seed_sensitive() {
    let c = cfg(200, 30, 7);
    let (a, ra) = generate(&c);
    let (b, rb) = generate(&c);
    assert_eq!(ra, rb);
    let fa = all_files(a.path());
    let fb = all_files(b.path());
    assert_eq!(fa.keys().collect::<Vec<_>>(), fb.keys().collect::<Vec<_>>());
    assert!(fa == fb, "same config must give byte-identical files");
    assert_eq!(ra.files as usize, fa.len());
    assert_eq!(ra.bytes, fa.values().map(|v| v.len() as u64).sum::<u64>());

    // Regenerating in place is idempotent.
    let again = generate_lake(a.path(), &c).unwrap();
    assert_eq!(again, ra);
    assert!(all_files(a.path()) == fb);

    let (d, _) = generate(&cfg(200, 30, 8));
    let fd = all_files(d.path());
    let day = PathBuf::from(format!("events/date={}/part-0.parquet", c.end));
    assert_ne!(fa.get(&day), fd.get(&day));
    assert_ne!(
        fa.get(Path::new("profiles/part-0.parquet")),
        fd.get(Path::new("profiles/part-0.parquet"))
    );
}

#[test]
fn regeneration_replaces_old_output() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("keep.txt"), b"x").unwrap();
    generate_lake(dir.path(), &cfg(50, 40, 1)).unwrap();
    let report = generate_lake(dir.path(), &cfg(50, 5, 1)).unwrap();
    let parts = std::fs::read_dir(dir.path().join("events"))
        .unwrap()
        .count();
    assert_eq!(parts as u64, report.files - 1);
    assert!(parts <= 5);
    assert!(dir.path().join("keep.txt").exists());
}

#[test]
fn invalid_config() {
    let dir = tempfile::tempdir().unwrap();
    for c in [cfg(0, 10, 1), cfg(10, 0, 1)] {
        assert!(matches!(
            generate_lake(dir.path(), &c),
            Err(GenerateError::InvalidConfig(_))
        ));
    }
    let c = LakeGenConfig {
        end: NaiveDate::MIN,
        ..cfg(10, 10, 1)
    };
    assert!(matches!(
        generate_lake(dir.path(), &c),
        Err(GenerateError::InvalidConfig(_))
    ));
}

struct Lake {
    _dir: tempfile::TempDir,
    cfg: LakeGenConfig,
    report: LakeGenReport,
    rows: Vec<Row>,
    /// user -> signup date
    signup: HashMap<String, NaiveDate>,
}

fn persona_lake() -> Lake {
    let cfg = cfg(500, 120, 42);
    let (dir, report) = generate(&cfg);
    let rows = read_events(dir.path());
    let (schema, batches) = read_file(&dir.path().join("profiles/part-0.parquet"));
    assert_eq!(schema, profiles_schema());
    let mut signup = HashMap::new();
    let mut ids = Vec::new();
    for b in &batches {
        let user = b.column(0).as_string::<i32>();
        let country = b.column(1).as_string::<i32>();
        let plan = b.column(2).as_string::<i32>();
        let date = b.column(3).as_primitive::<Date32Type>();
        for i in 0..b.num_rows() {
            assert!(schema::COUNTRIES.contains(&country.value(i)));
            assert!(schema::PLANS.contains(&plan.value(i)));
            let d = NaiveDate::from_epoch_days(date.value(i)).unwrap();
            signup.insert(user.value(i).to_string(), d);
            ids.push(user.value(i).to_string());
        }
    }
    assert_eq!(ids.len(), 500);
    assert!(ids.windows(2).all(|w| w[0] < w[1]));
    assert_eq!(ids[0], "u000000");
    Lake {
        _dir: dir,
        cfg,
        report,
        rows,
        signup,
    }
}

#[test]
fn schema_partition_and_value_invariants() {
    let lake = persona_lake();
    let start = lake.cfg.end - Days::new(u64::from(lake.cfg.days - 1));
    assert_eq!(lake.report.events as usize, lake.rows.len());
    assert_eq!(lake.report.users, 500);
    assert!(lake.rows.len() > 10_000, "{} events", lake.rows.len());

    let mut first_event: HashMap<&str, NaiveDate> = HashMap::new();
    let mut prev: Option<&Row> = None;
    for r in &lake.rows {
        assert!(r.date >= start && r.date <= lake.cfg.end);
        let t = DateTime::from_timestamp_micros(r.micros).unwrap();
        assert_eq!(t.date_naive(), r.date, "event_time outside its partition");
        assert!(schema::EVENT_NAMES.contains(&r.name.as_str()));
        assert!(schema::CHANNELS.contains(&r.channel.as_str()));
        assert_eq!(r.revenue.is_some(), r.name == "purchase");
        if let Some(v) = r.revenue {
            assert!(v > 0.0);
            assert!(
                ((v * 100.0).round() - v * 100.0).abs() < 1e-6,
                "two decimals: {v}"
            );
        }
        let has_cat = matches!(
            r.name.as_str(),
            "product_view" | "video_view" | "add_to_cart" | "purchase"
        );
        assert_eq!(r.category.is_some(), has_cat);
        if let Some(c) = &r.category {
            assert!(schema::CATEGORIES.contains(&c.as_str()));
        }
        assert_eq!(r.topic.is_some(), r.name == "content_view");
        if let Some(c) = &r.topic {
            assert!(schema::TOPICS.contains(&c.as_str()));
        }
        assert_eq!(r.feature.is_some(), r.name == "feature_use");
        if let Some(c) = &r.feature {
            assert!(schema::FEATURES.contains(&c.as_str()));
        }
        // Sorted by (user_id, event_time) within a day file.
        if let Some(p) = prev
            && p.date == r.date
        {
            assert!((p.user.as_str(), p.micros) <= (r.user.as_str(), r.micros));
        }
        prev = Some(r);
        first_event.entry(r.user.as_str()).or_insert(r.date);
    }
    for (u, d) in &first_event {
        assert!(lake.signup[*u] <= *d, "signup after first event for {u}");
    }

    // Funnels: every purchase follows a product_view/add_to_cart of the same
    // category by the same user earlier that day; every active day has an app_open.
    let mut by_user_day: BTreeMap<(&str, NaiveDate), Vec<&Row>> = BTreeMap::new();
    for r in &lake.rows {
        by_user_day.entry((&r.user, r.date)).or_default().push(r);
    }
    let mut purchases = 0;
    for rows in by_user_day.values() {
        assert!(rows.iter().any(|r| r.name == "app_open"));
        assert_eq!(rows[0].name, "app_open");
        for (i, r) in rows.iter().enumerate() {
            if r.name == "purchase" {
                purchases += 1;
                assert!(rows[..i].iter().any(|p| {
                    (p.name == "product_view" || p.name == "add_to_cart")
                        && p.category == r.category
                        && p.micros <= r.micros
                }));
            }
        }
    }
    assert!(purchases > 50, "{purchases} purchases");
}

/// Per-user aggregates over a window of dates.
#[derive(Default)]
struct Agg {
    days: BTreeSet<NaiveDate>,
    counts: HashMap<String, usize>,
    features: BTreeSet<String>,
    channels: HashMap<String, usize>,
    total: usize,
}

fn aggregate(rows: &[Row], from: NaiveDate, to: NaiveDate) -> BTreeMap<&str, Agg> {
    let mut out: BTreeMap<&str, Agg> = BTreeMap::new();
    for r in rows.iter().filter(|r| r.date >= from && r.date <= to) {
        let a = out.entry(&r.user).or_default();
        a.days.insert(r.date);
        *a.counts.entry(r.name.clone()).or_default() += 1;
        if let Some(f) = &r.feature {
            a.features.insert(f.clone());
        }
        *a.channels.entry(r.channel.clone()).or_default() += 1;
        a.total += 1;
    }
    out
}

fn count(a: &Agg, name: &str) -> usize {
    a.counts.get(name).copied().unwrap_or(0)
}

/// Asserts that every planted segment is non-empty when evaluated "as of" `asof`.
fn check_segments(lake: &Lake, asof: NaiveDate) {
    let ago = |n: u64| asof - Days::new(n);
    let all = aggregate(&lake.rows, NaiveDate::MIN, asof);
    let last28 = aggregate(&lake.rows, ago(27), asof);
    let last30 = aggregate(&lake.rows, ago(29), asof);
    let last60 = aggregate(&lake.rows, ago(59), asof);
    let last14 = aggregate(&lake.rows, ago(13), asof);

    let daily_active = last28
        .values()
        .filter(|a| a.days.len() * 100 >= 28 * 80)
        .count();
    let dormant = all.keys().filter(|u| !last60.contains_key(*u)).count();
    let new_users = all
        .iter()
        .filter(|(_, a)| a.days.first().is_some_and(|d| *d >= ago(13)))
        .count();
    let window_shoppers = last30
        .values()
        .filter(|a| count(a, "product_view") >= 12 && count(a, "purchase") == 0)
        .count();
    let retriers = last30
        .values()
        .filter(|a| count(a, "error") > 0 && count(a, "retry") > 0)
        .filter(|a| count(a, "support_ticket") == 0)
        .count();
    let ticketers = last30
        .values()
        .filter(|a| count(a, "error") > 0 && count(a, "support_ticket") > 0)
        .count();
    let referrers = last30
        .values()
        .filter(|a| count(a, "referral_sent") > 0)
        .count();
    let power = last30.values().filter(|a| a.features.len() >= 6).count();
    let buyers = last30.values().filter(|a| count(a, "purchase") > 0).count();
    let abandoners = last30
        .values()
        .filter(|a| count(a, "add_to_cart") > 0 && count(a, "purchase") == 0)
        .count();
    let mobile_first = last30
        .values()
        .filter(|a| a.total >= 10)
        .filter(|a| a.channels.get("mobile").copied().unwrap_or(0) * 100 >= a.total * 80)
        .count();
    // Active in the last 14 days, but with a 30+ day gap before that.
    let returning = all
        .iter()
        .filter(|(u, a)| {
            last14.contains_key(*u) && {
                let before: Vec<_> = a.days.range(..ago(13)).collect();
                before.windows(2).any(|w| (*w[1] - *w[0]).num_days() > 30)
                    || before
                        .last()
                        .is_some_and(|d| (ago(13) - **d).num_days() > 30)
            }
        })
        .count();

    let found = [
        ("daily_active", daily_active),
        ("dormant", dormant),
        ("new", new_users),
        ("window_shoppers", window_shoppers),
        ("retriers_no_ticket", retriers),
        ("errors_and_tickets", ticketers),
        ("referrers", referrers),
        ("power_feature_users", power),
        ("buyers", buyers),
        ("abandoners", abandoners),
        ("mobile_first", mobile_first),
        ("returning", returning),
    ];
    for (name, n) in found {
        assert!(
            n >= 3,
            "segment {name} as of {asof} has only {n} users: {found:?}"
        );
    }
}

#[test]
fn personas_are_planted() {
    let lake = persona_lake();
    check_segments(&lake, lake.cfg.end);
    check_segments(&lake, lake.cfg.end - Days::new(7));
}
