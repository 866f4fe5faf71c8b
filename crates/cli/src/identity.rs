//! `segmint identity build | update | show | stats`, and the identity part of `demo`.

use std::path::Path;

use chrono::NaiveDate;
use segmint_engine::EngineError;
use segmint_engine::identity::IdentitySummary;

use crate::IdentityCommand;
use crate::cluster::Target;

/// Run one `identity` subcommand.
pub async fn identity(
    target: &Target,
    project: &Path,
    command: &IdentityCommand,
) -> Result<(), EngineError> {
    let session = target.open_identity(project).await?;
    match command {
        IdentityCommand::Build { as_of, json } => {
            let summary = session.build(*as_of).await?;
            print_summary(&summary, *json)
        }
        IdentityCommand::Update { as_of, json } => {
            let summary = session.update(*as_of).await?;
            print_summary(&summary, *json)
        }
        IdentityCommand::Stats { json } => {
            let state =
                segmint_engine::identity::load_state(&session.output, &session.identity).await?;
            let summary: IdentitySummary = serde_json::from_str(&state.summary)?;
            print_summary(&summary, *json)
        }
        IdentityCommand::Show { id, json } => {
            let state =
                segmint_engine::identity::load_state(&session.output, &session.identity).await?;
            let Some(person) = segmint_engine::identity::person(&state, id) else {
                return Err(EngineError::Usage(format!(
                    "no person or identifier `{id}` in the identity map"
                )));
            };
            if *json {
                println!("{}", serde_json::to_string_pretty(&person)?);
                return Ok(());
            }
            println!("person {}", person.person_id);
            for (t, v, first, last) in &person.identifiers {
                println!(
                    "  {t:<16} {v:<40} first {} last {}",
                    first.as_deref().unwrap_or("-"),
                    last.as_deref().unwrap_or("-")
                );
            }
            for d in &person.dropped_edges {
                println!("  not merged: {d}");
            }
            for m in &person.merged_from {
                println!("  merged {} into it on {}", m.merged, m.as_of);
            }
            Ok(())
        }
    }
}

fn print_summary(summary: &IdentitySummary, json: bool) -> Result<(), EngineError> {
    if json {
        println!("{}", serde_json::to_string_pretty(summary)?);
        return Ok(());
    }
    println!(
        "identity {} (events up to {}, table version {}): {} identifiers -> {} people, {} edges",
        summary.mode,
        summary.as_of,
        summary.version,
        summary.identifiers,
        summary.people,
        summary.edges
    );
    let by_type: Vec<String> = summary
        .identifiers_by_type
        .iter()
        .map(|(t, n)| format!("{t} {n}"))
        .collect();
    println!("  identifiers by type: {}", by_type.join(", "));
    let histogram: Vec<String> = summary
        .size_histogram
        .iter()
        .map(|(b, n)| format!("{b}: {n}"))
        .collect();
    println!("  people by identifiers: {}", histogram.join(", "));
    if summary.dropped_edges.is_empty() {
        println!("  dropped edges: none");
    } else {
        let dropped: Vec<String> = summary
            .dropped_edges
            .iter()
            .map(|(r, n)| format!("{r} {n}"))
            .collect();
        println!("  dropped edges: {}", dropped.join(", "));
    }
    let largest: Vec<String> = summary
        .largest
        .iter()
        .take(5)
        .map(|(p, n)| format!("{p} ({n})"))
        .collect();
    println!("  largest people: {}", largest.join(", "));
    if !summary.oversized.is_empty() {
        println!(
            "  oversized (allowed): {} people above max_person_size",
            summary.oversized.len()
        );
    }
    println!(
        "  merges recorded: {}, components: {}, contraction rounds: {}",
        summary.merges, summary.components, summary.rounds
    );
    println!(
        "  read {} ms, components {} ms, stitch {} ms, write {} ms",
        summary.read_ms, summary.components_ms, summary.stitch_ms, summary.write_ms
    );
    Ok(())
}

/// `demo --identities`: configure `identity:`, build the map, show raw ids against people.
pub async fn demo_identities(project: &Path, as_of: NaiveDate) -> Result<(), EngineError> {
    let text = std::fs::read_to_string(project)
        .map_err(|e| EngineError::output(project.display().to_string(), e))?;
    std::fs::write(
        project,
        format!("{text}{}", segmint_lakegen::demo::IDENTITY_YAML),
    )
    .map_err(|e| EngineError::output(project.display().to_string(), e))?;
    let session = segmint_engine::ProjectSession::builder(project)
        .open_identity()
        .await?;
    let summary = session.build(as_of).await?;
    print_summary(&summary, false)?;
    println!(
        "\n{} raw identifiers stitched into {} people",
        summary.identifiers, summary.people
    );
    Ok(())
}
