//! Per-group event lists for the ordered aggregates (funnels, sequences, sessions).
//!
//! Each kept row becomes an [`Event`]: its time in native units and a bitmask of the
//! conditions it met. Rows are appended as they arrive (no per-row sorting); a group's
//! events are sorted once, when its result is computed. Partial state is one bytes column,
//! each group's events sorted by time ([`super::event_bytes`]), so partial and final
//! aggregation, spilling, distributed shuffles and incremental summaries all work
//! unchanged. Memory is reported from a running count, never by walking groups.

use std::fmt::Debug;
use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, AsArray, BooleanArray};
use datafusion::arrow::datatypes::{DataType, Field, FieldRef};
use datafusion::common::{Result, exec_err, internal_err};
use datafusion::logical_expr::{EmitTo, GroupsAccumulator};

use super::byte_states::byte_states;
use super::event_bytes;
use super::single_group::GroupStore;
use super::time::{for_each_kept_row, native_times};

/// One kept row: time in native units, and the bitmask of conditions it met.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Event {
    pub(crate) time: i64,
    pub(crate) mask: u32,
}

/// What a function does with its groups' events.
pub trait EventsKernel: Debug + Send + Sync + 'static {
    /// Whether a row whose conditions give `mask` must be kept.
    fn keeps(&self, mask: u32) -> bool;
    /// One result per group, in order.
    fn finish(&self, groups: Vec<Vec<Event>>) -> Result<ArrayRef>;
}

/// Where a function's arguments are.
#[derive(Debug, Clone, Copy)]
pub(crate) struct EventArgs {
    /// Position of the time column.
    pub(crate) time: usize,
    /// Position of the first condition column.
    pub(crate) first_condition: usize,
    /// Number of condition columns (0 to 32).
    pub(crate) conditions: usize,
}

/// Call `f(row, event)` for each row the filter keeps that has a time and that `kernel`
/// keeps (its conditions' mask; NULL conditions count as not met).
fn for_each_kept_event<K: EventsKernel>(
    name: &str,
    args: EventArgs,
    kernel: &K,
    values: &[ArrayRef],
    opt_filter: Option<&BooleanArray>,
    mut f: impl FnMut(usize, Event),
) -> Result<()> {
    let Some(time_column) = values.get(args.time) else {
        return internal_err!("{name}: missing time column");
    };
    let times = native_times(time_column)?;
    let mut conditions = Vec::with_capacity(args.conditions);
    for i in 0..args.conditions {
        let column = values
            .get(args.first_condition + i)
            .and_then(|c| c.as_boolean_opt());
        let Some(column) = column else {
            return internal_err!("{name}: condition {} is not BOOLEAN", i + 1);
        };
        conditions.push(column);
    }
    for_each_kept_row(opt_filter, times.len(), |row| {
        if times.is_null(row) {
            return;
        }
        let mut mask = 0u32;
        for (bit, condition) in conditions.iter().enumerate() {
            if condition.is_valid(row) && condition.value(row) {
                mask |= 1 << bit;
            }
        }
        if kernel.keeps(mask) {
            f(
                row,
                Event {
                    time: times.value(row),
                    mask,
                },
            );
        }
    });
    Ok(())
}

/// The grouped accumulator shared by the ordered aggregates.
#[derive(Debug)]
pub struct EventGroups<K> {
    name: &'static str,
    args: EventArgs,
    kernel: Arc<K>,
    groups: Vec<Vec<Event>>,
    stored: usize,
}

impl<K: EventsKernel> EventGroups<K> {
    pub(crate) fn new(name: &'static str, args: EventArgs, kernel: Arc<K>) -> Self {
        Self {
            name,
            args,
            kernel,
            groups: Vec::new(),
            stored: 0,
        }
    }

    /// Each row's condition mask (NULL conditions count as not met), or `None` when the
    /// row is filtered out or has no time.
    fn row_events(
        &self,
        values: &[ArrayRef],
        opt_filter: Option<&BooleanArray>,
    ) -> Result<Vec<Option<Event>>> {
        let len = values.get(self.args.time).map_or(0, |c| c.len());
        let mut events = vec![None; len];
        for_each_kept_event(
            self.name,
            self.args,
            self.kernel.as_ref(),
            values,
            opt_filter,
            |row, event| events[row] = Some(event),
        )?;
        Ok(events)
    }

    fn take(&mut self, emit_to: EmitTo) -> Vec<Vec<Event>> {
        let taken = emit_to.take_needed(&mut self.groups);
        self.stored -= taken.iter().map(Vec::len).sum::<usize>();
        taken
    }
}

/// The state field of a function's `name`d call: its groups' events as bytes.
pub(crate) fn events_state_field(name: &str) -> FieldRef {
    Arc::new(Field::new(
        format!("{name}[events]"),
        DataType::Binary,
        true,
    ))
}

/// One bytes value per group: its events, sorted (an empty value for none).
fn state_of(name: &str, groups: &mut [Vec<Event>]) -> Result<Vec<ArrayRef>> {
    Ok(vec![byte_states(
        name,
        "events",
        groups.len(),
        |i, out| {
            sort_events(&mut groups[i]);
            event_bytes::encode(&groups[i], out);
        },
    )?])
}

impl<K: EventsKernel> GroupsAccumulator for EventGroups<K> {
    fn update_batch(
        &mut self,
        values: &[ArrayRef],
        group_indices: &[usize],
        opt_filter: Option<&BooleanArray>,
        total_num_groups: usize,
    ) -> Result<()> {
        self.ensure_groups(total_num_groups);
        let (groups, stored) = (&mut self.groups, &mut self.stored);
        for_each_kept_event(
            self.name,
            self.args,
            self.kernel.as_ref(),
            values,
            opt_filter,
            |row, event| {
                groups[group_indices[row]].push(event);
                *stored += 1;
            },
        )
    }

    fn evaluate(&mut self, emit_to: EmitTo) -> Result<ArrayRef> {
        let groups = self.take(emit_to);
        self.kernel.finish(groups)
    }

    fn state(&mut self, emit_to: EmitTo) -> Result<Vec<ArrayRef>> {
        let mut groups = self.take(emit_to);
        state_of(self.name, &mut groups)
    }

    fn merge_batch(
        &mut self,
        values: &[ArrayRef],
        group_indices: &[usize],
        total_num_groups: usize,
    ) -> Result<()> {
        self.ensure_groups(total_num_groups);
        let Some(states) = values.first().and_then(|v| v.as_binary_opt::<i32>()) else {
            return internal_err!("{}: the state column is not bytes", self.name);
        };
        for (row, &group) in group_indices.iter().enumerate() {
            if states.is_null(row) {
                continue;
            }
            let events = &mut self.groups[group];
            let before = events.len();
            if let Err(problem) = event_bytes::decode(states.value(row), events) {
                return exec_err!("{}: a state holds {problem}", self.name);
            }
            self.stored += events.len() - before;
        }
        Ok(())
    }

    fn convert_to_state(
        &self,
        values: &[ArrayRef],
        opt_filter: Option<&BooleanArray>,
    ) -> Result<Vec<ArrayRef>> {
        let events = self.row_events(values, opt_filter)?;
        Ok(vec![byte_states(
            self.name,
            "events",
            events.len(),
            |i, out| {
                if let Some(event) = events[i] {
                    event_bytes::encode(&[event], out);
                }
            },
        )?])
    }

    fn size(&self) -> usize {
        std::mem::size_of_val(self)
            + self.groups.capacity() * std::mem::size_of::<Vec<Event>>()
            + self.stored * std::mem::size_of::<Event>() * 3 / 2
    }
}

impl<K: EventsKernel> GroupStore for EventGroups<K> {
    fn ensure_groups(&mut self, n: usize) {
        if self.groups.len() < n {
            self.groups.resize_with(n, Vec::new);
        }
    }
}

/// Sort a group's events by time, ties by condition mask (a deterministic order, whatever
/// order partial states were merged in).
pub(crate) fn sort_events(events: &mut [Event]) {
    events.sort_unstable();
}
