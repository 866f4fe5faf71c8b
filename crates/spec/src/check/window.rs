//! Checking `within`, `between` and `before`.

use serde_saphyr::Spanned;

use super::context::{FileContext, at};
use crate::diagnostic::{Code, Position};
use crate::model::{When, Window};
use crate::window::{Span, parse_date, parse_span};

/// Parse a duration such as `30d`, reporting a coded error.
pub fn span(ctx: &mut FileContext, text: &Spanned<String>) -> Option<Span> {
    match parse_span(&text.value) {
        Ok(s) => Some(s),
        Err(e) => {
            ctx.report(
                Code::BadDuration,
                at(text),
                format!("`{}` is not a duration: {e}", text.value),
                "write a positive whole number and a unit: `90m`, `12h`, `30d`, `2w`",
            );
            None
        }
    }
}

/// Parse `[from, to]` into a half-open date range.
pub fn date_range(
    ctx: &mut FileContext,
    range: &Spanned<Vec<Spanned<String>>>,
) -> Option<(chrono::NaiveDate, chrono::NaiveDate)> {
    let hint = "write `between: [2026-01-01, 2026-02-01]` (from inclusive, to exclusive)";
    if range.value.len() != 2 {
        ctx.report(
            Code::BadDate,
            at(range),
            format!(
                "`between` needs exactly two dates, found {}",
                range.value.len()
            ),
            hint,
        );
        return None;
    }
    let mut dates = Vec::with_capacity(2);
    for d in &range.value {
        match parse_date(&d.value) {
            Some(date) => dates.push(date),
            None => {
                ctx.report(
                    Code::BadDate,
                    at(d),
                    format!("`{}` is not a date", d.value),
                    "dates are written YYYY-MM-DD, e.g. 2026-01-31",
                );
                return None;
            }
        }
    }
    let (from, to) = (dates[0], dates[1]);
    if from >= to {
        ctx.report(
            Code::BadDate,
            at(range),
            format!("the range [{from}, {to}) is empty"),
            "the first date must come before the second",
        );
        return None;
    }
    Some((from, to))
}

/// A window from optional `within` / `between` (neither: all time before as-of).
pub fn window(
    ctx: &mut FileContext,
    leaf_at: Position,
    within: &Option<Spanned<String>>,
    between: &Option<Spanned<Vec<Spanned<String>>>>,
) -> Option<Window> {
    match (within, between) {
        (None, None) => Some(Window::AllTime),
        (Some(w), None) => span(ctx, w).map(Window::Last),
        (None, Some(b)) => date_range(ctx, b).map(|(f, t)| Window::Between(f, t)),
        (Some(_), Some(_)) => {
            ctx.report(
                Code::BadWindow,
                leaf_at,
                "`within` and `between` cannot both be given",
                "keep one: `within: 30d` (relative to as-of) or `between: [from, to]` (absolute)",
            );
            None
        }
    }
}

/// At most one of `within` / `before` / `between` (none: any time before as-of).
pub fn when(
    ctx: &mut FileContext,
    leaf_at: Position,
    within: &Option<Spanned<String>>,
    before: &Option<Spanned<String>>,
    between: &Option<Spanned<Vec<Spanned<String>>>>,
) -> Option<When> {
    match (within, before, between) {
        (Some(w), None, None) => span(ctx, w).map(When::Within),
        (None, Some(b), None) => span(ctx, b).map(When::Before),
        (None, None, Some(r)) => date_range(ctx, r).map(|(f, t)| When::Between(f, t)),
        (None, None, None) => Some(When::Ever),
        _ => {
            ctx.report(
                Code::BadWindow,
                leaf_at,
                "give at most one of `within`, `before` or `between`",
                "`within: 14d` (in the last 14 days), `before: 30d` (more than 30 days ago), or `between: [from, to]`",
            );
            None
        }
    }
}
