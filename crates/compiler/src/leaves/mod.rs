//! One file per leaf type of the model: each implements [`crate::leaf::LeafPlan`] — the
//! aggregates it adds to the fused GROUP BY, its value and truth over the grouped row, and
//! its description.
//!
//! | leaf | aggregate(s) | then |
//! |---|---|---|
//! | `performed` | `count(time) FILTER (…)` (= `count(*)`: the scan keeps only timed events) | count compared |
//! | `first/last_performed` | `min/max(time) FILTER (…)` | placed in time |
//! | `metric`, `breadth` | `count`, `distinct_count`, `sum`, `avg`, `min`, `max`, `dominant` `FILTER (…)` | value compared |
//! | `trait` | — (a profiles column) | compared |
//! | `funnel` | `window_funnel(window, modes, time, step…) FILTER (events)` | level compared |
//! | `sequence` | `sequence_match(pattern, time, step…) FILTER (events)` | true / false |
//! | `sessions` | `session_stats(time, gap) FILTER (…)` | struct fields compared |
//! | `cadence` | `cadence(local time, as-of day) FILTER (…)`, first/last day around the return window | class by rules |
//! | `momentum` | `count FILTER (recent window, …)`, `count FILTER (baseline window, …)` | ratio of their rates, compared |
//! | `rfm` | `max(day)`, `count`, `sum(monetary)` `FILTER (…)` | population ranks (window functions) → scores → `rfm_class` |
//! | `affinity` | `dominant(of) FILTER (…)` | value and share compared |
//! | `predict` | its features' aggregates | standardized inputs → logistic probability; percentile by `percent_rank()` over the run |
//! | `archetype` | its features' aggregates | standardized inputs → name of the nearest centroid |

mod affinity;
mod archetype;
mod cadence;
mod funnel;
mod metric;
mod momentum;
mod occurrence;
mod performed;
mod predict;
mod profile_trait;
mod rfm;
mod sequence;
mod sessions;

pub use sequence::sequence_pattern;
