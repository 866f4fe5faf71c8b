//! The page: [`ReportData`] inlined as JSON, then the ECharts build and the page script
//! (`assets/`), all in one file. Nothing is fetched when it opens.

use crate::ReportData;

/// ECharts 6 with only the charts the report draws (`assets/echarts/build.sh`).
const ECHARTS: &str = include_str!("../assets/echarts/echarts.segmint.min.js");
/// Builds the sections, charts and table views from the data.
const SCRIPT: &str = include_str!("../assets/report.js");
const STYLE: &str = include_str!("../assets/report.css");

/// JSON safe inside a `<script>` element: every `<` (only ever inside a JSON string) is
/// written `\u003c`, so no `</script>` or `<!--` in a description can end or confuse it.
fn script_safe_json(data: &ReportData) -> serde_json::Result<String> {
    Ok(serde_json::to_string(data)?.replace('<', "\\u003c"))
}

/// Text safe inside HTML.
fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// The whole page.
pub fn render(data: &ReportData) -> serde_json::Result<String> {
    let json = script_safe_json(data)?;
    let title = format!("segmint report — {} .. {}", data.from, data.to);
    Ok(format!(
        "<!doctype html>
<html lang=\"en\">
<head>
<meta charset=\"utf-8\">
<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">
<title>{title}</title>
<style>{STYLE}</style>
</head>
<body>
<header>
<h1>{title}</h1>
<p class=\"meta\">Output <code>{output}</code> · {days} committed as-ofs · generated {generated} by segmint {version}</p>
<nav id=\"toc\"></nav>
</header>
<main id=\"report\"><p class=\"noscript\">This report draws its charts with JavaScript.</p></main>
<script id=\"segmint-data\" type=\"application/json\">{json}</script>
<script>{ECHARTS}</script>
<script>{SCRIPT}</script>
</body>
</html>
",
        title = escape(&title),
        output = escape(&data.output),
        days = data.days.len(),
        generated = escape(&data.generated_at),
        version = escape(&data.segmint_version),
    ))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn inlined_scripts_cannot_close_their_element() {
        for (name, text) in [("echarts", ECHARTS), ("report.js", SCRIPT)] {
            assert!(!text.to_ascii_lowercase().contains("</script"), "{name}");
        }
        assert!(!STYLE.contains("</style"));
    }

    #[test]
    fn data_cannot_close_the_script_element() {
        let data = ReportData {
            output: "out".into(),
            generated_at: "now".into(),
            segmint_version: "0".into(),
            from: "2026-11-01".into(),
            to: "2026-11-02".into(),
            days: vec![],
            segments: vec![crate::series::SegmentSeries {
                name: "a".into(),
                description: "</script><script>alert(1)</script>".into(),
                holdout_share: None,
                size: vec![],
                entered: vec![],
                exited: vec![],
                holdout: vec![],
                tiers: None,
            }],
            flows: vec![],
            overlap: None,
            impact: vec![],
            fits: crate::fits::Fits::default(),
        };
        let page = render(&data).unwrap();
        let start = page.find("id=\"segmint-data\"").unwrap();
        let end = start + page[start..].find("</script>").unwrap();
        assert!(page[start..end].contains("\\u003c/script>\\u003cscript>alert(1)\\u003c/script>"));
        assert!(!page.contains("<script>alert(1)"));
    }
}
