//! `segmint report`: gather the output's aggregates and write the HTML page.

use std::path::Path;

use segmint_engine::{EngineError, ProjectSession};
use segmint_report::ReportOptions;

/// Write the report to `out` (through a temporary file, so a reader never sees half of it).
pub async fn write(project: &Path, options: &ReportOptions, out: &Path) -> Result<(), EngineError> {
    let (checked, output) = ProjectSession::builder(project).open_offline()?;
    let data = segmint_report::gather(&checked, &output, options).await?;
    let page = segmint_report::render(&data).map_err(EngineError::Json)?;
    let partial = out.with_extension("html.partial");
    let written =
        std::fs::write(&partial, page.as_bytes()).and_then(|()| std::fs::rename(&partial, out));
    if let Err(e) = written {
        return Err(EngineError::Output {
            object: out.display().to_string(),
            message: e.to_string(),
        });
    }
    println!(
        "wrote {} ({} segments, {} as-ofs {} .. {}, {} KiB)",
        out.display(),
        data.segments.len(),
        data.days.len(),
        data.from,
        data.to,
        page.len() / 1024
    );
    Ok(())
}
