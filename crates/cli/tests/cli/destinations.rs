//! `segmint sync` against real receivers: a webhook on 127.0.0.1 that fails on a schedule,
//! and files read back by pyarrow.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::Path;
use std::process::{Command, Output};

use segmint_lakegen::demo::{SEGMENTS, project_yaml};
use segmint_tests::delta_reader::{blocking, holdout_at};
use segmint_tests::python_env;

use crate::webhook_receiver::{Received, Receiver, Reply};

const SIGNING_KEY: &str = "whsec-test-3c1d8e0f9a5b";
const TOKEN: &str = "Bearer tok-test-77af21e4";

/// A segment with a holdout group that changes every day.
const RECENT_VISITORS: &str = "\
segment: recent_visitors
description: Active in the last two days.
holdout: 25%
where:
  performed: {within: 2d}
outputs:
  events_2d: {performed: {within: 2d}}
";

/// `d/lake` (600 users, 30 days to 2026-11-22), the segments `cart_abandoners`,
/// `new_users` and `recent_visitors`, and `segmint.yaml` with `destinations` appended.
fn project(d: &Path, destinations: &str) {
    crate::succeeded(&crate::exit_codes::segmint(
        d,
        &[
            "generate-lake",
            "--out",
            "lake",
            "--users",
            "600",
            "--days",
            "30",
        ],
    ));
    let segments = d.join("segments");
    std::fs::create_dir_all(&segments).unwrap();
    for (name, text) in SEGMENTS {
        if ["cart_abandoners.yaml", "new_users.yaml"].contains(name) {
            std::fs::write(segments.join(name), text).unwrap();
        }
    }
    std::fs::write(segments.join("recent_visitors.yaml"), RECENT_VISITORS).unwrap();
    let yaml = format!(
        "{}holdout_salt: test-salt\ndestinations:\n{destinations}",
        project_yaml("segments")
    );
    std::fs::write(d.join("segmint.yaml"), yaml).unwrap();
}

/// `segmint sync --as-of D --json` with the secrets (or without `missing`).
fn sync(d: &Path, as_of: &str, missing: Option<&str>) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_segmint"));
    command
        .current_dir(d)
        .args(["sync", "--as-of", as_of, "--json"])
        .env("SEGMINT_TEST_SIGNING_KEY", SIGNING_KEY)
        .env("SEGMINT_TEST_TOKEN", TOKEN)
        .env("RUST_LOG", "debug");
    if let Some(variable) = missing {
        command.env_remove(variable);
    }
    command.output().unwrap()
}

/// The members a destination gets at `as_of`: held-out members left out.
fn delivered_members(d: &Path, as_of: &str) -> BTreeMap<String, BTreeSet<String>> {
    blocking(holdout_at(&d.join("out"), as_of))
        .into_iter()
        .map(|(segment, members)| {
            let kept = members
                .into_iter()
                .filter(|(_, held)| !held)
                .map(|(e, _)| e)
                .collect();
            (segment, kept)
        })
        .collect()
}

fn entities(body: &serde_json::Value, field: &str) -> Vec<String> {
    body[field]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| match v {
            serde_json::Value::String(s) => s.clone(),
            other => other["entity"].as_str().unwrap().to_string(),
        })
        .collect()
}

/// Every file under `dir`, read as bytes.
fn files_under(dir: &Path, out: &mut Vec<(String, Vec<u8>)>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files_under(&path, out);
        } else {
            out.push((path.display().to_string(), std::fs::read(&path).unwrap()));
        }
    }
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack
        .windows(needle.len())
        .any(|w| w == needle.as_bytes())
}

#[test]
fn webhook_gets_every_change_once_per_key_through_failures_and_retries() {
    let receiver = Receiver::start(SIGNING_KEY);
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    project(
        d,
        &format!(
            "  crm:
    webhook:
      url: {}
      signing_key_env: SEGMINT_TEST_SIGNING_KEY
      headers_env: {{Authorization: SEGMINT_TEST_TOKEN}}
      batch_size: 40
      requests_per_second: 200
      max_retries: 3
    segments: [cart_abandoners, new_users, recent_visitors]
",
            receiver.url
        ),
    );
    crate::succeeded(&crate::exit_codes::segmint(
        d,
        &[
            "run",
            "--from",
            "2026-11-15",
            "--to",
            "2026-11-21",
            "--json",
        ],
    ));

    // A missing secret: a clear error naming the variable, nothing sent, no secret shown.
    let missing = sync(d, "2026-11-15", Some("SEGMINT_TEST_TOKEN"));
    assert_eq!(missing.status.code(), Some(2), "{}", crate::text(&missing));
    let stderr = String::from_utf8_lossy(&missing.stderr);
    assert!(
        stderr.contains("SEGMINT_TEST_TOKEN") && stderr.contains("crm"),
        "{stderr}"
    );
    assert!(receiver.received().is_empty());

    // (as-of, what the receiver answers, whether the sync succeeds). 11-18 is never synced:
    // 11-19 brings the destination from 11-17 with the accumulated difference.
    let plan: [(&str, Vec<Reply>, bool); 7] = [
        ("2026-11-15", vec![], true),
        (
            "2026-11-16",
            vec![Reply::Status(500), Reply::TooMany(1), Reply::Status(503)],
            true,
        ),
        // Two batches accepted, then one refused past its retries: exit 4.
        (
            "2026-11-17",
            vec![
                Reply::Status(200),
                Reply::Status(200),
                Reply::Status(500),
                Reply::Status(502),
                Reply::Status(500),
                Reply::Status(500),
            ],
            false,
        ),
        ("2026-11-17", vec![], true),
        ("2026-11-19", vec![Reply::Status(500)], true),
        ("2026-11-20", vec![], true),
        ("2026-11-21", vec![], true),
    ];
    let mut outputs = vec![missing];
    // (as-of, received requests at the end of its successful sync)
    let mut checkpoints = Vec::new();
    for (as_of, replies, succeeds) in plan {
        receiver.script(&replies);
        let out = sync(d, as_of, None);
        if succeeds {
            let report: serde_json::Value =
                serde_json::from_str(crate::succeeded(&out).trim()).unwrap();
            assert_eq!(report["status"], "ok");
            checkpoints.push((as_of, receiver.received().len()));
        } else {
            assert_eq!(out.status.code(), Some(4), "{}", crate::text(&out));
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert!(stderr.contains("crm") && stderr.contains("500"), "{stderr}");
        }
        outputs.push(out);
    }
    // Re-running a sync that succeeded sends nothing.
    let before = receiver.received().len();
    crate::succeeded(&sync(d, "2026-11-21", None));
    assert_eq!(
        receiver.received().len(),
        before,
        "an up-to-date sync sent requests"
    );
    // A re-run of an earlier day (an Airflow clear) does not take the receiver back.
    let back = sync(d, "2026-11-16", None);
    let report: serde_json::Value = serde_json::from_str(crate::succeeded(&back).trim()).unwrap();
    let deliveries = report["deliveries"].as_array().unwrap();
    assert!(
        deliveries.len() == 3
            && deliveries
                .iter()
                .all(|d| d["skipped"].as_str().unwrap().contains("2026-11-21")),
        "{report}"
    );
    assert_eq!(
        receiver.received().len(),
        before,
        "an earlier as-of was sent"
    );
    outputs.push(back);

    let received = receiver.received();
    assert!(
        received.iter().all(|r| r.signature_valid),
        "a bad signature"
    );
    assert!(
        received.iter().all(|r| r
            .headers
            .iter()
            .any(|(k, v)| k == "authorization" && v == TOKEN)),
        "the auth header from SEGMINT_TEST_TOKEN is missing"
    );
    assert!(received.iter().filter(|r| r.status >= 500).count() >= 7);

    // Retry-After: 1 was honoured.
    let after_429 = received.iter().position(|r| r.status == 429).unwrap();
    let waited = received[after_429 + 1].at - received[after_429].at;
    assert!(waited.as_secs_f64() >= 0.95, "retried after {waited:?}");

    // The receiver's view, rebuilt from the accepted batches, equals the (non-holdout)
    // members after every successful sync; each as-of's accepted batches hold exactly the
    // change since the previous synced as-of.
    let accepted: Vec<&Received> = received.iter().filter(|r| r.status == 200).collect();
    let mut held: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut previous: Option<BTreeMap<String, BTreeSet<String>>> = None;
    let mut done = 0;
    for (as_of, upto) in &checkpoints {
        let upto_accepted = received[..*upto].iter().filter(|r| r.status == 200).count();
        let mut entered: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        let mut exited: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for r in &accepted[done..upto_accepted] {
            let segment = r.body["segment"].as_str().unwrap().to_string();
            let set = held.entry(segment.clone()).or_default();
            for e in entities(&r.body, "entered") {
                set.insert(e.clone());
                entered.entry(segment.clone()).or_default().insert(e);
            }
            for e in entities(&r.body, "exited") {
                set.remove(&e);
                exited.entry(segment.clone()).or_default().insert(e);
            }
        }
        done = upto_accepted;
        let members = delivered_members(d, as_of);
        for segment in ["cart_abandoners", "new_users", "recent_visitors"] {
            let now = &members.get(segment).cloned().unwrap_or_default();
            assert_eq!(
                held.get(segment).cloned().unwrap_or_default(),
                *now,
                "{segment} at the receiver after the sync of {as_of}"
            );
            let before = previous
                .as_ref()
                .and_then(|p| p.get(segment).cloned())
                .unwrap_or_default();
            let want_entered: BTreeSet<String> = now.difference(&before).cloned().collect();
            let want_exited: BTreeSet<String> = before.difference(now).cloned().collect();
            assert_eq!(
                entered.get(segment).cloned().unwrap_or_default(),
                want_entered,
                "{segment} entered at {as_of}"
            );
            assert_eq!(
                exited.get(segment).cloned().unwrap_or_default(),
                want_exited,
                "{segment} exited at {as_of}"
            );
        }
        previous = Some(members);
    }
    assert!(
        held.values().map(BTreeSet::len).sum::<usize>() > 50,
        "too few members to mean much: {held:?}"
    );

    // Duplicates only under the same key: each (segment, as-of, change, entity) went out
    // under one idempotency key, and a key always carried the same body.
    let mut keys: HashMap<(String, String, &str, String), BTreeSet<String>> = HashMap::new();
    let mut bodies: HashMap<String, BTreeSet<Vec<u8>>> = HashMap::new();
    for r in &received {
        let (segment, as_of) = (
            r.body["segment"].as_str().unwrap().to_string(),
            r.body["as_of"].as_str().unwrap().to_string(),
        );
        for change in ["entered", "exited"] {
            for e in entities(&r.body, change) {
                keys.entry((segment.clone(), as_of.clone(), change, e))
                    .or_default()
                    .insert(r.key.clone());
            }
        }
        bodies
            .entry(r.key.clone())
            .or_default()
            .insert(r.raw.clone());
    }
    assert!(
        keys.values().all(|k| k.len() == 1),
        "a change went out under two keys"
    );
    assert!(bodies.values().all(|b| b.len() == 1), "one key, two bodies");
    // Retries and the re-sync of 11-17 sent some batches more than once — under one key.
    let mut requests_per_key: HashMap<&str, usize> = HashMap::new();
    for r in &received {
        *requests_per_key.entry(r.key.as_str()).or_default() += 1;
    }
    assert!(
        requests_per_key.values().any(|n| *n > 1),
        "nothing was sent twice"
    );

    // No secret in any output: command output (debug logs included) and the output tables.
    for out in &outputs {
        for stream in [&out.stdout, &out.stderr] {
            assert!(!contains(stream, SIGNING_KEY) && !contains(stream, TOKEN));
        }
    }
    let mut files = Vec::new();
    files_under(&d.join("out"), &mut files);
    for (name, bytes) in &files {
        assert!(
            !contains(bytes, SIGNING_KEY) && !contains(bytes, TOKEN),
            "a secret in {name}"
        );
    }
}

#[test]
fn files_destinations_match_the_members_read_back_by_pyarrow() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    project(
        d,
        "  csv_deltas:
    files: {location: exports, format: csv, mode: delta}
    segments: [recent_visitors]
  jsonl_full:
    files: {location: exports, format: jsonl, mode: full}
    segments: [recent_visitors, cart_abandoners]
  parquet_full_with_holdout:
    files: {location: exports, format: parquet, mode: full}
    segments: [recent_visitors]
    include_holdout: true
",
    );
    let days = ["2026-11-19", "2026-11-20", "2026-11-21"];
    crate::succeeded(&crate::exit_codes::segmint(
        d,
        &["run", "--from", days[0], "--to", days[2], "--json"],
    ));
    for day in days {
        crate::succeeded(&sync(d, day, None));
    }
    let python = python_env::python();
    let read = Command::new(&python)
        .arg(python_env::script("read_exports.py"))
        .arg(d.join("exports"))
        .output()
        .unwrap();
    let view: serde_json::Value = serde_json::from_str(crate::succeeded(&read).trim()).unwrap();
    let list = |v: &serde_json::Value| -> BTreeSet<String> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|e| e.as_str().unwrap().to_string())
            .collect()
    };
    let mut before: BTreeSet<String> = BTreeSet::new();
    for day in days {
        let holdout = blocking(holdout_at(&d.join("out"), day));
        let all =
            |segment: &str| -> BTreeSet<String> { holdout[segment].keys().cloned().collect() };
        let kept = |segment: &str| -> BTreeSet<String> {
            holdout[segment]
                .iter()
                .filter(|(_, h)| !**h)
                .map(|(e, _)| e.clone())
                .collect()
        };
        let held_out = all("recent_visitors").len() - kept("recent_visitors").len();
        assert!(held_out > 0, "no holdout members at {day}");
        // Full lists.
        let at = |dest: &str, segment: &str, file: &str| &view[dest][segment][day][file];
        assert_eq!(
            list(&at("jsonl_full", "recent_visitors", "members")["entity"]),
            kept("recent_visitors")
        );
        assert_eq!(
            list(&at("jsonl_full", "cart_abandoners", "members")["entity"]),
            kept("cart_abandoners")
        );
        assert_eq!(
            list(&at("parquet_full_with_holdout", "recent_visitors", "members")["entity"]),
            all("recent_visitors")
        );
        // The outputs travel with the members.
        let events = at("parquet_full_with_holdout", "recent_visitors", "members")["events_2d"]
            .as_array()
            .unwrap();
        assert!(events.iter().all(|n| n.as_i64().unwrap() >= 1));
        // Deltas: entered and exited since the previous day (everyone on the first).
        let now = kept("recent_visitors");
        let entered: BTreeSet<String> = now.difference(&before).cloned().collect();
        let exited: BTreeSet<String> = before.difference(&now).cloned().collect();
        assert_eq!(
            list(&at("csv_deltas", "recent_visitors", "entered")["entity"]),
            entered,
            "{day}"
        );
        assert_eq!(
            list(&at("csv_deltas", "recent_visitors", "exited")["entity"]),
            exited,
            "{day}"
        );
        before = now;
    }
}
