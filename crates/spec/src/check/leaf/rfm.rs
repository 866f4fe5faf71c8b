//! `rfm`: recency, frequency and monetary scores (1–5, quintiles or fixed cut points) and
//! the named RFM classes.
//!
//! ```yaml
//! rfm: {event: purchase, monetary: revenue, within: 365d, class: [champions, loyal]}
//! ```

use serde_saphyr::Spanned;

use crate::check::context::at;
use crate::check::lower::{Lowerer, Purpose};
use crate::check::predicate::Operand;
use crate::check::window;
use crate::diagnostic::{Code, Position};
use crate::model::{Leaf, RFM_CLASSES, Rfm, RfmCutPoints, RfmScoring};
use crate::syntax::behavior::{CutPointsSyntax, RfmSyntax};

impl Lowerer<'_, '_> {
    fn cut_points(&mut self, cuts: &Spanned<CutPointsSyntax>) -> Option<RfmCutPoints> {
        let one = |this: &mut Self, list: &Spanned<Vec<Spanned<f64>>>, name: &str| {
            let values: Vec<f64> = list.value.iter().map(|v| v.value).collect();
            let increasing = values.windows(2).all(|w| w[0] < w[1]);
            if values.len() != 4 || !increasing || values.iter().any(|v| !v.is_finite()) {
                this.bad(
                    at(list),
                    format!("`{name}` needs 4 increasing cut points, found {values:?}"),
                    "four cut points split five scores, e.g. `frequency: [2, 4, 8, 16]`",
                );
                return None;
            }
            Some(values)
        };
        let r = one(self, &cuts.value.recency_days, "recency_days");
        let f = one(self, &cuts.value.frequency, "frequency");
        let m = one(self, &cuts.value.monetary, "monetary");
        Some(RfmCutPoints {
            recency_days: r?,
            frequency: f?,
            monetary: m?,
        })
    }

    pub(in crate::check) fn rfm(&mut self, leaf: &RfmSyntax, position: Position) -> Option<Leaf> {
        let event = Some(leaf.event.clone());
        let matching = self.matching(&event, &leaf.filters);
        let window = window::window(self.ctx, position, &leaf.within, &leaf.between);
        let mut ok = true;
        if let Some(kind) = self.events_column(&leaf.monetary) {
            if !kind.is_numeric() {
                self.ctx.report(
                    Code::TypeMismatch,
                    at(&leaf.monetary),
                    format!(
                        "`monetary` needs a numeric column, but `{}` is {}",
                        leaf.monetary.value,
                        kind.name()
                    ),
                    "name the column holding the amount spent, e.g. `monetary: revenue`",
                );
                ok = false;
            }
        } else if self.ctx.schema.is_some() {
            ok = false;
        }
        let scoring = match &leaf.cut_points {
            Some(c) => self.cut_points(c).map(RfmScoring::CutPoints),
            None => Some(RfmScoring::Quintiles),
        };
        let mut classes = Vec::new();
        if let Some(list) = &leaf.class {
            if self.purpose == Purpose::Output {
                self.refuse_in_output(at(list), "class");
                ok = false;
            }
            for c in &list.value {
                if RFM_CLASSES.contains(&c.value.as_str()) {
                    classes.push(c.value.clone());
                } else {
                    self.bad(
                        at(c),
                        format!("`{}` is not an RFM class", c.value),
                        crate::source::did_you_mean(&c.value, &RFM_CLASSES, "classes"),
                    );
                    ok = false;
                }
            }
        }
        let mut score = |field: &Option<_>, key: &str| {
            self.optional_comparison(field, key, Operand::Score, &format!("the `{key}` score"))
        };
        let r = score(&leaf.r, "r");
        let f = score(&leaf.f, "f");
        let m = score(&leaf.m, "m");
        let asks = leaf.class.is_some() || leaf.r.is_some() || leaf.f.is_some() || leaf.m.is_some();
        if self.purpose == Purpose::Condition && !asks {
            self.bad(
                position,
                "`rfm` needs `class:` or a score comparison (`r`, `f`, `m`) in a condition",
                "e.g. `class: [champions, loyal]` or `r: {gte: 4}`",
            );
            ok = false;
        }
        if !ok {
            return None;
        }
        Some(Leaf::Rfm(Rfm {
            matching: matching?,
            monetary: leaf.monetary.value.clone(),
            window: window?,
            scoring: scoring?,
            classes,
            r: r?,
            f: f?,
            m: m?,
        }))
    }
}
