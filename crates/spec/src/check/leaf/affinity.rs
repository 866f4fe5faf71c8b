//! `affinity`: the dominant value of a property by share of matching events (the
//! favourite topic, channel or category).
//!
//! ```yaml
//! affinity: {of: topic, event: content_view, within: 90d, is: travel, min_share: 0.5}
//! ```

use serde_saphyr::Spanned;

use crate::check::context::at;
use crate::check::lower::{Lowerer, Purpose};
use crate::check::window;
use crate::diagnostic::{Code, Position};
use crate::model::{Affinity, Leaf};
use crate::schema::ColumnKind;
use crate::syntax::Literal;

impl Lowerer<'_, '_> {
    pub(in crate::check) fn affinity(
        &mut self,
        leaf: &crate::syntax::behavior::AffinitySyntax,
        position: Position,
    ) -> Option<Leaf> {
        let matching = self.matching(&leaf.event, &leaf.filters);
        let window = window::window(self.ctx, position, &leaf.within, &leaf.between);
        let kind = self.events_column(&leaf.of);
        let mut ok = kind.is_some() || self.ctx.schema.is_none();
        let mut values: Vec<Literal> = Vec::new();
        let literals: Vec<&Spanned<Literal>> = leaf
            .is
            .iter()
            .chain(leaf.in_list.iter().flat_map(|l| l.value.iter()))
            .collect();
        for l in &literals {
            let fits = match (kind, &l.value) {
                (Some(ColumnKind::Text), Literal::Str(_)) | (None, _) => true,
                (Some(k), Literal::Int(_) | Literal::Float(_)) => k.is_numeric(),
                (Some(ColumnKind::Boolean), Literal::Bool(_)) => true,
                _ => false,
            };
            if !fits {
                self.ctx.report(
                    Code::TypeMismatch,
                    at(l),
                    format!(
                        "`{}` is {}, but the affinity value is the {} {}",
                        leaf.of.value,
                        kind.map_or("unknown", ColumnKind::name),
                        l.value.kind_name(),
                        l.value
                    ),
                    "write a value of the column's kind (quote text values)",
                );
                ok = false;
            }
            values.push(l.value.clone());
        }
        let min_share = match &leaf.min_share {
            Some(s) if !(0.0..=1.0).contains(&s.value) => {
                self.bad(
                    at(s),
                    format!("min_share {} is not a share", s.value),
                    "write a fraction between 0 and 1: `min_share: 0.5` is half of the events",
                );
                ok = false;
                None
            }
            Some(s) => Some(s.value),
            None => None,
        };
        if leaf.is.is_some() && leaf.in_list.is_some() {
            self.bad(
                position,
                "give `is:` or `in:`, not both",
                "`is: travel` or `in: [travel, outdoors]`",
            );
            ok = false;
        }
        match self.purpose {
            Purpose::Condition if literals.is_empty() && min_share.is_none() => {
                self.bad(
                    position,
                    "`affinity` needs `is:`, `in:` or `min_share:` in a condition",
                    "e.g. `affinity: {of: topic, is: travel, min_share: 0.4}`",
                );
                ok = false;
            }
            Purpose::Output => {
                let given = leaf
                    .is
                    .as_ref()
                    .map(|v| (at(v), "is"))
                    .or(leaf.in_list.as_ref().map(|v| (at(v), "in")))
                    .or(leaf.min_share.as_ref().map(|v| (at(v), "min_share")));
                if let Some((p, key)) = given {
                    self.refuse_in_output(p, key);
                    ok = false;
                }
            }
            Purpose::Condition => {}
        }
        if !ok {
            return None;
        }
        Some(Leaf::Affinity(Affinity {
            of: leaf.of.value.clone(),
            matching: matching?,
            window: window?,
            values,
            min_share,
        }))
    }
}
