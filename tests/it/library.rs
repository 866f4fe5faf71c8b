//! The shipped library on a generated lake: members equal the reference evaluator's at two
//! as-of dates, every segment is non-empty, and the whole library reads the events once.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use datafusion::arrow::array::AsArray;
use datafusion::physical_plan::displayable;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use segmint_engine::output::OutputDir;
use segmint_engine::{ProjectSession, RunOptions};
use segmint_lakegen::{LakeGenConfig, generate_lake};
use segmint_tests::reference::{Lake, evaluate};
use segmint_tests::write_project;

async fn committed_members(
    out: &OutputDir,
    as_of: &str,
) -> BTreeMap<String, BTreeMap<String, String>> {
    let manifest = out
        .manifest(as_of)
        .await
        .unwrap()
        .expect("committed manifest");
    let mut all = BTreeMap::new();
    for (segment, file) in &manifest.members {
        let mut members = BTreeMap::new();
        for b in out.read_batches(file).await.unwrap() {
            let entity = b.column(0).as_string::<i32>();
            let tier = b
                .column_by_name("tier")
                .map(|t| t.as_string::<i32>().clone());
            for i in 0..b.num_rows() {
                let t = tier
                    .as_ref()
                    .map(|t| t.value(i).to_string())
                    .unwrap_or_default();
                members.insert(entity.value(i).to_string(), t);
            }
        }
        if !members.is_empty() {
            all.insert(segment.clone(), members);
        }
    }
    all
}

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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn library_matches_reference_at_two_dates_and_scans_once() {
    let (dir, config) = generated_lake(400);
    let project = write_project(dir.path());
    let session = ProjectSession::builder(&project).open().await.unwrap();
    let lake = Lake::read(&dir.path().join("lake"));
    let out = &session.output;

    for as_of in [config.end - chrono::Duration::days(7), config.end] {
        let summary = segmint_engine::run(&session, as_of, &[], RunOptions::default())
            .await
            .unwrap();
        let expected = evaluate(&session.checked, &lake, as_of);
        let actual = committed_members(out, &as_of.to_string()).await;
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
    // The second run counted who entered and exited since the first.
    let second = out
        .manifest(&config.end.to_string())
        .await
        .unwrap()
        .unwrap();
    let summary: serde_json::Value =
        serde_json::from_slice(&out.get(&second.summary).await.unwrap().unwrap()).unwrap();
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

    // Re-running an as-of replaces it: one run folder remains, members unchanged.
    let before = committed_members(out, &config.end.to_string()).await;
    segmint_engine::run(&session, config.end, &[], RunOptions::default())
        .await
        .unwrap();
    assert_eq!(
        committed_members(out, &config.end.to_string()).await,
        before
    );
    let runs = std::fs::read_dir(dir.path().join(format!("out/members/as_of={}", config.end)))
        .unwrap()
        .count();
    assert_eq!(runs, 1);

    // Outputs are written beside membership, in name order, with values for members.
    let manifest = out
        .manifest(&config.end.to_string())
        .await
        .unwrap()
        .unwrap();
    for segment in &session.checked.segments {
        let bytes = out
            .get(&manifest.members[&segment.name])
            .await
            .unwrap()
            .unwrap();
        let reader = ParquetRecordBatchReaderBuilder::try_new(bytes).unwrap();
        let names: Vec<String> = reader
            .schema()
            .fields()
            .iter()
            .map(|f| f.name().clone())
            .collect();
        let mut expected = vec!["entity".to_string(), "as_of".to_string()];
        if segment.is_tiered() {
            expected.push("tier".into());
        }
        let mut outputs: Vec<String> = segment.outputs.iter().map(|o| o.name.clone()).collect();
        outputs.sort();
        expected.extend(outputs.iter().cloned());
        assert_eq!(names, expected, "columns of {}", segment.name);
        assert!(
            !segment.outputs.is_empty(),
            "{} has no outputs",
            segment.name
        );
        let batches: Vec<_> = reader.build().unwrap().map(|b| b.unwrap()).collect();
        for name in &outputs {
            let non_null: usize = batches
                .iter()
                .map(|b| {
                    let c = b.column_by_name(name).unwrap();
                    c.len() - c.null_count()
                })
                .sum();
            assert!(
                non_null > 0,
                "output {name} of {} is always NULL",
                segment.name
            );
        }
    }

    // The whole library reads the events table exactly once.
    let compiled = segmint_engine::compile_for(&session, config.end, &[], false).unwrap();
    let physical = session
        .ctx
        .state()
        .create_physical_plan(&compiled.plan)
        .await
        .unwrap();
    let text = displayable(physical.as_ref()).indent(true).to_string();
    let events_scans = text
        .lines()
        .filter(|l| l.contains("DataSourceExec") && l.contains("lake/events"))
        .count();
    assert_eq!(events_scans, 1, "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn windowed_segments_prune_date_partitions() {
    let (dir, _) = generated_lake(50);
    // Only a 7-day segment: partitions outside [as_of − 8d, as_of + 1d] must not be read.
    let segs = dir.path().join("segs");
    std::fs::create_dir_all(&segs).unwrap();
    std::fs::write(
        segs.join("recent.yaml"),
        "segment: recent\nwhere:\n  performed: {within: 7d}\n",
    )
    .unwrap();
    let project = write_project(dir.path());
    let text = std::fs::read_to_string(&project).unwrap();
    let text = text.replace(&segmint_tests::segments_dir().display().to_string(), "segs");
    std::fs::write(&project, text).unwrap();
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
