//! segmint integration tests: one binary.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stderr)]

mod clickhouse_diff;
mod docs_sql;
mod errors;
mod identity;
mod incremental;
mod library;
mod plans;
mod udfs_props;
mod udfs_proto;
mod udfs_rank_count;
mod udfs_slt;
mod vocabulary;
