//! `day_of(ts)`: the calendar day of a wall-clock timestamp, as a `DATE`.
//!
//! # Arguments
//! `ts`: a timestamp of any unit. Its value is read as a wall-clock time (a timestamp
//! without a time zone, e.g. from `to_local_time`); a timestamp with a time zone is read as
//! its UTC wall clock.
//!
//! # Result
//! `DATE`: the day the value falls on — the same day as `CAST(ts AS DATE)` for a timestamp
//! without a time zone, by a floor division of the value instead of a calendar conversion
//! per row (Arrow's cast builds a date-time for each value: on an event scan that grouped
//! events by day, a few percent of the run). Times before 1970 fall on earlier days. NULL
//! for NULL.
//!
//! # Example
//! ```sql
//! SELECT user_id, count(DISTINCT day_of(to_local_time(event_time))) FROM events GROUP BY 1;
//! ```

use std::sync::Arc;

use datafusion::arrow::array::{ArrayRef, AsArray, Date32Array};
use datafusion::arrow::datatypes::{
    ArrowTimestampType, DataType, TimeUnit, TimestampMicrosecondType, TimestampMillisecondType,
    TimestampNanosecondType, TimestampSecondType,
};
use datafusion::common::{Result, exec_err, plan_err};
use datafusion::logical_expr::{
    ColumnarValue, ScalarFunctionArgs, ScalarUDFImpl, Signature, Volatility,
};

use crate::support::columnar::per_value;

const NAME: &str = "day_of";

/// The `day_of` scalar function.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct DayOf {
    signature: Signature,
}

impl Default for DayOf {
    fn default() -> Self {
        Self {
            signature: Signature::user_defined(Volatility::Immutable),
        }
    }
}

/// Units of `unit` in a day.
fn per_day(unit: TimeUnit) -> i64 {
    86_400
        * match unit {
            TimeUnit::Second => 1,
            TimeUnit::Millisecond => 1_000,
            TimeUnit::Microsecond => 1_000_000,
            TimeUnit::Nanosecond => 1_000_000_000,
        }
}

/// The day (from 1970-01-01) of a value of `per_day` units a day.
pub fn day_number(value: i64, per_day: i64) -> i32 {
    // |i64| / 86 400 (seconds a day) fits an i32 day number for every unit but seconds,
    // whose extremes saturate.
    value
        .div_euclid(per_day)
        .clamp(i64::from(i32::MIN), i64::from(i32::MAX)) as i32
}

/// The days of timestamps of type `T`, `per_day` units a day.
fn days<T: ArrowTimestampType>(array: &ArrayRef, per_day: i64) -> ArrayRef {
    let days: Date32Array = array.as_primitive::<T>().unary(|v| day_number(v, per_day));
    Arc::new(days)
}

fn days_of(array: &ArrayRef, unit: TimeUnit) -> ArrayRef {
    let n = per_day(unit);
    match unit {
        TimeUnit::Second => days::<TimestampSecondType>(array, n),
        TimeUnit::Millisecond => days::<TimestampMillisecondType>(array, n),
        TimeUnit::Microsecond => days::<TimestampMicrosecondType>(array, n),
        TimeUnit::Nanosecond => days::<TimestampNanosecondType>(array, n),
    }
}

impl ScalarUDFImpl for DayOf {
    fn name(&self) -> &str {
        NAME
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        match arg_types {
            [t @ DataType::Timestamp(_, _)] => Ok(vec![t.clone()]),
            [DataType::Null] => Ok(vec![DataType::Timestamp(TimeUnit::Microsecond, None)]),
            [t] => plan_err!("{NAME} takes a timestamp, got {t}"),
            _ => plan_err!("{NAME} takes (ts), got {} arguments", arg_types.len()),
        }
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(DataType::Date32)
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let [arg] = args.args.as_slice() else {
            return exec_err!("{NAME} takes (ts), got {} arguments", args.args.len());
        };
        let DataType::Timestamp(unit, _) = arg.data_type() else {
            return exec_err!("{NAME} takes a timestamp, got {}", arg.data_type());
        };
        per_value(arg, |array| Ok(days_of(array, unit)))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use datafusion::arrow::array::TimestampMicrosecondArray;
    use datafusion::arrow::compute::cast;

    /// The day equals Arrow's cast for values around midnights, before 1970 and far out.
    #[test]
    fn days_equal_arrows_cast() {
        let day = 86_400_000_000i64;
        let values: Vec<Option<i64>> = [
            0,
            1,
            -1,
            day - 1,
            day,
            -day,
            -day - 1,
            20_779 * day + 3_600_000_000,
            -719_162 * day,
            2_932_896 * day - 1,
        ]
        .into_iter()
        .map(Some)
        .chain([None])
        .collect();
        let array: ArrayRef = Arc::new(TimestampMicrosecondArray::from(values));
        let expected = cast(&array, &DataType::Date32).unwrap();
        let got = days_of(&array, TimeUnit::Microsecond);
        assert_eq!(got.as_ref(), expected.as_ref());
    }

    #[test]
    fn seconds_at_the_extremes_saturate() {
        assert_eq!(day_number(i64::MAX, per_day(TimeUnit::Second)), i32::MAX);
        assert_eq!(day_number(i64::MIN, per_day(TimeUnit::Second)), i32::MIN);
        assert_eq!(day_number(-1, per_day(TimeUnit::Second)), -1);
    }
}
