//! A run: compile the fused plan, execute it, compare with the previous committed as-of,
//! and commit the as-of to the output's Delta tables.

use std::collections::BTreeMap;
use std::time::Instant;

use std::collections::BTreeSet;

use chrono::NaiveDate;
use datafusion::arrow::array::RecordBatch;
use datafusion::prelude::DataFrame;
use segmint_compiler::{AsOf, Compiled, compile};
use serde::{Deserialize, Serialize};

use crate::error::{EngineError, Result};
use crate::failure::read_error;
use crate::incremental::{IncrementalUse, Merging};
use crate::members::members_of_all;
use crate::memory::MemoryUse;
use crate::output::members_table::{self, AsOfRows, OutputField};
use crate::output::{MEMBERS, OutputTables};
use crate::session::ProjectSession;

/// One segment's outcome.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SegmentSummary {
    pub size: u64,
    /// Members now that were not members at the previous committed as-of (null: no previous run).
    pub entered: Option<u64>,
    pub exited: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tiers: Option<BTreeMap<String, u64>>,
    /// Members in the holdout group (segments with `holdout:` only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub holdout: Option<u64>,
    pub spec_hash: String,
}

/// What `run` reports (`--json`, the members commit's `commitInfo`, the runs table).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RunSummary {
    pub status: String,
    pub as_of: String,
    pub run_id: String,
    pub previous_as_of: Option<String>,
    pub output: String,
    pub segments: BTreeMap<String, SegmentSummary>,
    pub timings_ms: BTreeMap<String, u64>,
    /// When the members commit was made (RFC 3339).
    pub committed_at: String,
    pub segmint_version: String,
    /// The `members` table version this run committed.
    #[serde(default)]
    pub table_version: Option<i64>,
    /// Memory the evaluation used: limit, peak, spills.
    #[serde(default)]
    pub memory: MemoryUse,
    /// How the aggregates were evaluated, for a project with `incremental:` (from daily
    /// summaries, or in full and why).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub incremental: Option<IncrementalUse>,
    /// The version of each fitted model and archetype set the run scored with (from the
    /// output's `models` table), so a result can be traced to its parameters.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub fits: BTreeMap<String, i64>,
}

/// Compile the selected segments (empty: all) for an as-of.
pub fn compile_for(
    session: &ProjectSession,
    as_of: NaiveDate,
    selected: &[String],
    explain_leaves: bool,
) -> Result<Compiled> {
    if let Some(built) = session.identity_as_of
        && as_of > built
    {
        // Identifiers first seen after the map was built have no person yet: their events
        // would silently be left out.
        return Err(EngineError::Usage(format!(
            "the identity map includes events up to {built} only: run `segmint identity update --as-of {as_of}` first"
        )));
    }
    let as_of = AsOf::new(as_of, &session.checked.project.timezone)?;
    let (lo, hi) = segmint_compiler::scan_range(&session.checked, &as_of);
    compile(
        &session.checked,
        selected,
        as_of,
        session.events.for_range(lo, hi)?,
        session.profiles.clone(),
        explain_leaves,
        &session.trained,
    )
    .map_err(|e| match e {
        segmint_compiler::CompileError::NotTrained(name) => EngineError::NotTrained {
            message: session.untrained.get(&name).cloned().unwrap_or_else(|| {
                format!("`{name}` has no fitted parameters for its current features")
            }),
            name,
        },
        other => other.into(),
    })
}

/// Execute a compiled plan. Read failures name the events location — or, when a Parquet
/// object is damaged, that object; a transient failure of the store (the server went
/// away) is a data error too: nothing is committed.
pub async fn execute(session: &ProjectSession, compiled: &Compiled) -> Result<Vec<RecordBatch>> {
    Ok(execute_metered(session, compiled).await?.0)
}

/// [`execute`], with the memory the evaluation used (the peak of the local pool, the
/// operators' spills).
pub async fn execute_metered(
    session: &ProjectSession,
    compiled: &Compiled,
) -> Result<(Vec<RecordBatch>, MemoryUse)> {
    if let Some(pool) = &session.memory {
        pool.reset_peak();
    }
    let limit = session
        .memory
        .as_ref()
        .and_then(|p| p.limit())
        .map(|l| l as u64);
    let failed = |e: datafusion::error::DataFusionError| async move {
        match e.find_root() {
            datafusion::error::DataFusionError::ResourcesExhausted(message) => {
                EngineError::MemoryLimit {
                    limit,
                    message: message.clone(),
                }
            }
            _ => read_error(&session.events_location, e).await,
        }
    };
    let outcome = if limit.is_some() {
        // Under a limit, in two steps: the grouped rows go to a temporary file, so the
        // aggregation's memory is free before the ranking windows sort (see `Staged`).
        execute_staged(session, &compiled.staged).await
    } else {
        collect_counting_spills(session, compiled.plan.clone()).await
    };
    let (batches, spills) = match outcome {
        Ok(done) => done,
        Err(e) => return Err(failed(e).await),
    };
    let (spills, spilled_bytes) = spills;
    let memory = MemoryUse {
        limit_bytes: limit,
        peak_bytes: session.memory.as_ref().map(|p| p.peak() as u64),
        spills,
        spilled_bytes,
    };
    Ok((batches, memory))
}

/// Execute `plan` (its entity aggregation in one stage): its batches.
pub(crate) async fn collect_plan(
    session: &ProjectSession,
    plan: datafusion::logical_expr::LogicalPlan,
) -> datafusion::error::Result<Vec<RecordBatch>> {
    Ok(collect_counting_spills(session, plan).await?.0)
}

/// Execute `plan`: its batches and its operators' (spills, spilled bytes).
pub(crate) async fn collect_counting_spills(
    session: &ProjectSession,
    plan: datafusion::logical_expr::LogicalPlan,
) -> datafusion::error::Result<(Vec<RecordBatch>, (u64, u64))> {
    let physical = crate::single_stage::run_plan(session, &plan).await?;
    let batches =
        datafusion::physical_plan::collect(physical.clone(), session.ctx.task_ctx()).await?;
    Ok(executed(physical.as_ref(), batches))
}

/// [`collect_counting_spills`] in one partition on a task of its own, for plans run beside
/// others (an incremental run's merge branches): one partition is polled by one task, and
/// the task is aborted when dropped (another branch failed).
pub(crate) async fn collect_alone_counting_spills(
    session: &ProjectSession,
    plan: datafusion::logical_expr::LogicalPlan,
) -> datafusion::error::Result<(Vec<RecordBatch>, (u64, u64))> {
    let physical = crate::single_stage::run_plan_alone(session, &plan).await?;
    let task = datafusion::common::runtime::SpawnedTask::spawn(datafusion::physical_plan::collect(
        physical.clone(),
        session.ctx.task_ctx(),
    ));
    let batches = task
        .join()
        .await
        .map_err(|e| datafusion::error::DataFusionError::External(Box::new(e)))??;
    Ok(executed(physical.as_ref(), batches))
}

/// The batches of an executed plan and its operators' (spills, spilled bytes); the plan
/// with its metrics in the debug log.
fn executed(
    physical: &dyn datafusion::physical_plan::ExecutionPlan,
    batches: Vec<RecordBatch>,
) -> (Vec<RecordBatch>, (u64, u64)) {
    tracing::debug!(
        "executed plan, with its metrics:\n{}",
        datafusion::physical_plan::display::DisplayableExecutionPlan::with_metrics(physical)
            .indent(true)
    );
    (batches, crate::memory::spills(physical))
}

/// A run in two steps (`segmint_compiler::Staged`): the grouped rows streamed to a Parquet
/// file in DataFusion's spill folder (removed when done, or failed), then the ranks and
/// segment columns computed from it.
async fn execute_staged(
    session: &ProjectSession,
    staged: &segmint_compiler::Staged,
) -> datafusion::error::Result<(Vec<RecordBatch>, (u64, u64))> {
    use datafusion::error::DataFusionError;
    let spill = session
        .ctx
        .runtime_env()
        .disk_manager
        .create_tmp_file("segmint grouped rows")?;
    let path = spill.path().ok_or_else(|| {
        DataFusionError::ResourcesExhausted("no spill folder for the grouped rows".into())
    })?;
    // Streamed batch by batch: the grouped rows are never all in memory.
    let physical = crate::single_stage::run_plan(session, &staged.grouped).await?;
    let mut stream =
        datafusion::physical_plan::execute_stream(physical.clone(), session.ctx.task_ctx())?;
    // Small row groups: the writer buffers one row group before writing it out.
    let properties = datafusion::parquet::file::properties::WriterProperties::builder()
        .set_max_row_group_row_count(Some(4096))
        .build();
    let mut writer = datafusion::parquet::arrow::ArrowWriter::try_new(
        std::fs::File::create(path)?,
        stream.schema(),
        Some(properties),
    )?;
    while let Some(batch) = futures::StreamExt::next(&mut stream).await {
        writer.write(&batch?)?;
    }
    writer.close()?;
    // Release what step one's operators still reserve (the profiles join's table).
    drop(stream);
    let (grouped_spills, grouped_bytes) = crate::memory::spills(physical.as_ref());
    let options = datafusion::prelude::ParquetReadOptions {
        file_extension: "",
        ..Default::default()
    };
    let table = session
        .ctx
        .read_parquet(path.display().to_string(), options)
        .await?
        .into_view();
    let finish = staged
        .finish(datafusion::datasource::provider_as_source(table))
        .map_err(|e| DataFusionError::External(Box::new(e)))?;
    let (batches, (c, b)) = collect_counting_spills(session, finish).await?;
    drop(spill);
    Ok((batches, (grouped_spills + c, grouped_bytes + b)))
}

/// Whether any event in `[lo, hi)` passes `filter` (reading as little as the pruning
/// allows).
pub(crate) async fn any_event(
    session: &ProjectSession,
    (lo, hi): (Option<i64>, i64),
    filter: datafusion::prelude::Expr,
) -> Result<bool> {
    let events = session.events.for_range(lo, hi)?;
    let plan = datafusion::logical_expr::LogicalPlanBuilder::scan("events", events, None)
        .and_then(|b| b.filter(filter))
        .and_then(|b| b.limit(0, Some(1)))
        .and_then(|b| b.build())
        .map_err(EngineError::Plan)?;
    match DataFrame::new(session.ctx.state(), plan).collect().await {
        Ok(batches) => Ok(batches.iter().any(|b| b.num_rows() > 0)),
        Err(e) => Err(read_error(&session.events_location, e).await),
    }
}

/// Fail when the as-of day has no event (its partition has not landed), or the whole scan
/// range has none: empty segments committed from missing data would look like real churn
/// downstream. `allow_empty_day` skips the first check.
async fn check_events_in_range(
    session: &ProjectSession,
    as_of: NaiveDate,
    allow_empty_day: bool,
) -> Result<()> {
    let clock = AsOf::new(as_of, &session.checked.project.timezone)?;
    let location = session.events_location.display.clone();
    let range = segmint_compiler::scan_range(&session.checked, &clock);
    let day_range = (clock.day_start_us(as_of), clock.end_us);
    // The usual case first, reading one day: an event of the as-of day that the scan reads
    // passes both checks (planning the whole range gathers every file's footer).
    if let (Some(day_lo), (lo, hi)) = (day_range.0, range)
        && lo.is_none_or(|lo| lo <= day_lo)
        && any_event(
            session,
            (Some(day_lo), hi),
            segmint_compiler::time_range_filter(&session.checked, day_lo, hi),
        )
        .await?
    {
        return Ok(());
    }
    if !allow_empty_day
        && let Some(day) = segmint_compiler::as_of_day_filter(&session.checked, &clock)
        && !any_event(session, day_range, day).await?
    {
        return Err(EngineError::EmptyDay {
            object: location,
            day: as_of,
        });
    }
    let (lo, _) = range;
    if !any_event(
        session,
        range,
        segmint_compiler::scan_filter(&session.checked, &clock),
    )
    .await?
    {
        let from = lo.map_or("the beginning".to_string(), |lo| {
            chrono::DateTime::from_timestamp_micros(lo)
                .map(|t| t.to_rfc3339())
                .unwrap_or_default()
        });
        return Err(EngineError::EmptyRange {
            object: location,
            from,
            day: as_of,
        });
    }
    Ok(())
}

/// Options of one run.
#[derive(Debug, Clone, Copy, Default)]
pub struct RunOptions {
    /// Refuse to commit ([`EngineError::SizeGuard`]) when a segment's size moves by more
    /// than this many percent since the previous committed as-of.
    pub max_change_pct: Option<f64>,
    /// Run even when the as-of day itself has no event.
    pub allow_empty_day: bool,
    /// Evaluate from every event of the windows even when the project has `incremental:`.
    pub full: bool,
}

/// Run the selected segments (empty: all) for an as-of and commit the result: the as-of's
/// rows of those segments in the members table are replaced in one commit.
pub async fn run(
    session: &ProjectSession,
    as_of: NaiveDate,
    selected: &[String],
    options: RunOptions,
) -> Result<RunSummary> {
    let run_id = format!(
        "{}-{}",
        chrono::Utc::now().format("%Y%m%dT%H%M%SZ"),
        &uuid::Uuid::new_v4().simple().to_string()[..8]
    );
    let mut timings = BTreeMap::new();

    let t = Instant::now();
    let compiled = compile_for(session, as_of, selected, false)?;
    timings.insert("plan".to_string(), t.elapsed().as_millis() as u64);
    let t = Instant::now();
    let evaluation = async {
        check_events_in_range(session, as_of, options.allow_empty_day).await?;
        let (evaluated, incremental, merging) =
            incremental_plan(session, &compiled, as_of, selected, options).await?;
        if incremental.is_some() {
            let summarising = t.elapsed().saturating_sub(merging.time);
            timings.insert("summarise".to_string(), summarising.as_millis() as u64);
            timings.insert("merge".to_string(), merging.time.as_millis() as u64);
        }
        let (batches, mut memory) =
            execute_metered(session, evaluated.as_ref().unwrap_or(&compiled)).await?;
        merging.add_to(&mut memory);
        Ok::<_, EngineError>((batches, memory, incremental))
    };
    // What the commit compares with is read while the segments evaluate: it does not depend
    // on them, and the reads wait on storage more than they compute.
    let segments: BTreeSet<String> = compiled.segments.iter().map(|s| s.name.clone()).collect();
    let (evaluation, before) =
        futures::join!(evaluation, Before::read(&session.output, as_of, &segments));
    let (batches, memory, incremental) = evaluation?;
    let before = before?;
    timings.insert("execute".to_string(), t.elapsed().as_millis() as u64);

    let t = Instant::now();
    commit(
        session,
        Evaluated {
            as_of,
            run_id: &run_id,
            compiled: &compiled,
            batches: &batches,
            subset: !selected.is_empty(),
            memory,
            incremental,
        },
        before,
        timings,
        t,
        options,
    )
    .await
}

/// What a run's commit compares with: the members table as loaded (the commit reads the
/// same version), the previous committed as-of, the segments committed then and the
/// members of the run's segments then.
struct Before {
    table: Option<deltalake_core::DeltaTable>,
    previous: Option<NaiveDate>,
    segments: BTreeSet<String>,
    members: BTreeMap<String, Vec<datafusion::arrow::array::StringArray>>,
}

impl Before {
    /// Read once: the history, the previous members and the commit use one table version.
    async fn read(
        out: &OutputTables,
        as_of: NaiveDate,
        segments: &BTreeSet<String>,
    ) -> Result<Self> {
        let started = Instant::now();
        let table = out.members_table().await?;
        let history = out.history_of(table.as_ref()).await?;
        tracing::debug!(elapsed = ?started.elapsed(), "history read");
        let previous = history.previous(as_of);
        let committed: BTreeSet<String> = previous
            .map(|p| history.segments_at(p).into_keys().collect())
            .unwrap_or_default();
        let compared: BTreeSet<String> = segments.intersection(&committed).cloned().collect();
        let members = match previous {
            Some(p) if !compared.is_empty() => {
                out.member_entities_in(table.as_ref(), p, Some(&compared))
                    .await?
            }
            _ => BTreeMap::new(),
        };
        tracing::debug!(elapsed = ?started.elapsed(), "previous members read");
        Ok(Self {
            table,
            previous,
            segments: committed,
            members,
        })
    }
}

/// An evaluated as-of, ready to commit.
struct Evaluated<'a> {
    as_of: NaiveDate,
    run_id: &'a str,
    compiled: &'a Compiled,
    batches: &'a [RecordBatch],
    /// Only some segments were selected: replace just theirs.
    subset: bool,
    memory: MemoryUse,
    incremental: Option<IncrementalUse>,
}

/// With `incremental:` in the project, the run's plan merged from daily summaries (`None`:
/// a full run, with the reason in the returned use), and what merging took.
async fn incremental_plan(
    session: &ProjectSession,
    compiled: &Compiled,
    as_of: NaiveDate,
    selected: &[String],
    options: RunOptions,
) -> Result<(Option<Compiled>, Option<IncrementalUse>, Merging)> {
    let full = |reason: &str| Ok((None, Some(IncrementalUse::full(reason)), Merging::default()));
    let Some(incremental) = session.checked.project.incremental else {
        return Ok((None, None, Merging::default()));
    };
    if options.full {
        return full("--full");
    }
    if session.checked.project.identity.is_some() {
        return full(crate::incremental::IDENTITY_IS_FULL);
    }
    let Some(tomorrow) = as_of.succ_opt() else {
        return full("the as-of is the last day");
    };
    let next = compile_for(session, tomorrow, selected, false)?;
    let project = if selected.is_empty() {
        None
    } else {
        Some((
            compile_for(session, as_of, &[], false)?,
            compile_for(session, tomorrow, &[], false)?,
        ))
    };
    match crate::incremental::prepare(
        session,
        (compiled, &next),
        project.as_ref().map(|(now, later)| (now, later)),
        as_of,
        incremental.lookback_days,
    )
    .await?
    {
        Ok(prepared) => Ok((
            Some(prepared.compiled),
            Some(prepared.used),
            prepared.merging,
        )),
        Err(reason) => full(&reason),
    }
}

/// The output columns of a compiled run, with the types the plan gives them.
fn output_fields(compiled: &Compiled) -> Vec<OutputField> {
    compiled
        .outputs
        .iter()
        .map(|o| OutputField {
            segment: o.segment.clone(),
            output: o.name.clone(),
            data_type: compiled
                .plan
                .schema()
                .field_with_unqualified_name(&o.column)
                .map(|f| f.data_type().clone())
                .unwrap_or(datafusion::arrow::datatypes::DataType::Null),
        })
        .collect()
}

async fn commit(
    session: &ProjectSession,
    run: Evaluated<'_>,
    before: Before,
    mut timings: BTreeMap<String, u64>,
    started: Instant,
    options: RunOptions,
) -> Result<RunSummary> {
    let out: &OutputTables = &session.output;
    let Before {
        table: members_table,
        previous,
        segments: before,
        members: previous_members,
    } = before;
    let members = members_of_all(&session.checked, run.compiled, run.batches, run.as_of)?;
    let evaluated: BTreeSet<String> = members
        .iter()
        .map(|m| m.segment.name.clone())
        .filter(|name| before.contains(name))
        .collect();
    let mut segments = BTreeMap::new();
    let mut previous_sizes = BTreeMap::new();
    // Entered and exited of every segment with a previous run, the segments side by side.
    let changes = crate::on_cores::map_on_cores(
        &members,
        |m| {
            let name = &m.segment.name;
            evaluated
                .contains(name)
                .then(|| m.change_since(previous_members.get(name).map_or(&[][..], Vec::as_slice)))
        },
        || {
            Some(Err(EngineError::Internal(
                "counting entered and exited members panicked".into(),
            )))
        },
    );
    for (m, change) in members.iter().zip(changes) {
        let name = &m.segment.name;
        let (entered, exited) = match change {
            Some(change) => {
                let change = change?;
                previous_sizes.insert(name.clone(), change.previous_size);
                (Some(change.entered), Some(change.exited))
            }
            None => (None, None),
        };
        let spec_hash = session
            .checked
            .segment(name)
            .map(|s| s.spec_hash.clone())
            .unwrap_or_default();
        segments.insert(
            name.clone(),
            SegmentSummary {
                size: m.size(),
                entered,
                exited,
                tiers: m.tier_counts()?,
                holdout: m.held_out()?,
                spec_hash,
            },
        );
    }
    if let Some(limit) = options.max_change_pct {
        let changes = guard(&segments, &previous_sizes, limit);
        if !changes.is_empty() {
            return Err(EngineError::SizeGuard {
                as_of: run.as_of,
                limit_pct: limit,
                changes,
            });
        }
    }
    let object = out.describe(MEMBERS);
    let table = out
        .members_for_write_from(members_table, &output_fields(run.compiled))
        .await?;
    timings.insert("write".to_string(), started.elapsed().as_millis() as u64);
    let mut summary = RunSummary {
        status: "ok".to_string(),
        as_of: run.as_of.to_string(),
        run_id: run.run_id.to_string(),
        previous_as_of: previous.map(|p| p.to_string()),
        output: out.location.display.clone(),
        segments,
        timings_ms: timings,
        committed_at: chrono::Utc::now().to_rfc3339(),
        segmint_version: env!("CARGO_PKG_VERSION").to_string(),
        table_version: None,
        memory: run.memory.clone(),
        incremental: run.incremental.clone(),
        fits: session.trained.versions.clone(),
    };
    let only: Vec<String> = members.iter().map(|m| m.segment.name.clone()).collect();
    let rows = AsOfRows {
        as_of: run.as_of,
        run_id: run.run_id,
        members: &members,
        only: run.subset.then_some(only.as_slice()),
        summary: serde_json::to_value(&summary)?,
    };
    let version = members_table::replace_as_of(&table, rows, &object).await?;
    tracing::debug!(elapsed = ?started.elapsed(), version, "members committed");
    summary.table_version = Some(version);
    // The members commit is the commit point; a runs row that fails to land now is added
    // by the next command that reads the history (it is in the commit).
    if let Err(e) = out.append_runs(std::slice::from_ref(&summary)).await {
        tracing::warn!(error = %e, "the run is committed; its runs row will be added later");
    }
    Ok(summary)
}

/// The size-change guard: the segments that moved more than `limit` percent.
fn guard(
    segments: &BTreeMap<String, SegmentSummary>,
    previous: &BTreeMap<String, u64>,
    limit: f64,
) -> Vec<String> {
    segments
        .iter()
        .filter_map(|(name, s)| {
            let before = *previous.get(name)?;
            let change = (s.size as f64 - before as f64).abs() / (before.max(1) as f64) * 100.0;
            (change > limit)
                .then(|| format!("{name}: {before} → {} ({change:.1}% > {limit}%)", s.size))
        })
        .collect()
}
