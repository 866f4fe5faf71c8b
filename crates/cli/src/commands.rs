//! The subcommands: each returns the process exit code.

use std::path::Path;

use datafusion::arrow::util::pretty::pretty_format_batches;
use datafusion::physical_plan::displayable;
use segmint_engine::{EngineError, Preview, ProjectSession, RunOptions, RunSummary};
use segmint_lakegen::{LakeGenConfig, generate_lake};

use crate::cluster::{self, Target};
use crate::exit::report;
use crate::{Cli, Command, Emit, LogFormat, activation, fit, history, progress, report, sql};

/// Logs go to stderr, as text or JSON; `RUST_LOG` sets the level (default `warn`).
pub fn init_logging(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = match format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().try_init(),
    };
}

/// Run the chosen command.
pub async fn dispatch(cli: &Cli) -> u8 {
    let target = Target {
        cluster: cli.cluster.clone(),
        settings: cli.cluster_config.clone(),
        memory_limit: cli.memory_limit,
    };
    let target = &target;
    let result = match &cli.command {
        Command::Validate { offline } => validate(&cli.project, *offline, target).await,
        Command::Compile {
            as_of,
            segments,
            emit,
        } => compile(target, &cli.project, *as_of, segments, *emit).await,
        Command::Run {
            as_of,
            from,
            to,
            segments,
            max_change,
            allow_empty_day,
            full,
            json,
        } => {
            let options = RunOptions {
                max_change_pct: *max_change,
                allow_empty_day: *allow_empty_day,
                full: *full,
            };
            match (as_of, from, to) {
                (Some(day), _, _) => {
                    run(target, &cli.project, *day, segments, options, *json).await
                }
                (None, Some(from), Some(to)) => {
                    return backfill(
                        target,
                        &cli.project,
                        (*from, *to),
                        segments,
                        options,
                        *json,
                        cli,
                    )
                    .await;
                }
                _ => Err(EngineError::Usage(
                    "give --as-of, or --from and --to".into(),
                )),
            }
        }
        Command::Diff {
            as_of,
            segments,
            json,
        } => history::diff(&cli.project, *as_of, segments, *json).await,
        Command::Gc { retention, json } => history::gc(&cli.project, retention, *json).await,
        Command::Sync {
            as_of,
            destination,
            json,
        } => activation::sync(&cli.project, *as_of, destination.as_deref(), *json).await,
        Command::Impact {
            segment,
            goal,
            days,
            value,
            from,
            to,
            save,
            json,
        } => {
            let request = segmint_engine::impact::ImpactRequest {
                segment: segment.clone(),
                goal: activation::goal_yaml(goal),
                days: *days,
                value: value.clone(),
                from: *from,
                to: *to,
            };
            activation::impact(&cli.project, &request, *save, *json).await
        }
        Command::Train { model, as_of, json } => {
            fit::train(&cli.project, model, *as_of, *json).await
        }
        Command::Archetypes { action } => fit::archetypes(&cli.project, action).await,
        Command::Report {
            out,
            from,
            to,
            segments,
            overlap_on,
        } => {
            let options = segmint_report::ReportOptions {
                from: *from,
                to: *to,
                segments: segments.clone(),
                overlap_on: *overlap_on,
            };
            report::write(&cli.project, &options, out).await
        }
        Command::Preview {
            segment,
            as_of,
            limit,
        } => preview(target, &cli.project, segment, *as_of, *limit).await,
        Command::GenerateLake {
            out,
            users,
            days,
            end,
            seed,
            format,
            campaign_lift,
            identities,
        } => {
            let config = LakeGenConfig {
                users: *users,
                days: *days,
                end: *end,
                seed: *seed,
                campaign: campaign_lift
                    .map(|lift| segmint_lakegen::campaign::Campaign::two_weeks_before(*end, lift)),
                identities: *identities,
            };
            match generate(out, &config) {
                Ok(()) if *format == crate::LakeFormat::Delta => to_delta(out).await,
                other => other,
            }
        }
        Command::Demo {
            dir,
            users,
            identities,
        } => demo(dir, *users, *identities).await,
        Command::Identity { command } => {
            crate::identity::identity(target, &cli.project, command).await
        }
        Command::Sql {
            query,
            file,
            format,
        } => {
            sql::sql(
                target,
                &cli.project,
                query.as_deref(),
                file.as_deref(),
                *format,
            )
            .await
        }
        Command::Scheduler {
            bind,
            executor_timeout_seconds,
        } => cluster::scheduler(bind, *executor_timeout_seconds).await,
        Command::Executor {
            scheduler,
            bind,
            advertise_host,
            concurrent_tasks,
            work_dir,
        } => {
            cluster::executor(
                scheduler,
                bind,
                advertise_host.as_deref(),
                *concurrent_tasks,
                work_dir.as_deref(),
            )
            .await
        }
    };
    match result {
        Ok(()) => 0,
        Err(e) => report(e, cli.error_format),
    }
}

async fn validate(project: &Path, offline: bool, target: &Target) -> Result<(), EngineError> {
    let checked = if offline {
        ProjectSession::builder(project).check_offline()?
    } else {
        target.open(project).await?.checked
    };
    println!(
        "ok: {} segment(s) valid{}",
        checked.segments.len(),
        if offline {
            " (offline: columns not checked)"
        } else {
            ""
        }
    );
    Ok(())
}

async fn compile(
    target: &Target,
    project: &Path,
    as_of: chrono::NaiveDate,
    segments: &[String],
    emit: Emit,
) -> Result<(), EngineError> {
    let session = target.open(project).await?;
    let compiled = segmint_engine::compile_for(&session, as_of, segments, false)?;
    let state = session.ctx.state();
    match emit {
        Emit::Logical => {
            let plan = state.optimize(&compiled.plan).map_err(EngineError::Plan)?;
            println!("{}", plan.display_indent());
        }
        Emit::Physical => {
            let plan = segmint_engine::single_stage::run_plan(&session, &compiled.plan)
                .await
                .map_err(EngineError::Plan)?;
            println!("{}", displayable(plan.as_ref()).indent(true));
        }
        Emit::Analyze => {
            let plan = segmint_engine::single_stage::run_plan(&session, &compiled.plan)
                .await
                .map_err(EngineError::Plan)?;
            datafusion::physical_plan::collect(plan.clone(), session.ctx.task_ctx())
                .await
                .map_err(|e| EngineError::Data {
                    object: session.events_location.display.clone(),
                    message: e.to_string(),
                })?;
            println!(
                "{}",
                datafusion::physical_plan::display::DisplayableExecutionPlan::with_metrics(
                    plan.as_ref()
                )
                .indent(true)
            );
        }
        Emit::Sql => {
            // DataFusion 55's unparser drops the GROUP BY below the profiles join of a fused
            // plan; printing SQL that computes something else would mislead reviewers.
            return Err(EngineError::Usage(
                "`--emit sql` cannot render fused plans correctly yet (DataFusion's unparser \
                 drops the aggregate); use `--emit logical` or `--emit physical`"
                    .into(),
            ));
        }
    }
    Ok(())
}

fn print_summary(summary: &RunSummary) {
    println!(
        "{:<32} {:>9} {:>9} {:>9}  tiers",
        "segment", "size", "entered", "exited"
    );
    for (name, s) in &summary.segments {
        let opt = |v: Option<u64>| v.map_or("-".to_string(), |v| v.to_string());
        let tiers = s
            .tiers
            .as_ref()
            .map(|t| {
                t.iter()
                    .map(|(k, v)| format!("{k}={v}"))
                    .collect::<Vec<_>>()
                    .join(" ")
            })
            .unwrap_or_default();
        println!(
            "{name:<32} {:>9} {:>9} {:>9}  {tiers}",
            s.size,
            opt(s.entered),
            opt(s.exited)
        );
    }
    println!(
        "as-of {} committed as run {} (members table version {}) under {}",
        summary.as_of,
        summary.run_id,
        summary
            .table_version
            .map_or_else(|| "?".to_string(), |v| v.to_string()),
        summary.output
    );
}

async fn run(
    target: &Target,
    project: &Path,
    as_of: chrono::NaiveDate,
    segments: &[String],
    options: RunOptions,
    json: bool,
) -> Result<(), EngineError> {
    let progress = progress::Progress::start(&format!("as-of {as_of}: opening the project"));
    let session = target.open(project).await?;
    progress.say(&format!("as-of {as_of}: evaluating"));
    let summary = segmint_engine::run(&session, as_of, segments, options).await;
    progress.finish();
    let summary = summary?;
    if json {
        println!(
            "{}",
            serde_json::to_string(&summary).map_err(EngineError::Json)?
        );
    } else {
        print_summary(&summary);
    }
    Ok(())
}

async fn preview(
    target: &Target,
    project: &Path,
    segment: &str,
    as_of: chrono::NaiveDate,
    limit: usize,
) -> Result<(), EngineError> {
    let session = target.open(project).await?;
    let preview = segmint_engine::preview(&session, segment, as_of, limit).await?;
    print_preview(&preview)
}

fn print_preview(preview: &Preview) -> Result<(), EngineError> {
    let segment = &preview.segment;
    println!(
        "segment {segment}: {} member(s) at as-of {}",
        preview.size, preview.as_of
    );
    println!("{}", preview.description);
    match &preview.committed {
        Some(c) => println!("committed: {} member(s) in run {}\n", c.size, c.run_id),
        None => println!("committed: not yet (no committed run of this as-of has the segment)\n"),
    }
    println!("leaves:");
    for l in &preview.leaves {
        if &l.segment == segment {
            println!("  {:<8} {}", l.column, l.label);
        } else {
            println!(
                "  {:<8} {}   (via in_segment: {})",
                l.column, l.label, l.segment
            );
        }
    }
    if let Some(sample) = &preview.sample {
        let table = pretty_format_batches(std::slice::from_ref(sample))?;
        println!("\n{table}");
        if !preview.identifiers.is_empty() {
            println!("\nidentifiers of these people:");
            for (person, ids) in &preview.identifiers {
                println!("  {person}: {}", ids.join(", "));
            }
        }
    }
    Ok(())
}

/// `run --from --to`: the exit code; with `--json`, one line whether it worked or not.
async fn backfill(
    target: &Target,
    project: &Path,
    (from, to): (chrono::NaiveDate, chrono::NaiveDate),
    segments: &[String],
    options: RunOptions,
    json: bool,
    cli: &Cli,
) -> u8 {
    let session = match target.open(project).await {
        Ok(s) => s,
        Err(e) => return report(e, cli.error_format),
    };
    let progress = progress::Progress::start(&format!("backfill {from}..{to}"));
    let result = segmint_engine::history::backfill(&session, from, to, segments, options, |day| {
        progress.say(&format!("backfill {from}..{to}: as-of {day}"));
    })
    .await;
    progress.finish();
    let (report_json, error) = match result {
        Ok(r) => (r, None),
        Err((e, r)) => (r, Some(e)),
    };
    if json {
        let mut value = serde_json::to_value(&report_json).unwrap_or_default();
        if let Some(e) = &error {
            value["error"] = serde_json::json!(crate::exit::message(e));
            value["exit_code"] = serde_json::json!(crate::exit::exit_code(e));
        }
        println!("{value}");
    } else {
        for day in &report_json.skipped {
            println!("as-of {day}: already committed, skipped");
        }
        for summary in &report_json.runs {
            println!(
                "as-of {} committed as run {}",
                summary.as_of, summary.run_id
            );
        }
    }
    match error {
        Some(e) => report(e, cli.error_format),
        None => 0,
    }
}

fn generate(out: &Path, config: &LakeGenConfig) -> Result<(), EngineError> {
    let report = generate_lake(out, config)
        .map_err(|e| EngineError::output(out.display().to_string(), e))?;
    println!(
        "wrote {} events of {} users in {} files ({} bytes) under {}",
        report.events,
        report.users,
        report.files,
        report.bytes,
        out.display()
    );
    Ok(())
}

/// Make a generated lake's `events/` and `profiles/` Delta tables.
async fn to_delta(lake: &Path) -> Result<(), EngineError> {
    segmint_engine::delta_lake::convert_folder(&lake.join("events"), true).await?;
    segmint_engine::delta_lake::convert_folder(&lake.join("profiles"), false).await?;
    println!(
        "made {0}/events and {0}/profiles Delta tables",
        lake.display()
    );
    Ok(())
}

async fn demo(dir: &Path, users: usize, identities: bool) -> Result<(), EngineError> {
    let project = segmint_lakegen::demo::write_demo_project(dir)
        .map_err(|e| EngineError::output(dir.display().to_string(), e))?;
    let config = LakeGenConfig {
        users,
        identities,
        ..LakeGenConfig::default()
    };
    generate(&dir.join("lake"), &config)?;
    if identities {
        crate::identity::demo_identities(&project, config.end).await?;
    }
    let forward = crate::fit::demo_models(&project, config.end).await?;
    if forward {
        let (name, text) = segmint_lakegen::demo::FORWARD_SEGMENT;
        std::fs::write(dir.join("segments").join(name), text)
            .map_err(|e| EngineError::output(dir.display().to_string(), e))?;
    }
    let session = ProjectSession::builder(&project).open().await?;
    let summary = segmint_engine::run(&session, config.end, &[], RunOptions::default()).await?;
    println!();
    print_summary(&summary);
    println!(
        "\nnext: segmint -p {} preview {} --as-of {}",
        project.display(),
        if forward {
            "likely_buyers"
        } else {
            "heavy_users"
        },
        config.end
    );
    Ok(())
}
