//! `segmint sync` and `segmint impact`: acting on segments and measuring the effect.

use std::path::Path;

use segmint_engine::impact::{ImpactReport, ImpactRequest, stats::Interval};
use segmint_engine::{EngineError, ProjectSession};

/// `sync`: deliver changes; a table of deliveries, or one JSON line.
pub async fn sync(
    project: &Path,
    as_of: chrono::NaiveDate,
    destination: Option<&str>,
    json: bool,
) -> Result<(), EngineError> {
    let (checked, output) = ProjectSession::builder(project).open_offline()?;
    if checked.project.destinations.is_empty() {
        if json {
            println!(
                "{}",
                serde_json::json!({"status": "ok", "as_of": as_of.to_string(), "deliveries": []})
            );
        } else {
            println!("no destinations in {}: nothing to sync", project.display());
        }
        return Ok(());
    }
    let report = segmint_engine::activation::sync(&checked, &output, as_of, destination).await?;
    if json {
        println!(
            "{}",
            serde_json::to_string(&report).map_err(EngineError::Json)?
        );
        return Ok(());
    }
    println!(
        "{:<20} {:<32} {:>9} {:>9} {:>9}  since",
        "destination", "segment", "entered", "exited", "requests"
    );
    for d in &report.deliveries {
        println!(
            "{:<20} {:<32} {:>9} {:>9} {:>9}  {}",
            d.destination,
            d.segment,
            d.entered,
            d.exited,
            d.requests,
            d.skipped
                .as_deref()
                .unwrap_or_else(|| d.previous_as_of.as_deref().unwrap_or("(first delivery)"))
        );
    }
    Ok(())
}

/// The goal as a `performed` leaf: `{event: purchase}` is taken as
/// `performed: {event: purchase}`.
pub fn goal_yaml(goal: &str) -> String {
    let trimmed = goal.trim();
    if trimmed.starts_with("performed") {
        trimmed.to_string()
    } else {
        format!("performed: {trimmed}")
    }
}

/// `impact`: the comparison as a table, or one JSON line.
pub async fn impact(
    project: &Path,
    request: &ImpactRequest,
    save: bool,
    json: bool,
) -> Result<(), EngineError> {
    let session = ProjectSession::builder(project).open().await?;
    let report = segmint_engine::impact::impact(&session, request).await?;
    if save {
        segmint_engine::impact::saved::save(&session.output, &report).await?;
    }
    if json {
        println!(
            "{}",
            serde_json::to_string(&report).map_err(EngineError::Json)?
        );
    } else {
        print_impact(&report);
    }
    Ok(())
}

/// A p-value with four decimals, or `< 0.0001`.
fn p_value(p: f64) -> String {
    if p < 0.0001 {
        "< 0.0001".into()
    } else {
        format!("{p:.4}")
    }
}

/// `p = 0.1234` or `p < 0.0001`.
fn p_equals(p: f64) -> String {
    let text = p_value(p);
    if text.starts_with('<') {
        format!("p {text}")
    } else {
        format!("p = {text}")
    }
}

fn pct(x: f64) -> String {
    format!("{:.2}%", 100.0 * x)
}

fn pct_interval(i: &Interval) -> String {
    format!(
        "{:+.2} pp  [{:+.2}, {:+.2}]",
        100.0 * i.estimate,
        100.0 * i.low,
        100.0 * i.high
    )
}

fn print_impact(report: &ImpactReport) {
    println!(
        "segment {} (holdout {}), goal within {} days: {}",
        report.segment,
        pct(report.holdout_share),
        report.days,
        report.goal
    );
    println!(
        "entries as of {} .. {} ({} as-ofs); {} entrants still in their window",
        report.entry_days.first().map_or("-", String::as_str),
        report.entry_days.last().map_or("-", String::as_str),
        report.entry_days.len(),
        report.pending
    );
    let Some(c) = &report.conversion else {
        println!(
            "no comparison: {}",
            report.note.as_deref().unwrap_or("no entrants")
        );
        return;
    };
    println!();
    println!(
        "{:<10} {:>10} {:>10} {:>9}",
        "group", "entrants", "converted", "rate"
    );
    for (name, g) in [("treated", &c.treated), ("holdout", &c.holdout)] {
        println!(
            "{:<10} {:>10} {:>10} {:>9}",
            name,
            g.entrants,
            g.converted,
            pct(g.rate)
        );
    }
    println!();
    println!(
        "absolute lift       {}   (95% CI)",
        pct_interval(&c.absolute_lift)
    );
    match &c.relative_lift {
        Some(r) => println!(
            "relative lift       {:+.1}%  [{:+.1}%, {:+.1}%]",
            100.0 * r.estimate,
            100.0 * r.low,
            100.0 * r.high
        ),
        None => println!("relative lift       n/a (a group has no conversion)"),
    }
    println!("p-value             {}", p_value(c.p_value));
    match c.mde_absolute {
        Some(mde) => println!(
            "detectable (80%)    {:.2} pp{}",
            100.0 * mde,
            c.mde_relative
                .map(|r| format!(" ({:.1}% of the holdout rate)", 100.0 * r))
                .unwrap_or_default()
        ),
        None => println!("detectable (80%)    n/a (no variation: no one or everyone converted)"),
    }
    if let (Some(column), Some(v)) = (&report.value_column, &report.value) {
        println!();
        println!(
            "{column} per entrant: treated {:.4}, holdout {:.4}, difference {:+.4} [{:+.4}, {:+.4}], {}",
            v.mean_treated,
            v.mean_holdout,
            v.difference.estimate,
            v.difference.low,
            v.difference.high,
            p_equals(v.p_value)
        );
    }
}
