//! `funnel`: how far an entity got through ordered steps within a time limit
//! (ClickHouse's `windowFunnel`): completed, reached a level, or dropped after a step.
//!
//! ```yaml
//! funnel:                      # cart abandoners
//!   steps: [{event: add_to_cart}, {event: purchase}]
//!   window: 24h                # from the first step to the last
//!   within: 7d                 # which events are looked at
//!   dropped_after: add_to_cart # or `completed: true`, or `reached: {gte: 2}`
//! ```

use crate::check::context::at;
use crate::check::lower::{Lowerer, Purpose};
use crate::check::predicate::{Operand, comparisons};
use crate::check::window;
use crate::diagnostic::{Code, Position};
use crate::model::{Funnel, FunnelMode, FunnelOutcome, Leaf};
use crate::syntax::behavior::FunnelSyntax;

impl Lowerer<'_, '_> {
    pub(in crate::check) fn funnel(
        &mut self,
        leaf: &FunnelSyntax,
        position: Position,
    ) -> Option<Leaf> {
        let steps = self.step_matches(&leaf.steps, "funnel");
        let mut ok = true;
        for step in &leaf.steps.value {
            let gap = [
                step.value.within.as_ref().map(at),
                step.value.after.as_ref().map(at),
                step.value.immediately.as_ref().map(at),
            ];
            if let Some(p) = gap.into_iter().flatten().next() {
                self.bad(
                    p,
                    "funnel steps take no `within`, `after` or `immediately`",
                    "a funnel's time limit is its `window:` (first step to last); use `sequence` for gaps between steps",
                );
                ok = false;
            }
        }
        let span = match &leaf.window {
            Some(w) => self.span_of(w),
            None => {
                self.bad(
                    position,
                    "`funnel` needs `window:`, the longest time from the first step to the last",
                    "e.g. `window: 24h`",
                );
                None
            }
        };
        let modes = self.funnel_modes(leaf);
        let events = window::window(self.ctx, position, &leaf.within, &leaf.between);
        let outcome = self.funnel_outcome(leaf, position);
        if !ok {
            return None;
        }
        Some(Leaf::Funnel(Funnel {
            steps: steps?,
            window: span?,
            modes: modes?,
            events: events?,
            outcome: outcome?,
        }))
    }

    fn funnel_modes(&mut self, leaf: &FunnelSyntax) -> Option<Vec<FunnelMode>> {
        let Some(modes) = &leaf.mode else {
            return Some(Vec::new());
        };
        let mut names = Vec::new();
        for m in &modes.value {
            match FunnelMode::ALL.into_iter().find(|f| f.name() == m.value) {
                Some(mode) => names.push(mode),
                None => {
                    let known = FunnelMode::ALL.map(FunnelMode::name);
                    self.bad(
                        at(m),
                        format!("`{}` is not a funnel mode", m.value),
                        crate::source::did_you_mean(&m.value, &known, "modes"),
                    );
                    return None;
                }
            }
        }
        if names.contains(&FunnelMode::AllowReentry) && !names.contains(&FunnelMode::StrictOrder) {
            self.bad(
                at(modes),
                "mode `allow_reentry` only applies with `strict_order`",
                "write `mode: [strict_order, allow_reentry]`",
            );
            return None;
        }
        Some(names)
    }

    fn funnel_outcome(&mut self, leaf: &FunnelSyntax, position: Position) -> Option<FunnelOutcome> {
        let given = [
            leaf.completed.as_ref().map(|c| ("completed", at(c))),
            leaf.reached.as_ref().map(|c| ("reached", at(c))),
            leaf.dropped_after
                .as_ref()
                .map(|c| ("dropped_after", at(c))),
        ];
        let given: Vec<(&str, Position)> = given.into_iter().flatten().collect();
        if self.purpose == Purpose::Output {
            if let Some((key, p)) = given.first() {
                self.refuse_in_output(*p, key);
                return None;
            }
            // An output writes the number of steps reached.
            return Some(FunnelOutcome::Reached(Vec::new()));
        }
        if given.len() != 1 {
            self.bad(
                given.get(1).map_or(position, |g| g.1),
                "a funnel condition needs exactly one of `completed`, `reached` or `dropped_after`",
                "`completed: true` (every step), `reached: {gte: 2}` (steps completed) or `dropped_after: <step>`",
            );
            return None;
        }
        if let Some(c) = &leaf.completed {
            if !c.value {
                self.bad(
                    at(c),
                    "`completed: false` is not a funnel outcome",
                    "wrap the funnel in `not:` for \"did not complete\", or use `dropped_after:`",
                );
                return None;
            }
            return Some(FunnelOutcome::Completed);
        }
        if let Some(r) = &leaf.reached {
            return comparisons(self.ctx, r, Operand::Count, "`reached` of `funnel`")
                .map(FunnelOutcome::Reached);
        }
        let dropped = leaf.dropped_after.as_ref()?;
        let names: Vec<String> = leaf
            .steps
            .value
            .iter()
            .map(|s| {
                s.value
                    .name
                    .as_ref()
                    .or(s.value.event.as_ref())
                    .map(|n| n.value.clone())
                    .unwrap_or_default()
            })
            .collect();
        let hits: Vec<usize> = names
            .iter()
            .enumerate()
            .filter(|(_, n)| **n == dropped.value)
            .map(|(i, _)| i)
            .collect();
        let name_list: Vec<&str> = names.iter().map(String::as_str).collect();
        match hits.as_slice() {
            [] => {
                self.ctx.report(
                    Code::UnknownStep,
                    at(dropped),
                    format!(
                        "`dropped_after: {}` names no step of this funnel",
                        dropped.value
                    ),
                    crate::source::did_you_mean(&dropped.value, &name_list, "steps"),
                );
                None
            }
            [i] if *i + 1 == names.len() => {
                self.bad(
                    at(dropped),
                    format!(
                        "`{}` is the last step: nobody drops after it",
                        dropped.value
                    ),
                    "name an earlier step, or use `completed: true` for those who finished",
                );
                None
            }
            [i] => Some(FunnelOutcome::DroppedAfter(i + 1)),
            _ => {
                self.ctx.report(
                    Code::UnknownStep,
                    at(dropped),
                    format!("`{}` names more than one step", dropped.value),
                    "give the steps distinct `name:`s and refer to one of them",
                );
                None
            }
        }
    }
}
