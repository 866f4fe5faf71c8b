//! Error snapshots: every bad input gives a coded diagnostic with file:line:column and a
//! hint — and never a panic.

use segmint_spec::load::{parse_project, parse_segment};
use segmint_spec::source::{parse, source_from_bytes};
use segmint_spec::{Diagnostics, ModelsInput, check, check_with};

use segmint_tests::{lake_schema as schema, project_yaml};

/// Parse and check segment files (name, bytes); the rendered diagnostics, or "ok".
fn diagnose(files: &[(&str, &[u8])]) -> String {
    diagnose_with(&project_yaml(), files)
}

/// Like [`diagnose`] with `extra` appended to the project file.
fn with_project(extra: &str, segment: &str) -> String {
    diagnose_with(
        &format!("{}{extra}", project_yaml()),
        &[("case.yaml", segment.as_bytes())],
    )
}

fn diagnose_with(project_text: &str, files: &[(&str, &[u8])]) -> String {
    let project_src = source_from_bytes("segmint.yaml", project_text.as_bytes().to_vec()).unwrap();
    let project = parse_project(project_src, ".".into()).unwrap();
    let mut diagnostics = Diagnostics::default();
    let mut segments = Vec::new();
    for (name, bytes) in files {
        match source_from_bytes(name, bytes.to_vec()).and_then(parse_segment) {
            Ok(s) => segments.push(s),
            Err(d) => diagnostics.push(d),
        }
    }
    if diagnostics.is_empty() {
        match check(&project, &segments, Some(&schema())) {
            Ok(_) => return "ok".into(),
            Err(d) => diagnostics = d,
        }
    }
    for d in &diagnostics.0 {
        assert!(d.code.as_str().starts_with("SM"));
        assert!(!d.hint.is_empty(), "no hint: {d}");
    }
    format!(
        "{}\n--- json ---\n{:#}",
        diagnostics.render(false),
        diagnostics.to_json()
    )
}

macro_rules! case {
    ($name:ident, $input:expr) => {
        #[test]
        fn $name() {
            let rendered = $input;
            assert_ne!(rendered, "ok", "expected an error");
            insta::assert_snapshot!(stringify!($name), rendered);
        }
    };
}

/// The shipped-style features file, with one model and one archetype set.
const FEATURES: &str = "\
features:
  purchases_90d: {performed: {event: purchase, within: 90d}}
  active_days_30d: {metric: {agg: active_days, within: 30d}}
  days_since_last_event: {last_performed: {}}
";
const MODEL: &str = "\
model: will_purchase_30d
predict: {event: purchase, within: 30d}
features: [purchases_90d, active_days_30d, days_since_last_event]
";
const ARCHETYPES: &str = "\
archetypes: styles
features: [active_days_30d, days_since_last_event]
k: 4
";

/// Check `segment` beside a features file, a model file and an archetypes file; any of the
/// three may be replaced to make it the case.
fn with_models(features: &str, model: &str, archetypes: &str, segment: &str) -> String {
    let source =
        |name: &str, text: &str| source_from_bytes(name, text.as_bytes().to_vec()).unwrap();
    let mut diagnostics = Diagnostics::default();
    macro_rules! parsed {
        ($name:expr, $text:expr) => {{
            let src = source($name, $text);
            match parse(&src) {
                Ok(t) => Some((src, t)),
                Err(d) => {
                    diagnostics.push(d);
                    None
                }
            }
        }};
    }
    let models = ModelsInput {
        features: parsed!("features.yaml", features),
        models: parsed!("models/will_purchase_30d.yaml", model)
            .into_iter()
            .collect(),
        archetypes: parsed!("archetypes/styles.yaml", archetypes)
            .into_iter()
            .collect(),
    };
    let project_src = source("segmint.yaml", &project_yaml());
    let project = parse_project(project_src, ".".into()).unwrap();
    match parse_segment(source("case.yaml", segment)) {
        Ok(s) if diagnostics.is_empty() => {
            match check_with(&project, &[s], &models, Some(&schema())) {
                Ok(_) => return "ok".into(),
                Err(d) => diagnostics = d,
            }
        }
        Ok(_) => {}
        Err(d) => diagnostics.push(d),
    }
    for d in &diagnostics.0 {
        assert!(!d.hint.is_empty(), "no hint: {d}");
    }
    format!(
        "{}\n--- json ---\n{:#}",
        diagnostics.render(false),
        diagnostics.to_json()
    )
}

/// A segment using the model and the archetypes, valid with the files above.
const PREDICTING: &str = "segment: a\nwhere:\n  predict: {model: will_purchase_30d, percentile: {gte: 90}}\noutputs:\n  style: {archetype: {of: styles}}\n";

#[test]
fn the_model_files_above_are_valid() {
    assert_eq!(with_models(FEATURES, MODEL, ARCHETYPES, PREDICTING), "ok");
}

case!(
    predict_unknown_model,
    with_models(
        FEATURES,
        MODEL,
        ARCHETYPES,
        "segment: a\nwhere:\n  predict: {model: will_purchase_3d, percentile: {gte: 90}}\n"
    )
);
case!(
    predict_without_threshold,
    with_models(
        FEATURES,
        MODEL,
        ARCHETYPES,
        "segment: a\nwhere:\n  predict: {model: will_purchase_30d}\n"
    )
);
case!(
    predict_probability_above_one,
    with_models(
        FEATURES,
        MODEL,
        ARCHETYPES,
        "segment: a\nwhere:\n  predict: {model: will_purchase_30d, probability: {gte: 50}}\n"
    )
);
case!(
    archetype_unknown_set,
    with_models(
        FEATURES,
        MODEL,
        ARCHETYPES,
        "segment: a\nwhere:\n  archetype: {of: stiles, is: archetype_1}\n"
    )
);
case!(
    archetype_beyond_k,
    with_models(
        FEATURES,
        MODEL,
        ARCHETYPES,
        "segment: a\nwhere:\n  archetype: {of: styles, is: archetype_9}\n"
    )
);
case!(
    model_undeclared_feature,
    with_models(
        FEATURES,
        &MODEL.replace("active_days_30d,", "active_days_3d,"),
        ARCHETYPES,
        PREDICTING
    )
);
case!(
    feature_is_a_condition,
    with_models(
        &FEATURES.replace(
            "{performed: {event: purchase, within: 90d}}",
            "{performed: {event: purchase, within: 90d, count: {gte: 2}}}"
        ),
        MODEL,
        ARCHETYPES,
        PREDICTING
    )
);
case!(
    archetypes_k_out_of_range,
    with_models(
        FEATURES,
        MODEL,
        &ARCHETYPES.replace("k: 4", "k: 40"),
        PREDICTING
    )
);
case!(
    model_log_of_unlisted_feature,
    with_models(
        FEATURES,
        &format!("{MODEL}log: [purchases_30d]\n"),
        ARCHETYPES,
        PREDICTING
    )
);

fn one(text: &str) -> String {
    diagnose(&[("case.yaml", text.as_bytes())])
}

case!(
    memory_limit_not_a_size,
    with_project(
        "memory_limit: lots\n",
        "segment: a\nwhere:\n  performed: {within: 7d}\n"
    )
);
case!(
    incremental_lookback_out_of_range,
    with_project(
        "incremental: {lookback_days: 400}\n",
        "segment: a\nwhere:\n  performed: {within: 7d}\n"
    )
);
case!(
    identity_misconfigured,
    with_project(
        "identity:\n  identifiers: [user_id, device]\n  limits: {email: 1}\n  blocked: ['(unclosed']\n",
        "segment: a\nwhere:\n  performed: {within: 7d}\n"
    )
);
case!(
    typo_key,
    one("segment: a\nwher:\n  performed: {within: 7d}\n")
);
case!(
    holdout_above_one_hundred_percent,
    one("segment: a\nholdout: 150%\nwhere:\n  performed: {within: 7d}\n")
);
case!(
    destination_secret_written_inline,
    with_project(
        "destinations:\n  crm:\n    webhook: {url: https://crm.example.com/h, signing_key_env: \"s3cr3t value!\"}\n",
        "segment: a\nwhere:\n  performed: {within: 7d}\n"
    )
);
case!(
    destination_unknown_segment,
    with_project(
        "destinations:\n  exports:\n    files: {location: exports, format: csv}\n    segments: [b]\n",
        "segment: a\nwhere:\n  performed: {within: 7d}\n"
    )
);
case!(
    destination_webhook_and_files,
    with_project(
        "destinations:\n  both:\n    webhook: {url: https://x.example.com}\n    files: {location: exports, format: csv}\n",
        "segment: a\nwhere:\n  performed: {within: 7d}\n"
    )
);
case!(
    duplicate_key,
    one("segment: a\nsegment: b\nwhere:\n  performed: {within: 7d}\n")
);
case!(
    bad_duration,
    one("segment: a\nwhere:\n  performed: {within: 30days}\n")
);
case!(
    negative_duration,
    one("segment: a\nwhere:\n  performed: {within: -3d}\n")
);
case!(
    unknown_reference,
    one("segment: a\nwhere:\n  in_segment: heavy_userz\n")
);
case!(
    reference_cycle,
    diagnose(&[
        ("a.yaml", b"segment: a\nwhere:\n  in_segment: b\n"),
        ("b.yaml", b"segment: b\nwhere:\n  not: {in_segment: a}\n"),
    ])
);
case!(
    wrong_type,
    one("segment: a\nwhere:\n  performed: {count: {gte: many}, within: 7d}\n")
);
case!(
    unknown_column,
    one("segment: a\nwhere:\n  performed: {event: product_view, where: {categoy: camping}}\n")
);
case!(
    tab_indentation,
    one("segment: a\nwhere:\n\tperformed: {within: 7d}\n")
);
case!(empty_file, one("# nothing here\n\n"));
case!(non_utf8, diagnose(&[("case.yaml", b"segment: caf\xe9\n")]));
case!(
    over_budget_depth,
    one(&format!(
        "segment: a\nwhere: {}{{performed: {{}}}}{}\n",
        "{not: ".repeat(60),
        "}".repeat(60)
    ))
);
case!(
    over_budget_size,
    one(&format!(
        "segment: a\ndescription: {}\n",
        "x".repeat(300_000)
    ))
);
case!(
    unknown_condition,
    one("segment: a\nwhere:\n  performd: {event: purchase}\n")
);
case!(empty_all, one("segment: a\nwhere:\n  all: []\n"));
case!(
    bad_date,
    one("segment: a\nwhere:\n  performed: {between: [2026-02-30, 2026-03-01]}\n")
);
case!(
    reversed_dates,
    one("segment: a\nwhere:\n  performed: {between: [2026-03-01, 2026-02-01]}\n")
);
case!(
    duplicate_segment,
    diagnose(&[
        ("a.yaml", b"segment: a\nwhere:\n  performed: {within: 7d}\n"),
        (
            "b.yaml",
            b"segment: a\nwhere:\n  performed: {within: 14d}\n"
        ),
    ])
);
case!(
    text_column_compared_with_number,
    one("segment: a\nwhere:\n  performed: {where: {category: 404}}\n")
);
case!(
    not_performed_with_count,
    one("segment: a\nwhere:\n  not_performed: {event: purchase, count: {gte: 1}}\n")
);
case!(
    catch_all_tier_not_last,
    one(
        "segment: a\ntiers:\n  - name: rest\n  - name: active\n    where: {performed: {within: 7d}}\n"
    )
);
case!(
    bad_segment_name,
    one("segment: Heavy Users\nwhere:\n  performed: {within: 7d}\n")
);
case!(
    sum_of_text_column,
    one("segment: a\nwhere:\n  metric: {agg: sum, of: channel, value: {gte: 3}}\n")
);
case!(
    share_without_equals,
    one("segment: a\nwhere:\n  metric: {agg: share, of: channel, value: {gte: 0.5}}\n")
);
case!(
    neither_where_nor_tiers,
    one("segment: a\ndescription: nothing\n")
);
case!(
    both_within_and_between,
    one("segment: a\nwhere:\n  performed: {within: 7d, between: [2026-01-01, 2026-02-01]}\n")
);
case!(yaml_syntax, one("segment: a\nwhere: {performed: [\n"));

// --- behavioral leaves ---
const CART: &str = "steps: [{event: add_to_cart}, {event: purchase}], window: 24h, within: 7d";
case!(
    funnel_dropped_after_unknown_step,
    one(&format!(
        "segment: a\nwhere:\n  funnel: {{{CART}, dropped_after: add_to_crat}}\n"
    ))
);
case!(
    funnel_dropped_after_last_step,
    one(&format!(
        "segment: a\nwhere:\n  funnel: {{{CART}, dropped_after: purchase}}\n"
    ))
);
case!(
    funnel_without_window,
    one(
        "segment: a\nwhere:\n  funnel: {steps: [{event: add_to_cart}, {event: purchase}], completed: true}\n"
    )
);
case!(
    funnel_two_outcomes,
    one(&format!(
        "segment: a\nwhere:\n  funnel: {{{CART}, completed: true, reached: {{gte: 1}}}}\n"
    ))
);
case!(
    funnel_unknown_mode,
    one(&format!(
        "segment: a\nwhere:\n  funnel: {{{CART}, mode: [strict_ordr], completed: true}}\n"
    ))
);
case!(
    funnel_one_step,
    one(
        "segment: a\nwhere:\n  funnel: {steps: [{event: purchase}], window: 1h, completed: true}\n"
    )
);
case!(
    funnel_negative_window,
    one(
        "segment: a\nwhere:\n  funnel: {steps: [{event: a}, {event: b}], window: -1h, completed: true}\n"
    )
);
case!(
    sequence_first_step_timed,
    one("segment: a\nwhere:\n  sequence: {steps: [{event: error, within: 5m}, {event: retry}]}\n")
);
case!(
    sequence_step_within_and_after,
    one(
        "segment: a\nwhere:\n  sequence: {steps: [{event: error}, {event: retry, within: 5m, after: 1m}]}\n"
    )
);
case!(
    sequence_step_matches_everything,
    one("segment: a\nwhere:\n  sequence: {steps: [{event: error}, {}]}\n")
);
case!(
    sessions_without_comparison,
    one("segment: a\nwhere:\n  sessions: {gap: 30m, within: 14d}\n")
);
case!(
    sessions_negative_minutes,
    one("segment: a\nwhere:\n  sessions: {within: 14d, mean_minutes: {gte: -5}}\n")
);
case!(
    cadence_unknown_class,
    one("segment: a\nwhere:\n  cadence: {is: fadin}\n")
);
case!(
    cadence_threshold_in_hours,
    one("segment: a\nwhere:\n  cadence: {is: lapsed, lapsed_min: 12h}\n")
);
case!(
    cadence_without_class,
    one("segment: a\nwhere:\n  cadence: {within: 90d}\n")
);
case!(
    momentum_empty_baseline,
    one("segment: a\nwhere:\n  momentum: {recent: 7d, baseline: 0d, value: {gte: 2}}\n")
);
case!(
    momentum_negative_ratio,
    one("segment: a\nwhere:\n  momentum: {recent: 7d, baseline: 4w, value: {gte: -1}}\n")
);
case!(
    momentum_without_value,
    one("segment: a\nwhere:\n  momentum: {recent: 7d, baseline: 4w}\n")
);
case!(
    rfm_unknown_class,
    one("segment: a\nwhere:\n  rfm: {event: purchase, monetary: revenue, class: [champion]}\n")
);
case!(
    rfm_score_out_of_range,
    one("segment: a\nwhere:\n  rfm: {event: purchase, monetary: revenue, r: {gte: 6}}\n")
);
case!(
    rfm_text_monetary,
    one("segment: a\nwhere:\n  rfm: {event: purchase, monetary: channel, class: [loyal]}\n")
);
case!(
    rfm_cut_points_not_increasing,
    one(
        "segment: a\nwhere:\n  rfm: {event: purchase, monetary: revenue, class: [loyal], cut_points: {recency_days: [7, 30, 14, 90], frequency: [1, 2, 3, 4], monetary: [1, 2, 3, 4]}}\n"
    )
);
case!(
    affinity_share_above_one,
    one("segment: a\nwhere:\n  affinity: {of: topic, is: travel, min_share: 1.5}\n")
);
case!(
    affinity_value_of_wrong_kind,
    one("segment: a\nwhere:\n  affinity: {of: topic, is: 3}\n")
);
case!(
    affinity_without_test,
    one("segment: a\nwhere:\n  affinity: {of: topic, within: 90d}\n")
);
case!(
    breadth_unknown_column,
    one("segment: a\nwhere:\n  breadth: {of: featur, event: feature_use, count: {gte: 3}}\n")
);
case!(
    output_with_comparison,
    one(
        "segment: a\nwhere:\n  performed: {within: 7d}\noutputs:\n  spend: {metric: {agg: sum, of: revenue, value: {gte: 3}}}\n"
    )
);
case!(
    output_not_a_measure,
    one(
        "segment: a\nwhere:\n  performed: {within: 7d}\noutputs:\n  both: {all: [{performed: {within: 7d}}]}\n"
    )
);
case!(
    output_reserved_name,
    one(
        "segment: a\nwhere:\n  performed: {within: 7d}\noutputs:\n  tier: {performed: {within: 7d}}\n"
    )
);
case!(
    metric_without_value,
    one("segment: a\nwhere:\n  metric: {agg: sum, of: revenue}\n")
);

#[test]
fn the_shipped_library_checks_clean() {
    let dir = segmint_tests::segments_dir();
    let files: Vec<(String, Vec<u8>)> = segmint_spec::load::segment_files(&dir)
        .unwrap()
        .into_iter()
        .map(|p| {
            (
                p.file_name().unwrap().to_string_lossy().to_string(),
                std::fs::read(&p).unwrap(),
            )
        })
        .collect();
    let refs: Vec<(&str, &[u8])> = files
        .iter()
        .map(|(n, b)| (n.as_str(), b.as_slice()))
        .collect();
    assert_eq!(diagnose(&refs), "ok");
}
