//! `segmint identity …` and `demo --identities` as a scheduler or an analyst uses them: the
//! JSON summaries, `stats`, `show`, the exit codes of a run without a current map (2) and
//! of a shared placeholder that is not blocked (5), and the delivery of person ids.

use std::path::Path;

use crate::exit_codes::segmint;

const AS_OF: &str = "2026-11-22";

fn json(out: &std::process::Output) -> serde_json::Value {
    serde_json::from_str(crate::succeeded(out).trim()).unwrap()
}

/// A small lake with identities in `d/lake` and the demo project with `identity` appended.
fn project(d: &Path, identity: &str) {
    crate::exit_codes::generate_small_lake_with(d, &["--identities"]);
    let segments = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../segments");
    let text =
        segmint_lakegen::demo::project_yaml_at("lake", "out", &segments.display().to_string());
    std::fs::write(d.join("segmint.yaml"), format!("{text}{identity}")).unwrap();
}

#[test]
fn identity_commands_summaries_and_exit_codes() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    project(d, segmint_lakegen::demo::IDENTITY_YAML);

    // A run before any build: exit 2, naming the command to run; nothing committed.
    let early = segmint(d, &["run", "--as-of", AS_OF]);
    assert_eq!(early.status.code(), Some(2), "{}", crate::text(&early));
    assert!(String::from_utf8_lossy(&early.stderr).contains("segmint identity build"));
    assert!(!d.join("out/members").exists());

    // Build up to the day before, then update to the as-of: both summaries are JSON.
    let before = "2026-11-21";
    let built = json(&segmint(
        d,
        &["identity", "build", "--as-of", before, "--json"],
    ));
    assert_eq!(built["mode"], "build");
    assert!(built["people"].as_u64().unwrap() >= 200);
    assert!(built["identifiers"].as_u64().unwrap() > built["people"].as_u64().unwrap());
    // The map does not include the as-of yet: a run is refused.
    let stale = segmint(d, &["run", "--as-of", AS_OF]);
    assert_eq!(stale.status.code(), Some(2), "{}", crate::text(&stale));
    assert!(String::from_utf8_lossy(&stale.stderr).contains("identity update"));
    let updated = json(&segmint(
        d,
        &["identity", "update", "--as-of", AS_OF, "--json"],
    ));
    assert_eq!(updated["mode"], "update");
    assert_eq!(updated["as_of"], AS_OF);
    // Going backwards is a usage error.
    let back = segmint(d, &["identity", "update", "--as-of", before]);
    assert_eq!(back.status.code(), Some(2), "{}", crate::text(&back));

    // `stats` reads back what the update committed.
    let stats = json(&segmint(d, &["identity", "stats", "--json"]));
    for key in [
        "identifiers",
        "people",
        "edges",
        "size_histogram",
        "dropped_edges",
    ] {
        assert_eq!(stats[key], updated[key], "{key}");
    }
    // `show` finds a person by a bare identifier and lists its identifiers.
    let shown = json(&segmint(d, &["identity", "show", "u000007", "--json"]));
    let ids: Vec<String> = shown["identifiers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| format!("{}:{}", i[0].as_str().unwrap(), i[1].as_str().unwrap()))
        .collect();
    assert!(ids.contains(&"user_id:u000007".to_string()), "{ids:?}");
    assert!(
        ids.iter().any(|i| i.starts_with("anonymous_id:")),
        "{ids:?}"
    );
    let person = shown["person_id"].as_str().unwrap().to_string();
    assert!(person.starts_with("p_"));
    let again = json(&segmint(d, &["identity", "show", &person, "--json"]));
    assert_eq!(again["person_id"], shown["person_id"]);
    let missing = segmint(d, &["identity", "show", "nobody-at-all"]);
    assert_eq!(missing.status.code(), Some(2));

    // `segmint sql` sees the map as `identity`.
    let counted = crate::succeeded(&segmint(
        d,
        &[
            "sql",
            "SELECT count(*) AS n FROM identity",
            "--format",
            "csv",
        ],
    ));
    let identifiers = stats["identifiers"].as_u64().unwrap().to_string();
    assert!(
        counted.lines().any(|l| l.trim() == identifiers),
        "{counted}"
    );

    // Now the run is per person.
    let run = json(&segmint(d, &["run", "--as-of", AS_OF, "--json"]));
    assert!(run["segments"]["heavy_users"]["size"].as_u64().is_some());
    let preview = crate::succeeded(&segmint(
        d,
        &["preview", "heavy_users", "--as-of", AS_OF, "--limit", "3"],
    ));
    assert!(preview.contains("identifiers of these people"), "{preview}");
    assert!(preview.contains("user_id:u"), "{preview}");
}

#[test]
fn a_shared_placeholder_exits_5_and_commits_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    project(
        d,
        "identity:\n  identifiers: [user_id, anonymous_id]\n  default_blocked: false\n  max_person_size: 50\n",
    );
    let out = segmint(d, &["identity", "build", "--as-of", AS_OF]);
    assert_eq!(out.status.code(), Some(5), "{}", crate::text(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("more than 50 identifiers"), "{stderr}");
    assert!(stderr.contains("nothing committed"), "{stderr}");
    assert!(!d.join("out/identity").exists());
    // Without `identity:`, the commands say what is missing.
    std::fs::write(
        d.join("plain.yaml"),
        segmint_lakegen::demo::project_yaml_at("lake", "out", "segments"),
    )
    .unwrap();
    let plain = segmint(d, &["-p", "plain.yaml", "identity", "stats"]);
    assert_eq!(plain.status.code(), Some(2), "{}", crate::text(&plain));
    assert!(String::from_utf8_lossy(&plain.stderr).contains("no `identity:` section"));
}
