//! Lowering a condition tree as written into the checked model, one leaf at a time.
//!
//! The counting leaves are lowered here; the behavioral ones (funnel, sequence, sessions,
//! cadence, momentum, rfm, breadth, affinity) in `behavior.rs`. The same leaves define
//! `outputs:`, where their comparisons are left out ([`Purpose::Output`]).

use serde_saphyr::Spanned;

use super::context::{FileContext, at};
use super::predicate::{Operand, comparisons};
use super::window;
use crate::diagnostic::{Code, Position};
use crate::model::{Comparison, Cond, EventMatch, Filter, Leaf};
use crate::schema::{ColumnKind, TableColumns};
use crate::syntax::PredicateSyntax;
use crate::syntax::{
    Condition, EventLeafSyntax, FilterMap, MetricAgg, MetricLeafSyntax, WhenLeafSyntax,
};

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

    /// A leaf's comparison: required in a condition (reported when missing), refused in an
    /// output (where `Some(vec![])` stands for "no comparison").
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

    /// Report a comparison given where an output is defined.
    pub(super) fn refuse_in_output(&mut self, position: Position, key: &str) {
        self.ctx.report(
            Code::BadOutput,
            position,
            format!("an output takes no `{key}:` — its value is written as it is"),
            format!("remove `{key}:`, or move the comparison into the segment's `where:`"),
        );
    }

    /// Lower one node; `None` when it had errors (already reported).
    pub fn condition(&mut self, node: &Spanned<Condition>) -> Option<Cond> {
        let position = at(node);
        match &node.value {
            Condition::All(children) => self.group(children, "all").map(Cond::All),
            Condition::Any(children) => self.group(children, "any").map(Cond::Any),
            Condition::Not(child) => self.condition(child).map(|c| Cond::Not(Box::new(c))),
            Condition::InSegment(name) => {
                self.references.push(Reference {
                    name: name.value.clone(),
                    position: at(name),
                });
                Some(Cond::InSegment(name.value.clone()))
            }
            Condition::Performed(leaf) => self.performed(leaf, position, false).map(Cond::Leaf),
            Condition::NotPerformed(leaf) => self.performed(leaf, position, true).map(Cond::Leaf),
            Condition::FirstPerformed(leaf) => {
                self.occurrence(leaf, position, true).map(Cond::Leaf)
            }
            Condition::LastPerformed(leaf) => {
                self.occurrence(leaf, position, false).map(Cond::Leaf)
            }
            Condition::Metric(leaf) => self.metric(leaf, position).map(Cond::Leaf),
            Condition::Trait(filters) => self.trait_leaf(filters, position).map(Cond::Leaf),
            Condition::Funnel(leaf) => self.funnel(leaf, position).map(Cond::Leaf),
            Condition::Sequence(leaf) => self.sequence(leaf, position).map(Cond::Leaf),
            Condition::Sessions(leaf) => self.sessions(leaf, position).map(Cond::Leaf),
            Condition::Cadence(leaf) => self.cadence(leaf, position).map(Cond::Leaf),
            Condition::Momentum(leaf) => self.momentum(leaf, position).map(Cond::Leaf),
            Condition::Rfm(leaf) => self.rfm(leaf, position).map(Cond::Leaf),
            Condition::Breadth(leaf) => self.breadth(leaf, position).map(Cond::Leaf),
            Condition::Affinity(leaf) => self.affinity(leaf, position).map(Cond::Leaf),
        }
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

    fn performed(
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
            (None, false) => Some(vec![Comparison::Gte(crate::syntax::Literal::Int(1))]),
            (None, true) => Some(vec![Comparison::Eq(crate::syntax::Literal::Int(0))]),
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
        Some(Leaf::Performed {
            matching: matching?,
            window: window?,
            count: count?,
        })
    }

    fn occurrence(
        &mut self,
        leaf: &WhenLeafSyntax,
        position: Position,
        first: bool,
    ) -> Option<Leaf> {
        let matching = self.matching(&leaf.event, &leaf.filters);
        let when = window::when(
            self.ctx,
            position,
            &leaf.within,
            &leaf.before,
            &leaf.between,
        );
        Some(Leaf::Occurrence {
            first,
            matching: matching?,
            when: when?,
        })
    }

    fn metric(&mut self, leaf: &MetricLeafSyntax, position: Position) -> Option<Leaf> {
        let agg = leaf.agg.value;
        let matching = self.matching(&leaf.event, &leaf.filters);
        let window = window::window(self.ctx, position, &leaf.within, &leaf.between);
        let needs_of = !matches!(agg, MetricAgg::Count | MetricAgg::ActiveDays);
        let mut ok = true;
        let of_kind = match (&leaf.of, needs_of) {
            (None, true) => {
                self.ctx.report(
                    Code::BadMetric,
                    at(&leaf.agg),
                    format!("`{}` needs `of:` (the property it aggregates)", agg.name()),
                    "e.g. `of: revenue`",
                );
                ok = false;
                None
            }
            (Some(of), _) if agg == MetricAgg::ActiveDays => {
                self.ctx.report(
                    Code::BadMetric,
                    at(of),
                    "`active_days` counts calendar days and takes no `of:`",
                    "remove `of:`; use `count_distinct` to count distinct values of a property",
                );
                ok = false;
                None
            }
            (Some(of), _) => {
                let kind = self.events_column(of);
                if kind.is_none() && self.ctx.schema.is_some() {
                    ok = false;
                }
                kind
            }
            (None, false) => None,
        };
        if matches!(agg, MetricAgg::Sum | MetricAgg::Avg)
            && let (Some(kind), Some(of)) = (of_kind, &leaf.of)
            && !kind.is_numeric()
        {
            self.ctx.report(
                Code::TypeMismatch,
                at(of),
                format!(
                    "`{}` needs a numeric column, but `{}` is {}",
                    agg.name(),
                    of.value,
                    kind.name()
                ),
                "use count_distinct, mode or share for text columns",
            );
            ok = false;
        }
        let equals = match (&leaf.equals, agg) {
            (Some(e), MetricAgg::Share) => Some(e.value.clone()),
            (None, MetricAgg::Share) => {
                self.ctx.report(
                    Code::BadMetric,
                    at(&leaf.agg),
                    "`share` needs `equals:` (the value whose share is measured)",
                    "e.g. `agg: share, of: channel, equals: mobile, value: {gte: 0.6}`",
                );
                ok = false;
                None
            }
            (Some(e), _) => {
                self.ctx.report(
                    Code::BadMetric,
                    at(e),
                    format!("`equals:` only applies to `share`, not `{}`", agg.name()),
                    "remove `equals:` or use `agg: share`",
                );
                ok = false;
                None
            }
            (None, _) => None,
        };
        let operand = match agg {
            MetricAgg::Count | MetricAgg::CountDistinct | MetricAgg::ActiveDays => Operand::Count,
            MetricAgg::Share => Operand::Fraction,
            MetricAgg::Avg => Operand::Column(ColumnKind::Float),
            _ => of_kind.map_or(Operand::Unknown, Operand::Column),
        };
        let value = self.comparison(
            &leaf.value,
            position,
            &format!("metric {}", agg.name()),
            "value",
            operand,
            "{gte: 10}",
        );
        if !ok {
            return None;
        }
        Some(Leaf::Metric {
            agg,
            of: leaf.of.as_ref().map(|o| o.value.clone()),
            equals,
            matching: matching?,
            window: window?,
            value: value?,
        })
    }

    fn trait_leaf(&mut self, filters: &FilterMap, position: Position) -> Option<Leaf> {
        if !self.ctx.has_profiles {
            self.ctx.report(
                Code::NoProfiles,
                position,
                "`trait` reads the profiles table, but the project has none",
                "add `lake.profiles: {location: ..., key: ...}` to segmint.yaml",
            );
            return None;
        }
        if filters.is_empty() {
            self.ctx.report(
                Code::BadComparison,
                position,
                "`trait` has no columns to compare",
                "e.g. `trait: {plan: pro}`",
            );
            return None;
        }
        let profiles = self.ctx.schema.and_then(|s| s.profiles.clone());
        let filters = self.filters(filters, profiles.as_ref(), "profiles")?;
        Some(Leaf::Trait { filters })
    }

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
