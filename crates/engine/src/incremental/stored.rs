//! The types summary states are stored as: ones every Delta reader knows. Unsigned integers
//! become the signed integers of the same width and timestamps 64-bit integers — the same
//! bits, reinterpreted, so no value changes (a `u64` hash above `i64::MAX` reads back as
//! itself) — and view or large strings and lists their plain forms. Nested types are mapped
//! field by field.

use std::sync::Arc;

use datafusion::arrow::array::{ArrayData, ArrayRef, make_array};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Field, Fields};
use datafusion::common::Result;

/// The stored type of a state type.
pub fn stored_type(data_type: &DataType) -> DataType {
    match data_type {
        DataType::UInt8 => DataType::Int8,
        DataType::UInt16 => DataType::Int16,
        DataType::UInt32 => DataType::Int32,
        DataType::UInt64 | DataType::Timestamp(_, _) | DataType::Date64 => DataType::Int64,
        DataType::Utf8View | DataType::LargeUtf8 => DataType::Utf8,
        DataType::BinaryView | DataType::LargeBinary => DataType::Binary,
        DataType::List(f) | DataType::LargeList(f) | DataType::ListView(f) => {
            DataType::List(Arc::new(stored_field(f)))
        }
        DataType::Struct(fields) => {
            DataType::Struct(fields.iter().map(|f| stored_field(f)).collect::<Fields>())
        }
        other => other.clone(),
    }
}

fn stored_field(field: &Field) -> Field {
    Field::new(field.name(), stored_type(field.data_type()), true)
}

/// `array` as its stored type.
pub fn stored(array: &ArrayRef) -> Result<ArrayRef> {
    let to = stored_type(array.data_type());
    convert(array, &to)
}

/// A stored `array` read back as `to` (the state type it was stored from).
pub fn restored(array: &ArrayRef, to: &DataType) -> Result<ArrayRef> {
    convert(array, to)
}

/// Same-width integers and timestamps: the same bits under another type.
fn reinterpretable(from: &DataType, to: &DataType) -> bool {
    let integral =
        |t: &DataType| t.is_integer() || matches!(t, DataType::Timestamp(_, _) | DataType::Date64);
    integral(from) && integral(to) && from.primitive_width() == to.primitive_width()
}

fn convert(array: &ArrayRef, to: &DataType) -> Result<ArrayRef> {
    if array.data_type() == to {
        return Ok(array.clone());
    }
    Ok(make_array(convert_data(array.to_data(), to)?))
}

fn convert_data(data: ArrayData, to: &DataType) -> Result<ArrayData> {
    let from = data.data_type().clone();
    if &from == to {
        return Ok(data);
    }
    if reinterpretable(&from, to) {
        return Ok(data.into_builder().data_type(to.clone()).build()?);
    }
    match (&from, to) {
        (DataType::List(_), DataType::List(f))
        | (DataType::LargeList(_), DataType::LargeList(f)) => {
            let child = convert_data(data.child_data()[0].clone(), f.data_type())?;
            Ok(data
                .into_builder()
                .data_type(to.clone())
                .child_data(vec![child])
                .build()?)
        }
        (DataType::Struct(_), DataType::Struct(fields)) => {
            let children = data
                .child_data()
                .iter()
                .zip(fields.iter())
                .map(|(c, f)| convert_data(c.clone(), f.data_type()))
                .collect::<Result<Vec<_>>>()?;
            Ok(data
                .into_builder()
                .data_type(to.clone())
                .child_data(children)
                .build()?)
        }
        _ => {
            // Layouts differ (view or large types): a real conversion, as a list of the
            // plain type first when a large list is involved.
            let array = make_array(data);
            let plain = cast(&array, &shallow(to, array.data_type()))?;
            convert_data(plain.to_data(), to)
        }
    }
}

/// `to` with the outer layout of `to` and the inner types of `from`, so `cast` changes
/// only the layout and [`convert_data`] the element types.
fn shallow(to: &DataType, from: &DataType) -> DataType {
    match (to, from) {
        (DataType::List(_), DataType::LargeList(f) | DataType::ListView(f)) => {
            DataType::List(f.clone())
        }
        (DataType::LargeList(_), DataType::List(f) | DataType::ListView(f)) => {
            DataType::LargeList(f.clone())
        }
        (to, _) => to.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::arrow::array::{Int64Array, ListArray, StructArray, UInt64Array};
    use datafusion::arrow::datatypes::{Int64Type, TimeUnit};

    #[test]
    fn unsigned_and_timestamps_round_trip_bit_for_bit() -> Result<()> {
        let hashes: ArrayRef = Arc::new(UInt64Array::from(vec![Some(u64::MAX), None, Some(7)]));
        let times: ArrayRef = Arc::new(
            datafusion::arrow::array::TimestampMicrosecondArray::from(vec![1, -2, 3])
                .with_timezone("UTC"),
        );
        let lists: ArrayRef = Arc::new(ListArray::from_iter_primitive::<Int64Type, _, _>(vec![
            Some(vec![Some(1), Some(2)]),
            None,
            Some(vec![]),
        ]));
        let state: ArrayRef = Arc::new(StructArray::from(vec![
            (
                Arc::new(Field::new("f0", hashes.data_type().clone(), true)),
                hashes,
            ),
            (
                Arc::new(Field::new("f1", times.data_type().clone(), true)),
                times,
            ),
            (
                Arc::new(Field::new("f2", lists.data_type().clone(), true)),
                lists,
            ),
        ]));
        let kept = stored(&state)?;
        let DataType::Struct(fields) = kept.data_type() else {
            panic!("a struct stays a struct");
        };
        assert_eq!(fields[0].data_type(), &DataType::Int64);
        assert_eq!(fields[1].data_type(), &DataType::Int64);
        let back = restored(&kept, state.data_type())?;
        assert_eq!(back.to_data(), state.to_data());
        let first = kept.to_data().child_data()[0].clone();
        assert_eq!(
            Int64Array::from(first).value(0),
            -1,
            "u64::MAX kept as its bits"
        );
        assert_eq!(
            stored_type(&DataType::Timestamp(TimeUnit::Nanosecond, None)),
            DataType::Int64
        );
        Ok(())
    }
}
