//! `performed` / `not_performed`: how many matching events happened in a window.
//!
//! ```yaml
//! performed: {event: product_view, where: {category: camping}, count: {gte: 12}, within: 30d}
//! not_performed: {event: purchase, within: 365d}
//! ```
//!
//! `count` defaults to `{gte: 1}`; `not_performed` is `count = 0` and takes no `count`.

use crate::check::context::at;
use crate::check::lower::{Lowerer, Purpose};
use crate::check::predicate::{Operand, comparisons};
use crate::check::window;
use crate::diagnostic::{Code, Position};
use crate::model::{Comparison, Leaf, Performed};
use crate::syntax::{EventLeafSyntax, Literal};

impl Lowerer<'_, '_> {
    pub(in crate::check) fn performed(
        &mut self,
        leaf: &EventLeafSyntax,
        position: Position,
        negated: bool,
    ) -> Option<Leaf> {
        let matching = self.matching(&leaf.event, &leaf.filters);
        let window = window::window(self.ctx, position, &leaf.within, &leaf.between);
        let count = match (&leaf.count, negated) {
            (Some(c), false) if self.purpose == Purpose::Output => {
                self.refuse_in_output(at(c), "count");
                None
            }
            (None, false) => Some(vec![Comparison::Gte(Literal::Int(1))]),
            (None, true) => Some(vec![Comparison::Eq(Literal::Int(0))]),
            (Some(c), false) => comparisons(self.ctx, c, Operand::Count, "the event count"),
            (Some(c), true) => {
                self.ctx.report(
                    Code::BadComparison,
                    at(c),
                    "`not_performed` does not take a `count`",
                    "use `performed` with `count: {lt: n}` for \"fewer than n times\"",
                );
                None
            }
        };
        Some(Leaf::Performed(Performed {
            matching: matching?,
            window: window?,
            count: count?,
        }))
    }
}
