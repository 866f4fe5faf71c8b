//! The shipped library on a generated lake: members equal the reference evaluator's at two
//! as-of dates, every segment is non-empty, and the whole library reads the events once.

use chrono::NaiveDate;
use datafusion::physical_plan::displayable;
use segmint_engine::{ProjectSession, RunOptions};
use segmint_lakegen::{LakeGenConfig, generate_lake};
use segmint_tests::delta_reader::{members_at, query, strings, table};
use segmint_tests::reference::{Lake, evaluate};
use segmint_tests::write_project;

/// A generated lake of `users` users under `dir/lake` (the default 120 days).
fn generated_lake(users: usize) -> (tempfile::TempDir, LakeGenConfig) {
    let dir = tempfile::tempdir().unwrap();
    let config = LakeGenConfig {
        users,
        ..LakeGenConfig::default()
    };
    generate_lake(&dir.path().join("lake"), &config).unwrap();
    (dir, config)
}

/// A project in `dir` over `dir/lake` whose only segment is `spec`, in `dir/segs`.
fn project_with_segment(dir: &std::path::Path, spec: &str) -> std::path::PathBuf {
    let segs = dir.join("segs");
    std::fs::create_dir_all(&segs).unwrap();
    std::fs::write(segs.join("only.yaml"), spec).unwrap();
    let project = write_project(dir);
    let text = std::fs::read_to_string(&project).unwrap();
    let text = text.replace(&segmint_tests::segments_dir().display().to_string(), "segs");
    std::fs::write(&project, text).unwrap();
    project
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn library_matches_reference_at_two_dates_and_scans_once_in_one_stage() {
    let (dir, config) = generated_lake(400);
    let project = write_project(dir.path());
    let session = ProjectSession::builder(&project).open().await.unwrap();
    let lake = Lake::read(&dir.path().join("lake"));
    let out_dir = dir.path().join("out");

    for as_of in [config.end - chrono::Duration::days(7), config.end] {
        let summary = segmint_engine::run(&session, as_of, &[], RunOptions::default())
            .await
            .unwrap();
        let expected = evaluate(&session.checked, &lake, as_of);
        let actual = members_at(&out_dir, None, &as_of.to_string()).await;
        for segment in &session.checked.segments {
            let e = expected.get(&segment.name).cloned().unwrap_or_default();
            let a = actual.get(&segment.name).cloned().unwrap_or_default();
            assert_eq!(a, e, "segment {} at {as_of}", segment.name);
            assert!(
                !a.is_empty(),
                "segment {} is empty at {as_of}",
                segment.name
            );
            assert_eq!(summary.segments[&segment.name].size, a.len() as u64);
        }
    }
    // The second run counted who entered and exited since the first; the runs table holds
    // both runs.
    let runs = query(
        &out_dir.join("runs"),
        None,
        "SELECT as_of, summary FROM t ORDER BY as_of",
    )
    .await;
    let summaries = strings(&runs, 1);
    assert_eq!(summaries.len(), 2);
    let summary: serde_json::Value =
        serde_json::from_str(summaries[1].as_deref().unwrap()).unwrap();
    assert_eq!(
        summary["previous_as_of"],
        (config.end - chrono::Duration::days(7)).to_string()
    );
    assert!(
        summary["segments"]["new_users"]["entered"]
            .as_u64()
            .unwrap()
            > 0
    );

    // Re-running an as-of replaces it in one commit: same members, one file per non-empty
    // segment for the as-of, and the version before holds the first run's rows.
    let before = members_at(&out_dir, None, &config.end.to_string()).await;
    let version_before = table(&out_dir.join("members"), None)
        .await
        .version()
        .unwrap();
    let rerun = segmint_engine::run(&session, config.end, &[], RunOptions::default())
        .await
        .unwrap();
    assert_eq!(rerun.table_version, Some(version_before as i64 + 1));
    assert_eq!(
        members_at(&out_dir, None, &config.end.to_string()).await,
        before
    );
    assert_eq!(
        members_at(&out_dir, Some(version_before), &config.end.to_string()).await,
        before
    );
    let files = table(&out_dir.join("members"), None)
        .await
        .snapshot()
        .unwrap()
        .log_data()
        .iter()
        .filter(|f| f.path().contains(&format!("as_of={}", config.end)))
        .count();
    assert_eq!(files, before.len(), "one file per non-empty segment");

    // Outputs are columns `<segment>__<output>` of the members table, with values on the
    // segment's rows.
    for segment in &session.checked.segments {
        assert!(
            !segment.outputs.is_empty(),
            "{} has no outputs",
            segment.name
        );
        for output in &segment.outputs {
            let column = format!("{}__{}", segment.name, output.name);
            let rows = query(
                &out_dir.join("members"),
                None,
                &format!(
                    "SELECT count({column}), count(*) FROM t WHERE segment = '{}' AND as_of = DATE '{}'",
                    segment.name, config.end
                ),
            )
            .await;
            let counts = strings(&rows, 0);
            assert!(
                counts[0].as_deref().unwrap_or("0") != "0",
                "output {column} is always NULL"
            );
        }
    }

    // The whole library reads the events table exactly once, and aggregates it in one
    // stage: events hash-partitioned by entity, no partial states (docs/decisions.md).
    let compiled = segmint_engine::compile_for(&session, config.end, &[], false).unwrap();
    let physical = segmint_engine::single_stage::run_plan(&session, &compiled.plan)
        .await
        .unwrap();
    let text = displayable(physical.as_ref()).indent(true).to_string();
    let events_scans = text
        .lines()
        .filter(|l| l.contains("DataSourceExec") && l.contains("lake/events"))
        .count();
    assert_eq!(events_scans, 1, "{text}");
    assert!(!text.contains("mode=Partial"), "{text}");
    // The event name is tested through one code per batch (the members above equal the
    // reference evaluator's with it), computed once: in one projection only.
    let coding = text
        .lines()
        .filter(|l| l.contains("value_code(event_name@"))
        .count();
    assert_eq!(coding, 1, "{text}");
    let string_tests = text
        .split("event_name@")
        .skip(1)
        .map(|rest| rest.trim_start_matches(|c: char| c.is_ascii_digit()))
        .filter(|rest| rest.starts_with(" = ") || rest.starts_with(" IN "))
        .count();
    assert_eq!(string_tests, 0, "{text}");
    if session.ctx.state().config().target_partitions() > 1 {
        assert!(text.contains("mode=SinglePartitioned"), "{text}");
        assert!(text.contains("partitioning=Hash([user_id"), "{text}");
        // Partitioned right above the scan, below the projection of the filter masks: the
        // repartition copies scanned columns, not one boolean column per mask.
        let lines: Vec<&str> = text.lines().collect();
        let shuffle = lines
            .iter()
            .position(|l| l.contains("partitioning=Hash([user_id"))
            .unwrap();
        let below = lines[shuffle + 1];
        assert!(
            below.contains("DataSourceExec") && below.contains("lake/events"),
            "{text}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn windowed_segments_prune_date_partitions() {
    let (dir, _) = generated_lake(50);
    // Only a 7-day segment: partitions outside [as_of − 8d, as_of + 1d] must not be read.
    let project = project_with_segment(
        dir.path(),
        "segment: recent\nwhere:\n  performed: {within: 7d}\n",
    );
    let session = ProjectSession::builder(&project).open().await.unwrap();
    let as_of = NaiveDate::from_ymd_opt(2026, 11, 22).unwrap();
    let compiled = segmint_engine::compile_for(&session, as_of, &[], false).unwrap();
    let physical = session
        .ctx
        .state()
        .create_physical_plan(&compiled.plan)
        .await
        .unwrap();
    let text = displayable(physical.as_ref()).indent(true).to_string();
    let files: Vec<&str> = text.matches("date=").collect();
    assert!(!files.is_empty(), "{text}");
    assert!(files.len() <= 9, "read {} partitions: {text}", files.len());
    assert!(!text.contains("date=2026-10-01"), "{text}");
}

/// The same generated lake as hive-partitioned Parquet and as Delta tables gives the same
/// members for every segment of the library.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delta_events_give_the_members_of_the_same_lake_as_parquet() {
    let (dir, config) = generated_lake(300);
    let delta = dir.path().join("delta");
    generate_lake(&delta.join("lake"), &config).unwrap();
    segmint_engine::delta_lake::convert_folder(&delta.join("lake/events"), true)
        .await
        .unwrap();
    segmint_engine::delta_lake::convert_folder(&delta.join("lake/profiles"), false)
        .await
        .unwrap();
    std::fs::write(
        delta.join("segmint.yaml"),
        segmint_lakegen::demo::delta_project_yaml(
            "lake",
            "out",
            &segmint_tests::segments_dir().display().to_string(),
        ),
    )
    .unwrap();

    let parquet = ProjectSession::builder(write_project(dir.path()))
        .open()
        .await
        .unwrap();
    let delta_session = ProjectSession::builder(delta.join("segmint.yaml"))
        .open()
        .await
        .unwrap();
    assert!(matches!(
        delta_session.events,
        segmint_engine::session::EventsSource::Delta(_)
    ));
    for session in [&parquet, &delta_session] {
        segmint_engine::run(session, config.end, &[], RunOptions::default())
            .await
            .unwrap();
    }
    let day = config.end.to_string();
    let from_parquet = members_at(&dir.path().join("out"), None, &day).await;
    let from_delta = members_at(&delta.join("out"), None, &day).await;
    assert_eq!(from_parquet.len(), parquet.checked.segments.len());
    assert_eq!(from_delta, from_parquet);
}

/// A 7-day segment over a Delta events table reads only the files of in-window days: the
/// Delta log's statistics pick them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_windowed_segment_reads_only_in_window_files_of_a_delta_table() {
    let (dir, _) = generated_lake(50);
    segmint_engine::delta_lake::convert_folder(&dir.path().join("lake/events"), true)
        .await
        .unwrap();
    segmint_engine::delta_lake::convert_folder(&dir.path().join("lake/profiles"), false)
        .await
        .unwrap();
    let segs = dir.path().join("segs");
    std::fs::create_dir_all(&segs).unwrap();
    std::fs::write(
        segs.join("recent.yaml"),
        "segment: recent\nwhere:\n  performed: {within: 7d}\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("segmint.yaml"),
        segmint_lakegen::demo::delta_project_yaml("lake", "out", "segs"),
    )
    .unwrap();
    let session = ProjectSession::builder(dir.path().join("segmint.yaml"))
        .open()
        .await
        .unwrap();
    let as_of = NaiveDate::from_ymd_opt(2026, 11, 22).unwrap();
    let compiled = segmint_engine::compile_for(&session, as_of, &[], false).unwrap();
    let physical = session
        .ctx
        .state()
        .create_physical_plan(&compiled.plan)
        .await
        .unwrap();
    let text = displayable(physical.as_ref()).indent(true).to_string();
    let days: std::collections::BTreeSet<&str> = text
        .match_indices("date=")
        .map(|(i, _)| &text[i + 5..i + 15])
        .collect();
    // The window is 2026-11-16 .. 2026-11-22 (7 days); each day's file holds that day.
    let expected: std::collections::BTreeSet<String> =
        (16..=22).map(|d| format!("2026-11-{d}")).collect();
    assert_eq!(
        days,
        expected.iter().map(String::as_str).collect(),
        "{text}"
    );
    // And the run finds the recent users.
    let summary = segmint_engine::run(&session, as_of, &[], RunOptions::default())
        .await
        .unwrap();
    assert!(summary.segments["recent"].size > 0);
}

/// A floating-point property's sum and mean do not depend on the order events reach the
/// aggregation (which varies from run to run once events are hash-partitioned by entity):
/// `1e16 + 1 − 1e16` over three days' files is exactly 1, where adding in the files' order
/// as doubles gives 0.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn float_sums_are_exact_whatever_order_events_arrive_in() {
    let (dir, config) = generated_lake(20);
    let schema = segmint_lakegen::events_schema();
    for (day, revenue) in [(3u64, 1e16), (2, 1.0), (1, -1e16)] {
        let date = config.end - chrono::Days::new(day);
        let time = date
            .and_hms_opt(12, 0, 0)
            .unwrap()
            .and_utc()
            .timestamp_micros();
        let strings = |v: Option<&str>| -> arrow::array::ArrayRef {
            std::sync::Arc::new(arrow::array::StringArray::from(vec![v]))
        };
        let batch = arrow::array::RecordBatch::try_new(
            schema.clone(),
            vec![
                strings(Some("z_exact")),
                std::sync::Arc::new(
                    arrow::array::TimestampMicrosecondArray::from(vec![time]).with_timezone("UTC"),
                ),
                strings(Some("purchase")),
                strings(Some("web")),
                strings(Some("books")),
                strings(None),
                strings(None),
                std::sync::Arc::new(arrow::array::Float64Array::from(vec![revenue])),
            ],
        )
        .unwrap();
        let folder = dir.path().join(format!("lake/events/date={date}"));
        std::fs::create_dir_all(&folder).unwrap();
        let file = std::fs::File::create(folder.join("part-9.parquet")).unwrap();
        let mut writer = parquet::arrow::ArrowWriter::try_new(file, schema.clone(), None).unwrap();
        writer.write(&batch).unwrap();
        writer.close().unwrap();
    }
    let project = project_with_segment(
        dir.path(),
        "segment: spenders\nwhere:\n  performed: {event: purchase, within: 30d}\noutputs:\n  \
         spent: {metric: {agg: sum, of: revenue, event: purchase, within: 30d}}\n  \
         mean: {metric: {agg: avg, of: revenue, event: purchase, within: 30d}}\n",
    );
    let session = ProjectSession::builder(&project).open().await.unwrap();
    segmint_engine::run(&session, config.end, &[], RunOptions::default())
        .await
        .unwrap();
    let rows = query(
        &dir.path().join("out/members"),
        None,
        "SELECT CAST(spenders__spent AS VARCHAR), CAST(spenders__mean AS VARCHAR) FROM t \
         WHERE entity = 'z_exact'",
    )
    .await;
    assert_eq!(strings(&rows, 0), vec![Some("1.0".to_string())]);
    let mean: f64 = strings(&rows, 1)[0].as_deref().unwrap().parse().unwrap();
    assert!((mean - 1.0 / 3.0).abs() < 1e-12, "{mean}");
}

/// A run is reproducible: the same lake, specs and as-of give the same members and the same
/// output values, to the last bit, although the one-stage aggregation receives each
/// entity's events in a different order from run to run (with 2+ partitions).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_runs_of_the_library_give_identical_members_and_outputs() {
    let (dir, config) = generated_lake(300);
    let project = write_project(dir.path());
    let session = ProjectSession::builder(&project).open().await.unwrap();
    let members = dir.path().join("out/members");
    let everything = format!(
        "SELECT * FROM t WHERE as_of = DATE '{}' ORDER BY segment, entity",
        config.end
    );
    segmint_engine::run(&session, config.end, &[], RunOptions::default())
        .await
        .unwrap();
    let first_version = table(&members, None).await.version().unwrap() as u64;
    segmint_engine::run(&session, config.end, &[], RunOptions::default())
        .await
        .unwrap();
    let first = query(&members, Some(first_version), &everything).await;
    let second = query(&members, None, &everything).await;
    let text = |batches: &[arrow::array::RecordBatch]| {
        arrow::util::pretty::pretty_format_batches(batches)
            .unwrap()
            .to_string()
    };
    let (first, second) = (text(&first), text(&second));
    assert!(first.lines().count() > 1000, "{first}");
    assert_eq!(first, second);
}
