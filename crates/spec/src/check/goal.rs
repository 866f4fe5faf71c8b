//! The goal of `segmint impact`: which events count as converting. It is written as a
//! `performed` leaf — `performed: {event: purchase, where: {category: camping}}` — without
//! `within`/`between`/`count`: the window is the command's `--days` after each entry.

use serde_saphyr::Spanned;

use super::context::{FileContext, at};
use super::lower::Lowerer;
use crate::diagnostic::{Code, Diagnostics, SourceText};
use crate::model::EventMatch;
use crate::schema::LakeSchema;
use crate::syntax::Condition;

/// Check a goal's text against the lake schema (when given).
pub fn check_goal(
    source: &SourceText,
    schema: Option<&LakeSchema>,
) -> Result<EventMatch, Diagnostics> {
    let node: Spanned<Condition> =
        crate::source::parse(source).map_err(|d| Diagnostics(vec![d]))?;
    let mut diagnostics = Diagnostics::default();
    let mut ctx = FileContext {
        source,
        schema,
        has_profiles: false,
        catalog: None,
        diagnostics: &mut diagnostics,
    };
    let matching = match &node.value {
        Condition::Performed(leaf) => {
            let extra = [
                leaf.within.as_ref().map(|w| (at(w), "within")),
                leaf.between.as_ref().map(|b| (at(b), "between")),
                leaf.count.as_ref().map(|c| (at(c), "count")),
            ];
            if let Some((position, key)) = extra.into_iter().flatten().next() {
                ctx.report(
                    Code::BadLeaf,
                    position,
                    format!("a goal takes no `{key}:`"),
                    "the goal counts within `--days` after each entry: write only the event and its `where:`",
                );
                None
            } else {
                Lowerer::new(&mut ctx).matching(&leaf.event, &leaf.filters)
            }
        }
        _ => {
            ctx.report(
                Code::BadLeaf,
                at(&node),
                "a goal is a `performed` leaf",
                "e.g. `performed: {event: purchase}` or `performed: {event: purchase, where: {category: camping}}`",
            );
            None
        }
    };
    match matching {
        Some(m) if diagnostics.is_empty() => Ok(m),
        _ => Err(diagnostics),
    }
}
