//! Many equality tests of one string column, in one pass over its strings.
//!
//! A library tests the event name against a dozen names, the category against five, the
//! channel against a few; each `x = 'v'` is a pass comparing every event's string (about a
//! tenth of a library run's CPU). This rewrite turns, in every aggregation, the tests of a
//! string column against two or more constant strings into tests of
//! `value_code(x, 'v1', …, 'vN')` (`segmint_udfs::value_code`): `x = 'vi'` becomes
//! `value_code(…) = i`, `x <> 'vi'` `value_code(…) <> i`, `x IN ('vi', 'vj')`
//! `value_code(…) IN (i, j)` — the same truth, NULLs included. DataFusion's optimizer then
//! computes the code once per batch, as a common subexpression.
//!
//! The engine applies it to the plans it executes (`segmint_engine::single_stage::run_plan`),
//! not to the compiled plan: `compile --emit logical`, the docs and the plan snapshots keep
//! the plain tests an analyst wrote, and summary parts of incremental runs keep their names.

use std::collections::{BTreeMap, BTreeSet};

use datafusion::arrow::datatypes::DataType;
use datafusion::common::tree_node::{Transformed, TreeNode, TreeNodeRecursion};
use datafusion::common::{Column, DFSchema, ExprSchema, Result, ScalarValue};
use datafusion::logical_expr::expr::InList;
use datafusion::logical_expr::{Aggregate, BinaryExpr, Expr, LogicalPlan, Operator, lit};

/// The most values one code tells apart (`TINYINT UNSIGNED`, 0 for none).
const MOST_VALUES: usize = 255;

/// `plan` with the string tests of every aggregation's arguments and filters through
/// `value_code`, for each column tested against 2 to 255 distinct constant strings.
pub fn with_value_codes(plan: LogicalPlan) -> Result<LogicalPlan> {
    Ok(plan
        .transform_up(|node| {
            let LogicalPlan::Aggregate(aggregate) = node else {
                return Ok(Transformed::no(node));
            };
            let values = tested_values(&aggregate.aggr_expr, aggregate.input.schema())?;
            if values.is_empty() {
                return Ok(Transformed::no(LogicalPlan::Aggregate(aggregate)));
            }
            let aggr_expr = aggregate
                .aggr_expr
                .iter()
                .map(|e| coded(e.clone(), &values))
                .collect::<Result<Vec<_>>>()?;
            Ok(Transformed::yes(LogicalPlan::Aggregate(
                Aggregate::try_new(aggregate.input, aggregate.group_expr, aggr_expr)?,
            )))
        })?
        .data)
}

/// A non-null constant string.
fn string_literal(e: &Expr) -> Option<&str> {
    match e {
        Expr::Literal(
            ScalarValue::Utf8(Some(s))
            | ScalarValue::Utf8View(Some(s))
            | ScalarValue::LargeUtf8(Some(s)),
            _,
        ) => Some(s),
        _ => None,
    }
}

/// `(column, value)` of `x = 'v'` or `x <> 'v'` (either side).
fn column_test(e: &BinaryExpr) -> Option<(&Column, &str)> {
    if !matches!(e.op, Operator::Eq | Operator::NotEq) {
        return None;
    }
    match (e.left.as_ref(), e.right.as_ref()) {
        (Expr::Column(c), v) | (v, Expr::Column(c)) => Some((c, string_literal(v)?)),
        _ => None,
    }
}

/// `(column, values)` of `x [NOT] IN ('v1', …)`.
fn column_list(e: &InList) -> Option<(&Column, Vec<&str>)> {
    let Expr::Column(c) = e.expr.as_ref() else {
        return None;
    };
    let values = e
        .list
        .iter()
        .map(string_literal)
        .collect::<Option<Vec<_>>>()?;
    Some((c, values))
}

fn is_string(t: &DataType) -> bool {
    match t {
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => true,
        DataType::Dictionary(_, values) => is_string(values),
        _ => false,
    }
}

/// Each string column of `schema` tested in `exprs` against 2 to 255 distinct constants,
/// with its constants in order (the code of a value is its position, from 1).
fn tested_values(exprs: &[Expr], schema: &DFSchema) -> Result<BTreeMap<Column, Vec<String>>> {
    let mut tested: BTreeMap<Column, BTreeSet<String>> = BTreeMap::new();
    for e in exprs {
        e.apply(|e| {
            let found = match e {
                Expr::BinaryExpr(b) => column_test(b).map(|(c, v)| (c, vec![v])),
                Expr::InList(l) => column_list(l),
                _ => None,
            };
            if let Some((c, values)) = found {
                tested
                    .entry(c.clone())
                    .or_default()
                    .extend(values.into_iter().map(str::to_string));
            }
            Ok(TreeNodeRecursion::Continue)
        })?;
    }
    Ok(tested
        .into_iter()
        .filter(|(c, values)| {
            (2..=MOST_VALUES).contains(&values.len())
                && schema
                    .field_from_column(c)
                    .is_ok_and(|f| is_string(f.data_type()))
        })
        .map(|(c, values)| (c, values.into_iter().collect()))
        .collect())
}

/// `e` with the tests of the coded columns through their codes.
fn coded(e: Expr, values: &BTreeMap<Column, Vec<String>>) -> Result<Expr> {
    let code_of = |c: &Column, value: &str| -> Option<(Expr, Expr)> {
        let list = values.get(c)?;
        let code = list.iter().position(|v| v == value)? as u8 + 1;
        let refs: Vec<&str> = list.iter().map(String::as_str).collect();
        Some((
            segmint_udfs::expr_fn::value_code(Expr::Column(c.clone()), &refs),
            lit(ScalarValue::UInt8(Some(code))),
        ))
    };
    Ok(e.transform_up(|e| {
        let rewritten = match &e {
            Expr::BinaryExpr(b) => column_test(b).and_then(|(c, v)| {
                let (code, value) = code_of(c, v)?;
                Some(Expr::BinaryExpr(BinaryExpr::new(
                    Box::new(code),
                    b.op,
                    Box::new(value),
                )))
            }),
            Expr::InList(l) => column_list(l).and_then(|(c, vs)| {
                let mut code = None;
                let mut list = Vec::with_capacity(vs.len());
                for v in vs {
                    let (f, value) = code_of(c, v)?;
                    code = Some(f);
                    list.push(value);
                }
                Some(code?.in_list(list, l.negated))
            }),
            _ => None,
        };
        Ok(match rewritten {
            Some(r) => Transformed::yes(r),
            None => Transformed::no(e),
        })
    })?
    .data)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::sync::Arc;

    use datafusion::arrow::array::{Int64Array, RecordBatch, StringArray};
    use datafusion::arrow::datatypes::{Field, Schema};
    use datafusion::functions_aggregate::expr_fn::count;
    use datafusion::logical_expr::{ExprFunctionExt, col};
    use datafusion::prelude::SessionContext;

    use super::*;

    /// Counts filtered by `=`, `<>`, `IN` and `NOT IN` on a column with NULLs give the same
    /// numbers through codes, and the plan then tests codes, not strings.
    #[tokio::test]
    async fn coded_tests_count_the_same_rows() {
        let schema = Arc::new(Schema::new(vec![
            Field::new("k", DataType::Int64, false),
            Field::new("name", DataType::Utf8, true),
        ]));
        let names = [
            Some("cart"),
            None,
            Some("purchase"),
            Some("support_ticket"),
            Some("view"),
        ];
        let batch = RecordBatch::try_new(
            schema.clone(),
            vec![
                Arc::new(Int64Array::from(vec![1, 1, 2, 2, 2])),
                Arc::new(StringArray::from(names.to_vec())),
            ],
        )
        .unwrap();
        let mut ctx = SessionContext::new();
        segmint_udfs::register_all(&mut ctx).unwrap();
        let frame = ctx.read_batch(batch).unwrap();
        let filters = [
            col("name").eq(lit("cart")),
            lit("purchase").eq(col("name")),
            col("name").not_eq(lit("support_ticket")),
            col("name").in_list(vec![lit("cart"), lit("view")], false),
            col("name").in_list(vec![lit("cart"), lit("support_ticket")], true),
        ];
        let aggregates: Vec<Expr> = filters
            .iter()
            .enumerate()
            .map(|(i, f)| {
                count(col("k"))
                    .filter(f.clone())
                    .build()
                    .unwrap()
                    .alias(format!("c{i}"))
            })
            .collect();
        let plan = frame
            .aggregate(vec![col("k")], aggregates)
            .unwrap()
            .sort(vec![col("k").sort(true, true)])
            .unwrap()
            .into_unoptimized_plan();
        let coded = with_value_codes(plan.clone()).unwrap();
        let text = coded.display_indent().to_string();
        assert_eq!(text.matches("value_code(").count(), 5, "{text}");
        let run = |plan: LogicalPlan| {
            let ctx = ctx.clone();
            async move {
                let batches = ctx
                    .execute_logical_plan(plan)
                    .await
                    .unwrap()
                    .collect()
                    .await;
                datafusion::arrow::util::pretty::pretty_format_batches(&batches.unwrap())
                    .unwrap()
                    .to_string()
            }
        };
        let plain = run(plan).await;
        assert_eq!(run(coded).await, plain);
        assert!(plain.contains("| 2 | 0  | 1  | 2  | 1  | 2  |"), "{plain}");
    }
}
