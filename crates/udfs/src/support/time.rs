//! Time units: timestamps of any Arrow unit, dates and plain integers.
//!
//! Each ordered aggregate converts its time column to `i64` in the column's own unit
//! ("native" units) and converts its constant durations into the same unit once, at plan
//! time, so the per-row work is integer arithmetic.
//!
//! | time column            | native unit        | integer duration means | interval means |
//! |------------------------|--------------------|------------------------|----------------|
//! | `TIMESTAMP(s/ms/us/ns)`| that unit          | seconds                | its length     |
//! | `DATE`                 | days               | days                   | whole days     |
//! | integers               | the integer itself | the same unit          | seconds        |
//!
//! Integer time columns follow ClickHouse: the window is in the column's own unit.

use datafusion::arrow::array::{Array, ArrayRef, AsArray, BooleanArray, Int64Array};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Int64Type, TimeUnit};
use datafusion::common::{Result, ScalarValue, internal_err, plan_err};

const NANOS_PER_SECOND: i64 = 1_000_000_000;
const SECONDS_PER_DAY: i64 = 86_400;

/// How a time column's raw values relate to seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum TimeScale {
    /// An Arrow timestamp; the value counts this unit since the epoch.
    Timestamp(TimeUnit),
    /// An Arrow `Date32`: days since the epoch.
    Date,
    /// A plain integer; its unit is the caller's (seconds unless they say otherwise).
    Integer,
}

impl TimeScale {
    /// The scale of a time column, or a plan error naming the function and argument.
    pub(crate) fn of(function: &str, argument: usize, data_type: &DataType) -> Result<Self> {
        match data_type {
            DataType::Timestamp(unit, _) => Ok(Self::Timestamp(*unit)),
            DataType::Date32 | DataType::Date64 => Ok(Self::Date),
            t if t.is_integer() => Ok(Self::Integer),
            other => plan_err!(
                "{function}: argument {argument} (the event time) must be a TIMESTAMP, DATE or \
                 integer column, got {other}"
            ),
        }
    }

    /// Whether `data_type` can be a time column.
    pub(crate) fn accepts(data_type: &DataType) -> bool {
        matches!(
            data_type,
            DataType::Timestamp(_, _) | DataType::Date32 | DataType::Date64 | DataType::Null
        ) || data_type.is_integer()
    }

    fn units_per_second(self) -> Option<i64> {
        match self {
            Self::Timestamp(TimeUnit::Second) => Some(1),
            Self::Timestamp(TimeUnit::Millisecond) => Some(1_000),
            Self::Timestamp(TimeUnit::Microsecond) => Some(1_000_000),
            Self::Timestamp(TimeUnit::Nanosecond) => Some(NANOS_PER_SECOND),
            Self::Date | Self::Integer => None,
        }
    }

    /// Native units in one day (integers are taken as seconds).
    pub(crate) fn units_per_day(self) -> i64 {
        match self {
            Self::Date => 1,
            Self::Integer => SECONDS_PER_DAY,
            Self::Timestamp(_) => self.units_per_second().unwrap_or(1) * SECONDS_PER_DAY,
        }
    }

    /// A native value (or difference) in seconds (integers are taken as seconds).
    pub(crate) fn to_seconds(self, native: i64) -> f64 {
        match self {
            Self::Date => native as f64 * SECONDS_PER_DAY as f64,
            Self::Integer => native as f64,
            Self::Timestamp(_) => native as f64 / self.units_per_second().unwrap_or(1) as f64,
        }
    }

    /// The day number (days since the epoch, floored) of a native value.
    pub(crate) fn day_of(self, native: i64) -> i64 {
        native.div_euclid(self.units_per_day())
    }

    /// A constant duration (an integer, or an interval) in native units.
    pub(crate) fn duration(self, function: &str, what: &str, value: &ScalarValue) -> Result<i64> {
        let native = if let Some(n) = integer_of(value) {
            // A window too long for the unit is as good as unbounded.
            match self.units_per_second() {
                Some(per_second) => Some(n.saturating_mul(per_second)),
                None => Some(n),
            }
        } else if let Some(nanos) = interval_nanos(function, what, value)? {
            Some(match self {
                Self::Date => nanos / (NANOS_PER_SECOND * SECONDS_PER_DAY),
                Self::Integer => nanos / NANOS_PER_SECOND,
                Self::Timestamp(_) => {
                    nanos / (NANOS_PER_SECOND / self.units_per_second().unwrap_or(1))
                }
            })
        } else {
            return plan_err!(
                "{function}: {what} must be a non-negative integer or an INTERVAL constant, got \
                 {value} ({})",
                value.data_type()
            );
        };
        match native {
            Some(n) if n >= 0 => Ok(n),
            Some(_) => plan_err!("{function}: {what} must not be negative, got {value}"),
            None => plan_err!("{function}: {what} {value} is too large"),
        }
    }

    /// A constant point in time (a timestamp, a date, or an integer in native units).
    pub(crate) fn instant(self, function: &str, what: &str, value: &ScalarValue) -> Result<i64> {
        let nanos = match value {
            ScalarValue::TimestampSecond(Some(v), _) => v.checked_mul(NANOS_PER_SECOND),
            ScalarValue::TimestampMillisecond(Some(v), _) => v.checked_mul(1_000_000),
            ScalarValue::TimestampMicrosecond(Some(v), _) => v.checked_mul(1_000),
            ScalarValue::TimestampNanosecond(Some(v), _) => Some(*v),
            ScalarValue::Date32(Some(d)) => {
                (*d as i64).checked_mul(SECONDS_PER_DAY * NANOS_PER_SECOND)
            }
            other => match integer_of(other) {
                Some(n) => return Ok(n),
                None => {
                    return plan_err!(
                        "{function}: {what} must be a TIMESTAMP, DATE or integer constant, got \
                         {other} ({})",
                        other.data_type()
                    );
                }
            },
        };
        let Some(nanos) = nanos else {
            return plan_err!("{function}: {what} {value} is out of range");
        };
        Ok(match self {
            Self::Date => nanos.div_euclid(NANOS_PER_SECOND * SECONDS_PER_DAY),
            Self::Integer => nanos.div_euclid(NANOS_PER_SECOND),
            Self::Timestamp(_) => {
                nanos.div_euclid(NANOS_PER_SECOND / self.units_per_second().unwrap_or(1))
            }
        })
    }
}

fn integer_of(value: &ScalarValue) -> Option<i64> {
    match value {
        ScalarValue::Int8(Some(v)) => Some(*v as i64),
        ScalarValue::Int16(Some(v)) => Some(*v as i64),
        ScalarValue::Int32(Some(v)) => Some(*v as i64),
        ScalarValue::Int64(Some(v)) => Some(*v),
        ScalarValue::UInt8(Some(v)) => Some(*v as i64),
        ScalarValue::UInt16(Some(v)) => Some(*v as i64),
        ScalarValue::UInt32(Some(v)) => Some(*v as i64),
        ScalarValue::UInt64(Some(v)) => i64::try_from(*v).ok().or(Some(i64::MAX)),
        _ => None,
    }
}

/// An interval constant's length in nanoseconds; months are refused (they vary in length).
fn interval_nanos(function: &str, what: &str, value: &ScalarValue) -> Result<Option<i64>> {
    let day = SECONDS_PER_DAY * NANOS_PER_SECOND;
    match value {
        ScalarValue::IntervalMonthDayNano(Some(v)) => {
            if v.months != 0 {
                return plan_err!(
                    "{function}: {what} {value} counts months, whose length varies; use days"
                );
            }
            Ok(Some(
                (v.days as i64)
                    .saturating_mul(day)
                    .saturating_add(v.nanoseconds),
            ))
        }
        ScalarValue::IntervalDayTime(Some(v)) => {
            Ok(Some((v.days as i64).saturating_mul(day).saturating_add(
                (v.milliseconds as i64).saturating_mul(1_000_000),
            )))
        }
        ScalarValue::IntervalYearMonth(Some(_)) => {
            plan_err!("{function}: {what} {value} counts months, whose length varies; use days")
        }
        ScalarValue::DurationSecond(Some(v)) => Ok(Some(v.saturating_mul(NANOS_PER_SECOND))),
        ScalarValue::DurationMillisecond(Some(v)) => Ok(Some(v.saturating_mul(1_000_000))),
        ScalarValue::DurationMicrosecond(Some(v)) => Ok(Some(v.saturating_mul(1_000))),
        ScalarValue::DurationNanosecond(Some(v)) => Ok(Some(*v)),
        _ => Ok(None),
    }
}

/// A time column as `i64` values in its native unit (NULL where the input is NULL or does
/// not fit, e.g. an unsigned value above `i64::MAX`).
pub(crate) fn native_times(array: &ArrayRef) -> Result<Int64Array> {
    use datafusion::arrow::datatypes::{
        TimestampMicrosecondType, TimestampMillisecondType, TimestampNanosecondType,
        TimestampSecondType,
    };
    // Timestamps are i64 already: the same buffer read as Int64, no copy.
    let as_i64 = match array.data_type() {
        DataType::Int64 => return Ok(array.as_primitive::<Int64Type>().clone()),
        DataType::Timestamp(TimeUnit::Microsecond, _) => {
            return Ok(array
                .as_primitive::<TimestampMicrosecondType>()
                .reinterpret_cast::<Int64Type>());
        }
        DataType::Timestamp(TimeUnit::Millisecond, _) => {
            return Ok(array
                .as_primitive::<TimestampMillisecondType>()
                .reinterpret_cast::<Int64Type>());
        }
        DataType::Timestamp(TimeUnit::Nanosecond, _) => {
            return Ok(array
                .as_primitive::<TimestampNanosecondType>()
                .reinterpret_cast::<Int64Type>());
        }
        DataType::Timestamp(TimeUnit::Second, _) => {
            return Ok(array
                .as_primitive::<TimestampSecondType>()
                .reinterpret_cast::<Int64Type>());
        }
        DataType::Date64 => cast(&cast(array, &DataType::Date32)?, &DataType::Int64)?,
        _ => cast(array, &DataType::Int64)?,
    };
    Ok(as_i64.as_primitive::<Int64Type>().clone())
}

/// Whether a row passes an aggregate's `FILTER (WHERE …)` (no filter: every row).
pub(crate) fn passes(filter: Option<&BooleanArray>, row: usize) -> bool {
    filter.is_none_or(|f| f.is_valid(row) && f.value(row))
}

/// Call `f(row)` for each row an aggregate's `FILTER (WHERE …)` keeps, in order: every row
/// without a filter, else the filter's set bits (NULL counts as not kept), so a selective
/// filter costs little and nothing is collected.
pub(crate) fn for_each_kept_row(filter: Option<&BooleanArray>, len: usize, f: impl FnMut(usize)) {
    match filter {
        None => (0..len).for_each(f),
        Some(filter) => {
            let bits = match filter.nulls() {
                Some(valid) => filter.values() & valid.inner(),
                None => filter.values().clone(),
            };
            bits.set_indices().for_each(f);
        }
    }
}

/// Call `f(row, native time)` for each row the filter keeps that has a time, from the time
/// column `values[0]`.
pub(crate) fn for_each_kept_time(
    function: &str,
    values: &[ArrayRef],
    filter: Option<&BooleanArray>,
    mut f: impl FnMut(usize, i64),
) -> Result<()> {
    let Some(times) = values.first() else {
        return internal_err!("{function}: missing the time column");
    };
    let times = native_times(times)?;
    for_each_kept_row(filter, times.len(), |row| {
        if times.is_valid(row) {
            f(row, times.value(row));
        }
    });
    Ok(())
}

/// The native time of each row that passes the filter and has a time (`None` otherwise),
/// from the time column `values[0]`.
pub(crate) fn kept_times(
    function: &str,
    values: &[ArrayRef],
    filter: Option<&BooleanArray>,
) -> Result<Vec<Option<i64>>> {
    let Some(times) = values.first() else {
        return internal_err!("{function}: missing the time column");
    };
    let times = native_times(times)?;
    Ok((0..times.len())
        .map(|row| (passes(filter, row) && times.is_valid(row)).then(|| times.value(row)))
        .collect())
}

/// Check `(ts, gap)` argument types: a time column and a constant duration.
pub(crate) fn time_and_gap(function: &str, arg_types: &[DataType]) -> Result<Vec<DataType>> {
    let [time, gap] = arg_types else {
        return plan_err!(
            "{function} takes (ts, gap), got {} arguments",
            arg_types.len()
        );
    };
    TimeScale::of(function, 1, time)?;
    if !is_duration_type(gap) {
        return plan_err!(
            "{function}: argument 2 (the gap) must be an integer or an INTERVAL, got {gap}"
        );
    }
    Ok(arg_types.to_vec())
}

/// Whether `data_type` is a constant-duration type (integer or interval).
pub(crate) fn is_duration_type(data_type: &DataType) -> bool {
    data_type.is_integer()
        || matches!(
            data_type,
            DataType::Interval(_) | DataType::Duration(_) | DataType::Null
        )
}
