//! A YAML scalar used as a value in filters and comparisons.
//!
//! YAML `camping` is a string, `12` an integer, `0.5` a float and `true` a boolean (strict
//! YAML 1.2 booleans: `yes`/`on` stay strings). Dates are written as strings (`2026-01-01`)
//! and are interpreted against the column they are compared with.

use std::fmt;

use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize};

/// One literal value from a spec.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Literal {
    /// `true` / `false`
    Bool(bool),
    /// An integer such as `12`.
    Int(i64),
    /// A float such as `0.5`.
    Float(f64),
    /// Any other scalar, such as `camping` or `2026-01-01`.
    Str(String),
}

impl Literal {
    /// The literal as a float, when it is numeric.
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Literal::Int(i) => Some(*i as f64),
            Literal::Float(f) => Some(*f),
            _ => None,
        }
    }

    /// A short name of the literal's kind, for messages.
    pub fn kind_name(&self) -> &'static str {
        match self {
            Literal::Bool(_) => "boolean",
            Literal::Int(_) => "integer",
            Literal::Float(_) => "number",
            Literal::Str(_) => "string",
        }
    }
}

impl fmt::Display for Literal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Literal::Bool(b) => write!(f, "{b}"),
            Literal::Int(i) => write!(f, "{i}"),
            Literal::Float(x) => write!(f, "{x}"),
            Literal::Str(s) => write!(f, "{s:?}"),
        }
    }
}

struct LiteralVisitor;

impl Visitor<'_> for LiteralVisitor {
    type Value = Literal;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a scalar value (text, number or boolean)")
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Literal, E> {
        Ok(Literal::Bool(v))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Literal, E> {
        Ok(Literal::Int(v))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Literal, E> {
        i64::try_from(v)
            .map(Literal::Int)
            .map_err(|_| E::custom(format!("integer {v} is too large")))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Literal, E> {
        if v.is_finite() {
            Ok(Literal::Float(v))
        } else {
            Err(E::custom("numbers must be finite"))
        }
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Literal, E> {
        Ok(Literal::Str(v.to_string()))
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<Literal, E> {
        Ok(Literal::Str(v))
    }
}

impl<'de> Deserialize<'de> for Literal {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(LiteralVisitor)
    }
}
