//! Which lake files can hold each local day's events, as a fingerprint per day: when a
//! day's fingerprint differs from the one its summary was made from (a late file landed, a
//! file was rewritten or removed), the day is summarised again.
//!
//! - Hive-partitioned Parquet with a `date` partition: the objects of partitions `d − 1`,
//!   `d`, `d + 1` (partition dates need not be in the project timezone), by path, size and
//!   last-modified time — one listing of the lake per run.
//! - A Delta table: the files whose event-time statistics overlap the day (Delta files are
//!   immutable, so their paths suffice).
//!
//! Other lakes (Parquet without a date partition, events seen through an identity map) have
//! no per-day files: runs over them are full.

use std::collections::BTreeMap;

use chrono::{Duration, NaiveDate, TimeZone};
use futures::TryStreamExt;
use segmint_compiler::AsOf;
use segmint_spec::PartitionType;
use sha2::{Digest, Sha256};

use crate::error::{EngineError, Result};
use crate::session::{EventsSource, ProjectSession};
use crate::storage::redact;

/// The lake's days: a fingerprint for each day from `first` (or the lake's first day) to
/// the as-of, or why the lake has none.
pub struct LakeDays {
    pub fingerprints: BTreeMap<NaiveDate, String>,
}

fn digest(entries: &mut [String]) -> String {
    entries.sort();
    let mut hash = Sha256::new();
    for e in entries.iter() {
        hash.update(e.as_bytes());
        hash.update(b"\n");
    }
    hex::encode(&hash.finalize()[..8])
}

/// The date of a `name=YYYY-MM-DD` folder in `path`.
fn partition_date(path: &str, name: &str) -> Option<NaiveDate> {
    let prefix = format!("{name}=");
    path.split('/')
        .find_map(|part| part.strip_prefix(prefix.as_str()))
        .and_then(|v| NaiveDate::parse_from_str(v, "%Y-%m-%d").ok())
}

/// Fingerprints of the days `[first, last]` (`first = None`: from the lake's first day).
/// `Ok(Err(reason))`: the lake has no per-day files.
pub async fn lake_days(
    session: &ProjectSession,
    clock: &AsOf,
    first: Option<NaiveDate>,
) -> Result<std::result::Result<LakeDays, String>> {
    let last = clock.date;
    let mut fingerprints = BTreeMap::new();
    match &session.events {
        EventsSource::Listing(_) => {
            let project = &session.checked.project;
            let Some((name, _)) = project
                .events
                .partitioning
                .iter()
                .find(|(_, t)| *t == PartitionType::Date)
            else {
                return Ok(Err(
                    "the events are not partitioned by date (`partitioning: {date: date}`)".into(),
                ));
            };
            let located = &session.events_location;
            let objects: Vec<object_store::ObjectMeta> = located
                .store
                .list(Some(&located.prefix))
                .try_collect()
                .await
                .map_err(|e| EngineError::data(&located.display, redact(&e.to_string())))?;
            let mut by_date: BTreeMap<NaiveDate, Vec<String>> = BTreeMap::new();
            for object in &objects {
                let path = object.location.as_ref();
                if !path.ends_with(".parquet") {
                    continue;
                }
                let Some(date) = partition_date(path, name) else {
                    return Ok(Err(format!("`{path}` is outside the `{name}=` partitions")));
                };
                by_date.entry(date).or_default().push(format!(
                    "{path} {} {}",
                    object.size,
                    object.last_modified.timestamp_micros()
                ));
            }
            let start = match (first, by_date.keys().next()) {
                (Some(f), _) => f,
                (None, Some(earliest)) => *earliest - Duration::days(1),
                (None, None) => last,
            };
            for day in start.iter_days().take_while(|d| *d <= last) {
                let mut entries: Vec<String> = by_date
                    .range(day - Duration::days(1)..=day + Duration::days(1))
                    .flat_map(|(_, files)| files.iter().cloned())
                    .collect();
                fingerprints.insert(day, digest(&mut entries));
            }
        }
        EventsSource::Delta(delta) => {
            let start = match first {
                Some(f) => f,
                None => match delta.min_time() {
                    Some(us) => clock
                        .tz
                        .timestamp_micros(us)
                        .single()
                        .map_or(last, |t| t.date_naive()),
                    None => return Ok(Err("a Delta file of the events has no statistics".into())),
                },
            };
            for day in start.iter_days().take_while(|d| *d <= last) {
                let (Some(lo), Some(hi)) = (
                    clock.day_start_us(day),
                    day.succ_opt().and_then(|next| clock.day_start_us(next)),
                ) else {
                    continue;
                };
                let mut entries: Vec<String> = delta
                    .files_overlapping(lo, hi)
                    .into_iter()
                    .map(str::to_string)
                    .collect();
                fingerprints.insert(day, digest(&mut entries));
            }
        }
        EventsSource::People { .. } => {
            return Ok(Err(super::IDENTITY_IS_FULL.into()));
        }
    }
    Ok(Ok(LakeDays { fingerprints }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partition_dates_are_read_from_the_path() {
        assert_eq!(
            partition_date("lake/events/date=2026-01-05/part-0.parquet", "date"),
            NaiveDate::from_ymd_opt(2026, 1, 5)
        );
        assert_eq!(partition_date("lake/events/part-0.parquet", "date"), None);
    }
}
