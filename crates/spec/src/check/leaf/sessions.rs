//! `sessions`: activity split into sessions by an inactivity gap — how many, how long,
//! how many events each.
//!
//! ```yaml
//! sessions: {gap: 30m, within: 30d, count: {gte: 8}}
//! ```

use crate::check::lower::{Lowerer, Purpose};
use crate::check::predicate::Operand;
use crate::check::window;
use crate::diagnostic::Position;
use crate::model::{Leaf, Sessions};
use crate::syntax::behavior::SessionsSyntax;
use crate::window::{Span, Unit};

impl Lowerer<'_, '_> {
    pub(in crate::check) fn sessions(
        &mut self,
        leaf: &SessionsSyntax,
        position: Position,
    ) -> Option<Leaf> {
        let matching = self.matching(&leaf.event, &leaf.filters);
        let window = window::window(self.ctx, position, &leaf.within, &leaf.between);
        let gap = match &leaf.gap {
            Some(g) => self.span_of(g),
            None => Some(Span {
                amount: 30,
                unit: Unit::Minutes,
            }),
        };
        let mut lower = |field: &Option<_>, key: &str, operand| {
            self.optional_comparison(field, key, operand, &format!("`{key}` of `sessions`"))
        };
        let count = lower(&leaf.count, "count", Operand::Count);
        let mean_minutes = lower(&leaf.mean_minutes, "mean_minutes", Operand::NonNegative);
        let per = lower(
            &leaf.events_per_session,
            "events_per_session",
            Operand::NonNegative,
        );
        let none = leaf.count.is_none()
            && leaf.mean_minutes.is_none()
            && leaf.events_per_session.is_none();
        if self.purpose == Purpose::Condition && none {
            self.bad(
                position,
                "`sessions` needs at least one of `count`, `mean_minutes` or `events_per_session`",
                "e.g. `sessions: {within: 30d, count: {gte: 8}}`",
            );
            return None;
        }
        Some(Leaf::Sessions(Sessions {
            matching: matching?,
            window: window?,
            gap: gap?,
            count: count?,
            mean_minutes: mean_minutes?,
            events_per_session: per?,
        }))
    }
}
