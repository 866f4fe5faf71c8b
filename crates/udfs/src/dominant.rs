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

    fn len(&self) -> usize {
        match self {
            Self::Empty => 0,
            Self::Small(pairs) => pairs.len(),
            Self::Large(map) => map.len(),
        }
    }
}

/// Value ids below this are counted in one flat table (group × id) while no larger id has
/// been seen: no allocation per group for the usual low-cardinality properties (channel,
/// category, topic).
const DENSE_IDS: usize = 16;

/// Every group's counts: a flat table while ids stay below [`DENSE_IDS`], then per group.
#[derive(Debug)]
enum Storage {
    /// `counts[group * width + id]`, 32-bit (half the memory of the usual case); a count
    /// that would pass `u32::MAX` turns the table into per-group maps.
    Dense {
        width: usize,
        counts: Vec<u32>,
    },
    Sparse {
        groups: Vec<Counts>,
        stored: usize,
    },
}

impl Storage {
    fn ensure_groups(&mut self, n: usize) {
        match self {
            Storage::Dense { width, counts } => {
                if counts.len() < n * *width {
                    counts.resize(n * *width, 0);
                }
            }
            Storage::Sparse { groups, .. } => {
                if groups.len() < n {
                    groups.resize_with(n, Counts::default);
                }
            }
        }
    }

    fn add(&mut self, group: usize, id: u32, n: u64) {
        let id_index = id as usize;
        if let Storage::Dense { width, counts } = self {
            let fits = |count: u32| u32::try_from(n).ok().and_then(|n| count.checked_add(n));
            if id_index < *width {
                let count = &mut counts[group * *width + id_index];
                if let Some(sum) = fits(*count) {
                    *count = sum;
                    return;
                }
            } else if id_index < DENSE_IDS && fits(0).is_some() {
                // Widen the table, keeping every group's counts.
                let wider = (id_index + 1).next_power_of_two().min(DENSE_IDS);
                let rows = counts.len() / *width;
                let mut table = vec![0u32; rows * wider];
                for (row, old) in counts.chunks_exact(*width).enumerate() {
                    table[row * wider..row * wider + *width].copy_from_slice(old);
                }
                *width = wider;
                *counts = table;
                counts[group * wider + id_index] = n as u32;
                return;
            }
            let sparse = sparse_from(*width, counts);
            *self = sparse;
        }
        if let Storage::Sparse { groups, stored } = self
            && groups[group].add(id, n)
        {
            *stored += 1;
        }
    }

    /// `f` of each group `emit_to` asks for (its `(value id, count)` pairs, read where they
    /// are), the groups removed.
    fn take_each<R>(
        &mut self,
        emit_to: EmitTo,
        mut f: impl FnMut(&mut dyn Iterator<Item = (u32, u64)>) -> R,
    ) -> Vec<R> {
        match self {
            Storage::Dense { width, counts } => {
                let rows = counts.len() / *width;
                let n = match emit_to {
                    EmitTo::All => rows,
                    EmitTo::First(n) => n.min(rows),
                };
                let taken = counts[..n * *width]
                    .chunks_exact(*width)
                    .map(|row| f(&mut dense_pairs(row)))
                    .collect();
                counts.drain(..n * *width);
                taken
            }
            Storage::Sparse { groups, stored } => {
                let taken = emit_to.take_needed(groups);
                *stored -= taken.iter().map(Counts::len).sum::<usize>();
                taken
                    .into_iter()
                    .map(|counts| match counts {
                        Counts::Empty => f(&mut std::iter::empty()),
                        Counts::Small(pairs) => f(&mut pairs.into_iter()),
                        Counts::Large(map) => f(&mut map.into_iter()),
                    })
                    .collect()
            }
        }
    }

    fn size(&self) -> usize {
        match self {
            Storage::Dense { counts, .. } => counts.capacity() * std::mem::size_of::<u32>(),
            Storage::Sparse { groups, stored } => {
                groups.capacity() * std::mem::size_of::<Counts>() + stored * 16
            }
        }
    }
}

/// A dense row's non-zero counts.
fn dense_pairs(row: &[u32]) -> impl Iterator<Item = (u32, u64)> + '_ {
    row.iter()
        .enumerate()
        .filter(|(_, c)| **c > 0)
        .map(|(id, c)| (id as u32, u64::from(*c)))
}

/// A dense row's non-zero counts, as a group's own.
fn row_counts(row: &[u32]) -> Counts {
    let pairs: Vec<(u32, u64)> = dense_pairs(row).collect();
    if pairs.is_empty() {
        Counts::Empty
    } else {
        Counts::Small(pairs)
    }
}

/// The most frequent of a group's `(value id, count)` pairs (ties: the smallest value), its
/// count and the group's total.
fn top(ids: &ValueIds, pairs: &mut dyn Iterator<Item = (u32, u64)>) -> (Option<u32>, u64, u64) {
    let mut total = 0;
    let mut best: Option<(u32, u64)> = None;
    for (id, count) in pairs {
        total += count;
        let better = match best {
            None => true,
            Some((b, cb)) => count > cb || (count == cb && ids.compare(id, b) == Ordering::Less),
        };
        if better {
            best = Some((id, count));
        }
    }
    match best {
        Some((id, count)) => (Some(id), count, total),
        None => (None, 0, 0),
    }
}

/// A dense table's counts, one map per group.
fn sparse_from(width: usize, counts: &[u32]) -> Storage {
    let groups: Vec<Counts> = counts.chunks_exact(width).map(row_counts).collect();
    let stored = groups.iter().map(Counts::len).sum();
    Storage::Sparse { groups, stored }
}

#[derive(Debug)]
pub struct DominantGroups {
    ids: ValueIds,
    output: DataType,
    storage: Storage,
}

impl DominantGroups {
    fn new(kind: KeyKind, input: &DataType) -> Self {
        Self {
            ids: ValueIds::new(kind),
            output: value_type(input),
            storage: Storage::Dense {
                width: 4,
                counts: Vec::new(),
            },
        }
    }

    fn add(&mut self, group: usize, id: u32, n: u64) {
        self.storage.add(group, id, n);
    }

    /// Each taken group's most frequent value (ties: the smallest), its count and the
    /// group's total, read in place: no group's counts are copied.
    fn take_tops(&mut self, emit_to: EmitTo) -> Vec<(Option<u32>, u64, u64)> {
        let ids = &self.ids;
        self.storage.take_each(emit_to, |pairs| top(ids, pairs))
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
        let storage = &mut self.storage;
        self.ids.for_each_kept_id(column, opt_filter, |row, id| {
            storage.add(group_indices[row], id, 1);
        })
    }

    fn evaluate(&mut self, emit_to: EmitTo) -> Result<ArrayRef> {
        let tops = self.take_tops(emit_to);
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
        let pairs: Vec<Vec<(u32, u64)>> = self.storage.take_each(emit_to, |pairs| pairs.collect());
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
        std::mem::size_of_val(self) + self.ids.size() + self.storage.size()
    }
}

impl GroupStore for DominantGroups {
    fn ensure_groups(&mut self, n: usize) {
        self.storage.ensure_groups(n);
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

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use datafusion::arrow::array::AsArray;
    use datafusion::arrow::datatypes::{Float64Type, Int64Type};

    /// (value, count, share) of each group after feeding `rows` (group, value).
    fn dominant_of(rows: &[(usize, i64)], groups: usize) -> Vec<(i64, i64, f64)> {
        let mut acc = DominantGroups::new(KeyKind::Integer, &DataType::Int64);
        let values: ArrayRef = Arc::new(Int64Array::from_iter_values(rows.iter().map(|r| r.1)));
        let indices: Vec<usize> = rows.iter().map(|r| r.0).collect();
        acc.update_batch(&[values], &indices, None, groups).unwrap();
        // Through a partial state and a merge, as between two aggregation stages.
        let state = acc.state(EmitTo::All).unwrap();
        let mut merged = DominantGroups::new(KeyKind::Integer, &DataType::Int64);
        merged
            .merge_batch(&state, &(0..groups).collect::<Vec<_>>(), groups)
            .unwrap();
        let result = merged.evaluate(EmitTo::All).unwrap();
        let result = result.as_struct();
        (0..groups)
            .map(|g| {
                (
                    result.column(0).as_primitive::<Int64Type>().value(g),
                    result.column(1).as_primitive::<Int64Type>().value(g),
                    result.column(2).as_primitive::<Float64Type>().value(g),
                )
            })
            .collect()
    }

    #[test]
    fn counts_stay_exact_as_the_table_widens_and_turns_sparse() {
        // Group 0 sees values 0..3 (the first table width), group 1 values up to 9 (the
        // table widens to 16), group 2 forty values (past DENSE_IDS: per-group maps).
        let mut rows = vec![(0, 2), (0, 2), (0, 1)];
        rows.extend((0..10).map(|v| (1, v)));
        rows.extend([(1, 7), (1, 7)]);
        rows.extend((0..40).map(|v| (2, 100 + v)));
        rows.extend([(2, 120), (2, 5)]);
        let got = dominant_of(&rows, 3);
        assert_eq!(got[0], (2, 2, 2.0 / 3.0));
        assert_eq!(got[1], (7, 3, 3.0 / 12.0));
        assert_eq!(got[2], (120, 2, 2.0 / 42.0));
    }

    #[test]
    fn counts_past_u32_stay_exact() {
        // Merged states can carry counts the 32-bit dense table cannot hold: the table turns
        // into per-group maps with 64-bit counts, keeping what it had.
        let mut acc = DominantGroups::new(KeyKind::Integer, &DataType::Int64);
        let values: ArrayRef = Arc::new(Int64Array::from_iter_values([4, 5, 5]));
        acc.update_batch(&[values], &[0, 1, 1], None, 2).unwrap();
        let big = 3_000_000_000u64;
        let state = |value: i64, count: u64| -> Vec<ArrayRef> {
            vec![
                list_array(vec![1], Arc::new(Int64Array::from_iter_values([value]))),
                list_array(vec![1], Arc::new(UInt64Array::from_iter_values([count]))),
            ]
        };
        acc.merge_batch(&state(4, big), &[0], 2).unwrap();
        acc.merge_batch(&state(4, big), &[0], 2).unwrap();
        acc.merge_batch(&state(6, 1), &[1], 2).unwrap();
        let result = acc.evaluate(EmitTo::All).unwrap();
        let result = result.as_struct();
        let value = result.column(0).as_primitive::<Int64Type>();
        let count = result.column(1).as_primitive::<Int64Type>();
        assert_eq!((value.value(0), count.value(0)), (4, 2 * big as i64 + 1));
        assert_eq!((value.value(1), count.value(1)), (5, 2));
    }
}
