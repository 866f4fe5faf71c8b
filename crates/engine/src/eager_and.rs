//! `a AND b` over whole batches, for the run's filter masks.
//!
//! When the left side of an `AND` keeps at most a fifth of a batch's rows, DataFusion's
//! `BinaryExpr` filters the *whole batch* — every column — down to those rows, evaluates
//! the right side there and scatters the result back. That pays when the right side is
//! costly; a run's masks are combinations of other masks, codes and time comparisons,
//! cheap on every row, while the batch under the masks and the aggregate FILTERs holds every
//! scanned column (about 5 % of a library run's CPU went to those copies). [`EagerAnd`]
//! evaluates both sides on the whole batch and combines them with Kleene logic, exactly as
//! `AND` does; a left side that keeps no row still skips the right one.
//!
//! `single_stage` applies it to the run's events aggregation (its FILTERs and the masks
//! below it), and only where the right side is cheap: columns, constants, comparisons,
//! `NOT`, `IS [NOT] NULL`, casts, and `AND`/`OR` of those.

use std::fmt;
use std::sync::Arc;

use datafusion::arrow::array::{Array, AsArray, RecordBatch};
use datafusion::arrow::compute::kernels::boolean::and_kleene;
use datafusion::arrow::datatypes::{DataType, Schema};
use datafusion::common::tree_node::{Transformed, TreeNode};
use datafusion::error::Result;
use datafusion::logical_expr::{ColumnarValue, Operator};
use datafusion::physical_expr::PhysicalExpr;
use datafusion::physical_expr::expressions::{
    BinaryExpr, CastExpr, Column, IsNotNullExpr, IsNullExpr, Literal, NotExpr, TryCastExpr,
};

/// `left AND right`, both evaluated on every row of the batch.
#[derive(Debug, Hash, Eq)]
pub struct EagerAnd {
    left: Arc<dyn PhysicalExpr>,
    right: Arc<dyn PhysicalExpr>,
}

impl PartialEq for EagerAnd {
    fn eq(&self, other: &Self) -> bool {
        self.left.eq(&other.left) && self.right.eq(&other.right)
    }
}

impl fmt::Display for EagerAnd {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} AND {}", self.left, self.right)
    }
}

impl PhysicalExpr for EagerAnd {
    fn data_type(&self, _input_schema: &Schema) -> Result<DataType> {
        Ok(DataType::Boolean)
    }

    fn nullable(&self, input_schema: &Schema) -> Result<bool> {
        Ok(self.left.nullable(input_schema)? || self.right.nullable(input_schema)?)
    }

    fn evaluate(&self, batch: &RecordBatch) -> Result<ColumnarValue> {
        let rows = batch.num_rows();
        let left = self.left.evaluate(batch)?.into_array(rows)?;
        let left = left.as_boolean();
        // No row kept and none unknown: the result is the left side.
        if left.null_count() == 0 && !left.has_true() {
            return Ok(ColumnarValue::Array(Arc::new(left.clone())));
        }
        let right = self.right.evaluate(batch)?.into_array(rows)?;
        Ok(ColumnarValue::Array(Arc::new(and_kleene(
            left,
            right.as_boolean(),
        )?)))
    }

    fn children(&self) -> Vec<&Arc<dyn PhysicalExpr>> {
        vec![&self.left, &self.right]
    }

    fn with_new_children(
        self: Arc<Self>,
        children: Vec<Arc<dyn PhysicalExpr>>,
    ) -> Result<Arc<dyn PhysicalExpr>> {
        let [left, right]: [Arc<dyn PhysicalExpr>; 2] = children.try_into().map_err(|_| {
            datafusion::error::DataFusionError::Internal("EagerAnd takes two children".into())
        })?;
        Ok(Arc::new(EagerAnd { left, right }))
    }

    fn fmt_sql(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.left.fmt_sql(f)?;
        write!(f, " AND ")?;
        self.right.fmt_sql(f)
    }
}

/// `=`, `<>`, `<`, `<=`, `>`, `>=`, `IS [NOT] DISTINCT FROM`, `AND`, `OR`.
fn comparison_or_logic(op: Operator) -> bool {
    matches!(
        op,
        Operator::Eq
            | Operator::NotEq
            | Operator::Lt
            | Operator::LtEq
            | Operator::Gt
            | Operator::GtEq
            | Operator::IsDistinctFrom
            | Operator::IsNotDistinctFrom
            | Operator::And
            | Operator::Or
    )
}

/// Is `e` cheap on every row (no function calls, no pattern matching)?
fn cheap(e: &Arc<dyn PhysicalExpr>) -> bool {
    let node = e.as_ref() as &dyn std::any::Any;
    let kind_is_cheap = node.is::<Column>()
        || node.is::<Literal>()
        || node.is::<NotExpr>()
        || node.is::<IsNullExpr>()
        || node.is::<IsNotNullExpr>()
        || node.is::<CastExpr>()
        || node.is::<TryCastExpr>()
        || node.is::<EagerAnd>()
        || node
            .downcast_ref::<BinaryExpr>()
            .is_some_and(|b| comparison_or_logic(*b.op()));
    kind_is_cheap && e.children().into_iter().all(cheap)
}

/// `expr` with every `a AND b` whose right side is cheap as an [`EagerAnd`].
pub fn eager_ands(expr: Arc<dyn PhysicalExpr>) -> Result<Arc<dyn PhysicalExpr>> {
    Ok(expr
        .transform_up(|e| {
            let node = e.as_ref() as &dyn std::any::Any;
            if let Some(b) = node.downcast_ref::<BinaryExpr>()
                && *b.op() == Operator::And
                && cheap(b.right())
            {
                let eager: Arc<dyn PhysicalExpr> = Arc::new(EagerAnd {
                    left: Arc::clone(b.left()),
                    right: Arc::clone(b.right()),
                });
                return Ok(Transformed::yes(eager));
            }
            Ok(Transformed::no(e))
        })?
        .data)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use datafusion::arrow::array::{BooleanArray, Int64Array};
    use datafusion::arrow::datatypes::Field;
    use datafusion::physical_expr::expressions::{col, lit};

    /// Kleene AND on every combination of true, false and NULL, as `BinaryExpr` gives it,
    /// with a selective left side (where DataFusion would pre-select rows).
    #[test]
    fn equals_binary_and_with_nulls_and_selective_left_sides() {
        let schema = Arc::new(Schema::new(vec![
            Field::new("a", DataType::Boolean, true),
            Field::new("b", DataType::Boolean, true),
            Field::new("x", DataType::Int64, false),
        ]));
        let values = [Some(true), Some(false), None];
        let mut a = Vec::new();
        let mut b = Vec::new();
        for l in values {
            for r in values {
                a.push(l);
                b.push(r);
            }
        }
        // Many false rows on the left, so the left keeps under a fifth of them.
        a.extend(std::iter::repeat_n(Some(false), 40));
        b.extend(std::iter::repeat_n(Some(true), 40));
        let n = a.len();
        let batch = RecordBatch::try_new(
            schema.clone(),
            vec![
                Arc::new(BooleanArray::from(a)),
                Arc::new(BooleanArray::from(b)),
                Arc::new(Int64Array::from_iter_values(0..n as i64)),
            ],
        )
        .unwrap();
        let right_sides: Vec<Arc<dyn PhysicalExpr>> = vec![
            col("b", &schema).unwrap(),
            Arc::new(BinaryExpr::new(
                col("x", &schema).unwrap(),
                Operator::Lt,
                lit(5i64),
            )),
        ];
        for right in right_sides {
            let plain: Arc<dyn PhysicalExpr> = Arc::new(BinaryExpr::new(
                col("a", &schema).unwrap(),
                Operator::And,
                right,
            ));
            let eager = eager_ands(Arc::clone(&plain)).unwrap();
            assert!(eager.as_ref().to_string().contains("AND"));
            assert!((eager.as_ref() as &dyn std::any::Any).is::<EagerAnd>());
            let want = plain.evaluate(&batch).unwrap().into_array(n).unwrap();
            let got = eager.evaluate(&batch).unwrap().into_array(n).unwrap();
            assert_eq!(got.as_boolean(), want.as_boolean());
        }
    }

    /// A right side with a function call keeps DataFusion's pre-selection.
    #[test]
    fn costly_right_sides_stay_as_they_are() {
        let schema = Arc::new(Schema::new(vec![Field::new("a", DataType::Boolean, true)]));
        let not_cheap: Arc<dyn PhysicalExpr> = Arc::new(
            datafusion::physical_expr::expressions::InListExpr::try_new(
                lit(1i64),
                vec![lit(1i64)],
                false,
                &schema,
            )
            .unwrap(),
        );
        let and: Arc<dyn PhysicalExpr> = Arc::new(BinaryExpr::new(
            col("a", &schema).unwrap(),
            Operator::And,
            not_cheap,
        ));
        let kept = eager_ands(Arc::clone(&and)).unwrap();
        assert!((kept.as_ref() as &dyn std::any::Any).is::<BinaryExpr>());
    }
}
