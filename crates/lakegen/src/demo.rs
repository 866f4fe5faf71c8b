//! The demo project: the shipped segment library (embedded, so `segmint demo` works from
//! any folder) and the project file that reads a generated lake. The one copy of both,
//! used by the CLI's `demo`, the tests and the benchmarks.

use std::path::{Path, PathBuf};

/// (file name, YAML text) of every shipped segment.
pub const SEGMENTS: &[(&str, &str)] = &[
    (
        "advocates.yaml",
        include_str!("../../../segments/advocates.yaml"),
    ),
    (
        "big_spenders.yaml",
        include_str!("../../../segments/big_spenders.yaml"),
    ),
    (
        "broad_feature_users.yaml",
        include_str!("../../../segments/broad_feature_users.yaml"),
    ),
    (
        "cart_abandoners.yaml",
        include_str!("../../../segments/cart_abandoners.yaml"),
    ),
    (
        "desktop_first.yaml",
        include_str!("../../../segments/desktop_first.yaml"),
    ),
    (
        "engagement_cadence.yaml",
        include_str!("../../../segments/engagement_cadence.yaml"),
    ),
    (
        "engagement_tiers.yaml",
        include_str!("../../../segments/engagement_tiers.yaml"),
    ),
    (
        "fading_users.yaml",
        include_str!("../../../segments/fading_users.yaml"),
    ),
    (
        "fast_converters.yaml",
        include_str!("../../../segments/fast_converters.yaml"),
    ),
    (
        "frequent_sessions.yaml",
        include_str!("../../../segments/frequent_sessions.yaml"),
    ),
    (
        "frequent_unconverted_visitors.yaml",
        include_str!("../../../segments/frequent_unconverted_visitors.yaml"),
    ),
    (
        "heavy_users.yaml",
        include_str!("../../../segments/heavy_users.yaml"),
    ),
    (
        "high_momentum_prospects.yaml",
        include_str!("../../../segments/high_momentum_prospects.yaml"),
    ),
    (
        "in_person_regulars.yaml",
        include_str!("../../../segments/in_person_regulars.yaml"),
    ),
    (
        "journey_stage.yaml",
        include_str!("../../../segments/journey_stage.yaml"),
    ),
    (
        "lapsed_users.yaml",
        include_str!("../../../segments/lapsed_users.yaml"),
    ),
    (
        "light_users.yaml",
        include_str!("../../../segments/light_users.yaml"),
    ),
    (
        "mobile_first.yaml",
        include_str!("../../../segments/mobile_first.yaml"),
    ),
    (
        "narrow_feature_users.yaml",
        include_str!("../../../segments/narrow_feature_users.yaml"),
    ),
    (
        "never_reached_value.yaml",
        include_str!("../../../segments/never_reached_value.yaml"),
    ),
    (
        "new_users.yaml",
        include_str!("../../../segments/new_users.yaml"),
    ),
    (
        "paying_power_users.yaml",
        include_str!("../../../segments/paying_power_users.yaml"),
    ),
    (
        "regular_low_frequency.yaml",
        include_str!("../../../segments/regular_low_frequency.yaml"),
    ),
    (
        "retry_loops.yaml",
        include_str!("../../../segments/retry_loops.yaml"),
    ),
    (
        "returning_users.yaml",
        include_str!("../../../segments/returning_users.yaml"),
    ),
    (
        "rfm_classes.yaml",
        include_str!("../../../segments/rfm_classes.yaml"),
    ),
    (
        "rfm_fixed_champions.yaml",
        include_str!("../../../segments/rfm_fixed_champions.yaml"),
    ),
    (
        "rfm_top_spenders.yaml",
        include_str!("../../../segments/rfm_top_spenders.yaml"),
    ),
    (
        "seasonal_shoppers.yaml",
        include_str!("../../../segments/seasonal_shoppers.yaml"),
    ),
    (
        "silent_friction.yaml",
        include_str!("../../../segments/silent_friction.yaml"),
    ),
    (
        "support_seekers.yaml",
        include_str!("../../../segments/support_seekers.yaml"),
    ),
    (
        "support_style.yaml",
        include_str!("../../../segments/support_style.yaml"),
    ),
    (
        "topic_clusters.yaml",
        include_str!("../../../segments/topic_clusters.yaml"),
    ),
    (
        "unconverted_viewers_by_category.yaml",
        include_str!("../../../segments/unconverted_viewers_by_category.yaml"),
    ),
    (
        "value_tiers.yaml",
        include_str!("../../../segments/value_tiers.yaml"),
    ),
    (
        "video_watchers_no_cart.yaml",
        include_str!("../../../segments/video_watchers_no_cart.yaml"),
    ),
];

/// (path relative to the project, YAML text) of the shipped features, propensity model and
/// archetype set.
pub const MODEL_FILES: &[(&str, &str)] = &[
    ("features.yaml", include_str!("../../../features.yaml")),
    (
        "models/will_purchase_30d.yaml",
        include_str!("../../../models/will_purchase_30d.yaml"),
    ),
    (
        "archetypes/activity_styles.yaml",
        include_str!("../../../archetypes/activity_styles.yaml"),
    ),
];

/// (file name, YAML text) of the example forward-looking segment: the top decile of
/// `will_purchase_30d` with its activity archetype. It needs the model trained and the
/// archetypes fitted, so it is not part of the shipped library.
pub const FORWARD_SEGMENT: (&str, &str) = (
    "likely_buyers.yaml",
    include_str!("../../../examples/forward/likely_buyers.yaml"),
);

/// The demo project file: the generated lake under `lake/`, results under `out/`, UTC, and
/// the segment files in `segments` (relative to the project file, or absolute).
pub fn project_yaml(segments: &str) -> String {
    project_yaml_at("lake", "out", segments)
}

/// The demo project file for a generated lake at `lake` (a path or a URL such as
/// `s3://bucket/lake`, holding `events/` and `profiles/`), results at `output`.
pub fn project_yaml_at(lake: &str, output: &str, segments: &str) -> String {
    format!(
        "\
lake:
  events:
    location: {lake}/events
    partitioning: {{date: date}}
    columns: {{entity: user_id, time: event_time, event: event_name}}
  profiles:
    location: {lake}/profiles
    key: user_id
output:
  location: {output}
timezone: UTC
segments: {segments}
"
    )
}

/// The `identity:` section for a lake generated with identities
/// (`generate-lake --identities`): people are stitched from `user_id` and `anonymous_id`.
pub const IDENTITY_YAML: &str = "\
identity:
  identifiers: [user_id, anonymous_id]
  limits: {user_id: 1, anonymous_id: 50}
  max_person_size: 200
";

/// The demo project file for a generated lake made of Delta tables (`generate-lake
/// --format delta`) at `lake`, results at `output`.
pub fn delta_project_yaml(lake: &str, output: &str, segments: &str) -> String {
    format!(
        "\
lake:
  events:
    location: {lake}/events
    format: delta
    columns: {{entity: user_id, time: event_time, event: event_name}}
  profiles:
    location: {lake}/profiles
    format: delta
    key: user_id
output:
  location: {output}
timezone: UTC
segments: {segments}
"
    )
}

/// Write `dir/segmint.yaml` reading `dir/lake`, with the segment files in `segments`;
/// returns the project file's path.
pub fn write_project(dir: &Path, segments: &str) -> std::io::Result<PathBuf> {
    std::fs::create_dir_all(dir)?;
    let path = dir.join("segmint.yaml");
    std::fs::write(&path, project_yaml(segments))?;
    Ok(path)
}

/// Write the demo project into `dir`: `segmint.yaml`, every shipped segment under
/// `dir/segments/`, and the shipped features, model and archetype set
/// ([`MODEL_FILES`]); returns the project file's path.
pub fn write_demo_project(dir: &Path) -> std::io::Result<PathBuf> {
    let folder = dir.join("segments");
    std::fs::create_dir_all(&folder)?;
    for (name, text) in SEGMENTS {
        std::fs::write(folder.join(name), text)?;
    }
    for (path, text) in MODEL_FILES {
        let path = dir.join(path);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        std::fs::write(path, text)?;
    }
    write_project(dir, "segments")
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    #[test]
    fn every_shipped_segment_file_is_embedded() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../segments");
        let mut on_disk: Vec<String> = std::fs::read_dir(dir)
            .into_iter()
            .flatten()
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(".yaml"))
            .collect();
        on_disk.sort();
        let embedded: Vec<String> = super::SEGMENTS.iter().map(|(n, _)| n.to_string()).collect();
        assert_eq!(embedded, on_disk);
    }

    #[test]
    fn the_demo_project_is_written_whole() {
        let dir = tempfile::tempdir().unwrap();
        let project = super::write_demo_project(dir.path()).unwrap();
        let text = std::fs::read_to_string(project).unwrap();
        assert!(text.contains("segments: segments\n"), "{text}");
        let written = std::fs::read_dir(dir.path().join("segments"))
            .unwrap()
            .count();
        assert_eq!(written, super::SEGMENTS.len());
    }
}
