//! The shipped segment library, embedded so `segmint demo` works from any folder.

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

/// The project file `demo` writes beside the generated lake.
pub const DEMO_PROJECT: &str = "\
lake:
  events:
    location: lake/events
    partitioning: {date: date}
    columns: {entity: user_id, time: event_time, event: event_name}
  profiles:
    location: lake/profiles
    key: user_id
output:
  location: out
timezone: UTC
segments: segments
";

#[cfg(test)]
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
}
