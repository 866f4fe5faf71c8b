//! What the checker needs to know about the lake's columns, without depending on Arrow.
//!
//! The engine reads the Parquet schema and hands it over as a [`LakeSchema`]; `validate
//! --offline` checks without one (names and types of columns are then not checked).

use std::collections::BTreeMap;

use serde::Serialize;

/// The kind of a column, as far as comparisons care.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum ColumnKind {
    Text,
    Integer,
    Float,
    Boolean,
    Timestamp,
    Date,
    /// Lists, structs, binary: can be tested for null only.
    Other,
}

impl ColumnKind {
    /// Integers and floats.
    pub fn is_numeric(self) -> bool {
        matches!(self, ColumnKind::Integer | ColumnKind::Float)
    }

    /// A short name for messages.
    pub fn name(self) -> &'static str {
        match self {
            ColumnKind::Text => "text",
            ColumnKind::Integer => "integer",
            ColumnKind::Float => "float",
            ColumnKind::Boolean => "boolean",
            ColumnKind::Timestamp => "timestamp",
            ColumnKind::Date => "date",
            ColumnKind::Other => "complex",
        }
    }
}

/// Columns of one table.
pub type TableColumns = BTreeMap<String, ColumnKind>;

/// Columns of the events table (partition columns included) and of the profiles table.
#[derive(Debug, Clone, Default, Serialize)]
pub struct LakeSchema {
    pub events: TableColumns,
    pub profiles: Option<TableColumns>,
}
