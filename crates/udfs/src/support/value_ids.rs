//! Dense ids for the distinct values one accumulator has seen.
//!
//! `distinct_count` never stores values per group: it maps each value to a small integer id
//! once (strings hashed once per row, never copied per group) and keeps sets of ids. The
//! ids are local to one accumulator; partial states carry the values themselves.

use std::sync::Arc;

use datafusion::arrow::array::{
    Array, ArrayAccessor, ArrayRef, AsArray, BooleanArray, Int64Array, StringArray,
};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, FieldRef, Float64Type, Int64Type};
use datafusion::common::{HashMap, Result, plan_err};

use super::time::for_each_kept_row;

/// How values become ids.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum KeyKind {
    /// Integers, dates, timestamps, booleans: the value as `i64`.
    Integer,
    /// Floats: the bit pattern of the `f64` (so `NaN`s with one pattern count once).
    Float,
    /// Strings of any encoding.
    String,
}

impl KeyKind {
    /// The kind for an input type, or a plan error naming `function`.
    pub(crate) fn of(function: &str, data_type: &DataType) -> Result<Self> {
        match data_type {
            DataType::Dictionary(_, value) => Self::of(function, value),
            DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => Ok(Self::String),
            DataType::Float16 | DataType::Float32 | DataType::Float64 => Ok(Self::Float),
            DataType::Boolean
            | DataType::Date32
            | DataType::Date64
            | DataType::Timestamp(_, _)
            | DataType::Null => Ok(Self::Integer),
            t if t.is_integer() => Ok(Self::Integer),
            other => plan_err!(
                "{function}: values of type {other} are not supported (strings, numbers, \
                 booleans, dates and timestamps are)"
            ),
        }
    }

    /// Check a call with one argument of a supported type (`coerce_types`).
    pub(crate) fn one_argument(function: &str, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        let [value] = arg_types else {
            return plan_err!("{function} takes one argument, got {}", arg_types.len());
        };
        Self::of(function, value)?;
        Ok(arg_types.to_vec())
    }

    /// The kind of a call's first argument (a plan error without one).
    pub(crate) fn of_first(function: &str, fields: &[FieldRef]) -> Result<Self> {
        match fields.first() {
            Some(field) => Self::of(function, field.data_type()),
            None => plan_err!("{function} takes one argument"),
        }
    }

    /// The item type of the state lists: strings, or `i64` (float bits for floats).
    pub(crate) fn state_type(self) -> DataType {
        match self {
            Self::String => DataType::Utf8,
            Self::Integer | Self::Float => DataType::Int64,
        }
    }

    /// `values` as the state's item type (no interning): used when a partial aggregation
    /// is skipped and each row becomes its own state.
    pub(crate) fn to_state_values(self, values: &ArrayRef) -> Result<ArrayRef> {
        Ok(match self {
            Self::String => cast(values, &DataType::Utf8)?,
            Self::Integer => cast(values, &DataType::Int64)?,
            Self::Float => {
                let floats = cast(values, &DataType::Float64)?;
                let floats = floats.as_primitive::<Float64Type>();
                Arc::new(Int64Array::from_iter(
                    floats.iter().map(|v| v.map(|f| f.to_bits() as i64)),
                ))
            }
        })
    }
}

/// The value ↔ id map of one accumulator.
#[derive(Debug)]
pub(crate) struct ValueIds {
    kind: KeyKind,
    integers: HashMap<i64, u32>,
    integer_values: Vec<i64>,
    strings: HashMap<Arc<str>, u32>,
    string_values: Vec<Arc<str>>,
    string_bytes: usize,
}

impl ValueIds {
    pub(crate) fn new(kind: KeyKind) -> Self {
        Self {
            kind,
            integers: HashMap::default(),
            integer_values: Vec::new(),
            strings: HashMap::default(),
            string_values: Vec::new(),
            string_bytes: 0,
        }
    }

    pub(crate) fn kind(&self) -> KeyKind {
        self.kind
    }

    fn integer_id(&mut self, value: i64) -> u32 {
        if let Some(&id) = self.integers.get(&value) {
            return id;
        }
        let id = self.integer_values.len() as u32;
        self.integer_values.push(value);
        self.integers.insert(value, id);
        id
    }

    fn string_id(&mut self, value: &str) -> u32 {
        if let Some(&id) = self.strings.get(value) {
            return id;
        }
        let id = self.string_values.len() as u32;
        let shared: Arc<str> = Arc::from(value);
        self.string_bytes += value.len();
        self.string_values.push(Arc::clone(&shared));
        self.strings.insert(shared, id);
        id
    }

    /// The id of every element of `values` (input values, or a state's list items);
    /// `None` for NULLs.
    pub(crate) fn ids(&mut self, values: &ArrayRef) -> Result<Vec<Option<u32>>> {
        let mut ids = vec![None; values.len()];
        self.for_each_kept_id(values, None, |row, id| ids[row] = Some(id))?;
        Ok(ids)
    }

    /// Call `f(row, id)` for each non-NULL value among the rows `filter` keeps (walking the
    /// filter's set bits): a filtered aggregate neither hashes nor remembers the values it
    /// does not count.
    pub(crate) fn for_each_kept_id(
        &mut self,
        values: &ArrayRef,
        filter: Option<&BooleanArray>,
        mut f: impl FnMut(usize, u32),
    ) -> Result<()> {
        let len = values.len();
        match self.kind {
            KeyKind::String => match values.data_type() {
                DataType::Utf8 => self.string_rows(values.as_string::<i32>(), filter, len, f),
                DataType::LargeUtf8 => self.string_rows(values.as_string::<i64>(), filter, len, f),
                DataType::Utf8View => self.string_rows(values.as_string_view(), filter, len, f),
                _ => {
                    let utf8 = cast(values, &DataType::Utf8)?;
                    self.string_rows(utf8.as_string::<i32>(), filter, len, f)
                }
            },
            KeyKind::Integer | KeyKind::Float => {
                let ints = match (self.kind, values.data_type()) {
                    (_, DataType::Int64) => Arc::clone(values),
                    (KeyKind::Float, _) => self.kind.to_state_values(values)?,
                    _ => cast(values, &DataType::Int64)?,
                };
                let ints = ints.as_primitive::<Int64Type>();
                for_each_kept_row(filter, len, |row| {
                    if ints.is_valid(row) {
                        f(row, self.integer_id(ints.value(row)));
                    }
                });
            }
        }
        Ok(())
    }

    fn string_rows<'a>(
        &mut self,
        values: impl ArrayAccessor<Item = &'a str>,
        filter: Option<&BooleanArray>,
        len: usize,
        mut f: impl FnMut(usize, u32),
    ) {
        for_each_kept_row(filter, len, |row| {
            if values.is_valid(row) {
                f(row, self.string_id(values.value(row)));
            }
        });
    }

    /// The values of `ids`, as the state's item type.
    pub(crate) fn values_of(&self, ids: impl Iterator<Item = u32>) -> ArrayRef {
        match self.kind {
            KeyKind::String => Arc::new(StringArray::from_iter_values(
                ids.map(|id| self.string_values[id as usize].as_ref())
                    .collect::<Vec<_>>(),
            )),
            KeyKind::Integer | KeyKind::Float => Arc::new(Int64Array::from_iter_values(
                ids.map(|id| self.integer_values[id as usize])
                    .collect::<Vec<_>>(),
            )),
        }
    }

    /// Order two ids by their values (strings bytewise, integers and floats numerically).
    pub(crate) fn compare(&self, a: u32, b: u32) -> std::cmp::Ordering {
        match self.kind {
            KeyKind::String => self.string_values[a as usize].cmp(&self.string_values[b as usize]),
            KeyKind::Integer => {
                self.integer_values[a as usize].cmp(&self.integer_values[b as usize])
            }
            KeyKind::Float => {
                let f = |id: u32| f64::from_bits(self.integer_values[id as usize] as u64);
                f(a).total_cmp(&f(b))
            }
        }
    }

    /// The values of `ids` (`None`: NULL) in `output`, the type of the original input.
    pub(crate) fn typed_values(
        &self,
        ids: impl Iterator<Item = Option<u32>>,
        output: &DataType,
    ) -> Result<ArrayRef> {
        let array: ArrayRef = match self.kind {
            KeyKind::String => Arc::new(StringArray::from_iter(
                ids.map(|id| id.map(|id| self.string_values[id as usize].as_ref()))
                    .collect::<Vec<_>>(),
            )),
            KeyKind::Integer => Arc::new(Int64Array::from_iter(
                ids.map(|id| id.map(|id| self.integer_values[id as usize])),
            )),
            KeyKind::Float => Arc::new(datafusion::arrow::array::Float64Array::from_iter(
                ids.map(|id| id.map(|id| f64::from_bits(self.integer_values[id as usize] as u64))),
            )),
        };
        Ok(match output {
            // Arrow casts days from 32-bit integers only.
            DataType::Date32 => cast(&cast(&array, &DataType::Int32)?, output)?,
            DataType::Dictionary(_, value) => cast(&array, value)?,
            DataType::Utf8View | DataType::LargeUtf8 => cast(&array, &DataType::Utf8)?,
            _ => cast(&array, output)?,
        })
    }

    /// Bytes held (maps, value lists, string bytes).
    pub(crate) fn size(&self) -> usize {
        self.integers.capacity() * 16
            + self.integer_values.capacity() * 8
            + self.strings.capacity() * 24
            + self.string_values.capacity() * 16
            + self.string_bytes
    }
}
