//! List-shaped intermediate state: one list of values per group.
//!
//! Ordered aggregates cannot be pre-reduced before they see every event of a group, so
//! their partial state is the group's (filtered) events as Arrow lists, which DataFusion
//! (and Ballista) ship between partial and final aggregation like any other column.

use std::sync::Arc;

use datafusion::arrow::array::{
    Array, ArrayRef, ArrowPrimitiveType, AsArray, GenericListArray, ListArray, PrimitiveArray,
};
use datafusion::arrow::buffer::OffsetBuffer;
use datafusion::arrow::datatypes::{DataType, Field, FieldRef};
use datafusion::common::{Result, internal_err};

/// The field of a list-of-`item` state column.
pub(crate) fn list_field(name: &str, item: DataType) -> FieldRef {
    Arc::new(Field::new(
        name,
        DataType::List(Arc::new(Field::new_list_field(item, false))),
        true,
    ))
}

/// One list per group, built from per-group vectors of values.
pub(crate) fn lists_of<T: ArrowPrimitiveType>(
    groups: impl ExactSizeIterator<Item = impl ExactSizeIterator<Item = T::Native>>,
) -> ArrayRef {
    let mut lengths = Vec::with_capacity(groups.len());
    let mut values = Vec::new();
    for group in groups {
        lengths.push(group.len());
        values.extend(group);
    }
    list_array(
        lengths,
        Arc::new(PrimitiveArray::<T>::from_iter_values(values)),
    )
}

/// A list array from per-row lengths and the concatenated values.
pub(crate) fn list_array(lengths: Vec<usize>, values: ArrayRef) -> ArrayRef {
    let field = Arc::new(Field::new_list_field(values.data_type().clone(), false));
    Arc::new(ListArray::new(
        field,
        OffsetBuffer::from_lengths(lengths),
        values,
        None,
    ))
}

/// The `i32`-offset list at `index` of a state batch, with its primitive values.
pub(crate) fn state_lists<'a, T: ArrowPrimitiveType>(
    function: &str,
    states: &'a [ArrayRef],
    index: usize,
) -> Result<(&'a GenericListArray<i32>, &'a PrimitiveArray<T>)> {
    let Some(list) = states.get(index).and_then(|a| a.as_list_opt::<i32>()) else {
        return internal_err!("{function}: state column {index} is not a list");
    };
    let Some(values) = list.values().as_primitive_opt::<T>() else {
        return internal_err!(
            "{function}: state column {index} holds {}, not the expected values",
            list.values().data_type()
        );
    };
    Ok((list, values))
}

/// The value range of row `row` of a list (empty for a NULL row).
pub(crate) fn row_range(list: &GenericListArray<i32>, row: usize) -> std::ops::Range<usize> {
    if list.is_null(row) {
        return 0..0;
    }
    let offsets = list.value_offsets();
    offsets[row] as usize..offsets[row + 1] as usize
}
