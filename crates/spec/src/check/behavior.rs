//! Lowering the behavioral leaves: funnel, sequence, sessions, cadence, momentum, rfm,
//! breadth and affinity. Each checks what its leaf needs, reports misuse with a coded
//! diagnostic and a hint, and builds the model's normal form.

use serde_saphyr::Spanned;

use super::context::at;
use super::lower::{Lowerer, Purpose};
use super::predicate::Operand;
use super::window;
use crate::diagnostic::{Code, Position};
use crate::model::{
    CadenceClass, CadenceRules, EventMatch, FunnelOutcome, Gap, Leaf, RfmCutPoints, SequenceStep,
    Window,
};
use crate::schema::ColumnKind;
use crate::syntax::behavior::{
    AffinitySyntax, BreadthSyntax, CadenceSyntax, CutPointsSyntax, FunnelSyntax, MomentumSyntax,
    RfmSyntax, SequenceSyntax, SessionsSyntax, StepSyntax,
};
use crate::syntax::{Literal, MetricAgg};
use crate::window::{Span, Unit};

/// The modes `window_funnel` accepts.
pub const FUNNEL_MODES: [&str; 4] = [
    "strict_order",
    "strict_deduplication",
    "strict_increase",
    "allow_reentry",
];

/// The named RFM classes (see `rfm_class` in segmint-udfs).
pub const RFM_CLASSES: [&str; 11] = [
    "champions",
    "loyal",
    "potential_loyalists",
    "new_customers",
    "promising",
    "need_attention",
    "about_to_sleep",
    "at_risk",
    "cannot_lose_them",
    "hibernating",
    "lost",
];

/// The most steps a funnel or sequence may have (the functions take 32 conditions).
const MAX_STEPS: usize = 32;

impl Lowerer<'_, '_> {
    fn bad(&mut self, position: Position, message: impl Into<String>, hint: impl Into<String>) {
        self.ctx.report(Code::BadLeaf, position, message, hint);
    }

    /// Steps of a funnel or sequence: 2 to 32, each naming an event or a filter.
    fn step_matches(
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

    /// `window`/`within`/`between` are not allowed in an output's funnel or sequence step.
    fn span_of(&mut self, text: &Spanned<String>) -> Option<Span> {
        window::span(self.ctx, text)
    }

    pub(super) fn funnel(&mut self, leaf: &FunnelSyntax, position: Position) -> Option<Leaf> {
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
        Some(Leaf::Funnel {
            steps: steps?,
            window: span?,
            modes: modes?,
            events: events?,
            outcome: outcome?,
        })
    }

    fn funnel_modes(&mut self, leaf: &FunnelSyntax) -> Option<String> {
        let Some(modes) = &leaf.mode else {
            return Some(String::new());
        };
        let mut names = Vec::new();
        for m in &modes.value {
            if FUNNEL_MODES.contains(&m.value.as_str()) {
                names.push(m.value.clone());
            } else {
                self.bad(
                    at(m),
                    format!("`{}` is not a funnel mode", m.value),
                    crate::source::did_you_mean(&m.value, &FUNNEL_MODES, "modes"),
                );
                return None;
            }
        }
        if names.iter().any(|m| m == "allow_reentry") && !names.iter().any(|m| m == "strict_order")
        {
            self.bad(
                at(modes),
                "mode `allow_reentry` only applies with `strict_order`",
                "write `mode: [strict_order, allow_reentry]`",
            );
            return None;
        }
        Some(names.join(","))
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
            return super::predicate::comparisons(
                self.ctx,
                r,
                Operand::Count,
                "`reached` of `funnel`",
            )
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

    pub(super) fn sequence(&mut self, leaf: &SequenceSyntax, position: Position) -> Option<Leaf> {
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
        Some(Leaf::Sequence {
            steps,
            events: events?,
        })
    }

    pub(super) fn sessions(&mut self, leaf: &SessionsSyntax, position: Position) -> Option<Leaf> {
        let matching = self.matching(&leaf.event, &leaf.filters);
        let window = window::window(self.ctx, position, &leaf.within, &leaf.between);
        let gap = match &leaf.gap {
            Some(g) => self.span_of(g),
            None => Some(Span {
                amount: 30,
                unit: Unit::Minutes,
            }),
        };
        let lower = |this: &mut Self, field: &Option<Spanned<_>>, key: &str, operand| match (
            field,
            this.purpose,
        ) {
            (Some(c), Purpose::Condition) => super::predicate::comparisons(
                this.ctx,
                c,
                operand,
                &format!("`{key}` of `sessions`"),
            ),
            (Some(c), Purpose::Output) => {
                this.refuse_in_output(at(c), key);
                None
            }
            (None, _) => Some(Vec::new()),
        };
        let count = lower(self, &leaf.count, "count", Operand::Count);
        let mean_minutes = lower(
            self,
            &leaf.mean_minutes,
            "mean_minutes",
            Operand::NonNegative,
        );
        let per = lower(
            self,
            &leaf.events_per_session,
            "events_per_session",
            Operand::NonNegative,
        );
        let none = leaf.count.is_none()
            && leaf.mean_minutes.is_none()
            && leaf.events_per_session.is_none();
        if self.purpose == Purpose::Condition && none {
            self.bad(
                position,
                "`sessions` needs at least one of `count`, `mean_minutes` or `events_per_session`",
                "e.g. `sessions: {within: 30d, count: {gte: 8}}`",
            );
            return None;
        }
        Some(Leaf::Sessions {
            matching: matching?,
            window: window?,
            gap: gap?,
            count: count?,
            mean_minutes: mean_minutes?,
            events_per_session: per?,
        })
    }

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

    pub(super) fn cadence(&mut self, leaf: &CadenceSyntax, position: Position) -> Option<Leaf> {
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
        Some(Leaf::Cadence {
            matching: matching?,
            window: window?,
            classes,
            rules: rules?,
        })
    }

    pub(super) fn momentum(&mut self, leaf: &MomentumSyntax, position: Position) -> Option<Leaf> {
        let matching = self.matching(&leaf.event, &leaf.filters);
        let recent = self.span_of(&leaf.recent);
        let baseline = self.span_of(&leaf.baseline);
        let value = self.comparison(
            &leaf.value,
            position,
            "momentum",
            "value",
            Operand::NonNegative,
            "{gte: 1.5}",
        );
        Some(Leaf::Momentum {
            matching: matching?,
            recent: recent?,
            baseline: baseline?,
            value: value?,
        })
    }

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

    pub(super) fn rfm(&mut self, leaf: &RfmSyntax, position: Position) -> Option<Leaf> {
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
        let cut_points = match &leaf.cut_points {
            Some(c) => self.cut_points(c).map(Some),
            None => Some(None),
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
        let score =
            |this: &mut Self, field: &Option<Spanned<_>>, key: &str| match (field, this.purpose) {
                (Some(c), Purpose::Condition) => super::predicate::comparisons(
                    this.ctx,
                    c,
                    Operand::Score,
                    &format!("the `{key}` score"),
                ),
                (Some(c), Purpose::Output) => {
                    this.refuse_in_output(at(c), key);
                    None
                }
                (None, _) => Some(Vec::new()),
            };
        let r = score(self, &leaf.r, "r");
        let f = score(self, &leaf.f, "f");
        let m = score(self, &leaf.m, "m");
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
        Some(Leaf::Rfm {
            matching: matching?,
            monetary: leaf.monetary.value.clone(),
            window: window?,
            cut_points: cut_points?,
            classes,
            r: r?,
            f: f?,
            m: m?,
        })
    }

    /// `breadth` is a distinct count of a property: it lowers to `metric count_distinct`.
    pub(super) fn breadth(&mut self, leaf: &BreadthSyntax, position: Position) -> Option<Leaf> {
        let matching = self.matching(&leaf.event, &leaf.filters);
        let window = window::window(self.ctx, position, &leaf.within, &leaf.between);
        let column_ok = self.events_column(&leaf.of).is_some() || self.ctx.schema.is_none();
        let count = self.comparison(
            &leaf.count,
            position,
            "breadth",
            "count",
            Operand::Count,
            "{gte: 6}",
        );
        if !column_ok {
            return None;
        }
        Some(Leaf::Metric {
            agg: MetricAgg::CountDistinct,
            of: Some(leaf.of.value.clone()),
            equals: None,
            matching: matching?,
            window: window?,
            value: count?,
        })
    }

    pub(super) fn affinity(&mut self, leaf: &AffinitySyntax, position: Position) -> Option<Leaf> {
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
        Some(Leaf::Affinity {
            of: leaf.of.value.clone(),
            matching: matching?,
            window: window?,
            values,
            min_share,
        })
    }
}
