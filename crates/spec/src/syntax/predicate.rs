//! Comparisons on a value: `{gte: 12}`, `{in: [mobile, desktop]}`, or a bare scalar.
//!
//! What it does: one type serves property filters (`where: {category: camping}`), event counts
//! (`count: {gte: 12}`) and metric values (`value: {between: [100, 500]}`).
//! Why: analysts learn one comparison language. A bare scalar means `eq`, a bare list means
//! `in`. Several operators in one map must all hold (`{gte: 3, lt: 10}`).
//!
//! ```yaml
//! where:
//!   category: camping              # eq
//!   channel: [mobile, desktop]     # in
//!   revenue: {gte: 100}
//!   coupon: {is_null: true}
//! ```

use std::fmt;

use serde::de::value::{MapAccessDeserializer, SeqAccessDeserializer};
use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Serialize};

use super::literal::Literal;

/// The operators of one comparison map. Every present operator must hold.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Predicate {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub eq: Option<Literal>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ne: Option<Literal>,
    #[serde(default, rename = "in", skip_serializing_if = "Option::is_none")]
    pub in_list: Option<Vec<Literal>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub not_in: Option<Vec<Literal>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gt: Option<Literal>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gte: Option<Literal>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lt: Option<Literal>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lte: Option<Literal>,
    /// Inclusive on both ends: `between: [3, 10]` is `3 <= x <= 10`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub between: Option<(Literal, Literal)>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contains: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_null: Option<bool>,
}

/// A predicate as written: either the operator map, a bare scalar (`eq`) or a list (`in`).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(transparent)]
pub struct PredicateSyntax(pub Predicate);

struct PredicateVisitor;

impl<'de> Visitor<'de> for PredicateVisitor {
    type Value = PredicateSyntax;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a value, a list of values, or a map of operators such as {gte: 12}")
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Self::Value, E> {
        Ok(eq(Literal::Bool(v)))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
        Ok(eq(Literal::Int(v)))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
        i64::try_from(v)
            .map(|v| eq(Literal::Int(v)))
            .map_err(|_| E::custom(format!("integer {v} is too large")))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
        if v.is_finite() {
            Ok(eq(Literal::Float(v)))
        } else {
            Err(E::custom("numbers must be finite"))
        }
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(eq(Literal::Str(v.to_string())))
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
        Ok(eq(Literal::Str(v)))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
        let values = Vec::<Literal>::deserialize(SeqAccessDeserializer::new(seq))?;
        Ok(PredicateSyntax(Predicate {
            in_list: Some(values),
            ..Predicate::default()
        }))
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        Predicate::deserialize(MapAccessDeserializer::new(map)).map(PredicateSyntax)
    }
}

fn eq(value: Literal) -> PredicateSyntax {
    PredicateSyntax(Predicate {
        eq: Some(value),
        ..Predicate::default()
    })
}

impl<'de> Deserialize<'de> for PredicateSyntax {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(PredicateVisitor)
    }
}
