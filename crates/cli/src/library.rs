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
        "engagement_tiers.yaml",
        include_str!("../../../segments/engagement_tiers.yaml"),
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
        "new_users.yaml",
        include_str!("../../../segments/new_users.yaml"),
    ),
    (
        "paying_power_users.yaml",
        include_str!("../../../segments/paying_power_users.yaml"),
    ),
    (
        "silent_friction.yaml",
        include_str!("../../../segments/silent_friction.yaml"),
    ),
    (
        "support_seekers.yaml",
        include_str!("../../../segments/support_seekers.yaml"),
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
