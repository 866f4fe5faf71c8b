//! `predict`: a trained model's probability, or its percentile among everyone scored.
//!
//! ```yaml
//! predict: {model: will_purchase_30d, percentile: {gte: 90}}   # the top 10%
//! predict: {model: will_purchase_30d, probability: {gte: 0.5}}
//! ```

use crate::check::context::at;
use crate::check::lower::{Lowerer, Purpose};
use crate::check::predicate::{Operand, comparisons};
use crate::diagnostic::{Code, Position};
use crate::model::{Leaf, Predict, ScoreTest};
use crate::syntax::PredictSyntax;

impl Lowerer<'_, '_> {
    pub(in crate::check) fn predict(
        &mut self,
        leaf: &PredictSyntax,
        position: Position,
    ) -> Option<Leaf> {
        let catalog = self.ctx.catalog;
        let model = catalog.and_then(|c| c.model(&leaf.model.value));
        if model.is_none() && !catalog.is_some_and(|c| c.is_invalid(&leaf.model.value)) {
            let known: Vec<&str> = catalog
                .map(|c| c.models.iter().map(|m| m.name.as_str()).collect())
                .unwrap_or_default();
            self.ctx.report(
                Code::UnknownModel,
                at(&leaf.model),
                format!("model `{}` is not defined", leaf.model.value),
                if known.is_empty() {
                    "define it in `models/<name>.yaml` (docs/models.md)".to_string()
                } else {
                    crate::source::did_you_mean(&leaf.model.value, &known, "models")
                },
            );
        }
        let test = match (self.purpose, &leaf.probability, &leaf.percentile) {
            (Purpose::Output, None, None) => Some(ScoreTest::Value),
            (Purpose::Output, Some(c), _) | (Purpose::Output, None, Some(c)) => {
                let key = if leaf.probability.is_some() {
                    "probability"
                } else {
                    "percentile"
                };
                self.refuse_in_output(at(c), key);
                None
            }
            (Purpose::Condition, Some(c), None) => {
                comparisons(self.ctx, c, Operand::Fraction, "the probability")
                    .map(ScoreTest::Probability)
            }
            (Purpose::Condition, None, Some(c)) => {
                comparisons(self.ctx, c, Operand::NonNegative, "the percentile")
                    .map(ScoreTest::Percentile)
            }
            (Purpose::Condition, _, _) => {
                self.bad(
                    position,
                    "`predict` needs one of `probability:` or `percentile:` in a condition",
                    "e.g. `predict: {model: will_purchase_30d, percentile: {gte: 90}}` (the top 10%)",
                );
                None
            }
        };
        let model = model?;
        Some(Leaf::Predict(Predict {
            model: model.name.clone(),
            features: model.features.clone(),
            features_hash: model.features_hash.clone(),
            test: test?,
        }))
    }
}
