//! A plain [`Accumulator`] (no GROUP BY, or a window aggregate) built from a
//! [`GroupsAccumulator`] run with a single group, so each function has one implementation.

use std::fmt::Debug;

use datafusion::arrow::array::ArrayRef;
use datafusion::common::{Result, ScalarValue};
use datafusion::logical_expr::{Accumulator, EmitTo, GroupsAccumulator};

/// A grouped accumulator that can be asked to hold at least `n` groups.
pub trait GroupStore: GroupsAccumulator {
    /// Make groups `0..n` exist (empty) so state and results have `n` rows.
    fn ensure_groups(&mut self, n: usize);
}

/// Builds fresh, empty copies of the grouped accumulator.
pub type Factory<G> = Box<dyn Fn() -> G + Send + Sync>;

/// One group's worth of a [`GroupsAccumulator`].
pub(crate) struct SingleGroup<G> {
    inner: G,
    fresh: Factory<G>,
}

impl<G: GroupStore> SingleGroup<G> {
    pub(crate) fn new(fresh: Factory<G>) -> Self {
        let mut inner = fresh();
        inner.ensure_groups(1);
        Self { inner, fresh }
    }

    /// The current state, leaving the accumulator as it was (window functions may ask for
    /// a result more than once).
    fn snapshot(&mut self) -> Result<Vec<ArrayRef>> {
        let state = self.inner.state(EmitTo::All)?;
        self.inner.ensure_groups(1);
        self.inner.merge_batch(&state, &[0], 1)?;
        Ok(state)
    }
}

impl<G> Debug for SingleGroup<G> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SingleGroup")
    }
}

impl<G: GroupStore + Sync> Accumulator for SingleGroup<G> {
    fn update_batch(&mut self, values: &[ArrayRef]) -> Result<()> {
        let rows = values.first().map_or(0, |v| v.len());
        self.inner.update_batch(values, &vec![0; rows], None, 1)
    }

    fn evaluate(&mut self) -> Result<ScalarValue> {
        let state = self.snapshot()?;
        let mut scratch = (self.fresh)();
        scratch.ensure_groups(1);
        scratch.merge_batch(&state, &[0], 1)?;
        let result = scratch.evaluate(EmitTo::All)?;
        ScalarValue::try_from_array(&result, 0)
    }

    fn size(&self) -> usize {
        std::mem::size_of_val(self) + self.inner.size()
    }

    fn state(&mut self) -> Result<Vec<ScalarValue>> {
        self.snapshot()?
            .iter()
            .map(|column| ScalarValue::try_from_array(column, 0))
            .collect()
    }

    fn merge_batch(&mut self, states: &[ArrayRef]) -> Result<()> {
        let rows = states.first().map_or(0, |v| v.len());
        self.inner.merge_batch(states, &vec![0; rows], 1)
    }
}
