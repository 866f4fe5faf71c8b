//! Durations (`30d`, `12h`, `2w`, `90m`) and dates (`2026-01-01`) as written in specs.
//!
//! Days and weeks are calendar days in the project timezone, so `within: 30d` starts at local
//! midnight 30 days before the as-of day ends; hours and minutes are exact durations.

use std::fmt;

use chrono::NaiveDate;
use serde::Serialize;

/// The unit of a span.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum Unit {
    Minutes,
    Hours,
    Days,
    Weeks,
}

/// A positive length of time such as `30d`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub struct Span {
    pub amount: u32,
    pub unit: Unit,
}

impl Span {
    /// Whole calendar days, for `d` and `w` spans.
    pub fn calendar_days(self) -> Option<i64> {
        match self.unit {
            Unit::Days => Some(i64::from(self.amount)),
            Unit::Weeks => Some(i64::from(self.amount) * 7),
            _ => None,
        }
    }

    /// Exact seconds, for `m` and `h` spans.
    pub fn exact_seconds(self) -> Option<i64> {
        match self.unit {
            Unit::Minutes => Some(i64::from(self.amount) * 60),
            Unit::Hours => Some(i64::from(self.amount) * 3600),
            _ => None,
        }
    }

    /// An upper bound of the span in seconds (calendar days may be 25h with DST).
    /// The span covering `self` then `other`: calendar days when both are, else hours
    /// (days counted as 24 hours).
    pub fn plus(self, other: Span) -> Span {
        match (self.calendar_days(), other.calendar_days()) {
            (Some(a), Some(b)) => Span {
                amount: u32::try_from(a + b).unwrap_or(u32::MAX),
                unit: Unit::Days,
            },
            _ => {
                let minutes = (self.fixed_seconds() + other.fixed_seconds() + 59) / 60;
                Span {
                    amount: u32::try_from(minutes).unwrap_or(u32::MAX),
                    unit: Unit::Minutes,
                }
            }
        }
    }

    /// The span's length counting a day as exactly 24 hours.
    pub fn fixed_seconds(self) -> i64 {
        self.exact_seconds()
            .unwrap_or_else(|| self.calendar_days().unwrap_or(0) * 86_400)
    }

    pub fn max_seconds(self) -> i64 {
        self.exact_seconds()
            .unwrap_or_else(|| self.calendar_days().unwrap_or(0) * 90_000)
    }
}

impl fmt::Display for Span {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let unit = match self.unit {
            Unit::Minutes => "m",
            Unit::Hours => "h",
            Unit::Days => "d",
            Unit::Weeks => "w",
        };
        write!(f, "{}{}", self.amount, unit)
    }
}

/// Why a duration could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SpanError {
    Empty,
    NoNumber,
    BadUnit(String),
    Zero,
    TooLarge,
}

impl fmt::Display for SpanError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SpanError::Empty => f.write_str("the duration is empty"),
            SpanError::NoNumber => f.write_str("the duration does not start with a number"),
            SpanError::BadUnit(u) => write!(f, "unknown duration unit `{u}`"),
            SpanError::Zero => f.write_str("the duration must be greater than zero"),
            SpanError::TooLarge => f.write_str("the duration is too large (at most 100 years)"),
        }
    }
}

/// Parse `30d`, `12h`, `2w`, `90m`.
pub fn parse_span(text: &str) -> Result<Span, SpanError> {
    let text = text.trim();
    if text.is_empty() {
        return Err(SpanError::Empty);
    }
    let digits_end = text
        .char_indices()
        .find(|(_, c)| !c.is_ascii_digit())
        .map_or(text.len(), |(i, _)| i);
    if digits_end == 0 {
        return Err(SpanError::NoNumber);
    }
    let amount: u32 = text[..digits_end]
        .parse()
        .map_err(|_| SpanError::TooLarge)?;
    let unit = match &text[digits_end..] {
        "m" => Unit::Minutes,
        "h" => Unit::Hours,
        "d" => Unit::Days,
        "w" => Unit::Weeks,
        other => return Err(SpanError::BadUnit(other.to_string())),
    };
    if amount == 0 {
        return Err(SpanError::Zero);
    }
    let span = Span { amount, unit };
    if span.max_seconds() > 100 * 366 * 86_400 {
        return Err(SpanError::TooLarge);
    }
    Ok(span)
}

/// Parse an ISO date `YYYY-MM-DD`.
pub fn parse_date(text: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d").ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spans_parse_and_reject() {
        assert_eq!(
            parse_span("30d"),
            Ok(Span {
                amount: 30,
                unit: Unit::Days
            })
        );
        assert_eq!(
            parse_span("12h").map(|s| s.exact_seconds()),
            Ok(Some(43_200))
        );
        assert_eq!(parse_span("2w").map(|s| s.calendar_days()), Ok(Some(14)));
        assert_eq!(parse_span("0d"), Err(SpanError::Zero));
        assert_eq!(parse_span("d"), Err(SpanError::NoNumber));
        assert_eq!(
            parse_span("30 days"),
            Err(SpanError::BadUnit(" days".into()))
        );
        assert_eq!(parse_span("-3d"), Err(SpanError::NoNumber));
        assert_eq!(parse_span("99999999999d"), Err(SpanError::TooLarge));
        assert!(parse_date("2026-02-30").is_none());
        assert!(parse_date("2026-02-28").is_some());
    }
}
