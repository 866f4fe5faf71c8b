//! Lean grouped state for sessionizing: each group keeps its sessions as summaries (first
//! and last event time, events) instead of every event time.
//!
//! Summaries merge exactly: within a session consecutive events are at most `gap` apart, so
//! the sessions of a union of event sets are the summaries sorted by start and coalesced
//! whenever one starts no more than `gap` after the running one ends (overlaps included).
//! New event times are buffered and folded into summaries once a group has
//! [`FOLD_AT`] of them, so memory follows the number of sessions, not of events; partial
//! states exchanged between partitions (and spilled) are summaries too.

use std::sync::Arc;

use datafusion::arrow::array::{ArrayRef, BooleanArray, Int64Array};
use datafusion::arrow::datatypes::Int64Type;
use datafusion::common::Result;
use datafusion::logical_expr::EmitTo;

use super::lists::{list_array, lists_of, row_range, state_lists};
use super::time::kept_times;

/// Buffered event times per group before they are folded into summaries.
pub(crate) const FOLD_AT: usize = 128;

/// One session: its first and last event time (native units) and how many events it has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Session {
    pub(crate) start: i64,
    pub(crate) end: i64,
    pub(crate) events: i64,
}

/// Coalesce summaries (any order) into sorted, separate sessions.
pub(crate) fn coalesce(mut sessions: Vec<Session>, gap: i64) -> Vec<Session> {
    sessions.sort_unstable_by_key(|s| (s.start, s.end));
    let mut out: Vec<Session> = Vec::with_capacity(sessions.len());
    for s in sessions {
        match out.last_mut() {
            Some(last) if s.start.saturating_sub(last.end) <= gap => {
                last.end = last.end.max(s.end);
                last.events += s.events;
            }
            _ => out.push(s),
        }
    }
    out
}

/// What a group's sessions come to: (sessions, total session length, events).
pub(crate) fn totals(sessions: &[Session]) -> (i64, i64, i64) {
    sessions.iter().fold((0, 0, 0), |(n, length, events), s| {
        (
            n + 1,
            length.saturating_add(s.end.saturating_sub(s.start)),
            events + s.events,
        )
    })
}

/// Per-group session summaries, with a small buffer of unfolded event times.
#[derive(Debug)]
pub(crate) struct SessionGroups {
    function: &'static str,
    gap: i64,
    pending: Vec<Vec<i64>>,
    sessions: Vec<Vec<Session>>,
    stored: usize,
}

impl SessionGroups {
    pub(crate) fn new(function: &'static str, gap: i64) -> Self {
        Self {
            function,
            gap,
            pending: Vec::new(),
            sessions: Vec::new(),
            stored: 0,
        }
    }

    /// Fold group `g`'s buffered times into its summaries.
    fn fold(&mut self, g: usize) {
        let pending = std::mem::take(&mut self.pending[g]);
        let existing = std::mem::take(&mut self.sessions[g]);
        self.stored -= pending.len() + existing.len();
        let mut all = existing;
        all.extend(pending.into_iter().map(|t| Session {
            start: t,
            end: t,
            events: 1,
        }));
        let folded = coalesce(all, self.gap);
        self.stored += folded.len();
        self.sessions[g] = folded;
    }

    /// The groups `emit_to` asks for, folded, removed from the accumulator.
    pub(crate) fn take(&mut self, emit_to: EmitTo) -> Vec<Vec<Session>> {
        let n = match emit_to {
            EmitTo::All => self.sessions.len(),
            EmitTo::First(n) => n.min(self.sessions.len()),
        };
        for g in 0..n {
            self.fold(g);
        }
        let taken = emit_to.take_needed(&mut self.sessions);
        let _ = emit_to.take_needed(&mut self.pending);
        self.stored -= taken.iter().map(Vec::len).sum::<usize>();
        taken
    }

    fn push_time(&mut self, group: usize, time: i64) {
        self.pending[group].push(time);
        self.stored += 1;
        if self.pending[group].len() >= FOLD_AT {
            self.fold(group);
        }
    }
}

impl SessionGroups {
    /// Make groups `0..n` exist.
    pub(crate) fn ensure_groups(&mut self, n: usize) {
        if self.sessions.len() < n {
            self.sessions.resize_with(n, Vec::new);
            self.pending.resize_with(n, Vec::new);
        }
    }
}

/// The state columns: starts, ends and event counts of each group's sessions.
fn state_of(groups: &[Vec<Session>]) -> Vec<ArrayRef> {
    vec![
        lists_of::<Int64Type>(groups.iter().map(|g| g.iter().map(|s| s.start))),
        lists_of::<Int64Type>(groups.iter().map(|g| g.iter().map(|s| s.end))),
        lists_of::<Int64Type>(groups.iter().map(|g| g.iter().map(|s| s.events))),
    ]
}

/// The `GroupsAccumulator` methods a sessionizing function shares; it adds `evaluate`.
impl SessionGroups {
    pub(crate) fn update(
        &mut self,
        values: &[ArrayRef],
        group_indices: &[usize],
        opt_filter: Option<&BooleanArray>,
        total_num_groups: usize,
    ) -> Result<()> {
        self.ensure_groups(total_num_groups);
        let times = kept_times(self.function, values, opt_filter)?;
        for (&group, time) in group_indices.iter().zip(times) {
            if let Some(time) = time {
                self.push_time(group, time);
            }
        }
        Ok(())
    }

    pub(crate) fn state(&mut self, emit_to: EmitTo) -> Vec<ArrayRef> {
        state_of(&self.take(emit_to))
    }

    pub(crate) fn merge(
        &mut self,
        values: &[ArrayRef],
        group_indices: &[usize],
        total_num_groups: usize,
    ) -> Result<()> {
        self.ensure_groups(total_num_groups);
        let (starts_list, starts) = state_lists::<Int64Type>(self.function, values, 0)?;
        let (_, ends) = state_lists::<Int64Type>(self.function, values, 1)?;
        let (_, events) = state_lists::<Int64Type>(self.function, values, 2)?;
        for (row, &group) in group_indices.iter().enumerate() {
            let range = row_range(starts_list, row);
            if range.is_empty() {
                continue;
            }
            self.stored += range.len();
            self.sessions[group].extend(range.map(|i| Session {
                start: starts.value(i),
                end: ends.value(i),
                events: events.value(i),
            }));
            if self.sessions[group].len() >= 2 * FOLD_AT {
                self.fold(group);
            }
        }
        Ok(())
    }

    pub(crate) fn convert(
        &self,
        values: &[ArrayRef],
        opt_filter: Option<&BooleanArray>,
    ) -> Result<Vec<ArrayRef>> {
        let times = kept_times(self.function, values, opt_filter)?;
        let lengths: Vec<usize> = times.iter().map(|t| usize::from(t.is_some())).collect();
        let kept: Vec<i64> = times.into_iter().flatten().collect();
        let ones = Int64Array::from_iter_values(kept.iter().map(|_| 1));
        let kept = Int64Array::from(kept);
        Ok(vec![
            list_array(lengths.clone(), Arc::new(kept.clone())),
            list_array(lengths.clone(), Arc::new(kept)),
            list_array(lengths, Arc::new(ones)),
        ])
    }

    pub(crate) fn bytes(&self) -> usize {
        std::mem::size_of_val(self)
            + self.sessions.capacity() * std::mem::size_of::<Vec<Session>>()
            + self.pending.capacity() * std::mem::size_of::<Vec<i64>>()
            + self.stored * std::mem::size_of::<Session>() * 3 / 2
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(t: i64) -> Session {
        Session {
            start: t,
            end: t,
            events: 1,
        }
    }

    #[test]
    fn summaries_merge_to_the_sessions_of_the_union() {
        // gap 10: events 0 5 15 | 40 41 in one partition, 12 and 30 in another.
        let a = coalesce([0, 5, 15, 40, 41].map(at).to_vec(), 10);
        assert_eq!(a.len(), 2);
        let b = coalesce([12, 30].map(at).to_vec(), 10);
        let merged = coalesce([a, b].concat(), 10);
        // union 0 5 12 15 30 40 41: 15 → 30 is 15 apart, 30 → 40 is 10: [0..15], [30..41].
        assert_eq!(
            merged,
            vec![
                Session {
                    start: 0,
                    end: 15,
                    events: 4
                },
                Session {
                    start: 30,
                    end: 41,
                    events: 3
                }
            ]
        );
        assert_eq!(totals(&merged), (2, 15 + 11, 7));
        assert_eq!(
            coalesce(merged.clone(), 10),
            merged,
            "folding is idempotent"
        );
    }
}
