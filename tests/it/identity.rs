//! Identity resolution on a lake generated with identities (devices, logged-out sessions,
//! shared household devices, junk placeholder ids): the map equals a reference union-find
//! over the raw rows, person-level members of the shipped library equal the reference
//! evaluator on events relabelled by the reference map, daily updates equal a full build,
//! and a placeholder that is not blocked trips the size guard.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use arrow::array::{Array, AsArray};
use chrono::NaiveDate;
use segmint_engine::{EngineError, ProjectSession, RunOptions};
use segmint_lakegen::{LakeGenConfig, generate_lake};
use segmint_spec::DEFAULT_BLOCKED;
use segmint_tests::delta_reader::{members_at, query, strings};
use segmint_tests::identity_reference::{Id, Reference, Rules, person_of, resolve};
use segmint_tests::reference::{Lake, evaluate};

const TYPES: [&str; 2] = ["user_id", "anonymous_id"];

fn rules() -> Rules {
    Rules {
        types: TYPES.iter().map(|t| t.to_string()).collect(),
        limits: vec![Some(1), Some(50)],
        blocked: DEFAULT_BLOCKED
            .iter()
            .map(|p| regex::Regex::new(p).unwrap())
            .collect(),
    }
}

/// A lake with identities under `dir/lake`.
fn identity_lake(dir: &Path, users: usize, days: u32) -> LakeGenConfig {
    let config = LakeGenConfig {
        users,
        days,
        identities: true,
        ..LakeGenConfig::default()
    };
    generate_lake(&dir.join("lake"), &config).unwrap();
    config
}

/// A project file `name` reading `dir/lake`, writing `dir/<output>`, with `identity`.
fn project(dir: &Path, name: &str, output: &str, identity: &str) -> PathBuf {
    let segments = segmint_tests::segments_dir().display().to_string();
    let text = segmint_lakegen::demo::project_yaml_at("lake", output, &segments);
    let path = dir.join(name);
    std::fs::write(&path, format!("{text}{identity}")).unwrap();
    path
}

fn end_us(day: NaiveDate) -> i64 {
    day.succ_opt()
        .unwrap()
        .and_hms_opt(0, 0, 0)
        .unwrap()
        .and_utc()
        .timestamp_micros()
}

/// The committed map: (rank, value) → person id.
async fn committed_map(out: &Path) -> BTreeMap<(usize, String), String> {
    let rows = query(
        &out.join("identity"),
        None,
        "SELECT id_type, id_value, person_id FROM t WHERE kind = 'node'",
    )
    .await;
    let (t, v, p) = (strings(&rows, 0), strings(&rows, 1), strings(&rows, 2));
    t.into_iter()
        .zip(v)
        .zip(p)
        .map(|((t, v), p)| {
            let rank = TYPES.iter().position(|x| Some(*x) == t.as_deref()).unwrap();
            ((rank, v.unwrap()), p.unwrap())
        })
        .collect()
}

/// The people recorded as merged into another.
async fn merged_people(out: &Path) -> BTreeSet<String> {
    let rows = query(
        &out.join("identity"),
        None,
        "SELECT person_id FROM t WHERE kind = 'merge'",
    )
    .await;
    strings(&rows, 0).into_iter().flatten().collect()
}

/// Every node and edge row of the committed table, as text, sorted.
async fn committed_rows(out: &Path) -> Vec<String> {
    let rows = query(
        &out.join("identity"),
        None,
        "SELECT kind, id_type, id_value, other_type, other_value, person_id, component, \
         first_seen, last_seen, dropped FROM t WHERE kind IN ('node', 'edge')",
    )
    .await;
    let columns: Vec<Vec<Option<String>>> = (0..10).map(|i| strings(&rows, i)).collect();
    let mut out: Vec<String> = (0..columns[0].len())
        .map(|r| format!("{:?}", columns.iter().map(|c| &c[r]).collect::<Vec<_>>()))
        .collect();
    out.sort();
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn people_equal_a_reference_union_find_and_library_members_the_reference_evaluator() {
    let dir = tempfile::tempdir().unwrap();
    let config = identity_lake(dir.path(), 300, 120);
    let project = project(
        dir.path(),
        "segmint.yaml",
        "out",
        segmint_lakegen::demo::IDENTITY_YAML,
    );
    let identity = ProjectSession::builder(&project)
        .open_identity()
        .await
        .unwrap();
    let summary = identity.build(config.end).await.unwrap();
    let rules = rules();
    let reference: Reference = resolve(&dir.path().join("lake"), &rules, end_us(config.end));

    // The map equals the reference's, identifier by identifier.
    let map = committed_map(&dir.path().join("out")).await;
    assert_eq!(map.len(), reference.person.len());
    assert_eq!(map, reference.person);
    let people: BTreeSet<&String> = reference.person.values().collect();
    assert_eq!(summary.people, people.len() as u64);
    assert!(summary.people < summary.identifiers, "{summary:?}");

    // Shared household devices would give a person two user ids: those edges are dropped,
    // the same ones as the reference drops, and reported.
    assert!(!reference.dropped.is_empty());
    let dropped = query(
        &dir.path().join("out/identity"),
        None,
        "SELECT id_type, id_value, other_type, other_value, dropped FROM t \
         WHERE kind = 'edge' AND dropped IS NOT NULL",
    )
    .await;
    let engine_dropped: BTreeMap<(Id, Id), String> = {
        let c: Vec<Vec<Option<String>>> = (0..5).map(|i| strings(&dropped, i)).collect();
        (0..c[0].len())
            .map(|r| {
                let rank = |t: &Option<String>| {
                    TYPES.iter().position(|x| Some(*x) == t.as_deref()).unwrap()
                };
                (
                    (
                        (rank(&c[0][r]), c[1][r].clone().unwrap()),
                        (rank(&c[2][r]), c[3][r].clone().unwrap()),
                    ),
                    c[4][r].clone().unwrap(),
                )
            })
            .collect()
    };
    assert_eq!(engine_dropped, reference.dropped);
    assert_eq!(
        summary.dropped_edges.get("limit:user_id").copied(),
        Some(reference.dropped.len() as u64)
    );
    let mut user_ids: BTreeMap<&String, usize> = BTreeMap::new();
    for ((rank, _), person) in &map {
        if *rank == 0 {
            *user_ids.entry(person).or_default() += 1;
        }
    }
    assert!(
        user_ids.values().all(|n| *n == 1),
        "a person with two user ids"
    );

    // About a tenth of logged-in events carry a placeholder: none is an identifier, so they
    // merge no one.
    for placeholder in segmint_lakegen::identities::PLACEHOLDERS {
        assert!(!map.contains_key(&(1, placeholder.to_string())));
    }

    // Person-level members equal the reference evaluator on relabelled events.
    let session = ProjectSession::builder(&project).open().await.unwrap();
    segmint_engine::run(&session, config.end, &[], RunOptions::default())
        .await
        .unwrap();
    let actual = members_at(&dir.path().join("out"), None, &config.end.to_string()).await;
    let mut placeholder_events = 0usize;
    let mut logged_in_events = 0usize;
    let lake = Lake::read_keyed(
        &dir.path().join("lake"),
        &|b, i| {
            let values: Vec<Option<&str>> = TYPES
                .iter()
                .map(|t| {
                    let c = b.column_by_name(t).unwrap().as_string::<i32>();
                    c.is_valid(i).then(|| c.value(i))
                })
                .collect();
            person_of(&reference, &rules, &values)
        },
        &|user| reference.person.get(&(0, user.to_string())).cloned(),
    );
    for events in lake.events.values() {
        for e in events {
            if let Some(segmint_tests::reference::Value::Str(a)) = e.props.get("anonymous_id") {
                logged_in_events += 1;
                placeholder_events +=
                    usize::from(segmint_lakegen::identities::PLACEHOLDERS.contains(&a.as_str()));
            }
        }
    }
    assert!(
        placeholder_events * 100 >= logged_in_events * 7,
        "{placeholder_events} of {logged_in_events}"
    );
    let expected = evaluate(&session.checked, &lake, config.end);
    for segment in &session.checked.segments {
        let e = expected.get(&segment.name).cloned().unwrap_or_default();
        let a = actual.get(&segment.name).cloned().unwrap_or_default();
        assert_eq!(a, e, "segment {}", segment.name);
        assert!(
            a.keys().all(|p| p.starts_with("p_")),
            "segment {}",
            segment.name
        );
    }
    assert!(!actual["heavy_users"].is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn daily_updates_equal_a_full_build_with_stable_ids_and_merges() {
    let dir = tempfile::tempdir().unwrap();
    let config = identity_lake(dir.path(), 300, 30);
    let start = config.end - chrono::Duration::days(29);
    let yaml = segmint_lakegen::demo::IDENTITY_YAML;
    let daily = project(dir.path(), "daily.yaml", "daily", yaml);
    let full = project(dir.path(), "full.yaml", "full", yaml);
    let daily = ProjectSession::builder(&daily)
        .open_identity()
        .await
        .unwrap();
    daily
        .build(start + chrono::Duration::days(1))
        .await
        .unwrap();
    let mut before = committed_map(&dir.path().join("daily")).await;
    let mut merges = 0;
    let mut last = None;
    for day in 2..=4 {
        let as_of = start + chrono::Duration::days(day);
        let summary = daily.update(as_of).await.unwrap();
        merges += summary.merges;
        last = Some(summary);
        let after = committed_map(&dir.path().join("daily")).await;
        // Every person either keeps its id or is recorded as merged into another.
        let merged = merged_people(&dir.path().join("daily")).await;
        let now: BTreeSet<&String> = after.values().collect();
        for person in before.values() {
            assert!(
                now.contains(person) || merged.contains(person),
                "{person} vanished"
            );
        }
        // Identifiers already known keep their person unless it merged.
        for (id, person) in &before {
            if !merged.contains(person) {
                assert_eq!(&after[id], person, "{id:?} moved");
            }
        }
        before = after;
    }
    assert!(merges > 0, "no merges recorded over three days");
    // A run past the map's last day would lose identifiers first seen since: refused.
    let session = ProjectSession::builder(dir.path().join("daily.yaml"))
        .open()
        .await
        .unwrap();
    let stale = segmint_engine::run(
        &session,
        start + chrono::Duration::days(5),
        &[],
        RunOptions::default(),
    )
    .await;
    assert!(
        matches!(&stale, Err(EngineError::Usage(m)) if m.contains("identity update")),
        "{:?}",
        stale.err()
    );
    let full = ProjectSession::builder(&full)
        .open_identity()
        .await
        .unwrap();
    let rebuilt = full.build(start + chrono::Duration::days(4)).await.unwrap();
    // The update's statistics (untouched rows counted by SQL) equal the rebuild's.
    let last = last.unwrap();
    assert_eq!(
        (last.identifiers, last.people, last.edges),
        (rebuilt.identifiers, rebuilt.people, rebuilt.edges)
    );
    assert_eq!(last.size_histogram, rebuilt.size_histogram);
    assert_eq!(last.identifiers_by_type, rebuilt.identifiers_by_type);
    assert_eq!(last.dropped_edges, rebuilt.dropped_edges);
    assert!(
        last.components < rebuilt.components,
        "an update re-stitches only what it touched"
    );

    // A rebuild over an older map (day 1 → day 4 at once) records a merge for every person
    // of the older map that is gone, and ends with the same rows.
    let jump_path = project(dir.path(), "jump.yaml", "jump", yaml);
    let jump = ProjectSession::builder(&jump_path)
        .open_identity()
        .await
        .unwrap();
    jump.build(start + chrono::Duration::days(1)).await.unwrap();
    let day_one = committed_map(&dir.path().join("jump")).await;
    let jumped = jump.build(start + chrono::Duration::days(4)).await.unwrap();
    let day_four = committed_map(&dir.path().join("jump")).await;
    let merged = merged_people(&dir.path().join("jump")).await;
    let now: BTreeSet<&String> = day_four.values().collect();
    let gone: BTreeSet<&String> = day_one.values().filter(|p| !now.contains(p)).collect();
    assert!(!gone.is_empty());
    assert_eq!(gone.len() as u64, jumped.merges);
    assert!(gone.iter().all(|p| merged.contains(*p)));
    assert_eq!(
        committed_rows(&dir.path().join("jump")).await,
        committed_rows(&dir.path().join("full")).await
    );
    assert_eq!(
        committed_rows(&dir.path().join("daily")).await,
        committed_rows(&dir.path().join("full")).await
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unblocked_placeholder_trips_the_size_guard() {
    let dir = tempfile::tempdir().unwrap();
    let config = identity_lake(dir.path(), 200, 20);
    let unguarded = "identity:\n  identifiers: [user_id, anonymous_id]\n  default_blocked: false\n  max_person_size: 100\n";
    let path = project(dir.path(), "segmint.yaml", "out", unguarded);
    let session = ProjectSession::builder(&path)
        .open_identity()
        .await
        .unwrap();
    match session.build(config.end).await {
        Err(EngineError::OversizedPeople { max, people }) => {
            assert_eq!(max, 100);
            // One placeholder joined (nearly) everyone into one person.
            assert!(people[0].1 > 300, "{people:?}");
        }
        other => panic!("expected the size guard, got {other:?}"),
    }
    assert!(
        !dir.path().join("out/identity").exists(),
        "something was committed"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_edge_table_joins_an_anonymous_device_to_a_user() {
    let dir = tempfile::tempdir().unwrap();
    let config = identity_lake(dir.path(), 200, 30);
    let yaml = segmint_lakegen::demo::IDENTITY_YAML;
    let first = project(dir.path(), "segmint.yaml", "out", yaml);
    let session = ProjectSession::builder(&first)
        .open_identity()
        .await
        .unwrap();
    session.build(config.end).await.unwrap();
    let before = committed_map(&dir.path().join("out")).await;
    // A device seen only logged out: its person has no user id.
    let mut users_of: BTreeMap<&String, usize> = BTreeMap::new();
    for ((rank, _), person) in &before {
        *users_of.entry(person).or_default() += usize::from(*rank == 0);
    }
    let (device, _) = before
        .iter()
        .find(|((rank, _), person)| *rank == 1 && users_of[person] == 0)
        .expect("an anonymous-only device");
    let device = device.1.clone();
    // A CRM export says it belongs to u000003.
    let edges = dir.path().join("aliases");
    std::fs::create_dir_all(&edges).unwrap();
    let batch = arrow::array::RecordBatch::try_from_iter(vec![
        (
            "uid",
            std::sync::Arc::new(arrow::array::StringArray::from(vec!["u000003"])) as _,
        ),
        (
            "device",
            std::sync::Arc::new(arrow::array::StringArray::from(vec![device.as_str()])) as _,
        ),
    ])
    .unwrap();
    let file = std::fs::File::create(edges.join("part-0.parquet")).unwrap();
    let mut writer = parquet::arrow::ArrowWriter::try_new(file, batch.schema(), None).unwrap();
    writer.write(&batch).unwrap();
    writer.close().unwrap();
    let with_edges = format!(
        "{yaml}  edges:\n    - {{location: aliases, columns: {{user_id: uid, anonymous_id: device}}}}\n"
    );
    let second = project(dir.path(), "segmint.yaml", "out", &with_edges);
    let session = ProjectSession::builder(&second)
        .open_identity()
        .await
        .unwrap();
    let summary = session.build(config.end).await.unwrap();
    let after = committed_map(&dir.path().join("out")).await;
    assert_eq!(
        after[&(1, device.clone())],
        after[&(0, "u000003".to_string())],
        "the device joined u000003's person"
    );
    // Two people became one: the older id (the earlier-seen anchor) survives, the other is
    // recorded as merged; the edge is in the table with no event time.
    assert_eq!(
        summary.people + 1,
        before.values().collect::<BTreeSet<_>>().len() as u64
    );
    let (was_device, was_user) = (
        &before[&(1, device.clone())],
        &before[&(0, "u000003".to_string())],
    );
    let now = &after[&(0, "u000003".to_string())];
    let merged = merged_people(&dir.path().join("out")).await;
    assert!(now == was_device || now == was_user);
    let gone = if now == was_device {
        was_user
    } else {
        was_device
    };
    assert!(merged.contains(gone), "{gone} not recorded as merged");
    let rows = query(
        &dir.path().join("out/identity"),
        None,
        &format!(
            "SELECT first_seen FROM t WHERE kind = 'edge' AND id_value = 'u000003' AND other_value = '{device}'"
        ),
    )
    .await;
    assert_eq!(strings(&rows, 0), vec![None]);
}
