//! `sequence`: steps in order with gaps between them (ClickHouse's `sequenceMatch`).
//!
//! ```yaml
//! sequence:                    # silent friction
//!   within: 30d
//!   steps:
//!     - {event: error}
//!     - {event: retry, within: 10m}   # at most 10 minutes after the previous step
//! ```

use crate::check::context::at;
use crate::check::lower::{Lowerer, Purpose};
use crate::check::window;
use crate::diagnostic::Position;
use crate::model::{Gap, Leaf, Sequence, SequenceStep};
use crate::syntax::behavior::SequenceSyntax;

impl Lowerer<'_, '_> {
    pub(in crate::check) fn sequence(
        &mut self,
        leaf: &SequenceSyntax,
        position: Position,
    ) -> Option<Leaf> {
        let matches = self.step_matches(&leaf.steps, "sequence");
        let mut gaps = Vec::with_capacity(leaf.steps.value.len());
        let mut ok = true;
        for (i, step) in leaf.steps.value.iter().enumerate() {
            let s = &step.value;
            let given = usize::from(s.within.is_some())
                + usize::from(s.after.is_some())
                + usize::from(s.immediately.is_some());
            if i == 0 && given > 0 {
                self.bad(
                    at(step),
                    "the first step of a sequence has no previous step to be timed from",
                    "put `within`, `after` or `immediately` on a later step",
                );
                ok = false;
                continue;
            }
            if given > 1 {
                self.bad(
                    at(step),
                    "a sequence step takes one of `within`, `after` or `immediately`",
                    "split the condition: `within: 10m` (at most), `after: 1h` (at least), or `immediately: true`",
                );
                ok = false;
                continue;
            }
            let gap = if let Some(w) = &s.within {
                self.span_of(w).map(Gap::Within)
            } else if let Some(a) = &s.after {
                self.span_of(a).map(Gap::After)
            } else if let Some(imm) = &s.immediately {
                if !imm.value {
                    self.bad(
                        at(imm),
                        "`immediately: false` is the default",
                        "remove it; steps may have other events between them unless `immediately: true`",
                    );
                    None
                } else {
                    Some(Gap::Immediately)
                }
            } else {
                Some(Gap::Eventually)
            };
            match gap {
                Some(g) => gaps.push(g),
                None => ok = false,
            }
        }
        let events = window::window(self.ctx, position, &leaf.within, &leaf.between);
        if let Some(o) = &leaf.occurred {
            if self.purpose == Purpose::Output {
                self.refuse_in_output(at(o), "occurred");
                ok = false;
            } else if !o.value {
                self.bad(
                    at(o),
                    "`occurred: false` is not allowed",
                    "wrap the sequence in `not:` for \"the pattern never happened\"",
                );
                ok = false;
            }
        }
        if !ok {
            return None;
        }
        let steps = matches?
            .into_iter()
            .zip(gaps)
            .map(|(matching, gap)| SequenceStep { matching, gap })
            .collect();
        Some(Leaf::Sequence(Sequence {
            steps,
            events: events?,
        }))
    }
}
