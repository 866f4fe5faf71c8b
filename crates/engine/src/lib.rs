//! # segmint-engine — run compiled segments over a Parquet lake and commit the results
//!
//! | module | does |
//! |---|---|
//! | [`session`] | [`ProjectSession::builder`]: loads specs, registers the lake's listing tables (hive partitions), reads the schema, checks specs |
//! | [`storage`] | [`storage::StoreRegistry`]: object stores by URL (`s3://`, `gs://`, `az://`, `http(s)://`, `file://`, paths) for sessions, outputs and executors; credential redaction |
//! | [`run`] | compiles the fused plan for an as-of, executes it, writes members and `summary.json`, commits |
//! | [`incremental`] | runs merged from per-(entity, day) summaries kept in the output; only missing, stale and recent days are read from the lake |
//! | [`memory`] | the local session's memory pool: an optional limit (spilling beyond it), the peak, spills |
//! | [`members`] | the fused result's rows → each segment's members (masks, entity sets, tier counts); `preview` |
//! | [`delta_lake`] | Delta tables as lake sources: files chosen from the log's statistics, scanned with DataFusion's Parquet scan |
//! | [`activation`] | `sync`: entered/exited deltas to webhooks and files, delivery state in the output |
//! | [`impact`] | treated against held-out entrants of a segment on a goal: rates, lift, intervals, p-value, MDE |
//! | [`models`] | `train` (propensity models) and `archetypes fit`; versioned parameters loaded into runs |
//! | [`sql`] | ad-hoc SQL over the lake's `events` / `profiles` tables with segmint's functions |
//! | [`history`] | `diff` against the previous committed as-of; backfills that resume |
//! | [`output`] | the output Delta tables (`members`, `runs`): one commit per as-of, history, vacuum |
//! | [`error`] | [`EngineError`], one variant per way a request fails (the CLI maps them to exit codes) |
//!
//! DataFusion, Parquet and object-store errors become engine errors in one place (the
//! private `failure` module).

pub mod activation;
pub mod delta_lake;
pub mod error;
mod failure;
pub mod history;
pub mod identity;
pub mod impact;
pub mod incremental;
pub mod members;
pub mod memory;
pub mod models;
mod on_cores;
pub mod output;
mod quiet_store;
pub mod run;
pub mod session;
pub mod single_stage;
pub mod sql;
pub mod storage;

pub use error::{EngineError, Result};
pub use members::{Preview, preview};
pub use run::{RunOptions, RunSummary, compile_for, execute, run};
pub use session::{LakeSession, ProjectSession, ProjectSessionBuilder, session_config};
pub use sql::run_sql;
