//! # segmint-engine — run compiled segments over a Parquet lake and commit the results
//!
//! | module | does |
//! |---|---|
//! | [`session`] | loads specs, registers the lake's listing tables (hive partitions), reads the schema, checks specs |
//! | [`run`] | compiles the fused plan for an as-of, executes it, writes members and `summary.json` |
//! | [`output`] | the output layout and the manifest commit protocol |
//! | [`lake_gen`] | a deterministic synthetic lake with planted behavioral personas |

pub mod error;
pub mod lake_gen;
pub mod output;
pub mod run;
pub mod session;

pub use error::{EngineError, Result};
pub use run::{RunSummary, compile_for, execute, run};
pub use session::{ProjectSession, check_offline, open};
