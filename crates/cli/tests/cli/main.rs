//! The built `segmint` binary, end to end: one test binary.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stderr)]

mod airflow;
mod cluster;
mod exit_codes;
mod s3_server;
mod storage;
