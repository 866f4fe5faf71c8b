//! Checking a comparison (`{gte: 12}`, `camping`, `[a, b]`) against what it compares.

use serde_saphyr::Spanned;

use super::context::{FileContext, at};
use crate::diagnostic::Code;
use crate::model::Comparison;
use crate::schema::ColumnKind;
use crate::syntax::{Literal, Predicate, PredicateSyntax};

/// What the compared value is.
#[derive(Debug, Clone, Copy)]
pub enum Operand {
    /// A column of this kind.
    Column(ColumnKind),
    /// A column whose kind is unknown (checking without a lake schema).
    Unknown,
    /// A count of events (a non-negative number).
    Count,
    /// A share between 0 and 1.
    Fraction,
    /// A non-negative number that is not a count (a ratio, minutes, a mean).
    NonNegative,
    /// An RFM score: a whole number from 1 to 5.
    Score,
}

impl Operand {
    fn accepts(self, literal: &Literal) -> bool {
        match (self, literal) {
            (Operand::Unknown, _) => true,
            (Operand::Count, Literal::Int(i)) => *i >= 0,
            (Operand::Count, Literal::Float(f)) => *f >= 0.0,
            (Operand::Fraction, l) => l.as_f64().is_some_and(|f| (0.0..=1.0).contains(&f)),
            (Operand::NonNegative, l) => l.as_f64().is_some_and(|f| f >= 0.0),
            (Operand::Score, Literal::Int(i)) => (1..=5).contains(i),
            (Operand::Column(ColumnKind::Text), Literal::Str(_)) => true,
            (Operand::Column(k), Literal::Int(_) | Literal::Float(_)) => k.is_numeric(),
            (Operand::Column(ColumnKind::Boolean), Literal::Bool(_)) => true,
            (Operand::Column(ColumnKind::Timestamp | ColumnKind::Date), Literal::Str(s)) => {
                crate::window::parse_date(s).is_some()
                    || chrono::DateTime::parse_from_rfc3339(s).is_ok()
            }
            _ => false,
        }
    }

    fn describe(self) -> String {
        match self {
            Operand::Unknown => "any value".into(),
            Operand::Count => "a count (a number ≥ 0)".into(),
            Operand::Fraction => "a share between 0 and 1".into(),
            Operand::NonNegative => "a number ≥ 0".into(),
            Operand::Score => "an RFM score (1 to 5)".into(),
            Operand::Column(k) => format!("a {} column", k.name()),
        }
    }

    fn hint(self) -> &'static str {
        match self {
            Operand::Column(ColumnKind::Text) => {
                "this column holds text: quote the value, e.g. \"404\""
            }
            Operand::Column(ColumnKind::Timestamp | ColumnKind::Date) => {
                "write dates as YYYY-MM-DD or timestamps as RFC 3339 (2026-01-31T12:00:00Z)"
            }
            Operand::Column(ColumnKind::Boolean) => "compare booleans with true or false",
            Operand::Column(ColumnKind::Other) => "complex columns can only be tested with is_null",
            Operand::Count => "counts are compared with whole numbers ≥ 0, e.g. {gte: 12}",
            Operand::Fraction => "shares are fractions: {gte: 0.6} means at least 60%",
            Operand::NonNegative => "compare with a number ≥ 0, e.g. {gte: 1.5}",
            Operand::Score => "scores are whole numbers from 1 (worst) to 5 (best), e.g. {gte: 4}",
            _ => "compare numbers with numbers: write the value without quotes",
        }
    }
}

/// Lower a predicate into comparisons, reporting problems. `None` when any was found.
pub fn comparisons(
    ctx: &mut FileContext,
    predicate: &Spanned<PredicateSyntax>,
    operand: Operand,
    what: &str,
) -> Option<Vec<Comparison>> {
    let Predicate {
        eq,
        ne,
        in_list,
        not_in,
        gt,
        gte,
        lt,
        lte,
        between,
        contains,
        is_null,
    } = predicate.value.0.clone();
    let mut out = Vec::new();
    let one = |l: Option<Literal>, f: fn(Literal) -> Comparison, out: &mut Vec<Comparison>| {
        if let Some(l) = l {
            out.push(f(l));
        }
    };
    one(eq, Comparison::Eq, &mut out);
    one(ne, Comparison::Ne, &mut out);
    one(gt, Comparison::Gt, &mut out);
    one(gte, Comparison::Gte, &mut out);
    one(lt, Comparison::Lt, &mut out);
    one(lte, Comparison::Lte, &mut out);
    if let Some(list) = in_list {
        out.push(Comparison::In(list));
    }
    if let Some(list) = not_in {
        out.push(Comparison::NotIn(list));
    }
    if let Some((lo, hi)) = between {
        out.push(Comparison::Between(lo, hi));
    }
    if let Some(s) = contains {
        out.push(Comparison::Contains(s));
    }
    if let Some(b) = is_null {
        out.push(Comparison::IsNull(b));
    }

    let position = at(predicate);
    if out.is_empty() {
        ctx.report(
            Code::BadComparison,
            position,
            format!("the comparison for {what} is empty"),
            "use at least one operator: eq, ne, in, not_in, gt, gte, lt, lte, between, contains, is_null",
        );
        return None;
    }
    let mut ok = true;
    for cmp in &out {
        let literals: Vec<&Literal> = match cmp {
            Comparison::Eq(l)
            | Comparison::Ne(l)
            | Comparison::Gt(l)
            | Comparison::Gte(l)
            | Comparison::Lt(l)
            | Comparison::Lte(l) => vec![l],
            Comparison::In(v) | Comparison::NotIn(v) => {
                if v.is_empty() {
                    ctx.report(
                        Code::BadComparison,
                        position,
                        format!("the list for {what} is empty"),
                        "give at least one value: in: [a, b]",
                    );
                    ok = false;
                }
                v.iter().collect()
            }
            Comparison::Between(lo, hi) => {
                if let (Some(a), Some(b)) = (lo.as_f64(), hi.as_f64())
                    && a > b
                {
                    ctx.report(
                        Code::BadComparison,
                        position,
                        format!("between [{lo}, {hi}] for {what} is empty"),
                        "write the lower bound first; both ends are inclusive",
                    );
                    ok = false;
                }
                vec![lo, hi]
            }
            Comparison::Contains(_) => {
                if !matches!(
                    operand,
                    Operand::Unknown | Operand::Column(ColumnKind::Text)
                ) {
                    ctx.report(
                        Code::TypeMismatch,
                        position,
                        format!(
                            "`contains` needs text, but {what} is {}",
                            operand.describe()
                        ),
                        "use eq / in for numbers, or contains on a text column",
                    );
                    ok = false;
                }
                vec![]
            }
            Comparison::IsNull(_) => {
                if matches!(
                    operand,
                    Operand::Count | Operand::Fraction | Operand::NonNegative | Operand::Score
                ) {
                    ctx.report(
                        Code::BadComparison,
                        position,
                        format!("`is_null` cannot be used on {what}"),
                        "counts and shares are never null; compare them with numbers",
                    );
                    ok = false;
                }
                vec![]
            }
        };
        for literal in literals {
            if !operand.accepts(literal) {
                ctx.report(
                    Code::TypeMismatch,
                    position,
                    format!(
                        "{what} is {}, but it is compared with the {} {literal}",
                        operand.describe(),
                        literal.kind_name()
                    ),
                    operand.hint(),
                );
                ok = false;
            }
        }
    }
    ok.then_some(out)
}
