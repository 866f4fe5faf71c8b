//! `archetype`: the nearest centroid of a fitted archetype set.
//!
//! ```yaml
//! archetype: {of: activity_styles, is: archetype_2}
//! archetype: {of: activity_styles, in: [archetype_1, archetype_3]}
//! ```
//!
//! Archetypes are named `archetype_1` … `archetype_k`, largest first when fitted
//! (`segmint archetypes describe` says what sets each apart).

use crate::check::context::at;
use crate::check::lower::{Lowerer, Purpose};
use crate::diagnostic::{Code, Position};
use crate::model::{ArchetypeOf, Leaf, archetype_name};
use crate::syntax::ArchetypeLeafSyntax;

impl Lowerer<'_, '_> {
    pub(in crate::check) fn archetype(
        &mut self,
        leaf: &ArchetypeLeafSyntax,
        position: Position,
    ) -> Option<Leaf> {
        let catalog = self.ctx.catalog;
        let set = catalog.and_then(|c| c.archetype_set(&leaf.of.value));
        let Some(set) = set else {
            if catalog.is_some_and(|c| c.is_invalid(&leaf.of.value)) {
                return None;
            }
            let known: Vec<&str> = catalog
                .map(|c| c.archetypes.iter().map(|a| a.name.as_str()).collect())
                .unwrap_or_default();
            self.ctx.report(
                Code::UnknownModel,
                at(&leaf.of),
                format!("archetype set `{}` is not defined", leaf.of.value),
                if known.is_empty() {
                    "define it in `archetypes/<name>.yaml` (docs/models.md)".to_string()
                } else {
                    crate::source::did_you_mean(&leaf.of.value, &known, "archetype sets")
                },
            );
            return None;
        };
        let names: Vec<String> = (1..=set.k.max() as usize).map(archetype_name).collect();
        let given: Vec<&serde_saphyr::Spanned<String>> = leaf
            .is
            .iter()
            .chain(leaf.in_list.iter().flat_map(|l| l.value.iter()))
            .collect();
        let mut ok = true;
        for name in &given {
            if !names.contains(&name.value) {
                let known: Vec<&str> = names.iter().map(String::as_str).collect();
                self.bad(
                    at(name),
                    format!("`{}` is not an archetype of `{}`", name.value, set.name),
                    crate::source::did_you_mean(&name.value, &known, "archetypes"),
                );
                ok = false;
            }
        }
        match (self.purpose, given.is_empty()) {
            (Purpose::Condition, true) => {
                self.bad(
                    position,
                    "`archetype` needs `is:` (one) or `in:` (several) in a condition",
                    "e.g. `archetype: {of: activity_styles, is: archetype_2}`",
                );
                ok = false;
            }
            (Purpose::Output, false) => {
                self.refuse_in_output(position, "is");
                ok = false;
            }
            _ => {}
        }
        ok.then(|| {
            Leaf::Archetype(ArchetypeOf {
                set: set.name.clone(),
                features: set.features.clone(),
                features_hash: set.features_hash.clone(),
                is: given.iter().map(|n| n.value.clone()).collect(),
            })
        })
    }
}
