//! Comparisons and literals as DataFusion expressions.

use datafusion::common::ScalarValue;
use datafusion::logical_expr::{Expr, lit};
use segmint_spec::{Comparison, Literal};

/// A spec literal as a DataFusion literal (type coercion aligns it with the column).
pub fn literal(l: &Literal) -> Expr {
    match l {
        Literal::Bool(b) => lit(*b),
        Literal::Int(i) => lit(*i),
        Literal::Float(f) => lit(*f),
        Literal::Str(s) => lit(s.as_str()),
    }
}

/// `value <op> operand` as a boolean expression.
pub fn compare(value: Expr, cmp: &Comparison) -> Expr {
    match cmp {
        Comparison::Eq(l) => value.eq(literal(l)),
        Comparison::Ne(l) => value.not_eq(literal(l)),
        Comparison::Gt(l) => value.gt(literal(l)),
        Comparison::Gte(l) => value.gt_eq(literal(l)),
        Comparison::Lt(l) => value.lt(literal(l)),
        Comparison::Lte(l) => value.lt_eq(literal(l)),
        Comparison::In(v) => value.in_list(v.iter().map(literal).collect(), false),
        Comparison::NotIn(v) => value.in_list(v.iter().map(literal).collect(), true),
        Comparison::Between(lo, hi) => value.between(literal(lo), literal(hi)),
        Comparison::Contains(s) => datafusion::functions::expr_fn::contains(value, lit(s.as_str())),
        Comparison::IsNull(true) => value.is_null(),
        Comparison::IsNull(false) => value.is_not_null(),
    }
}

/// All comparisons must hold.
pub fn compare_all(value: &Expr, cmps: &[Comparison]) -> Expr {
    conjunction(cmps.iter().map(|c| compare(value.clone(), c)).collect())
}

/// `a AND b AND …` (`true` when empty).
pub fn conjunction(parts: Vec<Expr>) -> Expr {
    parts.into_iter().reduce(Expr::and).unwrap_or(lit(true))
}

/// A UTC timestamp literal in microseconds.
pub fn timestamp(us: i64) -> Expr {
    lit(ScalarValue::TimestampMicrosecond(
        Some(us),
        Some("UTC".into()),
    ))
}
