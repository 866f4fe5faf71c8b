//! `cadence`: the rhythm of an entity's active days — regular, returning, fading or
//! lapsed — judged against its own usual gap (docs/segments.md has the rules).
//!
//! ```yaml
//! cadence: {is: fading}
//! cadence: {in: [fading, lapsed], within: 180d, fading_after: 3}
//! ```

use serde_saphyr::Spanned;

use crate::check::context::at;
use crate::check::lower::{Lowerer, Purpose};
use crate::diagnostic::Position;
use crate::model::{Cadence, CadenceClass, CadenceRules, Leaf, Window};
use crate::syntax::behavior::CadenceSyntax;
use crate::window::{Span, Unit};

impl Lowerer<'_, '_> {
    fn cadence_class(&mut self, name: &Spanned<String>) -> Option<CadenceClass> {
        let found = CadenceClass::ALL
            .into_iter()
            .find(|c| c.name() == name.value);
        if found.is_none() {
            let names: Vec<&str> = CadenceClass::ALL.iter().map(|c| c.name()).collect();
            self.bad(
                at(name),
                format!("`{}` is not a cadence class", name.value),
                crate::source::did_you_mean(&name.value, &names, "classes"),
            );
        }
        found
    }

    /// A cadence threshold in whole days (`7d`, `2w`).
    fn days_of(&mut self, text: &Option<Spanned<String>>, default: i64) -> Option<i64> {
        let Some(text) = text else {
            return Some(default);
        };
        let span = self.span_of(text)?;
        match span.calendar_days() {
            Some(d) => Some(d),
            None => {
                self.bad(
                    at(text),
                    format!("`{}` is not a number of days", text.value),
                    "cadence thresholds are calendar days: write `7d` or `2w`",
                );
                None
            }
        }
    }

    fn factor(&mut self, value: &Option<Spanned<f64>>, default: f64) -> Option<f64> {
        match value {
            None => Some(default),
            Some(v) if v.value > 0.0 && v.value.is_finite() => Some(v.value),
            Some(v) => {
                self.bad(
                    at(v),
                    format!("{} is not a positive factor", v.value),
                    "factors multiply the entity's usual gap between active days, e.g. `fading_after: 2`",
                );
                None
            }
        }
    }

    pub(in crate::check) fn cadence(
        &mut self,
        leaf: &CadenceSyntax,
        position: Position,
    ) -> Option<Leaf> {
        let matching = self.matching(&leaf.event, &leaf.filters);
        let window = match &leaf.within {
            Some(w) => self.span_of(w).map(Window::Last),
            None => Some(Window::Last(Span {
                amount: 180,
                unit: Unit::Days,
            })),
        };
        let mut classes = Vec::new();
        let mut ok = true;
        let names: Vec<&Spanned<String>> = leaf
            .is
            .iter()
            .chain(leaf.in_list.iter().flat_map(|l| l.value.iter()))
            .collect();
        for name in &names {
            match self.cadence_class(name) {
                Some(c) => classes.push(c),
                None => ok = false,
            }
        }
        match self.purpose {
            Purpose::Condition if names.is_empty() => {
                self.bad(
                    position,
                    "`cadence` needs `is:` (one class) or `in:` (several) in a condition",
                    "e.g. `cadence: {is: fading}` — classes: regular, returning, fading, lapsed",
                );
                ok = false;
            }
            Purpose::Condition if leaf.is.is_some() && leaf.in_list.is_some() => {
                self.bad(
                    position,
                    "give `is:` or `in:`, not both",
                    "`is: fading` or `in: [fading, lapsed]`",
                );
                ok = false;
            }
            Purpose::Output => {
                if let Some(p) = leaf.is.as_ref().map(at).or(leaf.in_list.as_ref().map(at)) {
                    self.refuse_in_output(p, "is/in");
                    ok = false;
                }
            }
            Purpose::Condition => {}
        }
        let defaults = CadenceRules::default();
        let min_active_days = match &leaf.min_active_days {
            Some(n) if n.value < 2 => {
                self.bad(
                    at(n),
                    "a rhythm needs at least 2 active days",
                    "use `min_active_days: 3` or more (the default is 3)",
                );
                None
            }
            Some(n) => Some(n.value),
            None => Some(defaults.min_active_days),
        };
        let rules = (|| {
            Some(CadenceRules {
                min_active_days: min_active_days?,
                fading_after: self.factor(&leaf.fading_after, defaults.fading_after)?,
                fading_min_days: self.days_of(&leaf.fading_min, defaults.fading_min_days)?,
                lapsed_after: self.factor(&leaf.lapsed_after, defaults.lapsed_after)?,
                lapsed_min_days: self.days_of(&leaf.lapsed_min, defaults.lapsed_min_days)?,
                returning_after: self.factor(&leaf.returning_after, defaults.returning_after)?,
                returning_min_days: self
                    .days_of(&leaf.returning_min, defaults.returning_min_days)?,
                returning_within_days: self
                    .days_of(&leaf.returning_within, defaults.returning_within_days)?,
            })
        })();
        if !ok {
            return None;
        }
        Some(Leaf::Cadence(Cadence {
            matching: matching?,
            window: window?,
            classes,
            rules: rules?,
        }))
    }
}
