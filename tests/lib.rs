//! Shared helpers for segmint's integration tests: a generated lake with the shipped library,
//! a reference evaluator that computes memberships in plain Rust over the raw rows, a
//! local Ballista cluster of `segmint` processes, the independent Delta reader, the Python
//! peers, and a headless Chromium driven over WebDriver.
#![allow(clippy::unwrap_used, clippy::expect_used)]

pub mod behavior;
pub mod browser;
pub mod delta_reader;
pub mod identity_reference;
pub mod local_cluster;
pub mod python_env;
pub mod reference;

use std::path::{Path, PathBuf};

/// A project file for checks that need no files on disk (relative locations): the demo
/// project.
pub fn project_yaml() -> String {
    segmint_lakegen::demo::project_yaml("segments")
}

/// The generated lake's schema, as the spec checker sees it.
pub fn lake_schema() -> segmint_spec::LakeSchema {
    use segmint_engine::session::table_columns;
    segmint_spec::LakeSchema {
        events: table_columns(&segmint_lakegen::events_table_schema()),
        profiles: Some(table_columns(&segmint_lakegen::profiles_schema())),
    }
}

/// The repository's shipped segment folder.
pub fn segments_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../segments")
}

/// Write a project in `dir` that reads `dir/lake` with the shipped library.
pub fn write_project(dir: &Path) -> PathBuf {
    segmint_lakegen::demo::write_project(dir, &segments_dir().display().to_string()).unwrap()
}
