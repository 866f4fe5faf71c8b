//! # segmint-engine — run compiled segments over a Parquet lake and commit the results
//!
//! | module | does |
//! |---|---|
//! | [`session`] | loads specs, registers the lake's listing tables (hive partitions), reads the schema, checks specs |
//! | [`run`] | compiles the fused plan for an as-of, executes it, writes members and `summary.json` |
//! | [`sql`] | ad-hoc SQL over the lake's `events` / `profiles` tables with segmint's functions |
//! | [`storage`] | object stores by URL (`s3://`, `gs://`, `az://`, `http(s)://`, `file://`, paths); credential redaction |
//! | [`history`] | `diff` against the previous committed run; backfills that resume |
//! | [`output`] | the output layout and the manifest commit protocol |
//! | [`lake_gen`] | a deterministic synthetic lake with planted behavioral personas |

mod diagnose;
pub mod error;
pub mod history;
pub mod lake_gen;
pub mod output;
pub mod run;
pub mod session;
pub mod sql;
pub mod storage;

pub use error::{EngineError, Result};
pub use run::{RunOptions, RunSummary, compile_for, execute, run, run_with};
pub use session::{
    LakeSession, ProjectSession, check_offline, new_context, open, open_in, open_lake,
    open_lake_in, open_output, open_sql, open_sql_in, session_config,
};
pub use sql::run_sql;
