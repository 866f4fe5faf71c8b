//! Lean grouped state for sessionizing: each group keeps its sessions as summaries (first
//! and last event time, events) instead of every event time.
//!
//! Summaries merge exactly: within a session consecutive events are at most `gap` apart, so
//! the sessions of a union of event sets are the summaries sorted by start and coalesced
//! whenever one starts no more than `gap` after the running one ends (overlaps included).
//! An event at or after a group's last session start (the usual case: lakes are read in
//! time order) extends or follows that session at once; earlier ones are buffered and
//! folded in once a group has [`FOLD_AT`] of them. Memory follows the number of sessions,
//! not of events, and the partial states exchanged between partitions (and spilled) are
//! summaries too.

use std::sync::Arc;

use datafusion::arrow::array::{ArrayRef, BooleanArray, Int64Array};
use datafusion::arrow::datatypes::Int64Type;
use datafusion::common::Result;
use datafusion::logical_expr::EmitTo;

use super::lists::{list_array, lists_of, row_range, state_lists};
use super::time::{for_each_kept_time, kept_times};

/// Buffered event times per group before they are folded into summaries.
pub(crate) const FOLD_AT: usize = 128;

/// One session: its first and last event time (native units) and how many events it has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Session {
    pub(crate) start: i64,
    pub(crate) end: i64,
    pub(crate) events: i64,
}

/// Coalesce summaries (any order), in place, into sorted, separate sessions.
pub(crate) fn coalesce(sessions: &mut Vec<Session>, gap: i64) {
    sessions.sort_unstable_by_key(|s| (s.start, s.end));
    let mut kept = 0;
    for read in 0..sessions.len() {
        let s = sessions[read];
        if kept > 0 && s.start.saturating_sub(sessions[kept - 1].end) <= gap {
            let last = &mut sessions[kept - 1];
            last.end = last.end.max(s.end);
            last.events += s.events;
        } else {
            sessions[kept] = s;
            kept += 1;
        }
    }
    sessions.truncate(kept);
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

    /// Fold group `g`'s buffered times (and any appended summaries) into sorted, separate
    /// sessions.
    fn fold(&mut self, g: usize) {
        let (pending, sessions) = (&mut self.pending[g], &mut self.sessions[g]);
        let before = pending.len() + sessions.len();
        sessions.extend(pending.drain(..).map(|t| Session {
            start: t,
            end: t,
            events: 1,
        }));
        if pending.capacity() > FOLD_AT {
            pending.shrink_to(FOLD_AT);
        }
        coalesce(sessions, self.gap);
        self.stored = self.stored - before + sessions.len();
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
        let sessions = &mut self.sessions[group];
        match sessions.last_mut() {
            // Within or after the last session: exact without sorting.
            Some(last) if time >= last.start => {
                if time <= last.end {
                    last.events += 1;
                } else if time - last.end <= self.gap {
                    last.end = time;
                    last.events += 1;
                } else {
                    sessions.push(Session {
                        start: time,
                        end: time,
                        events: 1,
                    });
                    self.stored += 1;
                }
            }
            None => {
                sessions.push(Session {
                    start: time,
                    end: time,
                    events: 1,
                });
                self.stored += 1;
            }
            // Earlier than the last session: buffered, folded in later.
            Some(_) => {
                self.pending[group].push(time);
                self.stored += 1;
                if self.pending[group].len() >= FOLD_AT {
                    self.fold(group);
                }
            }
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
        let function = self.function;
        for_each_kept_time(function, values, opt_filter, |row, time| {
            self.push_time(group_indices[row], time);
        })
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
        let gap = self.gap;
        for (row, &group) in group_indices.iter().enumerate() {
            let range = row_range(starts_list, row);
            if range.is_empty() {
                continue;
            }
            let first_start = starts.value(range.start);
            let incoming = range.map(|i| Session {
                start: starts.value(i),
                end: ends.value(i),
                events: events.value(i),
            });
            let sessions = &mut self.sessions[group];
            // A state's sessions are sorted and separate; states of later days (summaries
            // merged in day order) start at or after the group's last session, and are
            // coalesced with it as they come, without sorting the group again.
            let in_order = first_start >= sessions.last().map_or(i64::MIN, |last| last.start);
            if in_order {
                for session in incoming {
                    match sessions.last_mut() {
                        Some(last) if session.start.saturating_sub(last.end) <= gap => {
                            last.end = last.end.max(session.end);
                            last.events += session.events;
                        }
                        _ => {
                            sessions.push(session);
                            self.stored += 1;
                        }
                    }
                }
            } else {
                let before = sessions.len();
                sessions.extend(incoming);
                self.stored += sessions.len() - before;
                // Sorted and separate again before any event is added to them.
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
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn at(t: i64) -> Session {
        Session {
            start: t,
            end: t,
            events: 1,
        }
    }

    /// States merged in day order (coalesced as they come) or in any other order (sorted
    /// again) give the sessions of the union.
    #[test]
    fn states_merge_in_and_out_of_order_to_the_same_sessions() {
        let days: Vec<Vec<Session>> = vec![
            [0, 5, 15].map(at).to_vec(),
            [22, 40].map(at).to_vec(),
            [41, 90, 95].map(at).to_vec(),
            vec![],
            [100, 130].map(at).to_vec(),
        ];
        let mut union: Vec<Session> = days.concat();
        coalesce(&mut union, 10);
        for order in [[0, 1, 2, 3, 4], [4, 2, 0, 3, 1], [1, 0, 2, 4, 3]] {
            let mut groups = SessionGroups::new("test", 10);
            for day in order {
                let state = state_of(std::slice::from_ref(&days[day]));
                groups.merge(&state, &[0], 1).unwrap();
            }
            assert_eq!(groups.take(EmitTo::All), vec![union.clone()], "{order:?}");
        }
    }

    #[test]
    fn summaries_merge_to_the_sessions_of_the_union() {
        // gap 10: events 0 5 15 | 40 41 in one partition, 12 and 30 in another.
        let mut a = [0, 5, 15, 40, 41].map(at).to_vec();
        coalesce(&mut a, 10);
        assert_eq!(a.len(), 2);
        let mut b = [12, 30].map(at).to_vec();
        coalesce(&mut b, 10);
        let mut merged = [a, b].concat();
        coalesce(&mut merged, 10);
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
        let mut again = merged.clone();
        coalesce(&mut again, 10);
        assert_eq!(again, merged, "folding is idempotent");
    }
}
