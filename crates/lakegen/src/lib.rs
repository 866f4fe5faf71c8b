//! # segmint-lakegen — a deterministic synthetic event lake and the demo project
//!
//! The lake's schemas ([`events_schema`], [`profiles_schema`]) and the demo project
//! ([`demo`]: the shipped segment library and a project file reading the generated lake)
//! live here, so the engine needs no random numbers and every user of the demo — the
//! CLI's `demo`, the tests, the benchmarks — shares one copy.
//!
//! [`generate_lake`] writes a hive-partitioned Parquet lake:
//!
//! ```text
//! dir/events/date=YYYY-MM-DD/part-0.parquet   (one per UTC day with events)
//! dir/profiles/part-0.parquet                 (one row per user)
//! ```
//!
//! Users are assigned an activity persona (daily, weekly, monthly, fading,
//! dormant, new, returning) and independent behavioural traits (preferred
//! channel, shopping, content, features, friction, advocacy), so realistic
//! behavioural segments are non-empty both at `end` and at `end - 7 days`.
//! The same [`LakeGenConfig`] always yields byte-identical files: all
//! randomness comes from `ChaCha8Rng` streams derived from the seed per user
//! and per (user, day) with splitmix64. Days are generated and written
//! independently (in parallel, bounded by the number of worker threads), so
//! memory does not grow with the number of days.

pub mod campaign;
mod day;
pub mod demo;
pub mod identities;
mod personas;
mod rng;
mod schema;
mod writer;

#[cfg(test)]
mod tests;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use arrow::array::{ArrayRef, Date32Builder, RecordBatch, StringBuilder};
use chrono::{Days, NaiveDate};

pub use schema::{events_schema, events_table_schema, profiles_schema};

use day::{DayBuilder, DayInfo};
use personas::UserTraits;
use schema::{COUNTRIES, PLANS};

/// Configuration of a generated lake.
#[derive(Clone, Debug, PartialEq)]
pub struct LakeGenConfig {
    /// Number of users (`u000000` ..).
    pub users: usize,
    /// Number of UTC days, ending at `end` inclusive.
    pub days: u32,
    /// Last day of the range (inclusive).
    pub end: NaiveDate,
    /// Seed of all randomness.
    pub seed: u64,
    /// A campaign with a known effect, planted on top of the personas (`None`: none).
    pub campaign: Option<campaign::Campaign>,
    /// Plant devices, logged-out sessions, shared household devices and junk placeholder
    /// ids ([`identities`]): events gain `anonymous_id` and some lose `user_id`.
    pub identities: bool,
}

impl Default for LakeGenConfig {
    fn default() -> Self {
        LakeGenConfig {
            users: 2_000,
            days: 120,
            end: NaiveDate::from_ymd_opt(2026, 11, 22).unwrap_or(NaiveDate::MIN),
            seed: 42,
            campaign: None,
            identities: false,
        }
    }
}

/// What [`generate_lake`] wrote.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LakeGenReport {
    /// Event rows written (all day files).
    pub events: u64,
    /// Users (= profile rows written).
    pub users: u64,
    /// Parquet files written (day files + the profiles file).
    pub files: u64,
    /// Total size of those files in bytes.
    pub bytes: u64,
}

/// Errors of [`generate_lake`].
#[derive(Debug, thiserror::Error)]
pub enum GenerateError {
    #[error("I/O error at {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("Parquet error writing {path}: {source}")]
    Parquet {
        path: PathBuf,
        #[source]
        source: parquet::errors::ParquetError,
    },
    #[error("Arrow error: {0}")]
    Arrow(#[from] arrow::error::ArrowError),
    #[error("invalid lake generator config: {0}")]
    InvalidConfig(String),
}

/// Maximum number of worker threads (each holds one day in memory).
const MAX_THREADS: usize = 8;

/// Each user's planted activity persona (`daily`, `weekly`, `monthly`, `fading`, `dormant`,
/// `new`, `returning`, `warming`), by user id: the ground truth archetypes are checked
/// against.
pub fn activity_personas(cfg: &LakeGenConfig) -> Vec<(String, &'static str)> {
    (0..cfg.users as u64)
        .map(|u| {
            let traits = UserTraits::draw(&mut rng::user_rng(cfg.seed, u));
            (format!("u{u:06}"), traits.persona.name())
        })
        .collect()
}

/// Generates the lake under `dir` (created if missing). Existing
/// `dir/events` and `dir/profiles` are removed first; other entries of
/// `dir` are left alone.
pub fn generate_lake(dir: &Path, cfg: &LakeGenConfig) -> Result<LakeGenReport, GenerateError> {
    if cfg.users == 0 {
        return Err(GenerateError::InvalidConfig("users must be > 0".into()));
    }
    if cfg.users > u32::MAX as usize {
        return Err(GenerateError::InvalidConfig(format!(
            "users must be <= {}",
            u32::MAX
        )));
    }
    if cfg.days == 0 {
        return Err(GenerateError::InvalidConfig("days must be > 0".into()));
    }
    let start = cfg
        .end
        .checked_sub_days(Days::new(u64::from(cfg.days - 1)))
        .ok_or_else(|| {
            GenerateError::InvalidConfig(format!(
                "{} days ending at {} start before the earliest supported date",
                cfg.days, cfg.end
            ))
        })?;

    let events_dir = dir.join("events");
    let profiles_dir = dir.join("profiles");
    writer::create_dir(dir)?;
    writer::remove_dir_if_exists(&events_dir)?;
    writer::remove_dir_if_exists(&profiles_dir)?;
    writer::create_dir(&events_dir)?;
    writer::create_dir(&profiles_dir)?;

    let traits: Vec<UserTraits> = (0..cfg.users as u64)
        .map(|u| UserTraits::draw(&mut rng::user_rng(cfg.seed, u)))
        .collect();
    let ids: Vec<String> = (0..cfg.users).map(|u| format!("u{u:06}")).collect();
    // Row order is by user_id string (differs from index order past 999_999).
    let mut order: Vec<u32> = (0..cfg.users as u32).collect();
    if cfg.users > 1_000_000 {
        order.sort_unstable_by(|a, b| ids[*a as usize].cmp(&ids[*b as usize]));
    }

    let mut report = LakeGenReport {
        users: cfg.users as u64,
        ..LakeGenReport::default()
    };
    let profiles = profiles_batch(&traits, &ids, &order, start, cfg.end)?;
    report.bytes += writer::write_parquet_atomic(&profiles_dir, "part-0.parquet", &profiles, 1)?;
    report.files += 1;
    drop(profiles);

    let plans = cfg
        .campaign
        .as_ref()
        .map(|c| campaign::plan(c, cfg.seed, &ids));
    let ctx = DayCtx {
        cfg,
        start,
        traits: &traits,
        ids: &ids,
        order: &order,
        events_dir: &events_dir,
        plans: plans.as_deref(),
    };
    let threads = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
        .clamp(1, MAX_THREADS)
        .min(cfg.days as usize);
    let next = AtomicUsize::new(0);
    let failed = AtomicBool::new(false);
    let first_error: Mutex<Option<GenerateError>> = Mutex::new(None);
    let totals: Mutex<(u64, u64, u64)> = Mutex::new((0, 0, 0));
    std::thread::scope(|s| {
        for _ in 0..threads {
            s.spawn(|| {
                let mut builder = DayBuilder::new();
                let mut local = (0u64, 0u64, 0u64);
                while !failed.load(Ordering::Relaxed) {
                    let idx = next.fetch_add(1, Ordering::Relaxed);
                    if idx >= cfg.days as usize {
                        break;
                    }
                    match ctx.write_day(&mut builder, idx as u32) {
                        Ok(Some((events, bytes))) => {
                            local.0 += events;
                            local.1 += 1;
                            local.2 += bytes;
                        }
                        Ok(None) => {}
                        Err(e) => {
                            failed.store(true, Ordering::Relaxed);
                            if let Ok(mut slot) = first_error.lock() {
                                slot.get_or_insert(e);
                            }
                            break;
                        }
                    }
                }
                if let Ok(mut t) = totals.lock() {
                    t.0 += local.0;
                    t.1 += local.1;
                    t.2 += local.2;
                }
            });
        }
    });
    if let Some(e) = first_error.into_inner().ok().flatten() {
        return Err(e);
    }
    let (events, files, bytes) = totals.into_inner().unwrap_or_else(|p| p.into_inner());
    report.events += events;
    report.files += files;
    report.bytes += bytes;
    Ok(report)
}

/// Shared, read-only inputs for generating days.
struct DayCtx<'a> {
    cfg: &'a LakeGenConfig,
    start: NaiveDate,
    traits: &'a [UserTraits],
    ids: &'a [String],
    order: &'a [u32],
    events_dir: &'a Path,
    /// Each user's part in the planted campaign, if there is one.
    plans: Option<&'a [campaign::UserPlan]>,
}

impl DayCtx<'_> {
    /// Generates and writes day `idx` (0 = `start`). Returns `None` when the
    /// day has no events (no file is written), else (events, bytes).
    fn write_day(
        &self,
        builder: &mut DayBuilder,
        idx: u32,
    ) -> Result<Option<(u64, u64)>, GenerateError> {
        let date = self
            .start
            .checked_add_days(Days::new(u64::from(idx)))
            .ok_or_else(|| GenerateError::InvalidConfig(format!("day {idx} out of range")))?;
        let ago = self.cfg.days - 1 - idx;
        let day_start_micros = date
            .and_time(chrono::NaiveTime::MIN)
            .and_utc()
            .timestamp_micros();
        let day = DayInfo {
            seed: self.cfg.seed,
            date,
            ago,
            day_start_micros,
        };
        for &u in self.order {
            let u = u as usize;
            let planted = match (self.plans, &self.cfg.campaign) {
                (Some(plans), Some(c)) => campaign::Planted::on(&plans[u], c, date),
                _ => campaign::Planted::default(),
            };
            builder.add_user_day(&day, u as u64, &self.ids[u], &self.traits[u], planted);
        }
        if builder.rows() == 0 {
            return Ok(None);
        }
        let mut batch = builder.finish()?;
        if self.cfg.identities {
            batch = identities::plant(&batch, self.cfg.seed, day_start_micros / 86_400_000_000)?;
        }
        let part_dir = self
            .events_dir
            .join(format!("date={}", date.format("%Y-%m-%d")));
        writer::create_dir(&part_dir)?;
        let bytes = writer::write_parquet_atomic(&part_dir, "part-0.parquet", &batch, 2)?;
        Ok(Some((batch.num_rows() as u64, bytes)))
    }
}

fn profiles_batch(
    traits: &[UserTraits],
    ids: &[String],
    order: &[u32],
    start: NaiveDate,
    end: NaiveDate,
) -> Result<RecordBatch, GenerateError> {
    let n = order.len();
    let mut user_id = StringBuilder::with_capacity(n, n * 7);
    let mut country = StringBuilder::with_capacity(n, n * 2);
    let mut plan = StringBuilder::with_capacity(n, n * 4);
    let mut signup = Date32Builder::with_capacity(n);
    for &u in order {
        let t = &traits[u as usize];
        user_id.append_value(&ids[u as usize]);
        country.append_value(COUNTRIES[usize::from(t.country)]);
        plan.append_value(PLANS[usize::from(t.plan)]);
        signup.append_value(t.signup_date(start, end).to_epoch_days());
    }
    let columns: Vec<ArrayRef> = vec![
        Arc::new(user_id.finish()),
        Arc::new(country.finish()),
        Arc::new(plan.finish()),
        Arc::new(signup.finish()),
    ];
    Ok(RecordBatch::try_new(profiles_schema(), columns)?)
}
