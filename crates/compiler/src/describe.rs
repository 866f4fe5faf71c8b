//! Short human descriptions of leaves, used as column labels by `preview`.

use segmint_spec::{Comparison, EventMatch, Leaf, When, Window};

fn matching(m: &EventMatch) -> String {
    let mut s = m.event.clone().unwrap_or_else(|| "any event".into());
    if !m.filters.is_empty() {
        let f: Vec<String> = m
            .filters
            .iter()
            .map(|f| format!("{} {}", f.column, cmp(&f.cmp)))
            .collect();
        s.push_str(&format!(" where {}", f.join(", ")));
    }
    s
}

fn cmp(c: &Comparison) -> String {
    match c {
        Comparison::Eq(l) => format!("= {l}"),
        Comparison::Ne(l) => format!("!= {l}"),
        Comparison::Gt(l) => format!("> {l}"),
        Comparison::Gte(l) => format!(">= {l}"),
        Comparison::Lt(l) => format!("< {l}"),
        Comparison::Lte(l) => format!("<= {l}"),
        Comparison::In(v) => format!("in {}", list(v)),
        Comparison::NotIn(v) => format!("not in {}", list(v)),
        Comparison::Between(a, b) => format!("between {a} and {b}"),
        Comparison::Contains(s) => format!("contains {s:?}"),
        Comparison::IsNull(true) => "is null".into(),
        Comparison::IsNull(false) => "is not null".into(),
    }
}

fn list(v: &[segmint_spec::Literal]) -> String {
    let items: Vec<String> = v.iter().map(ToString::to_string).collect();
    format!("[{}]", items.join(", "))
}

fn window(w: &Window) -> String {
    match w {
        Window::AllTime => "ever".into(),
        Window::Last(s) => format!("in last {s}"),
        Window::Between(a, b) => format!("in [{a}, {b})"),
    }
}

/// e.g. `count(product_view where category = "camping") in last 30d`.
pub fn describe(leaf: &Leaf) -> String {
    match leaf {
        Leaf::Performed {
            matching: m,
            window: w,
            ..
        } => {
            format!("count({}) {}", matching(m), window(w))
        }
        Leaf::Occurrence {
            first,
            matching: m,
            when,
        } => {
            let which = if *first { "first" } else { "last" };
            let when = match when {
                When::Within(s) => format!("(want within {s})"),
                When::Before(s) => format!("(want before {s} ago)"),
                When::Between(a, b) => format!("(want in [{a}, {b}))"),
                When::Ever => "(any time)".to_string(),
            };
            format!("{which}({}) {when}", matching(m))
        }
        Leaf::Metric {
            agg,
            of,
            equals,
            matching: m,
            window: w,
            ..
        } => {
            let of = of.clone().unwrap_or_default();
            let eq = equals
                .as_ref()
                .map(|e| format!(" = {e}"))
                .unwrap_or_default();
            format!("{}({of}{eq} | {}) {}", agg.name(), matching(m), window(w))
        }
        Leaf::Trait { filters } => {
            let f: Vec<String> = filters
                .iter()
                .map(|f| format!("{} {}", f.column, cmp(&f.cmp)))
                .collect();
            format!("trait {}", f.join(", "))
        }
        Leaf::Funnel {
            steps,
            window: span,
            events,
            ..
        } => {
            let s: Vec<String> = steps.iter().map(matching).collect();
            format!(
                "funnel steps({}) within {span} {}",
                s.join(" → "),
                window(events)
            )
        }
        Leaf::Sequence { steps, events } => {
            let s: Vec<String> = steps.iter().map(|s| matching(&s.matching)).collect();
            format!("sequence({}) {}", s.join(" → "), window(events))
        }
        Leaf::Sessions {
            matching: m,
            window: w,
            gap,
            ..
        } => format!("sessions(gap {gap} | {}) {}", matching(m), window(w)),
        Leaf::Cadence {
            matching: m,
            window: w,
            ..
        } => format!("cadence class({}) {}", matching(m), window(w)),
        Leaf::Momentum {
            matching: m,
            recent,
            baseline,
            ..
        } => format!(
            "momentum({} | last {recent} vs {baseline} before)",
            matching(m)
        ),
        Leaf::Rfm {
            matching: m,
            monetary,
            window: w,
            ..
        } => format!(
            "rfm class({}, monetary {monetary}) {}",
            matching(m),
            window(w)
        ),
        Leaf::Affinity {
            of,
            matching: m,
            window: w,
            ..
        } => format!("dominant {of}({}) {}", matching(m), window(w)),
    }
}
