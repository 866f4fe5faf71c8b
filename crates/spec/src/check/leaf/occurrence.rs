//! `first_performed` / `last_performed`: when the first or last matching event happened.
//!
//! ```yaml
//! first_performed: {event: signup, within: 14d}   # new users
//! last_performed: {before: 30d}                   # lapsed users
//! first_performed: {}                             # has any event at all
//! ```

use crate::check::lower::Lowerer;
use crate::check::window;
use crate::diagnostic::Position;
use crate::model::{Leaf, Occurrence, Which};
use crate::syntax::WhenLeafSyntax;

impl Lowerer<'_, '_> {
    pub(in crate::check) fn occurrence(
        &mut self,
        leaf: &WhenLeafSyntax,
        position: Position,
        which: Which,
    ) -> Option<Leaf> {
        let matching = self.matching(&leaf.event, &leaf.filters);
        let when = window::when(
            self.ctx,
            position,
            &leaf.within,
            &leaf.before,
            &leaf.between,
        );
        Some(Leaf::Occurrence(Occurrence {
            which,
            matching: matching?,
            when: when?,
        }))
    }
}
