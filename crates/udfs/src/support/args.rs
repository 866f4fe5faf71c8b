//! Constant ("literal") arguments.
//!
//! Every parameter of a segmint function (a window, a mode, a pattern, a gap, an as-of
//! time) is an ordinary SQL argument that must be a constant. Keeping parameters inside
//! the argument list means a plan can be serialized and rebuilt on a remote executor from
//! the function name alone. The same parameters are read twice: from logical expressions
//! (so a bad pattern fails while the query is planned) and from physical expressions (when
//! the accumulator is built, e.g. from a decoded plan).

use std::sync::Arc;

use datafusion::common::{Result, ScalarValue, plan_err};
use datafusion::logical_expr::Expr;
use datafusion::physical_expr::PhysicalExpr;
use datafusion::physical_expr::expressions::Literal;

/// The constant value of argument `index` of a physical call to `function`.
pub(crate) fn physical_literal(
    function: &str,
    exprs: &[Arc<dyn PhysicalExpr>],
    index: usize,
    what: &str,
) -> Result<ScalarValue> {
    let Some(expr) = exprs.get(index) else {
        return plan_err!("{function}: missing argument {} ({what})", index + 1);
    };
    match expr.downcast_ref::<Literal>() {
        Some(literal) => Ok(literal.value().clone()),
        None => plan_err!(
            "{function}: argument {} ({what}) must be a constant, got {expr}",
            index + 1
        ),
    }
}

/// The constant value of argument `index` of a logical call, or `None` when it is not
/// (yet) a literal; constant folding may still turn it into one before execution.
pub(crate) fn logical_literal(exprs: &[Expr], index: usize) -> Option<&ScalarValue> {
    match exprs.get(index) {
        Some(Expr::Literal(value, _)) => Some(value),
        _ => None,
    }
}

/// A constant string argument (`''` and NULL both read as the empty string).
pub(crate) fn string_value(function: &str, value: &ScalarValue, what: &str) -> Result<String> {
    match value {
        ScalarValue::Utf8(v) | ScalarValue::LargeUtf8(v) | ScalarValue::Utf8View(v) => {
            Ok(v.clone().unwrap_or_default())
        }
        ScalarValue::Null => Ok(String::new()),
        other => plan_err!(
            "{function}: {what} must be a string constant, got {} ({})",
            other,
            other.data_type()
        ),
    }
}
