//! One array function applied to an argument that may be a constant.

use datafusion::arrow::array::ArrayRef;
use datafusion::common::{Result, ScalarValue};
use datafusion::logical_expr::ColumnarValue;

/// `f` of `value`: of its array, or of a constant as a one-row array, the result then a
/// constant again.
pub(crate) fn per_value(
    value: &ColumnarValue,
    f: impl FnOnce(&ArrayRef) -> Result<ArrayRef>,
) -> Result<ColumnarValue> {
    match value {
        ColumnarValue::Array(array) => Ok(ColumnarValue::Array(f(array)?)),
        ColumnarValue::Scalar(scalar) => Ok(ColumnarValue::Scalar(ScalarValue::try_from_array(
            &f(&scalar.to_array()?)?,
            0,
        )?)),
    }
}
