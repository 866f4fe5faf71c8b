//! `retention(c1, …, cN)`: ClickHouse's `retention` — for each group, whether the first
//! condition was met, and for each later condition whether it was met *as well as* the
//! first.
//!
//! # Arguments
//! `c1 … cN`: 1 to 32 boolean conditions (NULL counts as not met).
//!
//! # Result
//! A list of N `TINYINT UNSIGNED` values (0 or 1): element 1 is `c1` met by any row; element
//! k is `c1` met by any row and `ck` met by any row. An empty group gives all zeros.
//!
//! # Example
//! ```sql
//! SELECT sum(r[1]) AS day0, sum(r[2]) AS day1
//! FROM (SELECT user_id, retention(date = '2026-11-01', date = '2026-11-02') AS r
//!       FROM events GROUP BY user_id);
//! ```

use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, AsArray, BooleanArray, UInt8Array, UInt32Array};
use datafusion::arrow::datatypes::{DataType, Field, FieldRef, UInt32Type};
use datafusion::common::{Result, ScalarValue, internal_err, plan_err};
use datafusion::logical_expr::function::{AccumulatorArgs, StateFieldsArgs};
use datafusion::logical_expr::{EmitTo, GroupsAccumulator};

use crate::support::aggregate::{AggregateFunction, GroupedAggregate};
use crate::support::lists::list_array;
use crate::support::single_group::{Factory, GroupStore};

const NAME: &str = "retention";
const MAX_CONDITIONS: usize = 32;

/// The `retention` aggregate.
pub type Retention = GroupedAggregate<RetentionFunction>;

/// What `retention` takes, returns and keeps per group.
#[derive(Debug)]
pub struct RetentionFunction;

fn item_field() -> Arc<Field> {
    Arc::new(Field::new_list_field(DataType::UInt8, false))
}

/// One bitmask per group: which conditions any row met.
#[derive(Debug)]
pub struct RetentionGroups {
    conditions: usize,
    met: Vec<u32>,
}

impl RetentionGroups {
    fn new(conditions: usize) -> Self {
        Self {
            conditions,
            met: Vec::new(),
        }
    }

    fn row_masks(
        &self,
        values: &[ArrayRef],
        opt_filter: Option<&BooleanArray>,
    ) -> Result<Vec<u32>> {
        let rows = values.first().map_or(0, |v| v.len());
        let mut masks = vec![0u32; rows];
        for (bit, column) in values.iter().enumerate().take(self.conditions) {
            let Some(column) = column.as_boolean_opt() else {
                return internal_err!("{NAME}: condition {} is not BOOLEAN", bit + 1);
            };
            for (row, mask) in masks.iter_mut().enumerate() {
                if column.is_valid(row) && column.value(row) {
                    *mask |= 1 << bit;
                }
            }
        }
        if let Some(filter) = opt_filter {
            for (row, mask) in masks.iter_mut().enumerate() {
                if !(filter.is_valid(row) && filter.value(row)) {
                    *mask = 0;
                }
            }
        }
        Ok(masks)
    }

    fn results(&self, masks: &[u32]) -> ArrayRef {
        let mut values = Vec::with_capacity(masks.len() * self.conditions);
        for &mask in masks {
            let first = mask & 1 != 0;
            values.push(u8::from(first));
            for bit in 1..self.conditions {
                values.push(u8::from(first && mask & (1 << bit) != 0));
            }
        }
        list_array(
            vec![self.conditions; masks.len()],
            Arc::new(UInt8Array::from(values)),
        )
    }
}

impl GroupsAccumulator for RetentionGroups {
    fn update_batch(
        &mut self,
        values: &[ArrayRef],
        group_indices: &[usize],
        opt_filter: Option<&BooleanArray>,
        total_num_groups: usize,
    ) -> Result<()> {
        self.ensure_groups(total_num_groups);
        let masks = self.row_masks(values, opt_filter)?;
        for (&group, mask) in group_indices.iter().zip(masks) {
            self.met[group] |= mask;
        }
        Ok(())
    }

    fn evaluate(&mut self, emit_to: EmitTo) -> Result<ArrayRef> {
        let masks = emit_to.take_needed(&mut self.met);
        Ok(self.results(&masks))
    }

    fn state(&mut self, emit_to: EmitTo) -> Result<Vec<ArrayRef>> {
        Ok(vec![Arc::new(UInt32Array::from(
            emit_to.take_needed(&mut self.met),
        ))])
    }

    fn merge_batch(
        &mut self,
        values: &[ArrayRef],
        group_indices: &[usize],
        total_num_groups: usize,
    ) -> Result<()> {
        self.ensure_groups(total_num_groups);
        let Some(states) = values
            .first()
            .and_then(|v| v.as_primitive_opt::<UInt32Type>())
        else {
            return internal_err!("{NAME}: state is not UINT32");
        };
        for (row, &group) in group_indices.iter().enumerate() {
            if states.is_valid(row) {
                self.met[group] |= states.value(row);
            }
        }
        Ok(())
    }

    fn convert_to_state(
        &self,
        values: &[ArrayRef],
        opt_filter: Option<&BooleanArray>,
    ) -> Result<Vec<ArrayRef>> {
        Ok(vec![Arc::new(UInt32Array::from(
            self.row_masks(values, opt_filter)?,
        ))])
    }

    fn size(&self) -> usize {
        std::mem::size_of_val(self) + self.met.capacity() * std::mem::size_of::<u32>()
    }
}

impl GroupStore for RetentionGroups {
    fn ensure_groups(&mut self, n: usize) {
        if self.met.len() < n {
            self.met.resize(n, 0);
        }
    }
}

impl AggregateFunction for RetentionFunction {
    const NAME: &'static str = NAME;
    type Groups = RetentionGroups;

    fn coerce_types(arg_types: &[DataType]) -> Result<Vec<DataType>> {
        if arg_types.is_empty() || arg_types.len() > MAX_CONDITIONS {
            return plan_err!(
                "{NAME} takes 1 to {MAX_CONDITIONS} boolean conditions, got {} arguments",
                arg_types.len()
            );
        }
        arg_types
            .iter()
            .enumerate()
            .map(|(i, t)| match t {
                DataType::Boolean | DataType::Null => Ok(DataType::Boolean),
                other => plan_err!("{NAME}: argument {} must be BOOLEAN, got {other}", i + 1),
            })
            .collect()
    }

    fn return_type(_arg_types: &[DataType]) -> Result<DataType> {
        Ok(DataType::List(item_field()))
    }

    fn state_fields(args: &StateFieldsArgs) -> Result<Vec<FieldRef>> {
        Ok(vec![Arc::new(Field::new(
            format!("{}[met]", args.name),
            DataType::UInt32,
            false,
        ))])
    }

    fn groups(args: &AccumulatorArgs) -> Result<Factory<RetentionGroups>> {
        let conditions = args.exprs.len();
        Ok(Box::new(move || RetentionGroups::new(conditions)))
    }

    fn empty(_data_type: &DataType) -> Result<ScalarValue> {
        ScalarValue::try_from_array(&RetentionGroups::new(1).results(&[0]), 0)
    }
}
