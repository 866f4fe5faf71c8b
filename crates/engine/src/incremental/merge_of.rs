//! `merge_of[f](state) FILTER (days)`: the result of aggregate `f` from the summaries' state
//! structs of the days its window covers — DataFusion's final aggregation, as an ordinary
//! aggregate so that each call merges its own days (a `FILTER`) in one `GROUP BY`.
//! `merged_state_of[f](state)` merges the same way but gives the merged state struct: what a
//! block of days keeps ([`super::blocks`]).
//!
//! The states arrive as stored (Delta-compatible types, see [`super::stored`]) and are read
//! back as `f`'s state columns before `f` merges them. `f`'s constant arguments (windows,
//! modes, the as-of) are held with the call; its column arguments are not needed to merge.

use std::sync::Arc;

use datafusion::arrow::array::{
    Array, ArrayRef, AsArray, BooleanArray, Scalar, UInt32Array, new_empty_array,
};
use datafusion::arrow::compute::kernels::zip::zip;
use datafusion::arrow::compute::{and, filter, is_not_null, take};
use datafusion::arrow::datatypes::{DataType, FieldRef, Fields};
use datafusion::common::{Result, ScalarValue, internal_err};
use datafusion::logical_expr::function::{AccumulatorArgs, StateFieldsArgs};
use datafusion::logical_expr::{
    Accumulator, AggregateUDF, AggregateUDFImpl, EmitTo, GroupsAccumulator, Signature, Volatility,
};

use super::inner::{InnerCall, renamed_state_fields, state_fields, state_struct};
use super::stored::restored;

/// The final aggregation of one summarised aggregate.
#[derive(Debug)]
pub struct MergeOf {
    call: InnerCall,
    /// `f`'s state columns.
    state: Fields,
    /// `merge_of[<f>]`.
    name: String,
    /// The summary column it merges (tells calls apart).
    column: String,
    /// Gives the merged state struct instead of `f`'s result.
    as_state: bool,
    signature: Signature,
}

impl PartialEq for MergeOf {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name && self.column == other.column && self.as_state == other.as_state
    }
}

impl Eq for MergeOf {}

impl std::hash::Hash for MergeOf {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.name.hash(state);
        self.column.hash(state);
        self.as_state.hash(state);
    }
}

impl MergeOf {
    /// The merge of `call`'s states kept in summary column `column`.
    pub fn udaf(call: InnerCall, column: &str) -> Result<AggregateUDF> {
        Self::udaf_of(call, column, false)
    }

    /// The merged state struct of `call`'s states kept in summary column `column`.
    pub fn state_udaf(call: InnerCall, column: &str) -> Result<AggregateUDF> {
        Self::udaf_of(call, column, true)
    }

    fn udaf_of(call: InnerCall, column: &str, as_state: bool) -> Result<AggregateUDF> {
        let state = state_fields(&call.udaf, &call.fields)?;
        let kind = if as_state {
            "merged_state_of"
        } else {
            "merge_of"
        };
        Ok(AggregateUDF::new_from_impl(MergeOf {
            name: format!("{kind}[{}]", call.udaf.name()),
            call,
            state,
            column: column.to_string(),
            as_state,
            signature: Signature::any(1, Volatility::Immutable),
        }))
    }
}

impl AggregateUDFImpl for MergeOf {
    fn name(&self) -> &str {
        &self.name
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        if self.as_state {
            return Ok(DataType::Struct(self.state.clone()));
        }
        Ok(self
            .call
            .udaf
            .return_field(&self.call.fields)?
            .data_type()
            .clone())
    }

    fn return_field(&self, arg_fields: &[FieldRef]) -> Result<FieldRef> {
        if self.as_state {
            let types: Vec<DataType> = arg_fields.iter().map(|f| f.data_type().clone()).collect();
            return Ok(Arc::new(datafusion::arrow::datatypes::Field::new(
                self.name(),
                self.return_type(&types)?,
                false,
            )));
        }
        let inner = self.call.udaf.return_field(&self.call.fields)?;
        Ok(Arc::new(inner.as_ref().clone().with_name(self.name())))
    }

    fn is_nullable(&self) -> bool {
        !self.as_state && self.call.udaf.is_nullable()
    }

    fn state_fields(&self, args: StateFieldsArgs) -> Result<Vec<FieldRef>> {
        Ok(renamed_state_fields(args.name, &self.state))
    }

    fn accumulator(&self, _args: AccumulatorArgs) -> Result<Box<dyn Accumulator>> {
        internal_err!("{} runs only in a GROUP BY", self.name)
    }

    fn groups_accumulator_supported(&self, _args: AccumulatorArgs) -> bool {
        true
    }

    fn create_groups_accumulator(
        &self,
        _args: AccumulatorArgs,
    ) -> Result<Box<dyn GroupsAccumulator>> {
        Ok(Box::new(MergeGroups::new(
            self.call.clone(),
            self.state.clone(),
            self.as_state,
        )?))
    }
}

/// What `call`'s function gives a group without rows.
pub fn value_over_no_rows(call: &InnerCall) -> Result<ScalarValue> {
    let mut fresh = untouched(call)?;
    ScalarValue::try_from_array(&fresh.evaluate(EmitTo::All)?, 0)
}

/// A fresh accumulator of `call`'s function that saw no rows, for one group.
fn untouched(call: &InnerCall) -> Result<Box<dyn GroupsAccumulator>> {
    let mut fresh = call.groups_accumulator()?;
    let empty: Vec<ArrayRef> = call
        .fields
        .iter()
        .map(|f| new_empty_array(f.data_type()))
        .collect();
    // An (empty) filter, so that the group is tracked as not seen.
    fresh.update_batch(
        &empty,
        &[],
        Some(&BooleanArray::from(Vec::<bool>::new())),
        1,
    )?;
    Ok(fresh)
}

/// The inner function's grouped state, fed with stored states.
///
/// The inner accumulator numbers its own groups, in the order they first receive a state:
/// DataFusion's accumulators assume every group below `total_num_groups` has had a row (they
/// skip tracking which groups saw a value while no NULL arrives), which a `FILTER` applied
/// here would break — a group whose rows all fall outside the days would read as seen,
/// with the accumulator's initial value. Groups that never receive a state get the result
/// of a fresh accumulator that saw no rows.
struct MergeGroups {
    inner: Box<dyn GroupsAccumulator>,
    call: InnerCall,
    state: Fields,
    /// The inner group of each group (`NONE`: none yet).
    inner_of: Vec<u32>,
    inner_groups: usize,
    /// Evaluates to the merged state struct.
    as_state: bool,
}

const NONE: u32 = u32::MAX;

impl MergeGroups {
    fn new(call: InnerCall, state: Fields, as_state: bool) -> Result<Self> {
        Ok(MergeGroups {
            inner: call.groups_accumulator()?,
            call,
            state,
            inner_of: Vec::new(),
            inner_groups: 0,
            as_state,
        })
    }

    /// Merge `columns` (state columns as `f` declares them) into `groups`.
    fn merge_rows(
        &mut self,
        columns: &[ArrayRef],
        groups: impl Iterator<Item = usize>,
        total_num_groups: usize,
    ) -> Result<()> {
        if self.inner_of.len() < total_num_groups {
            self.inner_of.resize(total_num_groups, NONE);
        }
        let mut inner_groups = Vec::with_capacity(columns.first().map_or(0, |c| c.len()));
        for group in groups {
            let slot = &mut self.inner_of[group];
            if *slot == NONE {
                *slot = self.inner_groups as u32;
                self.inner_groups += 1;
            }
            inner_groups.push(*slot as usize);
        }
        self.inner
            .merge_batch(columns, &inner_groups, self.inner_groups)
    }

    /// Per group (in DataFusion's numbering), the inner group's row of `inner`, or `empty`'s
    /// only row for groups without one.
    fn regroup(&self, inner: &[ArrayRef], empty: &[ArrayRef]) -> Result<Vec<ArrayRef>> {
        // Groups without an inner group take row 0 (of `empty` when no group has one).
        let indices = UInt32Array::from_iter_values(
            self.inner_of
                .iter()
                .map(|g| if *g == NONE { 0 } else { *g }),
        );
        if self.inner_groups == 0 {
            return Ok(empty
                .iter()
                .map(|e| take(e, &indices, None))
                .collect::<std::result::Result<_, _>>()?);
        }
        let present = BooleanArray::from_iter(self.inner_of.iter().map(|g| Some(*g != NONE)));
        inner
            .iter()
            .zip(empty)
            .map(|(values, empty)| {
                let taken = take(values, &indices, None)?;
                Ok(zip(&present, &taken, &Scalar::new(empty.clone()))?)
            })
            .collect()
    }

    /// The first `n` groups as an accumulator of their own; this one keeps the others,
    /// numbered from 0 (`EmitTo::First`, used when an aggregation that spilled streams its
    /// groups out in order).
    fn split_off_first(&mut self, n: usize) -> Result<MergeGroups> {
        let states = self.inner.state(EmitTo::All)?;
        let inner_of = std::mem::take(&mut self.inner_of);
        self.inner = self.call.groups_accumulator()?;
        self.inner_groups = 0;
        let n = n.min(inner_of.len());
        let mut first = MergeGroups::new(self.call.clone(), self.state.clone(), self.as_state)?;
        first.refill(&states, &inner_of[..n])?;
        self.refill(&states, &inner_of[n..])?;
        Ok(first)
    }

    /// Merge into this (emptied) accumulator, as its groups `0..inner_of.len()`, the rows
    /// `inner_of` names of `states` (`NONE`: a group without a state).
    fn refill(&mut self, states: &[ArrayRef], inner_of: &[u32]) -> Result<()> {
        let (groups, rows): (Vec<usize>, Vec<u32>) = inner_of
            .iter()
            .enumerate()
            .filter(|(_, row)| **row != NONE)
            .map(|(group, row)| (group, *row))
            .unzip();
        let rows = UInt32Array::from(rows);
        let columns = states
            .iter()
            .map(|c| take(c, &rows, None))
            .collect::<std::result::Result<Vec<_>, _>>()?;
        self.merge_rows(&columns, groups.into_iter(), inner_of.len())
    }

    /// The merged states as one struct column.
    fn state_struct(&mut self, emit_to: EmitTo) -> Result<ArrayRef> {
        let columns = self.state(emit_to)?;
        state_struct(&self.state, columns)
    }

    fn reset(&mut self) {
        self.inner_of.clear();
        self.inner_groups = 0;
    }
}

impl GroupsAccumulator for MergeGroups {
    fn update_batch(
        &mut self,
        values: &[ArrayRef],
        group_indices: &[usize],
        opt_filter: Option<&BooleanArray>,
        total_num_groups: usize,
    ) -> Result<()> {
        let Some(states) = values.first().and_then(|v| v.as_struct_opt()) else {
            return internal_err!("merge_of takes a state struct");
        };
        let present = is_not_null(states)?;
        let kept = match opt_filter {
            Some(days) => and(days, &present)?,
            None => present,
        };
        let mut columns = Vec::with_capacity(self.state.len());
        for (column, field) in states.columns().iter().zip(self.state.iter()) {
            columns.push(restored(column, field.data_type())?);
        }
        if kept.true_count() == kept.len() {
            return self.merge_rows(&columns, group_indices.iter().copied(), total_num_groups);
        }
        let columns = columns
            .iter()
            .map(|c| filter(c, &kept))
            .collect::<std::result::Result<Vec<_>, _>>()?;
        let groups = group_indices
            .iter()
            .zip(kept.iter())
            .filter_map(|(g, k)| (k == Some(true)).then_some(*g));
        self.merge_rows(&columns, groups, total_num_groups)
    }

    fn evaluate(&mut self, emit_to: EmitTo) -> Result<ArrayRef> {
        if let EmitTo::First(n) = emit_to {
            return self.split_off_first(n)?.evaluate(EmitTo::All);
        }
        if self.as_state {
            return self.state_struct(emit_to);
        }
        let inner = self.inner.evaluate(EmitTo::All)?;
        let empty = untouched(&self.call)?.evaluate(EmitTo::All)?;
        let result = self.regroup(&[inner], &[empty])?;
        self.reset();
        result
            .into_iter()
            .next()
            .ok_or_else(|| datafusion::error::DataFusionError::Internal("no result".into()))
    }

    fn state(&mut self, emit_to: EmitTo) -> Result<Vec<ArrayRef>> {
        if let EmitTo::First(n) = emit_to {
            return self.split_off_first(n)?.state(EmitTo::All);
        }
        let inner = self.inner.state(EmitTo::All)?;
        let empty = untouched(&self.call)?.state(EmitTo::All)?;
        let states = self.regroup(&inner, &empty)?;
        self.reset();
        Ok(states)
    }

    fn merge_batch(
        &mut self,
        values: &[ArrayRef],
        group_indices: &[usize],
        total_num_groups: usize,
    ) -> Result<()> {
        self.merge_rows(values, group_indices.iter().copied(), total_num_groups)
    }

    fn convert_to_state(
        &self,
        _values: &[ArrayRef],
        _opt_filter: Option<&BooleanArray>,
    ) -> Result<Vec<ArrayRef>> {
        internal_err!("no conversion of rows to states")
    }

    fn size(&self) -> usize {
        self.inner.size() + self.inner_of.capacity() * std::mem::size_of::<u32>()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use datafusion::arrow::array::Int64Array;
    use datafusion::arrow::datatypes::Field;
    use datafusion::physical_expr::expressions::Literal;

    fn sum_of_states() -> MergeGroups {
        let sum = datafusion::functions_aggregate::sum::sum_udaf();
        let field = Arc::new(Field::new("x", DataType::Int64, true));
        let call = InnerCall::detached(
            sum,
            vec![Arc::new(Literal::new(ScalarValue::Int64(None)))],
            vec![field],
        );
        let state = state_fields(&call.udaf, &call.fields).unwrap();
        MergeGroups::new(call, state, false).unwrap()
    }

    fn values(array: ArrayRef) -> Vec<Option<i64>> {
        array
            .as_any()
            .downcast_ref::<Int64Array>()
            .unwrap()
            .iter()
            .collect()
    }

    /// An aggregation that spilled streams its groups out in order (`EmitTo::First`): the
    /// first groups leave with their values (a group without a state gets the value over no
    /// rows), the others stay, numbered from 0, and go on merging.
    #[test]
    fn the_first_groups_leave_and_the_others_go_on() {
        let mut groups = sum_of_states();
        let states: ArrayRef = Arc::new(Int64Array::from(vec![1, 2, 3, 4]));
        groups.merge_batch(&[states], &[0, 2, 2, 3], 4).unwrap();
        assert_eq!(
            values(groups.evaluate(EmitTo::First(2)).unwrap()),
            [Some(1), None]
        );
        let more: ArrayRef = Arc::new(Int64Array::from(vec![10, 20]));
        groups.merge_batch(&[more], &[1, 2], 3).unwrap();
        assert_eq!(
            values(groups.evaluate(EmitTo::All).unwrap()),
            [Some(5), Some(14), Some(20)]
        );
    }
}
