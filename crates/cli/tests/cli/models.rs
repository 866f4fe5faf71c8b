//! Forward-looking segments end to end, with the shipped `features.yaml`,
//! `models/will_purchase_30d.yaml` and `archetypes/activity_styles.yaml` over a generated
//! lake: the propensity model trained at one as-of ranks the next month's buyers better than
//! recency alone when scored in a later run, the archetypes recover the generator's planted
//! activity personas, training and scoring are deterministic, a Ballista cluster scores
//! exactly as a local run does, and bad input gets a clear error.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use segmint_tests::delta_reader::{blocking, query, strings};
use segmint_tests::local_cluster::{ClusterSpec, LocalCluster};

use crate::exit_codes::segmint;

const USERS: usize = 3000;
const SEED: u64 = 7;
/// The model is trained here: features as of 2026-09-23, labels to 2026-10-23.
const TRAIN_AS_OF: &str = "2026-10-23";
/// Scored here, in a run: features as of 2026-10-23, the buyers of the 30 days after.
const SCORE_AS_OF: &str = "2026-10-23";
const LAKE_END: &str = "2026-11-22";

/// Everyone with an event, with the model's score, the last event's time, the next month's purchases (at
/// the lake's end) and the activity archetype.
const EVERYONE: &str = "\
segment: everyone
where:
  performed: {}
outputs:
  p: {predict: {model: will_purchase_30d}}
  last_seen: {last_performed: {}}
  purchases_30d: {performed: {event: purchase, within: 30d}}
";

const STYLES: &str = "\
segment: styles
where:
  performed: {}
outputs:
  style: {archetype: {of: activity_styles}}
";

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// A generated lake in `d/lake`, the demo project file and the shipped features, model and
/// archetype set, with `segments` as the segment files.
fn project(d: &Path, segments: &[(&str, &str)]) {
    crate::succeeded(&segmint(
        d,
        &[
            "generate-lake",
            "--out",
            "lake",
            "--users",
            &USERS.to_string(),
            "--days",
            "120",
            "--seed",
            &SEED.to_string(),
        ],
    ));
    std::fs::write(
        d.join("segmint.yaml"),
        segmint_lakegen::demo::project_yaml("segments"),
    )
    .unwrap();
    std::fs::copy(repo().join("features.yaml"), d.join("features.yaml")).unwrap();
    for folder in ["models", "archetypes"] {
        std::fs::create_dir_all(d.join(folder)).unwrap();
        for entry in std::fs::read_dir(repo().join(folder)).unwrap() {
            let entry = entry.unwrap();
            std::fs::copy(entry.path(), d.join(folder).join(entry.file_name())).unwrap();
        }
    }
    std::fs::create_dir_all(d.join("segments")).unwrap();
    for (name, text) in segments {
        std::fs::write(d.join("segments").join(format!("{name}.yaml")), text).unwrap();
    }
}

fn json(out: &std::process::Output) -> serde_json::Value {
    serde_json::from_str(crate::succeeded(out).trim()).unwrap()
}

/// entity → the output columns `columns` (as text) of `segment` at `as_of`, from the
/// members table with delta-rs's reader.
fn outputs(
    out_dir: &Path,
    segment: &str,
    as_of: &str,
    columns: &[&str],
) -> BTreeMap<String, Vec<Option<String>>> {
    let select: Vec<String> = columns
        .iter()
        .map(|c| format!("CAST({segment}__{c} AS VARCHAR)"))
        .collect();
    let batches = blocking(query(
        &out_dir.join("members"),
        None,
        &format!(
            "SELECT entity, {} FROM t WHERE as_of = DATE '{as_of}' AND segment = '{segment}' ORDER BY entity",
            select.join(", ")
        ),
    ));
    let entities = strings(&batches, 0);
    let values: Vec<Vec<Option<String>>> =
        (1..=columns.len()).map(|i| strings(&batches, i)).collect();
    entities
        .into_iter()
        .enumerate()
        .map(|(row, e)| (e.unwrap(), values.iter().map(|v| v[row].clone()).collect()))
        .collect()
}

/// A number, or a timestamp as seconds since the epoch.
fn number(v: &Option<String>) -> Option<f64> {
    let s = v.as_deref()?;
    Some(s.parse().unwrap_or_else(|_| {
        chrono::DateTime::parse_from_rfc3339(s)
            .unwrap_or_else(|e| panic!("{s}: {e}"))
            .timestamp() as f64
    }))
}

#[test]
fn the_model_ranks_next_months_buyers_better_than_recency_deterministically() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    project(d, &[("everyone", EVERYONE)]);

    // Scoring before training: a clear error naming the command that fixes it.
    let out = segmint(d, &["run", "--as-of", SCORE_AS_OF]);
    assert_eq!(out.status.code(), Some(2), "{}", crate::text(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("will_purchase_30d") && stderr.contains("segmint train"),
        "{stderr}"
    );

    let first = json(&segmint(
        d,
        &[
            "train",
            "will_purchase_30d",
            "--as-of",
            TRAIN_AS_OF,
            "--json",
        ],
    ));
    assert_eq!(first["version"], 1);
    let held_out = first["test"]["auc"].as_f64().unwrap();
    let held_out_recency = first["test"]["recency_auc"].as_f64().unwrap();
    assert!(held_out > held_out_recency, "{first:#}");
    eprintln!("held-out AUC: model {held_out:.3}, recency {held_out_recency:.3}");

    // Scored in a run at a later as-of, against who bought in the 30 days after it.
    crate::succeeded(&segmint(d, &["run", "--as-of", SCORE_AS_OF]));
    crate::succeeded(&segmint(d, &["run", "--as-of", LAKE_END]));
    let scored = outputs(&d.join("out"), "everyone", SCORE_AS_OF, &["p", "last_seen"]);
    let later = outputs(&d.join("out"), "everyone", LAKE_END, &["purchases_30d"]);
    let mut scores = Vec::new();
    let mut recency = Vec::new();
    let mut bought = Vec::new();
    for (entity, values) in &scored {
        let p = number(&values[0]).expect("every entity with events is scored");
        assert!((0.0..=1.0).contains(&p), "{entity}: {p}");
        scores.push(p);
        recency.push(number(&values[1]).unwrap());
        bought.push(
            later
                .get(entity)
                .and_then(|v| number(&v[0]))
                .is_some_and(|n| n > 0.0),
        );
    }
    let positives = bought.iter().filter(|b| **b).count();
    assert!(positives > 100, "{positives} buyers");
    let model_auc = segmint_models::metrics::auc(&scores, &bought).unwrap();
    let recency_auc = segmint_models::metrics::auc(&recency, &bought).unwrap();
    eprintln!(
        "scored at {SCORE_AS_OF} ({} entities, {positives} bought by {LAKE_END}): AUC model {model_auc:.3}, recency {recency_auc:.3}",
        scores.len()
    );
    assert!(
        model_auc > recency_auc + 0.05,
        "model {model_auc} vs recency {recency_auc}"
    );

    // `train` scored the same entities out of time in Rust: the in-plan scores rank them
    // identically.
    let oot = &first["out_of_time"];
    assert_eq!(
        oot["entities"].as_u64(),
        Some(scores.len() as u64),
        "{oot:#}"
    );
    assert_eq!(oot["positives"].as_u64(), Some(positives as u64));
    let rust_auc = oot["auc"].as_f64().unwrap();
    assert!(
        (rust_auc - model_auc).abs() < 1e-9,
        "in-plan AUC {model_auc} vs Rust-side {rust_auc}"
    );

    // Training again gives the same parameters, and a run scores exactly the same.
    let second = json(&segmint(
        d,
        &[
            "train",
            "will_purchase_30d",
            "--as-of",
            TRAIN_AS_OF,
            "--json",
        ],
    ));
    assert_eq!(second["version"], 2);
    assert_eq!(second["params_sha256"], first["params_sha256"]);
    let rerun = json(&segmint(d, &["run", "--as-of", SCORE_AS_OF, "--json"]));
    assert_eq!(
        rerun["fits"]["will_purchase_30d"], 2,
        "the run names the version it scored with: {rerun:#}"
    );
    let again = outputs(&d.join("out"), "everyone", SCORE_AS_OF, &["p"]);
    assert_eq!(again.len(), scored.len());
    for (entity, values) in &again {
        assert_eq!(values[0], scored[entity][0], "{entity}");
    }

    // A feature of the model changed since training: retrain, says the run.
    let features = std::fs::read_to_string(d.join("features.yaml")).unwrap();
    std::fs::write(
        d.join("features.yaml"),
        features.replace(
            "carts_30d: {performed: {event: add_to_cart, within: 30d}}",
            "carts_30d: {performed: {event: add_to_cart, within: 14d}}",
        ),
    )
    .unwrap();
    let out = segmint(d, &["run", "--as-of", SCORE_AS_OF]);
    assert_eq!(out.status.code(), Some(2), "{}", crate::text(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("changed") && stderr.contains("segmint train will_purchase_30d"),
        "{stderr}"
    );
}

#[test]
fn archetypes_recover_the_planted_personas_and_a_cluster_scores_as_locally() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    project(d, &[("styles", STYLES), ("everyone", EVERYONE)]);

    let fitted = json(&segmint(
        d,
        &[
            "archetypes",
            "fit",
            "activity_styles",
            "--as-of",
            LAKE_END,
            "--json",
        ],
    ));
    let refit = json(&segmint(
        d,
        &[
            "archetypes",
            "fit",
            "activity_styles",
            "--as-of",
            LAKE_END,
            "--json",
        ],
    ));
    assert_eq!(refit["params_sha256"], fitted["params_sha256"]);
    crate::succeeded(&segmint(
        d,
        &["train", "will_purchase_30d", "--as-of", TRAIN_AS_OF],
    ));
    crate::succeeded(&segmint(d, &["run", "--as-of", LAKE_END]));

    let styles = outputs(&d.join("out"), "styles", LAKE_END, &["style"]);
    let cfg = segmint_lakegen::LakeGenConfig {
        users: USERS,
        seed: SEED,
        ..Default::default()
    };
    let personas: BTreeMap<String, &str> = segmint_lakegen::activity_personas(&cfg)
        .into_iter()
        .collect();
    let (mut found, mut planted) = (Vec::new(), Vec::new());
    for (entity, values) in &styles {
        found.push(values[0].clone().expect("every member has an archetype"));
        planted.push(personas[entity]);
    }
    assert!(found.len() > USERS * 9 / 10, "{} members", found.len());
    let ari = segmint_models::metrics::adjusted_rand_index(&found, &planted);
    eprintln!("adjusted Rand index vs the planted personas: {ari:.3}");
    assert!(ari >= 0.6, "ARI {ari}");

    // `describe` says what sets each archetype apart, with sizes that add up.
    let described = json(&segmint(
        d,
        &["archetypes", "describe", "activity_styles", "--json"],
    ));
    let archetypes = described["archetypes"].as_array().unwrap();
    assert_eq!(archetypes.len(), 8);
    let sizes: u64 = archetypes.iter().map(|a| a["size"].as_u64().unwrap()).sum();
    assert_eq!(sizes, described["entities"].as_u64().unwrap());
    let features = ["active_days", "days_since", "momentum_8w", "cadence"];
    for a in archetypes {
        let summary = a["summary"].as_str().unwrap();
        assert!(features.iter().any(|f| summary.contains(f)), "{a:#}");
        assert!(a["traits"].as_array().unwrap().len() >= 7, "{a:#}");
    }
    let text = crate::succeeded(&segmint(d, &["archetypes", "describe", "activity_styles"]));
    assert!(text.contains("archetype_1") && text.contains('%'), "{text}");

    // A Ballista cluster (one scheduler, two executors) scores and assigns exactly as the
    // local run did, into a copy of the output with the same fitted parameters.
    copy_dir(&d.join("out"), &d.join("cluster-out"));
    std::fs::write(
        d.join("cluster.yaml"),
        segmint_lakegen::demo::project_yaml_at("lake", "cluster-out", "segments"),
    )
    .unwrap();
    let logs = d.join("logs");
    std::fs::create_dir_all(&logs).unwrap();
    let cluster = LocalCluster::start(&ClusterSpec {
        binary: PathBuf::from(env!("CARGO_BIN_EXE_segmint")),
        dir: logs,
        executors: 2,
        tasks_per_executor: 2,
        log_level: "info".into(),
        env: Vec::new(),
    });
    let out = segmint(
        d,
        &[
            "-p",
            "cluster.yaml",
            "--cluster",
            &cluster.url(),
            "run",
            "--as-of",
            LAKE_END,
        ],
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}\n{}",
        crate::text(&out),
        cluster.all_logs()
    );
    for (segment, columns) in [
        ("styles", &["style"][..]),
        ("everyone", &["p", "last_seen"][..]),
    ] {
        let local = outputs(&d.join("out"), segment, LAKE_END, columns);
        let remote = outputs(&d.join("cluster-out"), segment, LAKE_END, columns);
        assert_eq!(remote.len(), local.len(), "{segment}");
        for (entity, values) in &local {
            let got = &remote[entity];
            assert_eq!(got[1..], values[1..], "{segment}: {entity}");
            // Scores: equal up to the order floating-point sums (revenue) were added in.
            if got[0] != values[0] {
                let parse = |v: &Option<String>| v.as_deref().and_then(|s| s.parse::<f64>().ok());
                let (a, b) = (parse(&got[0]), parse(&values[0]));
                assert!(
                    a.zip(b).is_some_and(|(a, b)| (a - b).abs() <= 1e-12),
                    "{segment}: {entity}: {got:?} vs {values:?}"
                );
            }
        }
    }
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

#[test]
fn bad_training_input_gets_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    crate::succeeded(&segmint(
        d,
        &[
            "generate-lake",
            "--out",
            "lake",
            "--users",
            "12",
            "--days",
            "30",
        ],
    ));
    std::fs::write(
        d.join("segmint.yaml"),
        segmint_lakegen::demo::project_yaml("segments"),
    )
    .unwrap();
    std::fs::create_dir_all(d.join("segments")).unwrap();
    std::fs::create_dir_all(d.join("models")).unwrap();
    std::fs::create_dir_all(d.join("archetypes")).unwrap();
    std::fs::write(
        d.join("features.yaml"),
        "features:\n  events_7d: {performed: {within: 7d}}\n  purchases: {performed: {event: purchase}}\n",
    )
    .unwrap();
    std::fs::write(
        d.join("models/buyers.yaml"),
        "model: buyers\npredict: {event: purchase, within: 7d}\nfeatures: [events_7d, purchases]\nmin_positives: 100000\n",
    )
    .unwrap();
    std::fs::write(
        d.join("archetypes/many.yaml"),
        "archetypes: many\nfeatures: [events_7d, purchases]\nk: 15\n",
    )
    .unwrap();

    // Too few positive labels: a fit failure (exit 3) naming the setting to change.
    let out = segmint(d, &["train", "buyers", "--as-of", "2026-11-15"]);
    assert_eq!(out.status.code(), Some(3), "{}", crate::text(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("positive") && stderr.contains("min_positives"),
        "{stderr}"
    );

    // More archetypes than entities.
    let out = segmint(d, &["archetypes", "fit", "many", "--as-of", "2026-11-15"]);
    assert_eq!(out.status.code(), Some(3), "{}", crate::text(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("15") && stderr.contains("entities"),
        "{stderr}"
    );

    // Describing a set never fitted, training a model never defined.
    let out = segmint(d, &["archetypes", "describe", "many"]);
    assert_eq!(out.status.code(), Some(2), "{}", crate::text(&out));
    assert!(String::from_utf8_lossy(&out.stderr).contains("segmint archetypes fit many"));
    let out = segmint(d, &["train", "sellers", "--as-of", "2026-11-15"]);
    assert_eq!(out.status.code(), Some(2), "{}", crate::text(&out));
    assert!(String::from_utf8_lossy(&out.stderr).contains("buyers"));
}
