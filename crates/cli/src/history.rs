//! `segmint diff` and `segmint gc`: reading and tidying committed history (the lake and the
//! segment files are not read).

use std::path::Path;

use segmint_engine::{EngineError, ProjectSession};

/// Print who entered (`+`) and exited (`-`) each segment, or one JSON document.
pub async fn diff(
    project: &Path,
    as_of: chrono::NaiveDate,
    segments: &[String],
    json: bool,
) -> Result<(), EngineError> {
    let out = ProjectSession::builder(project).open_output()?;
    let report = segmint_engine::history::diff(&out, as_of, segments).await?;
    if json {
        println!(
            "{}",
            serde_json::to_string(&report).map_err(EngineError::Json)?
        );
        return Ok(());
    }
    println!(
        "as-of {} vs {}",
        report.as_of,
        report
            .previous_as_of
            .as_deref()
            .unwrap_or("nothing (first run)")
    );
    for (name, d) in &report.segments {
        println!("{name}: +{} -{}", d.entered.len(), d.exited.len());
        for e in &d.entered {
            println!("+\t{name}\t{e}");
        }
        for e in &d.exited {
            println!("-\t{name}\t{e}");
        }
    }
    Ok(())
}

/// A retention such as `24h`, `7d` or `2w` (`0`: collect everything uncommitted now).
fn retention(text: &str) -> Result<chrono::Duration, EngineError> {
    if text.trim() == "0" {
        return Ok(chrono::Duration::zero());
    }
    let span = segmint_spec::window::parse_span(text)
        .map_err(|e| EngineError::Usage(format!("--retention {text}: {e}")))?;
    Ok(chrono::Duration::seconds(span.fixed_seconds()))
}

/// Remove uncommitted and superseded runs older than the retention.
pub async fn gc(project: &Path, keep: &str, json: bool) -> Result<(), EngineError> {
    let keep = retention(keep)?;
    let out = ProjectSession::builder(project).open_output()?;
    let report = out.gc(keep, chrono::Utc::now()).await?;
    if json {
        println!(
            "{}",
            serde_json::to_string(&report).map_err(EngineError::Json)?
        );
        return Ok(());
    }
    let mut total = 0;
    for (table, files) in &report.removed_files {
        for file in files {
            println!("removed {table}/{file}");
        }
        total += files.len();
    }
    for table in &report.removed_tables {
        println!("deleted {table}: a summary set no run needs any more");
    }
    println!("{total} file(s) removed");
    Ok(())
}
