//! `dominant(x)`: the most frequent value of `x` in each group, how often it occurs and its
//! share of the group's values — a person's favourite topic, preferred channel, main
//! category ("affinity"), and the `mode` of a property.
//!
//! # Arguments
//! `x`: strings, integers, floats, booleans, dates or timestamps. NULLs are ignored.
//!
//! # Result
//! `STRUCT<value, count BIGINT, share DOUBLE>`: `value` has the type of `x` (strings come
//! back as `VARCHAR`); `share` is `count` over the group's non-NULL values. Ties go to the
//! smallest value, so results never depend on row order or partitioning. A group without
//! values gives `value = NULL, count = 0, share = NULL`.
//!
//! # Example
//! ```sql
//! SELECT user_id, d.value AS favourite_topic, d.share
//! FROM (SELECT user_id, dominant(topic) AS d FROM events GROUP BY user_id)
//! WHERE d.share >= 0.5;
//! ```

use std::cmp::Ordering;
use std::sync::Arc;

use datafusion::arrow::array::{
    Array, ArrayRef, AsArray, BooleanArray, Float64Array, Int64Array, StructArray, UInt64Array,
};
use datafusion::arrow::compute::filter;
use datafusion::arrow::datatypes::{DataType, Field, FieldRef, Fields, UInt64Type};
use datafusion::common::{HashMap, Result, internal_err, plan_err};
use datafusion::logical_expr::function::{AccumulatorArgs, StateFieldsArgs};
use datafusion::logical_expr::{EmitTo, GroupsAccumulator};

use crate::support::aggregate::{AggregateFunction, GroupedAggregate};
use crate::support::lists::{list_array, list_field, row_range, state_lists};
use crate::support::single_group::{Factory, GroupStore};
use crate::support::value_ids::{KeyKind, ValueIds};

const NAME: &str = "dominant";
/// Past this many distinct values a group's counts move from a vector to a hash map.
const SMALL: usize = 32;

/// The `dominant` aggregate.
pub type Dominant = GroupedAggregate<DominantFunction>;

/// What `dominant` takes, returns and keeps per group.
#[derive(Debug)]
pub struct DominantFunction;

/// The type `value` comes back as.
fn value_type(input: &DataType) -> DataType {
    match input {
        DataType::Dictionary(_, value) => value_type(value),
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => DataType::Utf8,
        DataType::Null => DataType::Int64,
        other => other.clone(),
    }
}

fn result_fields(input: &DataType) -> Fields {
    Fields::from(vec![
        Field::new("value", value_type(input), true),
        Field::new("count", DataType::Int64, false),
        Field::new("share", DataType::Float64, true),
    ])
}

/// One group's value counts.
#[derive(Debug, Default)]
enum Counts {
    #[default]
    Empty,
    Small(Vec<(u32, u64)>),
    Large(HashMap<u32, u64>),
}

impl Counts {
    /// Add `n` occurrences; true if the value is new to the group.
    fn add(&mut self, id: u32, n: u64) -> bool {
        match self {
            Self::Empty => {
                *self = Self::Small(vec![(id, n)]);
                true
            }
            Self::Small(pairs) => {
                if let Some(pair) = pairs.iter_mut().find(|(v, _)| *v == id) {
                    pair.1 += n;
                    return false;
                }
                if pairs.len() < SMALL {
                    pairs.push((id, n));
                } else {
                    let mut map: HashMap<u32, u64> = pairs.drain(..).collect();
                    map.insert(id, n);
                    *self = Self::Large(map);
                }
                true
            }
            Self::Large(map) => {
                let count = map.entry(id).or_insert(0);
                *count += n;
                *count == n
            }
        }
    }

    fn pairs(&self) -> Vec<(u32, u64)> {
        match self {
            Self::Empty => Vec::new(),
            Self::Small(pairs) => pairs.clone(),
            Self::Large(map) => map.iter().map(|(v, c)| (*v, *c)).collect(),
        }
    }

    fn len(&self) -> usize {
        match self {
            Self::Empty => 0,
            Self::Small(pairs) => pairs.len(),
            Self::Large(map) => map.len(),
        }
    }
}

#[derive(Debug)]
pub struct DominantGroups {
    ids: ValueIds,
    output: DataType,
    groups: Vec<Counts>,
    stored: usize,
}

impl DominantGroups {
    fn new(kind: KeyKind, input: &DataType) -> Self {
        Self {
            ids: ValueIds::new(kind),
            output: value_type(input),
            groups: Vec::new(),
            stored: 0,
        }
    }

    fn add(&mut self, group: usize, id: u32, n: u64) {
        if self.groups[group].add(id, n) {
            self.stored += 1;
        }
    }

    fn take(&mut self, emit_to: EmitTo) -> Vec<Counts> {
        let taken = emit_to.take_needed(&mut self.groups);
        self.stored -= taken.iter().map(Counts::len).sum::<usize>();
        taken
    }

    /// The most frequent value (ties: the smallest), its count and the group's total.
    fn top(&self, counts: &Counts) -> (Option<u32>, u64, u64) {
        let pairs = counts.pairs();
        let total = pairs.iter().map(|(_, c)| c).sum();
        let best = pairs.into_iter().max_by(|(a, ca), (b, cb)| {
            ca.cmp(cb).then_with(|| match self.ids.compare(*a, *b) {
                Ordering::Less => Ordering::Greater,
                Ordering::Greater => Ordering::Less,
                Ordering::Equal => Ordering::Equal,
            })
        });
        match best {
            Some((id, count)) => (Some(id), count, total),
            None => (None, 0, 0),
        }
    }
}

impl GroupsAccumulator for DominantGroups {
    fn update_batch(
        &mut self,
        values: &[ArrayRef],
        group_indices: &[usize],
        opt_filter: Option<&BooleanArray>,
        total_num_groups: usize,
    ) -> Result<()> {
        self.ensure_groups(total_num_groups);
        let Some(column) = values.first() else {
            return internal_err!("{NAME}: missing argument");
        };
        let (groups, stored) = (&mut self.groups, &mut self.stored);
        self.ids.for_each_kept_id(column, opt_filter, |row, id| {
            if groups[group_indices[row]].add(id, 1) {
                *stored += 1;
            }
        })
    }

    fn evaluate(&mut self, emit_to: EmitTo) -> Result<ArrayRef> {
        let groups = self.take(emit_to);
        let tops: Vec<(Option<u32>, u64, u64)> = groups.iter().map(|c| self.top(c)).collect();
        let values = self
            .ids
            .typed_values(tops.iter().map(|t| t.0), &self.output)?;
        let counts = Int64Array::from_iter_values(tops.iter().map(|t| t.1 as i64));
        let shares = Float64Array::from_iter(
            tops.iter()
                .map(|&(_, count, total)| (total > 0).then(|| count as f64 / total as f64)),
        );
        Ok(Arc::new(StructArray::try_new(
            result_fields(&self.output),
            vec![values, Arc::new(counts), Arc::new(shares)],
            None,
        )?))
    }

    fn state(&mut self, emit_to: EmitTo) -> Result<Vec<ArrayRef>> {
        let groups = self.take(emit_to);
        let pairs: Vec<Vec<(u32, u64)>> = groups.iter().map(Counts::pairs).collect();
        let lengths: Vec<usize> = pairs.iter().map(Vec::len).collect();
        let values = self
            .ids
            .values_of(pairs.iter().flatten().map(|(id, _)| *id));
        let counts = UInt64Array::from_iter_values(pairs.iter().flatten().map(|(_, c)| *c));
        Ok(vec![
            list_array(lengths.clone(), values),
            list_array(lengths, Arc::new(counts)),
        ])
    }

    fn merge_batch(
        &mut self,
        values: &[ArrayRef],
        group_indices: &[usize],
        total_num_groups: usize,
    ) -> Result<()> {
        self.ensure_groups(total_num_groups);
        let Some(lists) = values.first().and_then(|v| v.as_list_opt::<i32>()) else {
            return internal_err!("{NAME}: state is not a list");
        };
        let (_, counts) = state_lists::<UInt64Type>(NAME, values, 1)?;
        let item_ids = self.ids.ids(lists.values())?;
        for (row, &group) in group_indices.iter().enumerate() {
            for i in row_range(lists, row) {
                if let Some(id) = item_ids[i] {
                    self.add(group, id, counts.value(i));
                }
            }
        }
        Ok(())
    }

    fn convert_to_state(
        &self,
        values: &[ArrayRef],
        opt_filter: Option<&BooleanArray>,
    ) -> Result<Vec<ArrayRef>> {
        let Some(column) = values.first() else {
            return internal_err!("{NAME}: missing argument");
        };
        let keep: BooleanArray = (0..column.len())
            .map(|row| {
                let passes = opt_filter.is_none_or(|f| f.is_valid(row) && f.value(row));
                Some(passes && column.is_valid(row))
            })
            .collect();
        let lengths: Vec<usize> = keep.values().iter().map(usize::from).collect();
        let kept = filter(column.as_ref(), &keep)?;
        let ones = UInt64Array::from_iter_values(std::iter::repeat_n(1, kept.len()));
        Ok(vec![
            list_array(lengths.clone(), self.ids.kind().to_state_values(&kept)?),
            list_array(lengths, Arc::new(ones)),
        ])
    }

    fn size(&self) -> usize {
        std::mem::size_of_val(self)
            + self.ids.size()
            + self.groups.capacity() * std::mem::size_of::<Counts>()
            + self.stored * 16
    }
}

impl GroupStore for DominantGroups {
    fn ensure_groups(&mut self, n: usize) {
        if self.groups.len() < n {
            self.groups.resize_with(n, Counts::default);
        }
    }
}

impl AggregateFunction for DominantFunction {
    const NAME: &'static str = NAME;
    type Groups = DominantGroups;

    fn coerce_types(arg_types: &[DataType]) -> Result<Vec<DataType>> {
        KeyKind::one_argument(NAME, arg_types)
    }

    fn return_type(arg_types: &[DataType]) -> Result<DataType> {
        let Some(input) = arg_types.first() else {
            return plan_err!("{NAME} takes one argument");
        };
        Ok(DataType::Struct(result_fields(input)))
    }

    fn state_fields(args: &StateFieldsArgs) -> Result<Vec<FieldRef>> {
        let kind = KeyKind::of_first(NAME, args.input_fields)?;
        Ok(vec![
            list_field(&format!("{}[values]", args.name), kind.state_type()),
            list_field(&format!("{}[counts]", args.name), DataType::UInt64),
        ])
    }

    fn groups(args: &AccumulatorArgs) -> Result<Factory<DominantGroups>> {
        let Some(field) = args.expr_fields.first() else {
            return plan_err!("{NAME} takes one argument");
        };
        let kind = KeyKind::of(NAME, field.data_type())?;
        let input = field.data_type().clone();
        Ok(Box::new(move || DominantGroups::new(kind, &input)))
    }
}
