//! Shared helpers for segmint's integration tests: a generated lake with the shipped library,
//! a reference evaluator that computes memberships in plain Rust over the raw rows, and a
//! local Ballista cluster of `segmint` processes.
#![allow(clippy::unwrap_used, clippy::expect_used)]

pub mod behavior;
pub mod local_cluster;
pub mod reference;

use std::path::{Path, PathBuf};

/// A project file for checks that need no files on disk (relative locations).
pub const PROJECT_YAML: &str = "lake:\n  events:\n    location: lake/events\n    partitioning: {date: date}\n    columns: {entity: user_id, time: event_time, event: event_name}\n  profiles:\n    location: lake/profiles\n    key: user_id\noutput:\n  location: out\n";

/// The generated lake's schema, as the spec checker sees it.
pub fn lake_schema() -> segmint_spec::LakeSchema {
    use segmint_spec::ColumnKind::*;
    let events = [
        ("user_id", Text),
        ("event_time", Timestamp),
        ("event_name", Text),
        ("channel", Text),
        ("category", Text),
        ("topic", Text),
        ("feature", Text),
        ("revenue", Float),
        ("date", Date),
    ];
    let profiles = [
        ("user_id", Text),
        ("country", Text),
        ("plan", Text),
        ("signup_date", Date),
    ];
    segmint_spec::LakeSchema {
        events: events.iter().map(|(n, k)| (n.to_string(), *k)).collect(),
        profiles: Some(profiles.iter().map(|(n, k)| (n.to_string(), *k)).collect()),
    }
}

/// The repository's shipped segment folder.
pub fn segments_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../segments")
}

/// Write a project in `dir` that reads `dir/lake` with the shipped library.
pub fn write_project(dir: &Path) -> PathBuf {
    let project = format!(
        "lake:\n  events:\n    location: lake/events\n    partitioning: {{date: date}}\n    columns: {{entity: user_id, time: event_time, event: event_name}}\n  profiles:\n    location: lake/profiles\n    key: user_id\noutput:\n  location: out\ntimezone: UTC\nsegments: {}\n",
        segments_dir().display()
    );
    let path = dir.join("segmint.yaml");
    std::fs::write(&path, project).unwrap();
    path
}
