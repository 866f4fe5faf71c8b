//! Calling the aggregate that [`super::state_of`] and [`super::merge_of`] wrap: its state
//! columns and its grouped accumulator, for given argument expressions and fields.

use std::sync::Arc;

use datafusion::arrow::array::{ArrayRef, StructArray};
use datafusion::arrow::datatypes::{Field, FieldRef, Fields, Schema, SchemaRef};
use datafusion::common::Result;
use datafusion::logical_expr::function::{AccumulatorArgs, StateFieldsArgs};
use datafusion::logical_expr::{AggregateUDF, GroupsAccumulator};
use datafusion::physical_expr::GroupsAccumulatorAdapter;
use datafusion::physical_expr::PhysicalExpr;

/// The state columns of `udaf` called with `arg_fields`, as stored in a summary: named
/// `f0`, `f1`, … and nullable (the names of a function's state columns are its own
/// business; their order is its contract).
pub(crate) fn state_fields(udaf: &AggregateUDF, arg_fields: &[FieldRef]) -> Result<Fields> {
    let return_field = udaf.return_field(arg_fields)?;
    let fields = udaf.state_fields(StateFieldsArgs {
        name: udaf.name(),
        input_fields: arg_fields,
        return_field,
        ordering_fields: &[],
        is_distinct: false,
    })?;
    Ok(fields
        .iter()
        .enumerate()
        .map(|(i, f)| Field::new(format!("f{i}"), f.data_type().clone(), true))
        .collect())
}

/// State columns as one struct of the declared `fields`: a column of another type is cast
/// (a function may emit, say, a list whose items it declared nullable as non-nullable ones).
pub(crate) fn state_struct(fields: &Fields, columns: Vec<ArrayRef>) -> Result<ArrayRef> {
    let columns = columns
        .into_iter()
        .zip(fields.iter())
        .map(|(column, field)| {
            if column.data_type() == field.data_type() {
                Ok(column)
            } else {
                datafusion::arrow::compute::cast(&column, field.data_type())
            }
        })
        .collect::<std::result::Result<Vec<_>, _>>()?;
    Ok(Arc::new(StructArray::try_new(
        fields.clone(),
        columns,
        None,
    )?))
}

/// The wrapper's own state columns (when DataFusion aggregates it in two stages): the
/// inner ones, named after the wrapper's call so that two calls never share a name.
pub(crate) fn renamed_state_fields(name: &str, fields: &Fields) -> Vec<FieldRef> {
    fields
        .iter()
        .enumerate()
        .map(|(i, f)| {
            Arc::new(Field::new(
                format!("{name}[{i}]"),
                f.data_type().clone(),
                true,
            ))
        })
        .collect()
}

impl std::fmt::Debug for InnerCall {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.udaf.name())
    }
}

/// One call of the wrapped aggregate: what its accumulator is built from.
#[derive(Clone)]
pub(crate) struct InnerCall {
    pub udaf: Arc<AggregateUDF>,
    /// Its arguments (constant ones are read when the accumulator is built).
    pub exprs: Vec<Arc<dyn PhysicalExpr>>,
    pub fields: Vec<FieldRef>,
    pub schema: SchemaRef,
    pub name: String,
    pub ignore_nulls: bool,
}

impl InnerCall {
    /// The call as the outer aggregate was called (`state_of`: the same arguments).
    pub(crate) fn from_outer(udaf: &Arc<AggregateUDF>, args: &AccumulatorArgs) -> Self {
        InnerCall {
            udaf: Arc::clone(udaf),
            exprs: args.exprs.to_vec(),
            fields: args.expr_fields.to_vec(),
            schema: Arc::new(args.schema.clone()),
            name: args.name.to_string(),
            ignore_nulls: args.ignore_nulls,
        }
    }

    /// A call with these argument expressions and fields, over no input columns.
    pub(crate) fn detached(
        udaf: Arc<AggregateUDF>,
        exprs: Vec<Arc<dyn PhysicalExpr>>,
        fields: Vec<FieldRef>,
    ) -> Self {
        let name = udaf.name().to_string();
        InnerCall {
            udaf,
            exprs,
            fields,
            schema: Arc::new(Schema::empty()),
            name,
            ignore_nulls: false,
        }
    }

    fn with_args<T>(&self, f: impl FnOnce(AccumulatorArgs) -> Result<T>) -> Result<T> {
        let return_field = self.udaf.return_field(&self.fields)?;
        f(AccumulatorArgs {
            return_field,
            schema: &self.schema,
            ignore_nulls: self.ignore_nulls,
            order_bys: &[],
            is_reversed: false,
            name: &self.name,
            is_distinct: false,
            exprs: &self.exprs,
            expr_fields: &self.fields,
        })
    }

    /// The inner function's grouped accumulator (its row accumulator behind DataFusion's
    /// adapter when it has none).
    pub(crate) fn groups_accumulator(&self) -> Result<Box<dyn GroupsAccumulator>> {
        let grouped = self.with_args(|args| Ok(self.udaf.groups_accumulator_supported(args)))?;
        if grouped {
            return self.with_args(|args| self.udaf.create_groups_accumulator(args));
        }
        let call = self.clone();
        Ok(Box::new(GroupsAccumulatorAdapter::new(move || {
            call.with_args(|args| call.udaf.accumulator(args))
        })))
    }
}
