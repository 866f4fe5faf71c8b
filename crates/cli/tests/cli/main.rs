//! The built `segmint` binary, end to end: one test binary.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stderr)]

mod airflow;
mod cluster;
mod concurrency;
mod delta_tables;
mod destinations;
mod exit_codes;
mod holdouts;
mod identity;
mod kill;
mod memory;
mod models;
mod report;
mod s3_server;
mod storage;
mod webhook_receiver;

/// A finished command's exit status, stdout and stderr, for assertion messages.
fn text(out: &std::process::Output) -> String {
    format!(
        "status {:?}\n--- stdout\n{}\n--- stderr\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// Assert that a command exited 0 (showing its output if not); its stdout.
#[track_caller]
fn succeeded(out: &std::process::Output) -> String {
    assert_eq!(out.status.code(), Some(0), "{}", text(out));
    String::from_utf8_lossy(&out.stdout).into_owned()
}
