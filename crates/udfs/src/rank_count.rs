//! `rank_count(group, value, descending) OVER ()`: how many rows of a row's group have a
//! value at or before its own — what `count(*) OVER (PARTITION BY group ORDER BY value
//! RANGE BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)` answers, without sorting the rows.
//!
//! A window with `PARTITION BY` or `ORDER BY` makes DataFusion sort its whole input, every
//! column, by those keys. Population ranks (RFM quintiles) are computed over the grouped
//! rows — one per entity, dozens of aggregate columns — so three orderings were three sorts
//! of wide rows, each on one core (the partition key is a boolean). This function is
//! called with an empty `OVER ()`: it sorts the row numbers by its two key columns only and
//! returns the counts in input order, so any number of ranks share one window over the
//! unsorted rows.
//!
//! # Arguments
//! - `group`: any type; rows with equal values (NULLs equal each other) form a group.
//! - `value`: any orderable type. NULLs come after every value; values equal in Arrow's
//!   total order are peers and share a count (`-0.0` comes before `0.0`, NaNs after every
//!   number, as in Arrow's sort).
//! - `descending`: a constant boolean: order from the largest value to the smallest.
//!
//! # Result
//! `BIGINT`, never NULL: the number of rows of the row's group whose value comes before its
//! own or equals it. With a constant `value`, the size of the row's group.
//!
//! # Example
//! ```sql
//! -- Each buyer's spend quintile among buyers: ceil(5 k / n).
//! SELECT user_id,
//!        (5 * rank_count(spent > 0, spent, false) OVER ()
//!           + rank_count(spent > 0, 0, false) OVER () - 1)
//!          / rank_count(spent > 0, 0, false) OVER () AS quintile
//! FROM spend;
//! ```

use std::sync::Arc;

use datafusion::arrow::array::{ArrayRef, Int64Array};
use datafusion::arrow::compute::SortOptions;
use datafusion::arrow::datatypes::{DataType, Field, FieldRef};
use datafusion::arrow::row::{RowConverter, SortField};
use datafusion::common::{Result, ScalarValue, plan_err};
use datafusion::logical_expr::function::{PartitionEvaluatorArgs, WindowUDFFieldArgs};
use datafusion::logical_expr::{PartitionEvaluator, Signature, Volatility, WindowUDFImpl};

use crate::support::args::physical_literal;

const NAME: &str = "rank_count";

/// The `rank_count` window function.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct RankCount {
    signature: Signature,
}

impl Default for RankCount {
    fn default() -> Self {
        Self {
            signature: Signature::user_defined(Volatility::Immutable),
        }
    }
}

/// For each row (input order), the number of rows of its group at or before it: `group`
/// and `value` as Arrow rows, the row numbers sorted by them, then one pass over peers.
pub(crate) fn rank_counts(
    group: &ArrayRef,
    value: &ArrayRef,
    descending: bool,
) -> Result<Vec<i64>> {
    let groups = RowConverter::new(vec![SortField::new(group.data_type().clone())])?
        .convert_columns(std::slice::from_ref(group))?;
    let order_options = SortOptions {
        descending,
        nulls_first: false,
    };
    let keys = RowConverter::new(vec![
        SortField::new(group.data_type().clone()),
        SortField::new_with_options(value.data_type().clone(), order_options),
    ])?
    .convert_columns(&[group.clone(), value.clone()])?;
    let mut order: Vec<usize> = (0..keys.num_rows()).collect();
    order.sort_unstable_by(|&a, &b| keys.row(a).cmp(&keys.row(b)));
    let mut counts = vec![0i64; order.len()];
    let mut group_start = 0;
    let mut peers_start = 0;
    while peers_start < order.len() {
        let first = order[peers_start];
        if peers_start > 0 && groups.row(first) != groups.row(order[peers_start - 1]) {
            group_start = peers_start;
        }
        let peers_end = order[peers_start..]
            .iter()
            .position(|&i| keys.row(i) != keys.row(first))
            .map_or(order.len(), |n| peers_start + n);
        let count = (peers_end - group_start) as i64;
        for &i in &order[peers_start..peers_end] {
            counts[i] = count;
        }
        peers_start = peers_end;
    }
    Ok(counts)
}

#[derive(Debug)]
struct RankCountEvaluator {
    descending: bool,
}

impl PartitionEvaluator for RankCountEvaluator {
    fn evaluate_all(&mut self, values: &[ArrayRef], _num_rows: usize) -> Result<ArrayRef> {
        let [group, value, ..] = values else {
            return plan_err!("{NAME}: expected a group and a value");
        };
        Ok(Arc::new(Int64Array::from(rank_counts(
            group,
            value,
            self.descending,
        )?)))
    }
}

impl WindowUDFImpl for RankCount {
    fn name(&self) -> &str {
        NAME
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        match arg_types {
            [group, value, DataType::Boolean | DataType::Null] => {
                Ok(vec![group.clone(), value.clone(), DataType::Boolean])
            }
            _ => plan_err!(
                "{NAME}: expected (group, value, descending: a boolean constant), got {arg_types:?}"
            ),
        }
    }

    fn partition_evaluator(
        &self,
        args: PartitionEvaluatorArgs,
    ) -> Result<Box<dyn PartitionEvaluator>> {
        let descending = match physical_literal(NAME, args.input_exprs(), 2, "descending")? {
            ScalarValue::Boolean(b) => b.unwrap_or(false),
            other => return plan_err!("{NAME}: descending must be a boolean, got {other}"),
        };
        Ok(Box::new(RankCountEvaluator { descending }))
    }

    fn field(&self, field_args: WindowUDFFieldArgs) -> Result<FieldRef> {
        Ok(Arc::new(Field::new(
            field_args.name(),
            DataType::Int64,
            false,
        )))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use datafusion::arrow::array::{BooleanArray, Float64Array};

    #[test]
    fn counts_rows_at_or_before_within_each_group_with_ties_and_nulls_last() {
        let group: ArrayRef = Arc::new(BooleanArray::from(vec![
            Some(true),
            Some(false),
            Some(true),
            Some(true),
            None,
            Some(true),
            Some(false),
        ]));
        let value: ArrayRef = Arc::new(Float64Array::from(vec![
            Some(3.0),
            Some(1.0),
            Some(1.0),
            None,
            Some(7.0),
            Some(3.0),
            Some(0.5),
        ]));
        // Group true: 1.0, 3.0, 3.0, NULL.
        assert_eq!(
            rank_counts(&group, &value, false).unwrap(),
            vec![3, 2, 1, 4, 1, 3, 1]
        );
        // Descending: 3.0, 3.0, 1.0, NULL (NULLs still last).
        assert_eq!(
            rank_counts(&group, &value, true).unwrap(),
            vec![2, 1, 3, 4, 1, 2, 2]
        );
    }
}
