//! Loading a project from disk: `segmint.yaml`, every `*.yaml` in its segments folder, and
//! the forward-looking files when present: `features.yaml`, `models/*.yaml`,
//! `archetypes/*.yaml` (each location settable in `segmint.yaml`).

use std::path::{Path, PathBuf};

use crate::check::{ModelsInput, ProjectInput, SegmentInput};
use crate::diagnostic::{Code, Diagnostic, Diagnostics, SourceText};
use crate::source::{parse, read_source};
use crate::syntax::{ArchetypesSyntax, FeaturesSyntax, ModelSyntax, ProjectSyntax, SegmentSyntax};

/// The most segment files one project may hold.
pub const MAX_SEGMENT_FILES: usize = 10_000;

/// Every file of a project, parsed but not yet checked.
pub struct Loaded {
    pub project: ProjectInput,
    pub segments: Vec<SegmentInput>,
    pub models: ModelsInput,
}

/// Parse a project file's text (used by `load` and by tests).
pub fn parse_project(source: SourceText, root: PathBuf) -> Result<ProjectInput, Diagnostic> {
    let syntax: ProjectSyntax = parse(&source)?;
    Ok(ProjectInput {
        source,
        syntax,
        root,
    })
}

/// Parse a segment file's text.
pub fn parse_segment(source: SourceText) -> Result<SegmentInput, Diagnostic> {
    let syntax: SegmentSyntax = parse(&source)?;
    Ok(SegmentInput { source, syntax })
}

/// The folder that holds a project's segment files.
pub fn segments_dir(project: &ProjectInput) -> PathBuf {
    let dir = project
        .syntax
        .segments
        .as_ref()
        .map_or("segments", |s| s.value.as_str());
    project.root.join(dir)
}

/// Read and parse only `segmint.yaml` (the lake and output locations), not the segments:
/// enough to register the lake's tables for `segmint sql`.
pub fn load_project(project_file: &Path) -> Result<ProjectInput, Diagnostics> {
    let root = project_file
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default();
    Ok(read_source(project_file).and_then(|s| parse_project(s, root))?)
}

/// Read and parse `segmint.yaml` and all segment files, reporting every file's problems.
pub fn load(project_file: &Path) -> Result<Loaded, Diagnostics> {
    let project = load_project(project_file)?;
    let dir = segments_dir(&project);
    let files = segment_files(&dir)?;
    let mut diagnostics = Diagnostics::default();
    let mut segments = Vec::new();
    for file in files {
        match read_source(&file).and_then(parse_segment) {
            Ok(s) => segments.push(s),
            Err(d) => diagnostics.push(d),
        }
    }
    let models = load_models(&project, &mut diagnostics);
    if diagnostics.is_empty() {
        Ok(Loaded {
            project,
            segments,
            models,
        })
    } else {
        Err(diagnostics)
    }
}

/// A location of `segmint.yaml` (`key`), or the default when it exists; `None`: neither.
fn optional_location(
    project: &ProjectInput,
    key: &Option<serde_saphyr::Spanned<String>>,
    default: &str,
) -> Option<PathBuf> {
    match key {
        Some(k) => Some(project.root.join(&k.value)),
        None => {
            let path = project.root.join(default);
            path.exists().then_some(path)
        }
    }
}

/// Parse every file of a folder with `parse`, collecting problems.
fn parse_folder<T: serde::de::DeserializeOwned>(
    dir: &Path,
    diagnostics: &mut Diagnostics,
) -> Vec<(SourceText, T)> {
    let files = match segment_files(dir) {
        Ok(f) => f,
        Err(d) => {
            diagnostics.push(d);
            return Vec::new();
        }
    };
    let mut out = Vec::new();
    for file in files {
        match read_source(&file).and_then(|s| parse::<T>(&s).map(|t| (s, t))) {
            Ok(parsed) => out.push(parsed),
            Err(d) => diagnostics.push(d),
        }
    }
    out
}

/// The features file and the model and archetype folders, when present.
fn load_models(project: &ProjectInput, diagnostics: &mut Diagnostics) -> ModelsInput {
    let syntax = &project.syntax;
    let features = optional_location(project, &syntax.features, "features.yaml").and_then(|f| {
        match read_source(&f).and_then(|s| parse::<FeaturesSyntax>(&s).map(|t| (s, t))) {
            Ok(parsed) => Some(parsed),
            Err(d) => {
                diagnostics.push(d);
                None
            }
        }
    });
    let models = optional_location(project, &syntax.models, "models")
        .map(|d| parse_folder::<ModelSyntax>(&d, diagnostics))
        .unwrap_or_default();
    let archetypes = optional_location(project, &syntax.archetypes, "archetypes")
        .map(|d| parse_folder::<ArchetypesSyntax>(&d, diagnostics))
        .unwrap_or_default();
    ModelsInput {
        features,
        models,
        archetypes,
    }
}

/// The `*.yaml` / `*.yml` files of a folder, sorted by name.
pub fn segment_files(dir: &Path) -> Result<Vec<PathBuf>, Diagnostic> {
    let io_error = |e: std::io::Error| {
        Diagnostic::whole_file(
            Code::Io,
            dir.display().to_string(),
            format!("cannot read the segments folder `{}`: {e}", dir.display()),
            "create the folder, or point `segments:` in segmint.yaml at it",
        )
    };
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(io_error)? {
        let path = entry.map_err(io_error)?.path();
        let is_yaml = path
            .extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| e == "yaml" || e == "yml");
        if is_yaml && path.is_file() {
            files.push(path);
        }
        if files.len() > MAX_SEGMENT_FILES {
            return Err(Diagnostic::whole_file(
                Code::OverBudget,
                dir.display().to_string(),
                format!("more than {MAX_SEGMENT_FILES} segment files"),
                "split the library into several projects",
            ));
        }
    }
    files.sort();
    Ok(files)
}
