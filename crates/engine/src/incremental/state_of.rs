//! `state_of[f](args…)`: the partial state of aggregate `f` as one struct value per group —
//! what a day's summary keeps of `f` (DataFusion's partial aggregation, made a result).
//!
//! Arguments, coercion and accumulation are `f`'s own; the result is the struct of `f`'s
//! state columns (`f0`, `f1`, … in `f`'s order), which [`super::merge_of`] merges back. The
//! function holds `f` itself, so it is only for plans built and run in this process (an
//! incremental run is local; docs/incremental.md).

use std::sync::Arc;

use datafusion::arrow::array::{ArrayRef, BooleanArray};
use datafusion::arrow::datatypes::{DataType, Field, FieldRef, Fields};
use datafusion::common::{Result, internal_err};
use datafusion::logical_expr::function::{AccumulatorArgs, StateFieldsArgs};
use datafusion::logical_expr::{
    Accumulator, AggregateUDF, AggregateUDFImpl, EmitTo, GroupsAccumulator, Signature,
};

use super::inner::{InnerCall, renamed_state_fields, state_fields, state_struct};

/// The summary state of one aggregate function.
#[derive(Debug)]
pub struct StateOf {
    inner: Arc<AggregateUDF>,
    /// `state_of[<inner name>]`.
    name: String,
}

impl PartialEq for StateOf {
    fn eq(&self, other: &Self) -> bool {
        self.inner == other.inner
    }
}

impl Eq for StateOf {}

impl std::hash::Hash for StateOf {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.name.hash(state);
    }
}

impl StateOf {
    /// `state_of` of `inner`, as a function to call.
    pub fn udaf(inner: Arc<AggregateUDF>) -> AggregateUDF {
        let name = format!("state_of[{}]", inner.name());
        AggregateUDF::new_from_impl(StateOf { inner, name })
    }

    /// The wrapped function.
    pub fn inner(&self) -> &Arc<AggregateUDF> {
        &self.inner
    }

    /// The struct of `inner`'s state columns for these arguments.
    fn struct_type(&self, arg_fields: &[FieldRef]) -> Result<DataType> {
        Ok(DataType::Struct(state_fields(&self.inner, arg_fields)?))
    }
}

impl AggregateUDFImpl for StateOf {
    fn name(&self) -> &str {
        &self.name
    }

    fn signature(&self) -> &Signature {
        self.inner.signature()
    }

    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        self.inner.coerce_types(arg_types)
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        internal_err!("{} is typed by its argument fields", self.name)
    }

    fn return_field(&self, arg_fields: &[FieldRef]) -> Result<FieldRef> {
        Ok(Arc::new(Field::new(
            self.name(),
            self.struct_type(arg_fields)?,
            false,
        )))
    }

    fn state_fields(&self, args: StateFieldsArgs) -> Result<Vec<FieldRef>> {
        let fields = state_fields(&self.inner, args.input_fields)?;
        Ok(renamed_state_fields(args.name, &fields))
    }

    fn accumulator(&self, _args: AccumulatorArgs) -> Result<Box<dyn Accumulator>> {
        internal_err!("{} runs only in a GROUP BY", self.name)
    }

    fn groups_accumulator_supported(&self, _args: AccumulatorArgs) -> bool {
        true
    }

    fn create_groups_accumulator(
        &self,
        args: AccumulatorArgs,
    ) -> Result<Box<dyn GroupsAccumulator>> {
        let fields = state_fields(&self.inner, args.expr_fields)?;
        Ok(Box::new(StateGroups {
            inner: InnerCall::from_outer(&self.inner, &args).groups_accumulator()?,
            fields,
        }))
    }
}

/// The inner function's grouped state; evaluated as its state struct.
struct StateGroups {
    inner: Box<dyn GroupsAccumulator>,
    fields: Fields,
}

impl GroupsAccumulator for StateGroups {
    fn update_batch(
        &mut self,
        values: &[ArrayRef],
        group_indices: &[usize],
        opt_filter: Option<&BooleanArray>,
        total_num_groups: usize,
    ) -> Result<()> {
        self.inner
            .update_batch(values, group_indices, opt_filter, total_num_groups)
    }

    fn evaluate(&mut self, emit_to: EmitTo) -> Result<ArrayRef> {
        state_struct(&self.fields, self.inner.state(emit_to)?)
    }

    fn state(&mut self, emit_to: EmitTo) -> Result<Vec<ArrayRef>> {
        self.inner.state(emit_to)
    }

    fn merge_batch(
        &mut self,
        values: &[ArrayRef],
        group_indices: &[usize],
        total_num_groups: usize,
    ) -> Result<()> {
        self.inner
            .merge_batch(values, group_indices, total_num_groups)
    }

    fn convert_to_state(
        &self,
        _values: &[ArrayRef],
        _opt_filter: Option<&BooleanArray>,
    ) -> Result<Vec<ArrayRef>> {
        internal_err!("no conversion of rows to states")
    }

    fn size(&self) -> usize {
        self.inner.size()
    }
}
