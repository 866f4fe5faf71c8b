//! The DataFusion side of every segmint aggregate, written once.
//!
//! A function says what is its own — name, argument checks, result type, state columns, and
//! a factory of grouped state — by implementing [`AggregateFunction`];
//! [`GroupedAggregate`] turns that into DataFusion's `AggregateUDFImpl`. The one grouped
//! accumulator serves `GROUP BY` directly and plain or window aggregation through
//! [`SingleGroup`], so each function has one implementation of its semantics.

use std::fmt::Debug;
use std::hash::{Hash, Hasher};
use std::marker::PhantomData;

use datafusion::arrow::datatypes::{DataType, FieldRef};
use datafusion::common::{Result, ScalarValue};
use datafusion::logical_expr::expr::AggregateFunction as AggregateCall;
use datafusion::logical_expr::function::{
    AccumulatorArgs, AggregateFunctionSimplification, StateFieldsArgs,
};
use datafusion::logical_expr::{
    Accumulator, AggregateUDFImpl, Expr, GroupsAccumulator, Signature, Volatility,
};

use super::single_group::{Factory, GroupStore, SingleGroup};

/// What makes one aggregate function itself.
pub trait AggregateFunction: Debug + Send + Sync + 'static {
    /// The SQL name.
    const NAME: &'static str;
    /// Whether the result can be NULL.
    const NULLABLE: bool = false;
    /// Whether [`AggregateFunction::validate`] checks logical calls at plan time.
    const VALIDATES: bool = false;
    /// The grouped state.
    type Groups: GroupStore + Send + Sync + 'static;

    /// Check the argument types; return the types to coerce them to.
    fn coerce_types(arg_types: &[DataType]) -> Result<Vec<DataType>>;
    /// The result type for these (coerced) argument types.
    fn return_type(arg_types: &[DataType]) -> Result<DataType>;
    /// The state columns exchanged between partial and final aggregation.
    fn state_fields(args: &StateFieldsArgs) -> Result<Vec<FieldRef>>;
    /// Empty grouped state for one call, its constant arguments read once.
    fn groups(args: &AccumulatorArgs) -> Result<Factory<Self::Groups>>;
    /// The result of a group without rows.
    fn empty(data_type: &DataType) -> Result<ScalarValue> {
        ScalarValue::try_from(data_type)
    }
    /// Plan-time checks of a logical call (constant arguments), when `VALIDATES`.
    fn validate(_args: &[Expr]) -> Result<()> {
        Ok(())
    }
}

/// An [`AggregateFunction`] as a DataFusion aggregate.
#[derive(Debug)]
pub struct GroupedAggregate<F> {
    signature: Signature,
    function: PhantomData<F>,
}

impl<F> Default for GroupedAggregate<F> {
    fn default() -> Self {
        Self {
            signature: Signature::user_defined(Volatility::Immutable),
            function: PhantomData,
        }
    }
}

impl<F: AggregateFunction> PartialEq for GroupedAggregate<F> {
    fn eq(&self, other: &Self) -> bool {
        self.signature == other.signature
    }
}

impl<F: AggregateFunction> Eq for GroupedAggregate<F> {}

impl<F: AggregateFunction> Hash for GroupedAggregate<F> {
    fn hash<H: Hasher>(&self, state: &mut H) {
        F::NAME.hash(state);
        self.signature.hash(state);
    }
}

impl<F: AggregateFunction> AggregateUDFImpl for GroupedAggregate<F> {
    fn name(&self) -> &str {
        F::NAME
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        F::coerce_types(arg_types)
    }

    fn return_type(&self, arg_types: &[DataType]) -> Result<DataType> {
        F::return_type(arg_types)
    }

    fn is_nullable(&self) -> bool {
        F::NULLABLE
    }

    fn state_fields(&self, args: StateFieldsArgs) -> Result<Vec<FieldRef>> {
        F::state_fields(&args)
    }

    fn accumulator(&self, args: AccumulatorArgs) -> Result<Box<dyn Accumulator>> {
        Ok(Box::new(SingleGroup::new(F::groups(&args)?)))
    }

    fn groups_accumulator_supported(&self, _args: AccumulatorArgs) -> bool {
        true
    }

    fn create_groups_accumulator(
        &self,
        args: AccumulatorArgs,
    ) -> Result<Box<dyn GroupsAccumulator>> {
        Ok(Box::new(F::groups(&args)?()))
    }

    fn default_value(&self, data_type: &DataType) -> Result<ScalarValue> {
        F::empty(data_type)
    }

    fn simplify(&self) -> Option<AggregateFunctionSimplification> {
        if !F::VALIDATES {
            return None;
        }
        Some(Box::new(|call: AggregateCall, _info| {
            F::validate(&call.params.args)?;
            Ok(Expr::AggregateFunction(call))
        }))
    }
}
