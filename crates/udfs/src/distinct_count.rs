//! `distinct_count(x)`: the number of distinct non-NULL values of `x` in each group —
//! `count(DISTINCT x)` built for behavioral data, where each entity has few distinct values
//! (active days, features, topics, channels) but there are millions of entities.
//!
//! DataFusion 55's grouped `count(DISTINCT …)` keeps a general hash set per group and is
//! an order of magnitude slower than the rest of a typical behavioral query at hundreds of
//! thousands of groups (`benches/benches/distinct_count.rs`). This accumulator maps each
//! value to a small id once (see `support::value_ids`) and keeps per-group sets of ids in a
//! flat bitmap while fewer than 256 distinct values exist, falling back to small vectors and
//! hash sets beyond (see `support::distinct_sets`). When DataFusion skips partial
//! aggregation (many groups), each row is passed on as its own one-value state without
//! hashing. The result is exact.
//!
//! # Arguments
//! `x`: integers, floats, booleans, dates, timestamps or strings (any string encoding).
//!
//! # Result
//! `BIGINT`, 0 for an empty group.
//!
//! # Example
//! ```sql
//! SELECT user_id, distinct_count(feature) AS features_used,
//!        distinct_count(CAST(event_time AS DATE)) AS active_days
//! FROM events GROUP BY user_id;
//! ```

use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, AsArray, BooleanArray, Int64Array};
use datafusion::arrow::compute::filter;
use datafusion::arrow::datatypes::{DataType, FieldRef};
use datafusion::common::{Result, ScalarValue, internal_err};
use datafusion::logical_expr::function::{AccumulatorArgs, StateFieldsArgs};
use datafusion::logical_expr::{EmitTo, GroupsAccumulator};

use crate::support::aggregate::{AggregateFunction, GroupedAggregate};
use crate::support::distinct_sets::{GroupSets, Taken};
use crate::support::lists::{list_array, list_field, row_range};
use crate::support::single_group::{Factory, GroupStore};
use crate::support::value_ids::{KeyKind, ValueIds};

const NAME: &str = "distinct_count";

/// The `distinct_count` aggregate.
pub type DistinctCount = GroupedAggregate<DistinctCountFunction>;

/// What `distinct_count` takes, returns and keeps per group.
#[derive(Debug)]
pub struct DistinctCountFunction;

/// Distinct value ids per group, with the accumulator's value map.
#[derive(Debug)]
pub struct DistinctGroups {
    ids: ValueIds,
    sets: GroupSets,
}

impl DistinctGroups {
    fn new(kind: KeyKind) -> Self {
        Self {
            ids: ValueIds::new(kind),
            sets: GroupSets::default(),
        }
    }

    /// Lists of the distinct values of taken sets (the partial state).
    fn state_lists(&self, taken: &Taken) -> ArrayRef {
        let groups: Vec<Vec<u32>> = (0..taken.groups()).map(|g| taken.ids(g)).collect();
        let lengths = groups.iter().map(Vec::len).collect();
        let values = self.ids.values_of(groups.into_iter().flatten());
        list_array(lengths, values)
    }
}

impl GroupsAccumulator for DistinctGroups {
    fn update_batch(
        &mut self,
        values: &[ArrayRef],
        group_indices: &[usize],
        opt_filter: Option<&BooleanArray>,
        total_num_groups: usize,
    ) -> Result<()> {
        self.sets.ensure_groups(total_num_groups);
        let Some(column) = values.first() else {
            return internal_err!("{NAME}: missing argument");
        };
        let sets = &mut self.sets;
        self.ids.for_each_kept_id(column, opt_filter, |row, id| {
            sets.insert(group_indices[row], id);
        })
    }

    fn evaluate(&mut self, emit_to: EmitTo) -> Result<ArrayRef> {
        let taken = self.sets.take(emit_to);
        Ok(Arc::new(Int64Array::from_iter_values(
            (0..taken.groups()).map(|g| taken.count(g) as i64),
        )))
    }

    fn state(&mut self, emit_to: EmitTo) -> Result<Vec<ArrayRef>> {
        let taken = self.sets.take(emit_to);
        Ok(vec![self.state_lists(&taken)])
    }

    fn merge_batch(
        &mut self,
        values: &[ArrayRef],
        group_indices: &[usize],
        total_num_groups: usize,
    ) -> Result<()> {
        self.sets.ensure_groups(total_num_groups);
        let Some(lists) = values.first().and_then(|v| v.as_list_opt::<i32>()) else {
            return internal_err!("{NAME}: state is not a list");
        };
        // Item ids, in list order; the lists' own offsets say which group each belongs to.
        let item_ids = self.ids.ids(lists.values())?;
        for (row, &group) in group_indices.iter().enumerate() {
            for i in row_range(lists, row) {
                if let Some(id) = item_ids[i] {
                    self.sets.insert(group, id);
                }
            }
        }
        Ok(())
    }

    fn convert_to_state(
        &self,
        values: &[ArrayRef],
        opt_filter: Option<&BooleanArray>,
    ) -> Result<Vec<ArrayRef>> {
        let Some(column) = values.first() else {
            return internal_err!("{NAME}: missing argument");
        };
        // One list per row: the value itself, or empty for NULL and filtered-out rows.
        let keep: BooleanArray = (0..column.len())
            .map(|row| {
                let passes = opt_filter.is_none_or(|f| f.is_valid(row) && f.value(row));
                Some(passes && column.is_valid(row))
            })
            .collect();
        let lengths = keep.values().iter().map(usize::from).collect();
        let kept = filter(column.as_ref(), &keep)?;
        let items = self.ids.kind().to_state_values(&kept)?;
        Ok(vec![list_array(lengths, items)])
    }

    fn size(&self) -> usize {
        std::mem::size_of_val(self) + self.ids.size() + self.sets.size()
    }
}

impl GroupStore for DistinctGroups {
    fn ensure_groups(&mut self, n: usize) {
        self.sets.ensure_groups(n);
    }
}

impl AggregateFunction for DistinctCountFunction {
    const NAME: &'static str = NAME;
    type Groups = DistinctGroups;

    fn coerce_types(arg_types: &[DataType]) -> Result<Vec<DataType>> {
        KeyKind::one_argument(NAME, arg_types)
    }

    fn return_type(_arg_types: &[DataType]) -> Result<DataType> {
        Ok(DataType::Int64)
    }

    fn state_fields(args: &StateFieldsArgs) -> Result<Vec<FieldRef>> {
        let kind = KeyKind::of_first(NAME, args.input_fields)?;
        Ok(vec![list_field(
            &format!("{}[values]", args.name),
            kind.state_type(),
        )])
    }

    fn groups(args: &AccumulatorArgs) -> Result<Factory<DistinctGroups>> {
        let kind = KeyKind::of_first(NAME, args.expr_fields)?;
        Ok(Box::new(move || DistinctGroups::new(kind)))
    }

    fn empty(_data_type: &DataType) -> Result<ScalarValue> {
        Ok(ScalarValue::Int64(Some(0)))
    }
}
