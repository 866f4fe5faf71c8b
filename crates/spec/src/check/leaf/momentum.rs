//! `momentum`: the recent event rate over the baseline rate (warming up or fading).
//!
//! ```yaml
//! momentum: {recent: 7d, baseline: 12w, value: {gte: 2}}
//! ```

use crate::check::lower::Lowerer;
use crate::check::predicate::Operand;
use crate::diagnostic::Position;
use crate::model::{Leaf, Momentum};
use crate::syntax::behavior::MomentumSyntax;

impl Lowerer<'_, '_> {
    pub(in crate::check) fn momentum(
        &mut self,
        leaf: &MomentumSyntax,
        position: Position,
    ) -> Option<Leaf> {
        let matching = self.matching(&leaf.event, &leaf.filters);
        let recent = self.span_of(&leaf.recent);
        let baseline = self.span_of(&leaf.baseline);
        let value = self.comparison(
            &leaf.value,
            position,
            "momentum",
            "value",
            Operand::NonNegative,
            "{gte: 1.5}",
        );
        Some(Leaf::Momentum(Momentum {
            matching: matching?,
            recent: recent?,
            baseline: baseline?,
            value: value?,
        }))
    }
}
