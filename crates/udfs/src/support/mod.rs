//! Shared machinery for segmint's functions: constant arguments, time units, day sets, the
//! per-group event lists the ordered aggregates keep, and list-shaped state.
//!
//! None of these is a SQL function; each function lives in its own file one level up.

pub(crate) mod aggregate;
pub(crate) mod args;
pub(crate) mod byte_states;
pub(crate) mod columnar;
pub(crate) mod day_sets;
pub(crate) mod distinct_sets;
pub(crate) mod event_bytes;
pub(crate) mod event_groups;
pub(crate) mod lists;
pub(crate) mod pattern;
pub(crate) mod sequence;
pub(crate) mod session_summaries;
pub(crate) mod single_group;
pub(crate) mod time;
pub(crate) mod value_ids;
