//! `predict`: the trained model's probability, as arithmetic over the features' values
//! (see [`crate::trained`]); its percentile is `100 × percent_rank()` over every entity of
//! the run, computed once per model.

use datafusion::functions_window::expr_fn::percent_rank;
use datafusion::logical_expr::{ExprFunctionExt, lit};
use segmint_spec::{Predict, ScoreTest};

use crate::compare::compare_all;
use crate::error::{CompileError, Result};
use crate::leaf::{Aggregates, CompiledLeaf, LeafCompiler, LeafPlan, never_null};
use crate::trained::{probability, standardized};

impl LeafPlan for Predict {
    fn plan(&self, c: &LeafCompiler, aggs: &mut Aggregates) -> Result<CompiledLeaf> {
        let model = c
            .trained
            .models
            .get(&self.model)
            .filter(|m| m.features_hash == self.features_hash)
            .ok_or_else(|| CompileError::NotTrained(self.model.clone()))?;
        let mut z = Vec::with_capacity(model.inputs.len());
        for input in &model.inputs {
            let feature = self
                .features
                .iter()
                .find(|f| f.name == input.feature)
                .ok_or_else(|| CompileError::NotTrained(self.model.clone()))?;
            let value = c.leaf(&feature.leaf, aggs)?.value;
            z.push(standardized(input, value, c.as_of.end_us));
        }
        let p = probability(model, z);
        let (value, holds) = match &self.test {
            ScoreTest::Value => (p.clone(), p.is_not_null()),
            ScoreTest::Probability(cmp) => (p.clone(), never_null(compare_all(&p, cmp))),
            ScoreTest::Percentile(cmp) => {
                let rank = percent_rank().order_by(vec![p.sort(true, true)]).build()?;
                let percentile = aggs.window(rank) * lit(100.0f64);
                (
                    percentile.clone(),
                    never_null(compare_all(&percentile, cmp)),
                )
            }
        };
        Ok(CompiledLeaf { value, holds })
    }

    fn describe(&self) -> String {
        match &self.test {
            ScoreTest::Percentile(_) => format!("percentile of model {}", self.model),
            _ => format!("probability of model {}", self.model),
        }
    }
}
