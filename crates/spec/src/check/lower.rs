//! Lowering a condition tree as written into the checked model.
//!
//! [`Lowerer::condition`] walks `all` / `any` / `not` / `in_segment` here and hands each
//! leaf to its own file under `leaf/` (one leaf per file, like ruff's one rule per file).
//! The helpers all leaves share — event matching, property filters, comparisons, steps —
//! live here. The same leaves define `outputs:`, where their comparisons are left out
//! ([`Purpose::Output`]).

use serde_saphyr::Spanned;

use super::context::{FileContext, at};
use super::predicate::{Operand, comparisons};
use super::window;
use crate::diagnostic::{Code, Position};
use crate::model::{Comparison, Cond, EventMatch, Filter};
use crate::schema::{ColumnKind, TableColumns};
use crate::syntax::PredicateSyntax;
use crate::syntax::behavior::StepSyntax;
use crate::syntax::{Condition, FilterMap};
use crate::window::Span;

/// A reference to another segment, with where it was written.
pub struct Reference {
    pub name: String,
    pub position: Position,
}

/// What a leaf is lowered for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    /// Part of a condition: its comparison is required.
    Condition,
    /// An output column: its value is written; a comparison is not allowed.
    Output,
}

/// The most steps a funnel or sequence may have (the functions take 32 conditions).
const MAX_STEPS: usize = 32;

/// Lowers conditions of one file, collecting segment references for the graph check.
pub struct Lowerer<'c, 'a> {
    pub ctx: &'c mut FileContext<'a>,
    pub references: Vec<Reference>,
    pub purpose: Purpose,
}

impl<'c, 'a> Lowerer<'c, 'a> {
    pub fn new(ctx: &'c mut FileContext<'a>) -> Self {
        Lowerer {
            ctx,
            references: Vec::new(),
            purpose: Purpose::Condition,
        }
    }

    /// Lower one node; `None` when it had errors (already reported).
    pub fn condition(&mut self, node: &Spanned<Condition>) -> Option<Cond> {
        let position = at(node);
        let leaf = match &node.value {
            Condition::All(children) => return self.group(children, "all").map(Cond::All),
            Condition::Any(children) => return self.group(children, "any").map(Cond::Any),
            Condition::Not(child) => return self.condition(child).map(|c| Cond::Not(Box::new(c))),
            Condition::InSegment(name) => {
                self.references.push(Reference {
                    name: name.value.clone(),
                    position: at(name),
                });
                return Some(Cond::InSegment(name.value.clone()));
            }
            Condition::Performed(leaf) => self.performed(leaf, position, false),
            Condition::NotPerformed(leaf) => self.performed(leaf, position, true),
            Condition::FirstPerformed(leaf) => {
                self.occurrence(leaf, position, crate::model::Which::First)
            }
            Condition::LastPerformed(leaf) => {
                self.occurrence(leaf, position, crate::model::Which::Last)
            }
            Condition::Metric(leaf) => self.metric(leaf, position),
            Condition::Trait(filters) => self.profile_trait(filters, position),
            Condition::Funnel(leaf) => self.funnel(leaf, position),
            Condition::Sequence(leaf) => self.sequence(leaf, position),
            Condition::Sessions(leaf) => self.sessions(leaf, position),
            Condition::Cadence(leaf) => self.cadence(leaf, position),
            Condition::Momentum(leaf) => self.momentum(leaf, position),
            Condition::Rfm(leaf) => self.rfm(leaf, position),
            Condition::Breadth(leaf) => self.breadth(leaf, position),
            Condition::Affinity(leaf) => self.affinity(leaf, position),
            Condition::Predict(leaf) => self.predict(leaf, position),
            Condition::Archetype(leaf) => self.archetype(leaf, position),
        };
        leaf.map(Cond::Leaf)
    }

    fn group(
        &mut self,
        children: &Spanned<Vec<Spanned<Condition>>>,
        name: &str,
    ) -> Option<Vec<Cond>> {
        if children.value.is_empty() {
            self.ctx.report(
                Code::EmptyGroup,
                at(children),
                format!("`{name}` has no conditions"),
                format!("list at least one condition under `{name}:`, or remove it"),
            );
            return None;
        }
        let lowered: Vec<Option<Cond>> = children.value.iter().map(|c| self.condition(c)).collect();
        lowered.into_iter().collect()
    }

    /// Report a misused leaf option.
    pub(super) fn bad(
        &mut self,
        position: Position,
        message: impl Into<String>,
        hint: impl Into<String>,
    ) {
        self.ctx.report(Code::BadLeaf, position, message, hint);
    }

    /// A leaf's one comparison: required in a condition (reported when missing), refused
    /// in an output (where `Some(vec![])` stands for "no comparison").
    pub(super) fn comparison(
        &mut self,
        field: &Option<Spanned<PredicateSyntax>>,
        leaf_at: Position,
        leaf: &str,
        key: &str,
        operand: Operand,
        example: &str,
    ) -> Option<Vec<Comparison>> {
        match (field, self.purpose) {
            (Some(c), Purpose::Condition) => {
                let what = match leaf.strip_prefix("metric ") {
                    Some(agg) => format!("the {agg} metric"),
                    None => format!("the `{key}` of `{leaf}`"),
                };
                comparisons(self.ctx, c, operand, &what)
            }
            (None, Purpose::Condition) => {
                self.ctx.report(
                    Code::BadLeaf,
                    leaf_at,
                    format!("`{leaf}` needs `{key}:` in a condition"),
                    format!("e.g. `{key}: {example}`"),
                );
                None
            }
            (Some(c), Purpose::Output) => {
                self.refuse_in_output(at(c), key);
                None
            }
            (None, Purpose::Output) => Some(Vec::new()),
        }
    }

    /// One of several optional comparisons of a leaf (`sessions`' count, `rfm`'s scores):
    /// checked in a condition, refused in an output, empty when absent.
    pub(super) fn optional_comparison(
        &mut self,
        field: &Option<Spanned<PredicateSyntax>>,
        key: &str,
        operand: Operand,
        what: &str,
    ) -> Option<Vec<Comparison>> {
        match (field, self.purpose) {
            (Some(c), Purpose::Condition) => comparisons(self.ctx, c, operand, what),
            (Some(c), Purpose::Output) => {
                self.refuse_in_output(at(c), key);
                None
            }
            (None, _) => Some(Vec::new()),
        }
    }

    /// Report a comparison given where an output is defined.
    pub(super) fn refuse_in_output(&mut self, position: Position, key: &str) {
        self.ctx.report(
            Code::BadOutput,
            position,
            format!("an output takes no `{key}:` — its value is written as it is"),
            format!("remove `{key}:`, or move the comparison into the segment's `where:`"),
        );
    }

    /// A duration (`24h`, `10m`), reporting a coded error.
    pub(super) fn span_of(&mut self, text: &Spanned<String>) -> Option<Span> {
        window::span(self.ctx, text)
    }

    /// Steps of a funnel or sequence: 2 to 32, each naming an event or a filter.
    pub(super) fn step_matches(
        &mut self,
        steps: &Spanned<Vec<Spanned<StepSyntax>>>,
        leaf: &str,
    ) -> Option<Vec<EventMatch>> {
        let n = steps.value.len();
        if !(2..=MAX_STEPS).contains(&n) {
            self.bad(
                at(steps),
                format!("a {leaf} needs 2 to {MAX_STEPS} steps, found {n}"),
                "list the steps in order, e.g. `steps: [{event: add_to_cart}, {event: purchase}]`",
            );
            return None;
        }
        let mut out = Vec::with_capacity(n);
        let mut ok = true;
        for step in &steps.value {
            if step.value.event.is_none() && step.value.filters.is_none() {
                self.bad(
                    at(step),
                    format!("this {leaf} step matches every event"),
                    "give the step an `event:` (and optionally `where:`)",
                );
                ok = false;
                continue;
            }
            match self.matching(&step.value.event, &step.value.filters) {
                Some(m) => out.push(m),
                None => ok = false,
            }
        }
        ok.then_some(out)
    }

    /// The event name and property filters a leaf looks at.
    pub(super) fn matching(
        &mut self,
        event: &Option<Spanned<String>>,
        filters: &Option<Spanned<FilterMap>>,
    ) -> Option<EventMatch> {
        if let Some(e) = event
            && e.value.trim().is_empty()
        {
            self.ctx.report(
                Code::WrongType,
                at(e),
                "the event name is empty",
                "name the event, e.g. `event: purchase`, or leave `event:` out to match any event",
            );
            return None;
        }
        let events = self.ctx.schema.map(|s| s.events.clone());
        let filters = match filters {
            Some(f) => self.filters(&f.value, events.as_ref(), "events")?,
            None => Vec::new(),
        };
        Some(EventMatch {
            event: event.as_ref().map(|e| e.value.clone()),
            filters,
        })
    }

    /// Property filters against a table's columns (unknown without a lake schema).
    pub(super) fn filters(
        &mut self,
        map: &FilterMap,
        columns: Option<&TableColumns>,
        table: &str,
    ) -> Option<Vec<Filter>> {
        let mut out = Vec::new();
        let mut ok = true;
        for (column, predicate) in map {
            let operand = match columns {
                None => Operand::Unknown,
                Some(cols) => match cols.get(column) {
                    Some(kind) => Operand::Column(*kind),
                    None => {
                        self.unknown_column(column, at(predicate), cols, table);
                        ok = false;
                        continue;
                    }
                },
            };
            match comparisons(self.ctx, predicate, operand, &format!("`{column}`")) {
                Some(cmps) => out.extend(cmps.into_iter().map(|cmp| Filter {
                    column: column.clone(),
                    cmp,
                })),
                None => ok = false,
            }
        }
        ok.then_some(out)
    }

    /// The kind of an events column; `None` (reported) when the lake lacks it, or when
    /// checking without a lake.
    pub(super) fn events_column(&mut self, name: &Spanned<String>) -> Option<ColumnKind> {
        let schema = self.ctx.schema?;
        match schema.events.get(&name.value) {
            Some(kind) => Some(*kind),
            None => {
                let cols = schema.events.clone();
                self.unknown_column(&name.value, at(name), &cols, "events");
                None
            }
        }
    }

    /// Whether an events column exists: true without a lake schema (not checked then).
    pub(super) fn events_column_ok(&mut self, name: &Spanned<String>) -> bool {
        self.events_column(name).is_some() || self.ctx.schema.is_none()
    }

    fn unknown_column(
        &mut self,
        column: &str,
        position: Position,
        columns: &TableColumns,
        table: &str,
    ) {
        let names: Vec<&str> = columns.keys().map(String::as_str).collect();
        self.ctx.report(
            Code::UnknownColumn,
            position,
            format!("the {table} table has no column `{column}`"),
            crate::source::did_you_mean(column, &names, "columns"),
        );
    }
}
