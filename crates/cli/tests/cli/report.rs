//! `segmint report` opened in a real headless Chromium (Debian's, over WebDriver): every
//! chart renders, a segment's size-over-time series equals the runs table, the page makes
//! no network request; a screenshot is saved under `target/`. And bad input.

use std::path::Path;

use segmint_tests::browser::Browser;
use segmint_tests::delta_reader::{blocking, runs};
use serde_json::json;

use crate::exit_codes::segmint;

/// The shipped library plus `campaign_targets` (holdout 20%) on a 1,500-user lake with a
/// planted campaign; 14 daily runs 2026-11-08 .. 2026-11-21; one saved impact result; the
/// shipped model trained and archetypes fitted as of 2026-11-21. The training report (JSON).
fn project_with_history(d: &Path) -> serde_json::Value {
    crate::succeeded(&segmint(
        d,
        &[
            "generate-lake",
            "--out",
            "lake",
            "--users",
            "1500",
            "--days",
            "60",
            "--campaign-lift",
            "0.1",
        ],
    ));
    segmint_lakegen::demo::write_demo_project(d).unwrap();
    std::fs::write(
        d.join("segments/campaign_targets.yaml"),
        "segment: campaign_targets\nholdout: 20%\nwhere:\n  performed: {event: campaign_eligible, within: 1d}\n",
    )
    .unwrap();
    crate::succeeded(&segmint(
        d,
        &[
            "run",
            "--from",
            "2026-11-08",
            "--to",
            "2026-11-21",
            "--json",
        ],
    ));
    crate::succeeded(&segmint(
        d,
        &[
            "impact",
            "campaign_targets",
            "--goal",
            "{event: offer_redeemed}",
            "--days",
            "7",
            "--save",
        ],
    ));
    crate::succeeded(&segmint(
        d,
        &[
            "archetypes",
            "fit",
            "activity_styles",
            "--as-of",
            "2026-11-21",
        ],
    ));
    let trained = segmint(
        d,
        &[
            "train",
            "will_purchase_30d",
            "--as-of",
            "2026-11-21",
            "--json",
        ],
    );
    serde_json::from_str(crate::succeeded(&trained).trim()).unwrap()
}

#[test]
fn the_report_renders_offline_in_chromium_with_the_committed_sizes() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let trained = project_with_history(d);
    let out = crate::succeeded(&segmint(d, &["report", "--out", "report.html"]));
    assert!(out.contains("14 as-ofs"), "{out}");
    let page = std::fs::read_to_string(d.join("report.html")).unwrap();
    assert!(
        !page.contains("heavy_users__"),
        "member-level columns leaked into the page"
    );

    let browser = Browser::start(1400, 2400);
    browser.open(&d.join("report.html"));
    let charts = browser
        .wait_for(
            "return document.documentElement.dataset.ready === 'true' ? Number(document.documentElement.dataset.charts) : null;",
            1200,
        )
        .as_u64()
        .unwrap();
    // Overview, 37 segments (+ tiered ones' tiers), flows, overlap, impact.
    assert!(charts > 45, "only {charts} charts");
    let drawn = browser.eval(
        "return Array.from(document.querySelectorAll('[data-chart]')).map(function (e) {
            return [e.dataset.chart, e.dataset.rendered === 'true', e.querySelectorAll('svg path, svg text').length];
        });",
        json!([]),
    );
    let drawn = drawn.as_array().unwrap();
    assert_eq!(drawn.len() as u64, charts);
    for chart in drawn {
        assert_eq!(chart[1], true, "{} not rendered", chart[0]);
        assert!(
            chart[2].as_u64().unwrap() > 5,
            "{} drew nothing: {chart}",
            chart[0]
        );
    }
    for kind in [
        "overview:",
        "size:",
        "tiers:",
        "flow:",
        "overlap:",
        "impact:",
        "model:will_purchase_30d",
        "calibration:will_purchase_30d",
        "archetypes:activity_styles",
    ] {
        assert!(
            drawn
                .iter()
                .any(|c| c[0].as_str().unwrap().starts_with(kind)),
            "no {kind} chart"
        );
    }

    // The rendered size series of a segment is the runs table's sizes, day by day.
    let rendered = browser.eval(
        "var chart = echarts.getInstanceByDom(document.querySelector('[data-chart=\"size:heavy_users\"]'));
         var option = chart.getOption();
         return {days: option.xAxis[0].data, size: option.series[0].data};",
        json!([]),
    );
    let committed = blocking(runs(&d.join("out")));
    assert_eq!(committed.len(), 14);
    let days: Vec<String> = committed
        .iter()
        .map(|r| r["as_of"].as_str().unwrap().to_string())
        .collect();
    let sizes: Vec<u64> = committed
        .iter()
        .map(|r| r["segments"]["heavy_users"]["size"].as_u64().unwrap())
        .collect();
    assert_eq!(rendered["days"], json!(days));
    assert_eq!(rendered["size"], json!(sizes));
    assert!(sizes.iter().any(|s| *s > 0));

    // The model's rendered held-out AUC is the one `train` reported; the archetype
    // heatmap has a row per archetype and a column per input.
    let model = browser.eval(
        "var option = echarts.getInstanceByDom(document.querySelector('[data-chart=\"model:will_purchase_30d\"]')).getOption();
         var profile = echarts.getInstanceByDom(document.querySelector('[data-chart=\"archetypes:activity_styles\"]')).getOption();
         return {auc: option.series[0].data[0], archetypes: profile.yAxis[0].data.length, cells: profile.series[0].data.length};",
        json!([]),
    );
    let auc = trained["test"]["auc"].as_f64().unwrap();
    assert_eq!(
        model["auc"].as_f64(),
        Some((1000.0 * auc).round() / 1000.0),
        "{model}"
    );
    assert_eq!(model["archetypes"], 8, "{model}");
    assert!(model["cells"].as_u64().unwrap() >= 8 * 7, "{model}");

    // Hover shows values; the table view holds the same numbers.
    let table = browser.eval(
        "var card = document.querySelector('[data-chart=\"size:heavy_users\"]').parentNode;
         return Array.from(card.querySelectorAll('details tbody tr')).map(function (r) { return r.children[1].textContent; });",
        json!([]),
    );
    let shown: Vec<String> = sizes.iter().map(|s| format!("{s}")).collect();
    let table: Vec<String> = table
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().replace(',', ""))
        .collect();
    assert_eq!(table, shown);
    let tooltip = browser.eval(
        "var chart = echarts.getInstanceByDom(document.querySelector('[data-chart=\"size:heavy_users\"]'));
         chart.dispatchAction({type: 'showTip', seriesIndex: 0, dataIndex: 3});
         var tip = document.querySelector('[data-chart=\"size:heavy_users\"] div[style*=\"z-index\"]');
         return tip ? tip.textContent : null;",
        json!([]),
    );
    assert!(
        tooltip
            .as_str()
            .is_some_and(|t| t.contains(&days[3]) && t.contains("size")),
        "tooltip: {tooltip}"
    );

    let requests = browser.network_requests(&d.join("report.html"));
    assert!(
        requests.is_empty(),
        "the page made network requests: {requests:?}"
    );
    let shot = Path::new(env!("CARGO_TARGET_TMPDIR")).join("report.png");
    browser.screenshot(&shot);
    let png = std::fs::read(&shot).unwrap();
    assert!(
        png.starts_with(b"\x89PNG") && png.len() > 20_000,
        "{} bytes",
        png.len()
    );
}

#[test]
fn report_bad_input_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    crate::exit_codes::generate_small_lake(d);
    segmint_lakegen::demo::write_demo_project(d).unwrap();
    // Nothing committed yet.
    let none = segmint(d, &["report", "--out", "r.html"]);
    assert_eq!(none.status.code(), Some(2), "{}", crate::text(&none));
    assert!(String::from_utf8_lossy(&none.stderr).contains("nothing is committed"));
    crate::succeeded(&segmint(
        d,
        &["run", "--as-of", "2026-11-21", "--segment", "heavy_users"],
    ));
    crate::succeeded(&segmint(
        d,
        &["run", "--as-of", "2026-11-22", "--segment", "heavy_users"],
    ));
    // A range the wrong way round, and one with no committed run.
    let backwards = segmint(d, &["report", "--from", "2026-11-22", "--to", "2026-11-01"]);
    assert_eq!(
        backwards.status.code(),
        Some(2),
        "{}",
        crate::text(&backwards)
    );
    let empty = segmint(d, &["report", "--from", "2026-10-01", "--to", "2026-10-05"]);
    assert_eq!(empty.status.code(), Some(2), "{}", crate::text(&empty));
    assert!(String::from_utf8_lossy(&empty.stderr).contains("no committed run between"));
    // A segment of the specs never run, and one that does not exist.
    let never = segmint(d, &["report", "--segment", "cart_abandoners"]);
    assert_eq!(never.status.code(), Some(2), "{}", crate::text(&never));
    assert!(String::from_utf8_lossy(&never.stderr).contains("cart_abandoners"));
    let unknown = segmint(d, &["report", "--segment", "no_such_segment"]);
    assert_eq!(unknown.status.code(), Some(2), "{}", crate::text(&unknown));
    assert!(!d.join("report.html").exists() && !d.join("r.html").exists());
    // And one that works.
    crate::succeeded(&segmint(
        d,
        &["report", "--segment", "heavy_users", "--out", "ok.html"],
    ));
    assert!(d.join("ok.html").is_file());
}
