//! Short human descriptions of leaves, used as column labels by `preview`. Each leaf
//! describes itself in its file under `leaves/`; the pieces they share are here.

use segmint_spec::{Comparison, EventMatch, Leaf, Window};

use crate::leaf::plan_of;

/// e.g. `count(product_view where category = "camping") in last 30d`.
pub fn describe(leaf: &Leaf) -> String {
    plan_of(leaf).describe()
}

/// `event where column op value, …` (`any event` without a name).
pub(crate) fn matching(m: &EventMatch) -> String {
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

/// `>= 3`, `in [a, b]`, `is null`, ….
pub(crate) fn cmp(c: &Comparison) -> String {
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

/// `ever`, `in last 30d`, `in [2026-01-01, 2026-02-01)`.
pub(crate) fn window(w: &Window) -> String {
    match w {
        Window::AllTime => "ever".into(),
        Window::Last(s) => format!("in last {s}"),
        Window::Between(a, b) => format!("in [{a}, {b})"),
    }
}
