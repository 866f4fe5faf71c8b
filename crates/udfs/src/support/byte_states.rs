//! State columns of bytes: one value per group, as the functions whose state is not a list
//! of values keep it (`cadence`'s day bitmaps, the ordered aggregates' events).

use std::sync::Arc;

use datafusion::arrow::array::{ArrayRef, BinaryArray};
use datafusion::arrow::buffer::{Buffer, OffsetBuffer, ScalarBuffer};
use datafusion::common::{Result, exec_err};

/// One state value per row of `rows`, `write` appending row `i`'s bytes (none: an empty
/// value); `what` names the bytes in the error of a batch over 2 GiB.
pub(crate) fn byte_states(
    function: &str,
    what: &str,
    rows: usize,
    mut write: impl FnMut(usize, &mut Vec<u8>),
) -> Result<ArrayRef> {
    let mut bytes = Vec::new();
    let mut offsets = Vec::with_capacity(rows + 1);
    offsets.push(0i32);
    for i in 0..rows {
        write(i, &mut bytes);
        let Ok(end) = i32::try_from(bytes.len()) else {
            return exec_err!("{function}: more than 2 GiB of {what} in one batch of groups");
        };
        offsets.push(end);
    }
    Ok(Arc::new(BinaryArray::new(
        OffsetBuffer::new(ScalarBuffer::from(offsets)),
        Buffer::from_vec(bytes),
        None,
    )))
}
