//! Incremental runs (`incremental:` in the project) give the members and outputs of full
//! runs: 30 consecutive daily runs of the whole library, one day of the lake landing three
//! days late and a late file landing in a day that blocks already hold, each compared with
//! a full run of the same lake state into another output.

use chrono::{Duration, NaiveDate};
use segmint_engine::{ProjectSession, RunOptions, RunSummary};
use segmint_lakegen::{LakeGenConfig, generate_lake};
use segmint_tests::delta_reader::query;
use segmint_tests::write_project;

/// A late file in `partition`: its first part's first 300 events, a millisecond later
/// (no two events of an entity share a timestamp, as in a real late delivery).
fn land_late_file(partition: &std::path::Path) {
    use arrow::array::{Array, Int64Array};
    let input = std::fs::File::open(partition.join("part-0.parquet")).unwrap();
    let mut reader = parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(input)
        .unwrap()
        .with_batch_size(300)
        .build()
        .unwrap();
    let batch = reader.next().unwrap().unwrap();
    let time = batch.schema().index_of("event_time").unwrap();
    let column = batch.column(time);
    let micros = arrow::compute::cast(column, &arrow::datatypes::DataType::Int64).unwrap();
    let micros = micros.as_any().downcast_ref::<Int64Array>().unwrap();
    let later: Int64Array = micros.iter().map(|t| t.map(|t| t + 1_000)).collect();
    let later = arrow::compute::cast(&later, column.data_type()).unwrap();
    let mut columns = batch.columns().to_vec();
    columns[time] = later;
    let late = arrow::record_batch::RecordBatch::try_new(batch.schema(), columns).unwrap();
    let output = std::fs::File::create(partition.join("part-late.parquet")).unwrap();
    let mut writer = parquet::arrow::ArrowWriter::try_new(output, late.schema(), None).unwrap();
    writer.write(&late).unwrap();
    writer.close().unwrap();
}

/// How many block files of closed chunks under `out` hold `day`: suffixes and histories,
/// the blocks whose end (`block-<first>-<end>-…`) is a chunk's (16 days, aligned on the
/// day number). The open chunk's prefixes never end there.
fn blocks_over(out: &std::path::Path, day: NaiveDate) -> usize {
    let mut found = 0;
    for table in std::fs::read_dir(out.join("summaries")).unwrap() {
        for file in std::fs::read_dir(table.unwrap().path()).unwrap() {
            let name = file.unwrap().file_name().to_string_lossy().into_owned();
            let Some(rest) = name.strip_prefix("block-") else {
                continue;
            };
            let date = |t: &str| NaiveDate::parse_from_str(t, "%Y-%m-%d").unwrap();
            let (first, end) = (date(&rest[..10]), date(&rest[11..21]));
            let chunk_end = (end - NaiveDate::default()).num_days() % 16 == 0;
            if chunk_end && first <= day && day < end {
                found += 1;
            }
        }
    }
    found
}

/// Every member row of `as_of` (all columns but the run's own) as text, in order.
async fn member_rows(out: &std::path::Path, as_of: NaiveDate) -> String {
    let batches = query(
        &out.join("members"),
        None,
        &format!("SELECT * FROM t WHERE as_of = DATE '{as_of}' ORDER BY segment, entity"),
    )
    .await;
    arrow::util::pretty::pretty_format_batches(&batches)
        .unwrap()
        .to_string()
}

/// Beside `project` (as written, output `out`): `full.yaml`, the same project writing to
/// `out-full`; `project` itself gains `incremental: {}`. The full project's path.
fn with_full_twin(project: &std::path::Path) -> std::path::PathBuf {
    let text = std::fs::read_to_string(project).unwrap();
    let full = project.with_file_name("full.yaml");
    std::fs::write(&full, text.replace("location: out", "location: out-full")).unwrap();
    std::fs::write(project, format!("{text}incremental: {{}}\n")).unwrap();
    full
}

/// The incremental output's members of `day` (`out`) equal the full output's (`out-full`),
/// and there are some.
async fn assert_outputs_agree(dir: &std::path::Path, day: NaiveDate) {
    let (a, b) = (
        member_rows(&dir.join("out"), day).await,
        member_rows(&dir.join("out-full"), day).await,
    );
    assert!(a.lines().count() > 10, "{a}");
    assert_eq!(a, b, "members of {day}");
}

/// A generated lake of `users` over `days` days under `dir/lake`.
fn lake(dir: &std::path::Path, users: usize, days: u32) -> LakeGenConfig {
    let config = LakeGenConfig {
        users,
        days,
        ..LakeGenConfig::default()
    };
    generate_lake(&dir.join("lake"), &config).unwrap();
    config
}

async fn run(project: &std::path::Path, as_of: NaiveDate, allow_empty_day: bool) -> RunSummary {
    // A fresh session per day, as a scheduled task would have.
    let session = ProjectSession::builder(project).open().await.unwrap();
    let options = RunOptions {
        allow_empty_day,
        ..RunOptions::default()
    };
    segmint_engine::run(&session, as_of, &[], options)
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn thirty_daily_incremental_runs_equal_full_runs_with_a_day_landing_late() {
    let dir = tempfile::tempdir().unwrap();
    let config = LakeGenConfig {
        users: 150,
        ..LakeGenConfig::default()
    };
    generate_lake(&dir.path().join("lake"), &config).unwrap();
    let project = write_project(dir.path());
    let text = std::fs::read_to_string(&project).unwrap();
    let full = dir.path().join("full.yaml");
    std::fs::write(&full, text.replace("location: out", "location: out-full")).unwrap();
    std::fs::write(
        &project,
        format!("{text}incremental: {{lookback_days: 1}}\n"),
    )
    .unwrap();

    let first = config.end - Duration::days(29);
    let late = first + Duration::days(10);
    // A file lands in an older day's partition near the end, when blocks of settled days
    // (16-day chunks) already hold that day and its neighbours.
    let (older, landing) = (first + Duration::days(5), config.end - Duration::days(2));
    let partition = |day: NaiveDate| dir.path().join(format!("lake/events/date={day}"));
    let held = dir.path().join("held");
    std::fs::rename(partition(late), &held).unwrap();

    for as_of in first.iter_days().take(30) {
        if as_of == late + Duration::days(3) {
            // The day's events land now: its summaries (and its neighbours', whose local
            // days its partition may hold) are made again from the files.
            std::fs::rename(&held, partition(late)).unwrap();
        }
        if as_of == landing {
            assert!(
                blocks_over(&dir.path().join("out"), older) > 0,
                "blocks hold {older} before its late file lands"
            );
            land_late_file(&partition(older));
        }
        let incremental = run(&project, as_of, as_of == late).await;
        let recomputed = run(&full, as_of, as_of == late).await;
        let used = incremental.incremental.clone().unwrap();
        assert_eq!(used.mode, "incremental", "{as_of}: {used:?}");
        assert!(recomputed.incremental.is_none());
        let summarised = used.days_summarised;
        if as_of == first {
            assert!(
                summarised > 80,
                "the first run summarises all history: {used:?}"
            );
        } else if as_of == late + Duration::days(3) || as_of == landing {
            assert_eq!(
                summarised,
                2 + 3,
                "{as_of}: the as-of, lookback and the late day ±1"
            );
        } else {
            assert_eq!(
                summarised, 2,
                "{as_of}: the as-of and one lookback day: {used:?}"
            );
        }
        assert_eq!(
            serde_json::to_value(&incremental.segments).unwrap(),
            serde_json::to_value(&recomputed.segments).unwrap(),
            "{as_of}: sizes, entered and exited"
        );
        let (a, b) = (
            member_rows(&dir.path().join("out"), as_of).await,
            member_rows(&dir.path().join("out-full"), as_of).await,
        );
        assert!(a.lines().count() > 500, "{as_of}: {a}");
        assert_eq!(a, b, "{as_of}: member rows and outputs");
    }

    // Thirty daily commits: the members log and the summaries' log have checkpoints (every
    // ten versions), so opening them replays a few commits, not every day's; the member rows
    // above were read back through them.
    let summaries = std::fs::read_dir(dir.path().join("out/summaries"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .next()
        .unwrap();
    for table in [
        dir.path().join("out/members"),
        dir.path().join("out-full/members"),
        summaries.clone(),
    ] {
        assert!(
            table.join("_delta_log/_last_checkpoint").exists(),
            "{} has a checkpoint",
            table.display()
        );
    }

    // Aligned runs of chunks were built (and the runs above read them): blocks of 32 days
    // starting on a day number divisible by 32.
    let aligned = std::fs::read_dir(&summaries)
        .unwrap()
        .filter_map(|e| {
            let name = e.unwrap().file_name().to_string_lossy().into_owned();
            let rest = name.strip_prefix("block-")?.to_string();
            let date = |t: &str| NaiveDate::parse_from_str(t, "%Y-%m-%d").unwrap();
            let (first, end) = (date(&rest[..10]), date(&rest[11..21]));
            let number = (first - NaiveDate::default()).num_days();
            ((end - first).num_days() == 32 && number % 32 == 0).then_some(first)
        })
        .count();
    assert!(aligned > 0, "no aligned run of two chunks");

    // Blocks: a segment of all-history windows reads a few block files, not one per day.
    let session = ProjectSession::builder(&project).open().await.unwrap();
    let lapsed = ["lapsed_users".to_string()];
    let summary = segmint_engine::run(&session, config.end, &lapsed, RunOptions::default())
        .await
        .unwrap();
    let used = summary.incremental.unwrap();
    assert!(
        used.files_read > 0 && used.files_read < used.days_merged,
        "blocks stand for their days: {used:?}"
    );
    assert_eq!(
        member_rows(&dir.path().join("out"), config.end).await,
        member_rows(&dir.path().join("out-full"), config.end).await
    );
}

/// The grouped rows (every aggregate of the run, per entity) of a full and an incremental
/// evaluation of the library are equal, column by column.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_aggregate_merged_from_summaries_equals_its_full_value() {
    use datafusion::prelude::{DataFrame, col};
    let dir = tempfile::tempdir().unwrap();
    let config = LakeGenConfig {
        users: 150,
        ..LakeGenConfig::default()
    };
    generate_lake(&dir.path().join("lake"), &config).unwrap();
    let project = write_project(dir.path());
    let session = ProjectSession::builder(&project).open().await.unwrap();
    let as_of = config.end;
    let compiled = segmint_engine::compile_for(&session, as_of, &[], false).unwrap();
    let next =
        segmint_engine::compile_for(&session, as_of + Duration::days(1), &[], false).unwrap();
    let merged = segmint_engine::incremental::prepare(&session, (&compiled, &next), None, as_of, 1)
        .await
        .unwrap()
        .unwrap()
        .compiled;
    let rows = |plan: datafusion::logical_expr::LogicalPlan| {
        let state = session.ctx.state();
        async move {
            DataFrame::new(state, plan)
                .sort(vec![col("__key").sort(true, true)])
                .unwrap()
                .collect()
                .await
                .unwrap()
        }
    };
    let full = rows(compiled.staged.grouped.clone()).await;
    let incremental = rows(merged.staged.grouped.clone()).await;
    let full = arrow::compute::concat_batches(&full[0].schema(), &full).unwrap();
    let incremental =
        arrow::compute::concat_batches(&incremental[0].schema(), &incremental).unwrap();
    assert_eq!(full.num_rows(), incremental.num_rows());
    let mut differing = Vec::new();
    for (i, field) in full.schema().fields().iter().enumerate() {
        let a = arrow::util::display::ArrayFormatter::try_new(
            full.column(i).as_ref(),
            &Default::default(),
        )
        .unwrap();
        let b = arrow::util::display::ArrayFormatter::try_new(
            incremental.column(i).as_ref(),
            &Default::default(),
        )
        .unwrap();
        for row in 0..full.num_rows() {
            let (x, y) = (a.value(row).to_string(), b.value(row).to_string());
            if x != y {
                differing.push(format!(
                    "{} row {row}: full {x} incremental {y}",
                    field.name()
                ));
                break;
            }
        }
    }
    let described: Vec<String> = compiled.aggregates.iter().map(|a| a.to_string()).collect();
    assert!(differing.is_empty(), "{differing:#?}\n{described:#?}");
}

/// A run that cannot be incremental says why, and is full: `--full`, and a lake whose files
/// are not partitioned by day.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn runs_that_cannot_merge_summaries_are_full_and_say_why() {
    let dir = tempfile::tempdir().unwrap();
    let config = lake(dir.path(), 40, 20);
    let project = write_project(dir.path());
    let text = std::fs::read_to_string(&project).unwrap();
    std::fs::write(
        &project,
        format!("{text}incremental: {{lookback_days: 0}}\n"),
    )
    .unwrap();
    let session = ProjectSession::builder(&project).open().await.unwrap();
    let forced = RunOptions {
        full: true,
        ..RunOptions::default()
    };
    let summary = segmint_engine::run(&session, config.end, &[], forced)
        .await
        .unwrap();
    let used = summary.incremental.unwrap();
    assert_eq!(
        (used.mode.as_str(), used.reason.as_deref()),
        ("full", Some("--full"))
    );
    assert!(
        !dir.path().join("out/summaries").exists(),
        "--full writes no summaries"
    );

    let unpartitioned = text.replace("    partitioning: {date: date}\n", "");
    assert_ne!(unpartitioned, text);
    std::fs::write(&project, format!("{unpartitioned}incremental: {{}}\n")).unwrap();
    let session = ProjectSession::builder(&project).open().await.unwrap();
    let summary = segmint_engine::run(&session, config.end, &[], RunOptions::default())
        .await
        .unwrap();
    let used = summary.incremental.unwrap();
    assert_eq!(used.mode, "full");
    assert!(
        used.reason
            .as_deref()
            .is_some_and(|r| r.contains("not partitioned by date")),
        "{used:?}"
    );
}

/// A run of some segments merges from the project's summaries (no second summary table)
/// and gives the members of a full run of those segments.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_of_some_segments_shares_the_projects_summaries() {
    let dir = tempfile::tempdir().unwrap();
    let config = lake(dir.path(), 80, 40);
    let project = write_project(dir.path());
    let full = with_full_twin(&project);
    let yesterday = config.end - Duration::days(1);
    run(&project, yesterday, false).await;
    run(&full, yesterday, false).await;
    let some = [
        "fast_converters".to_string(),
        "engagement_cadence".to_string(),
    ];
    let session = ProjectSession::builder(&project).open().await.unwrap();
    let summary = segmint_engine::run(&session, config.end, &some, RunOptions::default())
        .await
        .unwrap();
    let used = summary.incremental.unwrap();
    assert_eq!(
        (used.mode.as_str(), used.days_summarised),
        ("incremental", 2),
        "{used:?}"
    );
    let tables = std::fs::read_dir(dir.path().join("out/summaries"))
        .unwrap()
        .count();
    assert_eq!(tables, 1, "one summary table for the project");
    let session = ProjectSession::builder(&full).open().await.unwrap();
    segmint_engine::run(&session, config.end, &some, RunOptions::default())
        .await
        .unwrap();
    assert_outputs_agree(dir.path(), config.end).await;
}

/// Two first runs at once both summarise every day (blind appends: no conflict); the next
/// run reads one file per day, summarises only its recent days, and equals a full run.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_first_runs_at_once_leave_summaries_the_next_run_uses() {
    let dir = tempfile::tempdir().unwrap();
    let config = lake(dir.path(), 60, 30);
    let project = write_project(dir.path());
    let full = with_full_twin(&project);
    let (day_before, yesterday) = (
        config.end - Duration::days(2),
        config.end - Duration::days(1),
    );
    let (a, b) = (
        ProjectSession::builder(&project).open().await.unwrap(),
        ProjectSession::builder(&project).open().await.unwrap(),
    );
    let (first, second) = tokio::join!(
        segmint_engine::run(&a, day_before, &[], RunOptions::default()),
        segmint_engine::run(&b, yesterday, &[], RunOptions::default()),
    );
    // Each either commits or loses a race on the summaries (exit 4), never anything else.
    for outcome in [first, second] {
        if let Err(e) = outcome {
            assert!(
                matches!(e, segmint_engine::EngineError::CommitConflict { .. }),
                "{e}"
            );
        }
    }
    let next = run(&project, config.end, false).await;
    let used = next.incremental.unwrap();
    assert_eq!(
        (used.mode.as_str(), used.days_summarised),
        ("incremental", 2),
        "{used:?}"
    );
    run(&full, yesterday, false).await;
    run(&full, config.end, false).await;
    assert_outputs_agree(dir.path(), config.end).await;
}

/// `gc` vacuums the summary tables too: the files of replaced days and blocks go, and the
/// next incremental run still reads what it needs and equals a full run.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gc_removes_replaced_summary_files_and_keeps_what_runs_read() {
    let dir = tempfile::tempdir().unwrap();
    let config = lake(dir.path(), 60, 40);
    let project = write_project(dir.path());
    let full = with_full_twin(&project);
    for back in [3, 2, 1] {
        run(&project, config.end - Duration::days(back), false).await;
    }
    let out = ProjectSession::builder(&project).open_output().unwrap();
    let report = out
        .gc(chrono::Duration::zero(), chrono::Utc::now())
        .await
        .unwrap();
    let summaries: Vec<&String> = report
        .removed_files
        .iter()
        .filter(|(table, _)| table.starts_with("summaries/"))
        .flat_map(|(_, files)| files)
        .collect();
    // Each daily run replaced the lookback day's file and the open chunk's prefix.
    assert!(summaries.iter().any(|f| f.contains("part-")), "{report:?}");
    let next = run(&project, config.end, false).await;
    assert_eq!(next.incremental.unwrap().days_summarised, 2);
    run(&full, config.end - Duration::days(1), false).await;
    run(&full, config.end, false).await;
    assert_outputs_agree(dir.path(), config.end).await;
}

/// A spec change starts a new summary set. `gc` keeps both while runs within its retention
/// read them, and deletes the old set whole once none does (never the newest run's set,
/// never files younger than the orphan floor); the next run merges from the set it kept.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gc_deletes_the_summary_set_a_spec_change_left_behind() {
    let dir = tempfile::tempdir().unwrap();
    let config = lake(dir.path(), 60, 40);
    let segments = dir.path().join("segments");
    std::fs::create_dir_all(&segments).unwrap();
    for entry in std::fs::read_dir(segmint_tests::segments_dir()).unwrap() {
        let path = entry.unwrap().path();
        std::fs::copy(&path, segments.join(path.file_name().unwrap())).unwrap();
    }
    let project = segmint_lakegen::demo::write_project(dir.path(), "segments").unwrap();
    let full = with_full_twin(&project);
    let set_of = |s: &RunSummary| s.incremental.as_ref().unwrap().summary_set.clone().unwrap();

    let old = set_of(&run(&project, config.end - Duration::days(2), false).await);
    // A new aggregate (a window alone does not change the set: parts are as-of free).
    let spenders = segments.join("big_spenders.yaml");
    let spec = std::fs::read_to_string(&spenders).unwrap();
    std::fs::write(&spenders, spec.replace("agg: sum", "agg: max")).unwrap();
    let new = set_of(&run(&project, config.end - Duration::days(1), false).await);
    assert_ne!(old, new, "a spec change names a new set");
    let folder = |set: &str| dir.path().join("out").join("summaries").join(set);
    assert!(folder(&old).join("_delta_log").exists());

    let out = ProjectSession::builder(&project).open_output().unwrap();
    let later = chrono::Utc::now() + Duration::hours(2);
    // Runs committed within the last week read both sets.
    let kept = out.gc(Duration::days(7), later).await.unwrap();
    assert!(kept.removed_tables.is_empty(), "{kept:?}");
    // No run needs the old set any more, but its files are younger than the orphan floor.
    let young = out.gc(Duration::zero(), chrono::Utc::now()).await.unwrap();
    assert!(young.removed_tables.is_empty(), "{young:?}");
    assert!(folder(&old).join("_delta_log").exists());
    // Past the floor, the old set goes whole; the newest run's set stays.
    let report = out.gc(Duration::zero(), later).await.unwrap();
    assert_eq!(report.removed_tables, vec![format!("summaries/{old}")]);
    let removed = &report.removed_files[&format!("summaries/{old}")];
    assert!(
        removed.iter().any(|f| f.starts_with("_delta_log/")),
        "{removed:?}"
    );
    assert!(
        removed.iter().any(|f| f.starts_with("part-")),
        "{removed:?}"
    );
    let left: Vec<_> = walk(&folder(&old));
    assert!(left.is_empty(), "files left of the deleted set: {left:?}");
    assert!(folder(&new).join("_delta_log").exists());

    let next = run(&project, config.end, false).await;
    let used = next.incremental.unwrap();
    assert_eq!(
        (used.mode.as_str(), used.days_summarised),
        ("incremental", 2)
    );
    run(&full, config.end - Duration::days(1), false).await;
    run(&full, config.end, false).await;
    assert_outputs_agree(dir.path(), config.end).await;
}

/// Every file below `dir` (none when it is missing).
fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    entries
        .flatten()
        .flat_map(|e| {
            let path = e.path();
            if path.is_dir() {
                walk(&path)
            } else {
                vec![path]
            }
        })
        .collect()
}

/// Under a memory limit the merge's branches run one at a time and spill: at a quarter, a
/// sixth, an eighth, … of an unbounded incremental run's peak, every run either commits
/// exactly the members of a full run or stops with the memory-limit error (exit 6) — and
/// some spill. (The merged rows are the probe side of the profiles join, never a hash
/// table that must fit whole: with them as the build side, 12,000 users needed 7.5 MB at
/// once and every limit up to a quarter of the peak failed.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn incremental_runs_under_a_memory_limit_spill_and_equal_full_runs() {
    let dir = tempfile::tempdir().unwrap();
    let config = LakeGenConfig {
        users: 6000,
        ..LakeGenConfig::default()
    };
    generate_lake(&dir.path().join("lake"), &config).unwrap();
    let project = write_project(dir.path());
    let full = with_full_twin(&project);
    let yesterday = config.end - Duration::days(1);
    run(&project, yesterday, false).await;
    run(&full, yesterday, false).await;
    run(&full, config.end, false).await;
    let expected = member_rows(&dir.path().join("out-full"), config.end).await;
    let free = run(&project, config.end, false).await;
    let peak = free.memory.peak_bytes.unwrap() as usize;

    let mut spilled = 0;
    for share in [4, 6, 8, 12, 16] {
        let limit = peak / share;
        let session = ProjectSession::builder(&project)
            .with_memory_limit(Some(limit))
            .open()
            .await
            .unwrap();
        match segmint_engine::run(&session, config.end, &[], RunOptions::default()).await {
            Ok(summary) => {
                assert_eq!(summary.incremental.unwrap().mode, "incremental");
                spilled += summary.memory.spills;
                let got = member_rows(&dir.path().join("out"), config.end).await;
                assert_eq!(got, expected, "members under a limit of {limit} bytes");
            }
            Err(e) => assert!(
                matches!(e, segmint_engine::EngineError::MemoryLimit { .. }),
                "{limit} bytes: {e}"
            ),
        }
    }
    assert!(spilled > 0, "no run spilled (peak {peak} bytes)");
}

/// A daily run whose lookback day cannot be read (its file replaced by bytes that are not
/// Parquet) fails with that object's name, although the merge of the settled days runs
/// beside the summarising, and commits nothing: no members of the as-of, no summary of it.
/// With the file back, the same run succeeds and equals a full run.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_daily_run_whose_new_day_cannot_be_read_names_it_and_commits_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let config = lake(dir.path(), 60, 40);
    let project = write_project(dir.path());
    let full = with_full_twin(&project);
    let text = std::fs::read_to_string(&project).unwrap();
    std::fs::write(
        &project,
        text.replace("incremental: {}", "incremental: {lookback_days: 1}"),
    )
    .unwrap();
    let (yesterday, today) = (config.end - Duration::days(1), config.end);
    run(&project, yesterday, false).await;

    let file = dir
        .path()
        .join(format!("lake/events/date={yesterday}/part-0.parquet"));
    let kept = std::fs::read(&file).unwrap();
    std::fs::write(&file, b"not parquet at all").unwrap();
    let session = ProjectSession::builder(&project).open().await.unwrap();
    let error = segmint_engine::run(&session, today, &[], RunOptions::default())
        .await
        .unwrap_err()
        .to_string();
    assert!(
        error.contains(&format!("date={yesterday}/part-0.parquet")),
        "{error}"
    );
    assert!(!error.contains("not summarised"), "{error}");
    let members = query(
        &dir.path().join("out/members"),
        None,
        &format!("SELECT count(*) AS n FROM t WHERE as_of = DATE '{today}'"),
    )
    .await;
    let counted = arrow::util::pretty::pretty_format_batches(&members)
        .unwrap()
        .to_string();
    assert!(counted.contains("| 0 "), "{counted}");
    let summaries = std::fs::read_dir(dir.path().join("out/summaries"))
        .unwrap()
        .map(|set| set.unwrap().path())
        .collect::<Vec<_>>();
    assert_eq!(summaries.len(), 1, "{summaries:?}");
    let log = walk(&summaries[0].join("_delta_log"))
        .into_iter()
        .map(|f| std::fs::read_to_string(f).unwrap_or_default())
        .collect::<String>();
    assert!(log.contains(&format!("part-{yesterday}-")), "{log}");
    assert!(!log.contains(&format!("part-{today}-")), "{log}");

    std::fs::write(&file, kept).unwrap();
    let summary = run(&project, today, false).await;
    assert_eq!(summary.incremental.unwrap().mode, "incremental");
    run(&full, yesterday, false).await;
    run(&full, today, false).await;
    assert_outputs_agree(dir.path(), today).await;
}
