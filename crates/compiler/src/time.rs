//! The run's clock: as-of and window bounds as UTC microseconds.
//!
//! `--as-of 2026-11-22` means the end of that day in the project timezone, exclusive.
//! `within: 30d` starts at local midnight 30 calendar days earlier; `12h` is exact.

use chrono::{Duration, NaiveDate, TimeZone};
use chrono_tz::Tz;
use segmint_spec::{Span, When, Window};

use crate::error::{CompileError, Result};

/// The as-of of a run in its timezone.
#[derive(Debug, Clone, Copy)]
pub struct AsOf {
    pub date: NaiveDate,
    pub tz: Tz,
    /// Exclusive end of `date` in `tz`, as UTC microseconds.
    pub end_us: i64,
}

impl AsOf {
    /// The as-of for a date in a timezone (by IANA name).
    pub fn new(date: NaiveDate, timezone: &str) -> Result<AsOf> {
        let tz: Tz = timezone
            .parse()
            .map_err(|_| CompileError::AsOf(date.to_string(), timezone.to_string()))?;
        let next = date
            .succ_opt()
            .ok_or_else(|| CompileError::AsOf(date.to_string(), timezone.to_string()))?;
        let end_us = local_midnight_us(tz, next)
            .ok_or_else(|| CompileError::AsOf(date.to_string(), timezone.to_string()))?;
        Ok(AsOf { date, tz, end_us })
    }

    /// Start of a local calendar day as UTC microseconds.
    pub fn day_start_us(&self, day: NaiveDate) -> Option<i64> {
        local_midnight_us(self.tz, day)
    }

    /// `as_of − span` as UTC microseconds.
    pub fn minus(&self, span: Span) -> Option<i64> {
        if let Some(days) = span.calendar_days() {
            let first = self.date.succ_opt()? - Duration::days(days);
            self.day_start_us(first)
        } else {
            Some(self.end_us - span.exact_seconds()? * 1_000_000)
        }
    }

    /// The half-open `[lo, hi)` microsecond range of a window (`lo = None`: unbounded).
    pub fn window(&self, window: Window) -> Option<(Option<i64>, i64)> {
        match window {
            Window::AllTime => Some((None, self.end_us)),
            Window::Last(span) => Some((Some(self.minus(span)?), self.end_us)),
            Window::Between(from, to) => Some((
                Some(self.day_start_us(from)?),
                self.day_start_us(to)?.min(self.end_us),
            )),
        }
    }

    /// The `[lo, hi)` range in which a first/last occurrence must lie.
    pub fn when(&self, when: When) -> Option<(Option<i64>, i64)> {
        match when {
            When::Within(span) => Some((Some(self.minus(span)?), self.end_us)),
            When::Before(span) => Some((None, self.minus(span)?)),
            When::Ever => Some((None, self.end_us)),
            When::Between(from, to) => Some((
                Some(self.day_start_us(from)?),
                self.day_start_us(to)?.min(self.end_us),
            )),
        }
    }
}

fn local_midnight_us(tz: Tz, day: NaiveDate) -> Option<i64> {
    let naive = day.and_hms_opt(0, 0, 0)?;
    // A midnight skipped by DST resolves to the first valid instant after it.
    let local = tz.from_local_datetime(&naive).earliest().or_else(|| {
        tz.from_local_datetime(&(naive + Duration::hours(1)))
            .earliest()
    })?;
    Some(local.timestamp_micros())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn as_of_is_end_of_local_day() {
        let d = NaiveDate::from_ymd_opt(2026, 11, 22).unwrap_or_default();
        let utc = AsOf::new(d, "UTC").map(|a| a.end_us).unwrap_or_default();
        assert_eq!(utc, 1_795_392_000_000_000); // 2026-11-23T00:00:00Z
        let berlin = AsOf::new(d, "Europe/Berlin")
            .map(|a| a.end_us)
            .unwrap_or_default();
        assert_eq!(utc - berlin, 3_600_000_000);
    }
}
