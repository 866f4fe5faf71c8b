//! Holdout groups and `segmint impact` on generated lakes with a planted campaign: stable
//! assignment near its share, exclusion from destinations, and lift recovered (or not
//! invented) within the reported interval.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::Command;

use segmint_tests::delta_reader::{blocking, holdout_at};
use segmint_tests::python_env;

use crate::exit_codes::segmint;

const ACTIVE: &str = "\
segment: active_30d
holdout: 10%
where:
  performed: {within: 30d}
";

/// The segment the generator's campaign is planted for (`Campaign::two_weeks_before`).
const CAMPAIGN_TARGETS: &str = "\
segment: campaign_targets
holdout: 20%
where:
  performed: {event: campaign_eligible, within: 1d}
";

/// A lake of `users` with a campaign of `lift` on 2026-11-08 (two weeks before the end,
/// 2026-11-22), the two segments, and a files destination for `active_30d`. The default
/// salt is the generator's.
fn campaign_project(d: &Path, users: &str, lift: &str, seed: &str) {
    crate::succeeded(&segmint(
        d,
        &[
            "generate-lake",
            "--out",
            "lake",
            "--users",
            users,
            "--days",
            "24",
            "--seed",
            seed,
            "--campaign-lift",
            lift,
        ],
    ));
    let segments = d.join("segments");
    std::fs::create_dir_all(&segments).unwrap();
    std::fs::write(segments.join("active_30d.yaml"), ACTIVE).unwrap();
    std::fs::write(segments.join("campaign_targets.yaml"), CAMPAIGN_TARGETS).unwrap();
    let yaml = format!(
        "{}destinations:\n  audience:\n    files: {{location: exports, format: parquet, mode: full}}\n    segments: [active_30d]\n",
        segmint_lakegen::demo::project_yaml("segments")
    );
    std::fs::write(d.join("segmint.yaml"), yaml).unwrap();
}

/// `segmint impact campaign_targets` over 7 days with revenue, as JSON.
fn impact(d: &Path, days: &str) -> serde_json::Value {
    let out = segmint(
        d,
        &[
            "impact",
            "campaign_targets",
            "--goal",
            "{event: offer_redeemed}",
            "--days",
            days,
            "--value",
            "revenue",
            "--json",
        ],
    );
    serde_json::from_str(crate::succeeded(&out).trim()).unwrap()
}

fn interval(v: &serde_json::Value) -> (f64, f64, f64) {
    (
        v["estimate"].as_f64().unwrap(),
        v["low"].as_f64().unwrap(),
        v["high"].as_f64().unwrap(),
    )
}

#[test]
fn holdouts_are_stable_near_their_share_excluded_and_impact_recovers_the_planted_lift() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    campaign_project(d, "140000", "0.05", "42");
    let days: Vec<String> = (6..=15).map(|day| format!("2026-11-{day:02}")).collect();
    crate::succeeded(&segmint(
        d,
        &["run", "--from", &days[0], "--to", &days[9], "--json"],
    ));

    // Stable: one flag per entity over the 10 daily runs, for everyone who stays.
    let mut flags: BTreeMap<String, bool> = BTreeMap::new();
    let mut stayed = 0usize;
    let mut previous: BTreeSet<String> = BTreeSet::new();
    for day in &days {
        let members = blocking(holdout_at(&d.join("out"), day))
            .remove("active_30d")
            .unwrap();
        for (entity, held) in &members {
            let first = *flags.entry(entity.clone()).or_insert(*held);
            assert_eq!(first, *held, "{entity} changed holdout group at {day}");
            stayed += usize::from(previous.contains(entity));
        }
        previous = members.into_keys().collect();
    }
    assert!(
        stayed > 500_000,
        "too few members stayed from day to day: {stayed}"
    );
    // Near the share, over at least 100k entities.
    let held = flags.values().filter(|h| **h).count();
    let share = held as f64 / flags.len() as f64;
    assert!(flags.len() >= 100_000, "only {} entities", flags.len());
    assert!(
        (share - 0.10).abs() <= 0.01,
        "holdout share {share} of {}",
        flags.len()
    );

    // Excluded from destinations: the full list is the members outside the holdout.
    crate::succeeded(&segmint(d, &["sync", "--as-of", &days[9], "--json"]));
    let read = Command::new(python_env::python())
        .arg(python_env::script("read_exports.py"))
        .arg(d.join("exports"))
        .output()
        .unwrap();
    let view: serde_json::Value = serde_json::from_str(crate::succeeded(&read).trim()).unwrap();
    let exported: BTreeSet<String> = view["audience"]["active_30d"][&days[9]]["members"]["entity"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e.as_str().unwrap().to_string())
        .collect();
    let last = blocking(holdout_at(&d.join("out"), &days[9]))
        .remove("active_30d")
        .unwrap();
    let treated: BTreeSet<String> = last
        .iter()
        .filter(|(_, h)| !**h)
        .map(|(e, _)| e.clone())
        .collect();
    assert!(last.values().any(|h| *h));
    assert_eq!(exported, treated);

    // Impact: the planted lift (+5 points on 10%, 20.00 revenue each) is inside the
    // intervals, and zero is not.
    let report = impact(d, "7");
    let conversion = &report["conversion"];
    let (estimate, low, high) = interval(&conversion["absolute_lift"]);
    assert!(
        low <= 0.05 && 0.05 <= high,
        "lift {estimate} [{low}, {high}]"
    );
    assert!(low > 0.0, "lift {estimate} [{low}, {high}]");
    let (_, rel_low, rel_high) = interval(&conversion["relative_lift"]);
    assert!(rel_low <= 0.5 && 0.5 <= rel_high, "[{rel_low}, {rel_high}]");
    assert!(conversion["p_value"].as_f64().unwrap() < 0.001);
    let (_, value_low, value_high) = interval(&report["value"]["difference"]);
    assert!(
        value_low <= 1.0 && 1.0 <= value_high,
        "[{value_low}, {value_high}]"
    );
    // The groups are the campaign's: about 30% of users entered, 20% of them held out.
    let (treated_n, holdout_n) = (
        conversion["treated"]["entrants"].as_u64().unwrap(),
        conversion["holdout"]["entrants"].as_u64().unwrap(),
    );
    let entrants = (treated_n + holdout_n) as f64;
    assert!(
        (entrants / 140_000.0 - 0.3).abs() < 0.01,
        "{entrants} entrants"
    );
    assert!((holdout_n as f64 / entrants - 0.2).abs() < 0.01);
    let mde = conversion["mde_absolute"].as_f64().unwrap();
    assert!(mde > 0.0 && mde < 0.05, "mde {mde}");

    // A window past the latest committed as-of: everyone pending, nothing compared.
    let open = impact(d, "14");
    assert!(open["conversion"].is_null());
    assert_eq!(open["pending"].as_u64().unwrap(), treated_n + holdout_n);
}

#[test]
fn impact_interval_covers_zero_without_an_effect() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    campaign_project(d, "30000", "0", "7");
    crate::succeeded(&segmint(
        d,
        &[
            "run",
            "--from",
            "2026-11-07",
            "--to",
            "2026-11-15",
            "--json",
        ],
    ));
    let report = impact(d, "7");
    let conversion = &report["conversion"];
    let (estimate, low, high) = interval(&conversion["absolute_lift"]);
    assert!(low <= 0.0 && 0.0 <= high, "lift {estimate} [{low}, {high}]");
    assert!(conversion["holdout"]["entrants"].as_u64().unwrap() > 1000);
    let (_, value_low, value_high) = interval(&report["value"]["difference"]);
    assert!(value_low <= 0.0 && 0.0 <= value_high);

    // A segment without a holdout group is a usage error naming the fix.
    std::fs::write(
        d.join("segments/active_30d.yaml"),
        ACTIVE.replace("holdout: 10%\n", ""),
    )
    .unwrap();
    let no_holdout = segmint(
        d,
        &[
            "impact",
            "active_30d",
            "--goal",
            "{event: purchase}",
            "--days",
            "7",
        ],
    );
    assert_eq!(
        no_holdout.status.code(),
        Some(2),
        "{}",
        crate::text(&no_holdout)
    );
    assert!(String::from_utf8_lossy(&no_holdout.stderr).contains("holdout: 10%"));
    // A goal that is not a `performed` leaf is a spec error pointing at it.
    let bad_goal = segmint(
        d,
        &[
            "impact",
            "campaign_targets",
            "--goal",
            "{event: purchase, within: 7d}",
            "--days",
            "7",
        ],
    );
    assert_eq!(
        bad_goal.status.code(),
        Some(2),
        "{}",
        crate::text(&bad_goal)
    );
    assert!(String::from_utf8_lossy(&bad_goal.stderr).contains("within"));
}
