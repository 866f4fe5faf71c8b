//! `breadth`: how many distinct values of a property an entity used (features, topics,
//! categories). It lowers to a `metric` `count_distinct`.
//!
//! ```yaml
//! breadth: {of: feature, event: feature_use, within: 30d, count: {gte: 6}}
//! ```

use crate::check::lower::Lowerer;
use crate::check::predicate::Operand;
use crate::check::window;
use crate::diagnostic::Position;
use crate::model::{Leaf, Measure, Metric};
use crate::syntax::behavior::BreadthSyntax;

impl Lowerer<'_, '_> {
    /// `breadth` is a distinct count of a property: it lowers to `metric count_distinct`.
    pub(in crate::check) fn breadth(
        &mut self,
        leaf: &BreadthSyntax,
        position: Position,
    ) -> Option<Leaf> {
        let matching = self.matching(&leaf.event, &leaf.filters);
        let window = window::window(self.ctx, position, &leaf.within, &leaf.between);
        let column_ok = self.events_column_ok(&leaf.of);
        let count = self.comparison(
            &leaf.count,
            position,
            "breadth",
            "count",
            Operand::Count,
            "{gte: 6}",
        );
        if !column_ok {
            return None;
        }
        Some(Leaf::Metric(Metric {
            measure: Measure::CountDistinct {
                of: leaf.of.value.clone(),
            },
            matching: matching?,
            window: window?,
            value: count?,
        }))
    }
}
