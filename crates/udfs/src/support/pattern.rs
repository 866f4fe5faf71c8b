//! ClickHouse sequence patterns: parsing and matching, shared by `sequence_match` and
//! `sequence_count`.
//!
//! Syntax (ClickHouse's): `(?N)` an event meeting condition N (1-based); `.` any one event;
//! `.*` any number of events; `(?t OP S)` with `OP` one of `>= > < <= == !=` — the time since
//! the previous matched event compared with `S` (seconds for timestamp columns, the column's
//! own unit for integers). Only events that meet at least one condition take part.
//!
//! Matching follows ClickHouse's `AggregateFunctionSequenceMatch.h`: patterns without time
//! conditions run on a small NFA ("DFA" there); others, and every `sequence_count`, run the
//! backtracking matcher, with a limit of one million steps per group. ClickHouse's extra
//! "deterministic parts" pre-check is left out: its lambda captures its bounds by value,
//! so there it always passes, and leaving it out keeps results identical.

use std::fmt;

use datafusion::common::{Result, exec_err, plan_err};

use super::event_groups::Event;

/// The most steps one group may take to match before the query fails.
const MAX_ITERATIONS: usize = 1_000_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum TimeOp {
    LessOrEqual,
    Less,
    GreaterOrEqual,
    Greater,
    Equal,
    NotEqual,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Action {
    /// An event meeting condition `n` (0-based).
    Specific(u32),
    Any,
    KleeneStar,
    Time(TimeOp, i64),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Transition {
    None,
    Specific(u32),
    Any,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct DfaState {
    has_kleene: bool,
    transition: Transition,
}

/// A parsed pattern, with its time constants already in the time column's units.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct Pattern {
    actions: Vec<Action>,
    dfa: Vec<DfaState>,
    has_time: bool,
    /// Conditions the pattern names; a group missing any of them cannot match.
    required: u32,
}

/// A malformed pattern: what is wrong and where.
#[derive(Debug)]
pub(crate) struct PatternError {
    pattern: String,
    position: usize,
    message: String,
}

impl fmt::Display for PatternError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let column = self.pattern[..self.position.min(self.pattern.len())]
            .chars()
            .count();
        write!(
            f,
            "invalid pattern at character {}: {}\n  {}\n  {}^",
            column + 1,
            self.message,
            self.pattern,
            " ".repeat(column)
        )
    }
}

impl Pattern {
    /// Parse `pattern` for `conditions` condition arguments; `to_native` converts a time
    /// constant into the time column's units.
    pub(crate) fn parse(
        pattern: &str,
        conditions: usize,
        to_native: impl Fn(i64) -> Option<i64>,
    ) -> std::result::Result<Self, PatternError> {
        let bytes = pattern.as_bytes();
        let mut pos = 0usize;
        let mut actions = vec![Action::KleeneStar];
        let mut dfa = vec![DfaState {
            has_kleene: true,
            transition: Transition::None,
        }];
        let mut has_time = false;
        let mut required = 0u32;
        let error = |position: usize, message: String| PatternError {
            pattern: pattern.to_string(),
            position,
            message,
        };
        let starts = |pos: usize, s: &str| bytes[pos..].starts_with(s.as_bytes());
        let number = |pos: usize| -> (Option<u64>, usize) {
            let digits = bytes[pos..]
                .iter()
                .take_while(|b| b.is_ascii_digit())
                .count();
            let text = &pattern[pos..pos + digits];
            (text.parse::<u64>().ok(), pos + digits)
        };
        while pos < bytes.len() {
            if starts(pos, "(?") {
                let open = pos;
                pos += 2;
                if starts(pos, "t") {
                    pos += 1;
                    let (op, width) = if starts(pos, "<=") {
                        (TimeOp::LessOrEqual, 2)
                    } else if starts(pos, "<") {
                        (TimeOp::Less, 1)
                    } else if starts(pos, ">=") {
                        (TimeOp::GreaterOrEqual, 2)
                    } else if starts(pos, ">") {
                        (TimeOp::Greater, 1)
                    } else if starts(pos, "==") {
                        (TimeOp::Equal, 2)
                    } else if starts(pos, "!=") {
                        (TimeOp::NotEqual, 2)
                    } else {
                        return Err(error(
                            pos,
                            "unknown time condition; expected one of >= > < <= == !=".into(),
                        ));
                    };
                    pos += width;
                    let (value, next) = number(pos);
                    let Some(value) = value else {
                        return Err(error(pos, "expected a number of seconds".into()));
                    };
                    let native = i64::try_from(value).ok().and_then(&to_native);
                    let Some(native) = native else {
                        return Err(error(pos, format!("time {value} is too large")));
                    };
                    if !matches!(
                        actions.last(),
                        Some(Action::Specific(_) | Action::Any | Action::KleeneStar)
                    ) {
                        return Err(error(
                            open,
                            "a time condition must follow an event, `.` or `.*`".into(),
                        ));
                    }
                    pos = next;
                    has_time = true;
                    actions.push(Action::Time(op, native));
                } else {
                    let (value, next) = number(pos);
                    let Some(value) = value else {
                        return Err(error(pos, "expected a condition number or `t`".into()));
                    };
                    if value == 0 || value > conditions as u64 {
                        return Err(error(
                            pos,
                            format!(
                                "condition {value} does not exist; the call has conditions 1 to \
                                 {conditions}"
                            ),
                        ));
                    }
                    pos = next;
                    let n = (value - 1) as u32;
                    actions.push(Action::Specific(n));
                    if let Some(last) = dfa.last_mut() {
                        last.transition = Transition::Specific(n);
                    }
                    dfa.push(DfaState {
                        has_kleene: false,
                        transition: Transition::None,
                    });
                    required |= 1 << n;
                }
                if !starts(pos, ")") {
                    return Err(error(pos, "expected `)`".into()));
                }
                pos += 1;
            } else if starts(pos, ".*") {
                pos += 2;
                actions.push(Action::KleeneStar);
                if let Some(last) = dfa.last_mut() {
                    last.has_kleene = true;
                }
            } else if starts(pos, ".") {
                pos += 1;
                actions.push(Action::Any);
                if let Some(last) = dfa.last_mut() {
                    last.transition = Transition::Any;
                }
                dfa.push(DfaState {
                    has_kleene: false,
                    transition: Transition::None,
                });
            } else {
                return Err(error(
                    pos,
                    "unexpected symbol; expected `(?`, `.` or `.*`".into(),
                ));
            }
        }
        Ok(Self {
            actions,
            dfa,
            has_time,
            required,
        })
    }

    /// Whether the group's events (sorted) can match at all: every condition the pattern
    /// names must occur.
    fn possible(&self, events: &[Event]) -> bool {
        let met = events.iter().fold(0u32, |acc, e| acc | e.mask);
        met & self.required == self.required
    }

    /// `sequence_match`: does the pattern occur in `events` (sorted by time)?
    pub(crate) fn matches(&self, events: &[Event]) -> Result<bool> {
        if !self.possible(events) {
            return Ok(false);
        }
        if self.has_time {
            let mut at = 0;
            self.backtrack(events, &mut at)
        } else {
            Ok(self.dfa_match(events))
        }
    }

    /// `sequence_count`: how many non-overlapping matches, scanning left to right.
    pub(crate) fn count(&self, events: &[Event]) -> Result<u64> {
        if !self.possible(events) {
            return Ok(0);
        }
        let mut at = 0;
        let mut count = 0;
        while at < events.len() && self.backtrack(events, &mut at)? {
            count += 1;
        }
        Ok(count)
    }

    fn dfa_match(&self, events: &[Event]) -> bool {
        let states = self.dfa.len();
        let mut active = vec![false; states];
        let mut next = vec![false; states];
        active[0] = true;
        let mut n_active = 1;
        let accepted = |active: &[bool]| active.last().copied().unwrap_or(false);
        for event in events {
            if n_active == 0 || accepted(&active) {
                break;
            }
            n_active = 0;
            next.iter_mut().for_each(|s| *s = false);
            for state in 0..states {
                if !active[state] {
                    continue;
                }
                match self.dfa[state].transition {
                    Transition::None => {}
                    Transition::Any => {
                        next[state + 1] = true;
                        n_active += 1;
                    }
                    Transition::Specific(n) => {
                        if event.mask & (1 << n) != 0 {
                            next[state + 1] = true;
                            n_active += 1;
                        }
                    }
                }
                if self.dfa[state].has_kleene {
                    next[state] = true;
                    n_active += 1;
                }
            }
            std::mem::swap(&mut active, &mut next);
        }
        accepted(&active)
    }

    /// ClickHouse's backtracking matcher, starting at `*at`; on return `*at` is where the
    /// next search starts.
    fn backtrack(&self, events: &[Event], at: &mut usize) -> Result<bool> {
        let actions = &self.actions;
        let begin = *at;
        let mut action = 0usize;
        let mut event = *at;
        let mut base = *at;
        let mut stack: Vec<(usize, usize, usize)> = Vec::new();
        let mut steps = 0usize;

        // Pop to the most recent choice point that still has events left.
        let backtrack = |stack: &mut Vec<(usize, usize, usize)>,
                         action: &mut usize,
                         event: &mut usize,
                         base: &mut usize| {
            while let Some((a, e, b)) = stack.pop() {
                *action = a;
                *event = e + 1;
                *base = b;
                if *event != events.len() {
                    return true;
                }
            }
            false
        };

        while action < actions.len() && event < events.len() {
            match actions[action] {
                Action::Specific(n) => {
                    if events[event].mask & (1 << n) != 0 {
                        base = event;
                        action += 1;
                        event += 1;
                    } else if !backtrack(&mut stack, &mut action, &mut event, &mut base) {
                        break;
                    }
                }
                Action::Any => {
                    base = event;
                    action += 1;
                    event += 1;
                }
                Action::KleeneStar => {
                    stack.push((action, event, base));
                    base = event;
                    action += 1;
                }
                Action::Time(op, limit) => {
                    let elapsed = events[event].time.saturating_sub(events[base].time);
                    let holds = match op {
                        TimeOp::LessOrEqual => elapsed <= limit,
                        TimeOp::Less => elapsed < limit,
                        TimeOp::GreaterOrEqual => elapsed >= limit,
                        TimeOp::Greater => elapsed > limit,
                        TimeOp::Equal => elapsed == limit,
                        TimeOp::NotEqual => elapsed != limit,
                    };
                    if holds {
                        stack.push((action, event, base));
                        base = event;
                        action += 1;
                    } else if matches!(op, TimeOp::LessOrEqual | TimeOp::Less) {
                        if !backtrack(&mut stack, &mut action, &mut event, &mut base) {
                            break;
                        }
                    } else {
                        event += 1;
                        if event == events.len()
                            && !backtrack(&mut stack, &mut action, &mut event, &mut base)
                        {
                            break;
                        }
                    }
                }
            }
            steps += 1;
            if steps > MAX_ITERATIONS {
                return exec_err!(
                    "sequence pattern is too difficult to apply: more than {MAX_ITERATIONS} steps \
                     for one group"
                );
            }
        }

        // Trailing actions that can match nothing.
        while action < actions.len()
            && matches!(
                actions[action],
                Action::KleeneStar
                    | Action::Time(TimeOp::LessOrEqual | TimeOp::Less, _)
                    | Action::Time(TimeOp::GreaterOrEqual, 0)
            )
        {
            action += 1;
        }

        *at = if event == begin { event + 1 } else { event };
        Ok(action == actions.len())
    }
}

/// Parse a pattern for a function, as a plan error.
pub(crate) fn parse_for(
    function: &str,
    pattern: &str,
    conditions: usize,
    to_native: impl Fn(i64) -> Option<i64>,
) -> Result<Pattern> {
    match Pattern::parse(pattern, conditions, to_native) {
        Ok(p) => Ok(p),
        Err(e) => plan_err!("{function}: {e}"),
    }
}
