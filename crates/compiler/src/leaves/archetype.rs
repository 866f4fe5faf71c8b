//! `archetype`: the name of the nearest fitted centroid (squared Euclidean distance in the
//! standardized input space), compared with the names asked for.

use datafusion::logical_expr::lit;
use segmint_spec::ArchetypeOf;

use crate::error::{CompileError, Result};
use crate::leaf::{Aggregates, CompiledLeaf, LeafCompiler, LeafPlan, never_null};
use crate::trained::{nearest, standardized};

impl LeafPlan for ArchetypeOf {
    fn plan(&self, c: &LeafCompiler, aggs: &mut Aggregates) -> Result<CompiledLeaf> {
        let set = c
            .trained
            .archetypes
            .get(&self.set)
            .filter(|s| s.features_hash == self.features_hash)
            .ok_or_else(|| CompileError::NotTrained(self.set.clone()))?;
        let mut z = Vec::with_capacity(set.inputs.len());
        for input in &set.inputs {
            let feature = self
                .features
                .iter()
                .find(|f| f.name == input.feature)
                .ok_or_else(|| CompileError::NotTrained(self.set.clone()))?;
            let value = c.leaf(&feature.leaf, aggs)?.value;
            z.push(standardized(input, value, c.as_of.end_us));
        }
        let name = nearest(set, &z)?;
        let holds = if self.is.is_empty() {
            name.clone().is_not_null()
        } else {
            never_null(
                name.clone()
                    .in_list(self.is.iter().map(|n| lit(n.as_str())).collect(), false),
            )
        };
        Ok(CompiledLeaf { value: name, holds })
    }

    fn describe(&self) -> String {
        if self.is.is_empty() {
            format!("archetype of {}", self.set)
        } else {
            format!("archetype of {} in [{}]", self.set, self.is.join(", "))
        }
    }
}
