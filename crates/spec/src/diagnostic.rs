//! Coded diagnostics: every spec problem has a stable code, a location, a message and a hint.
//!
//! Rendered for people with `miette` (source snippet with a label) and for machines as JSON
//! (`--error-format json`), one object per diagnostic.

use std::fmt;
use std::sync::Arc;

use miette::{LabeledSpan, SourceCode};
use serde::Serialize;

/// Stable diagnostic codes. Never renumber: CI bots and docs refer to them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum Code {
    /// The YAML itself is malformed (syntax, tabs used for indentation, ...).
    YamlSyntax,
    /// A key that this place does not accept (usually a typo).
    UnknownKey,
    /// The same key twice in one mapping.
    DuplicateKey,
    /// A value of the wrong type or shape.
    WrongType,
    /// A required key is missing.
    MissingKey,
    /// The file is empty.
    EmptyDocument,
    /// The file is not valid UTF-8.
    NotUtf8,
    /// The document exceeds a size or depth budget.
    OverBudget,
    /// Two segments share a name.
    DuplicateSegment,
    /// `in_segment` names no segment.
    UnknownSegment,
    /// Segments reference each other in a cycle.
    ReferenceCycle,
    /// `all:` / `any:` with no children, or tiers with none.
    EmptyGroup,
    /// A duration such as `30d` could not be read.
    BadDuration,
    /// A date such as `2026-01-01` could not be read, or a range is reversed.
    BadDate,
    /// A column that the lake does not have.
    UnknownColumn,
    /// A value whose type does not match its column or operator.
    TypeMismatch,
    /// A comparison that cannot be evaluated (empty, contradictory, or not allowed here).
    BadComparison,
    /// A segment or tier name that is not a plain identifier.
    BadName,
    /// `trait` used but the project has no profiles table.
    NoProfiles,
    /// A timezone name that is not in the tz database.
    BadTimezone,
    /// A tiered segment is malformed (duplicate tier, catch-all not last).
    BadTiers,
    /// A metric is missing what its aggregate needs.
    BadMetric,
    /// A spec file or folder could not be read.
    Io,
    /// A window (`within` / `between` / `before`) is missing, doubled or not allowed.
    BadWindow,
    /// A segment has neither or both of `where:` and `tiers:`.
    BadSegmentBody,
    /// `dropped_after` (or another step reference) names no step.
    UnknownStep,
    /// A behavioral leaf (funnel, sequence, sessions, cadence, momentum, rfm, affinity) is
    /// missing what it needs or combines options that cannot go together.
    BadLeaf,
    /// An output is not a measurable leaf, or carries a comparison.
    BadOutput,
    /// Lake settings that do not fit together (e.g. `partitioning:` on a Delta table).
    BadLake,
    /// A `holdout:` that is not a share between 0% and 100%.
    BadHoldout,
    /// A destination that is not a webhook or files, or is misconfigured.
    BadDestination,
    /// A feature, model or archetype file that is malformed.
    BadModel,
    /// A feature, model or archetype set named but not defined.
    UnknownModel,
    /// A project setting with a value it cannot take (e.g. `memory_limit: lots`).
    BadSetting,
    /// An `identity:` setting that cannot work (unknown identifier, bad regex, bad limit).
    BadIdentity,
}

impl Code {
    /// The stable code string, e.g. `SM002`.
    pub fn as_str(self) -> &'static str {
        match self {
            Code::YamlSyntax => "SM001",
            Code::UnknownKey => "SM002",
            Code::DuplicateKey => "SM003",
            Code::WrongType => "SM004",
            Code::MissingKey => "SM005",
            Code::EmptyDocument => "SM006",
            Code::NotUtf8 => "SM007",
            Code::OverBudget => "SM008",
            Code::DuplicateSegment => "SM010",
            Code::UnknownSegment => "SM011",
            Code::ReferenceCycle => "SM012",
            Code::EmptyGroup => "SM013",
            Code::BadDuration => "SM014",
            Code::BadDate => "SM015",
            Code::UnknownColumn => "SM016",
            Code::TypeMismatch => "SM017",
            Code::BadComparison => "SM018",
            Code::BadName => "SM019",
            Code::NoProfiles => "SM020",
            Code::BadTimezone => "SM021",
            Code::BadTiers => "SM022",
            Code::BadMetric => "SM023",
            Code::Io => "SM024",
            Code::BadWindow => "SM025",
            Code::BadSegmentBody => "SM026",
            Code::UnknownStep => "SM027",
            Code::BadLeaf => "SM028",
            Code::BadOutput => "SM029",
            Code::BadLake => "SM030",
            Code::BadHoldout => "SM031",
            Code::BadDestination => "SM032",
            Code::BadModel => "SM033",
            Code::UnknownModel => "SM034",
            Code::BadSetting => "SM035",
            Code::BadIdentity => "SM036",
        }
    }
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A place in a spec file. Lines and columns are 1-based; 0 means unknown.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct Position {
    pub line: u64,
    pub column: u64,
    /// Byte offset and length in the file, for snippet rendering.
    #[serde(skip)]
    pub offset: usize,
    #[serde(skip)]
    pub len: usize,
}

impl Position {
    /// The position of a serde-saphyr location, when known.
    pub fn from_location(location: serde_saphyr::Location) -> Position {
        if location == serde_saphyr::Location::UNKNOWN {
            return Position::default();
        }
        let span = location.span();
        Position {
            line: location.line(),
            column: location.column(),
            offset: span.byte_offset().unwrap_or(0) as usize,
            len: span.byte_len().unwrap_or(0) as usize,
        }
    }
}

/// The text of a spec file, shared by all its diagnostics.
#[derive(Debug, Clone)]
pub struct SourceText {
    pub name: String,
    pub text: Arc<str>,
}

/// One problem in a spec.
#[derive(Debug, Clone)]
pub struct Diagnostic {
    pub code: Code,
    pub message: String,
    pub hint: String,
    pub file: String,
    pub position: Position,
    source: Option<Box<SourceText>>,
}

impl Diagnostic {
    /// A diagnostic at a position in a file.
    pub fn new(
        code: Code,
        source: &SourceText,
        position: Position,
        message: impl Into<String>,
        hint: impl Into<String>,
    ) -> Diagnostic {
        Diagnostic {
            code,
            message: message.into(),
            hint: hint.into(),
            file: source.name.clone(),
            position,
            source: Some(Box::new(source.clone())),
        }
    }

    /// A diagnostic about a file as a whole (unreadable, not UTF-8, ...).
    pub fn whole_file(
        code: Code,
        file: impl Into<String>,
        message: impl Into<String>,
        hint: impl Into<String>,
    ) -> Diagnostic {
        Diagnostic {
            code,
            message: message.into(),
            hint: hint.into(),
            file: file.into(),
            position: Position::default(),
            source: None,
        }
    }

    /// `file:line:column`.
    pub fn location(&self) -> String {
        if self.position.line == 0 {
            self.file.clone()
        } else {
            format!(
                "{}:{}:{}",
                self.file, self.position.line, self.position.column
            )
        }
    }

    /// The machine-readable form.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "code": self.code.as_str(),
            "severity": "error",
            "message": self.message,
            "hint": self.hint,
            "file": self.file,
            "line": self.position.line,
            "column": self.position.column,
        })
    }

    /// Rendered for a terminal or a log, with a source snippet when the text is known.
    pub fn render(&self, color: bool) -> String {
        let handler = if color {
            miette::GraphicalReportHandler::new_themed(miette::GraphicalTheme::unicode())
        } else {
            miette::GraphicalReportHandler::new_themed(miette::GraphicalTheme::unicode_nocolor())
        }
        .with_width(100);
        let mut out = String::new();
        if handler.render_report(&mut out, self).is_err() {
            return self.to_string();
        }
        out
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: [{}] {}", self.location(), self.code, self.message)
    }
}

impl std::error::Error for Diagnostic {}

impl miette::Diagnostic for Diagnostic {
    fn code<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        Some(Box::new(self.code.as_str()))
    }

    fn help<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        if self.hint.is_empty() {
            None
        } else {
            Some(Box::new(&self.hint))
        }
    }

    fn source_code(&self) -> Option<&dyn SourceCode> {
        match &self.source {
            Some(_) if self.position.line > 0 => Some(self as &dyn SourceCode),
            _ => None,
        }
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        if self.source.is_none() || self.position.line == 0 {
            return None;
        }
        let label = LabeledSpan::new(
            Some(format!("{}:{}", self.position.line, self.position.column)),
            self.position.offset,
            self.position.len,
        );
        Some(Box::new(std::iter::once(label)))
    }
}

impl SourceCode for Diagnostic {
    fn read_span<'a>(
        &'a self,
        span: &miette::SourceSpan,
        context_lines_before: usize,
        context_lines_after: usize,
    ) -> Result<Box<dyn miette::SpanContents<'a> + 'a>, miette::MietteError> {
        let Some(source) = &self.source else {
            return Err(miette::MietteError::OutOfBounds);
        };
        let text: &'a str = &source.text;
        let contents = text.read_span(span, context_lines_before, context_lines_after)?;
        // Re-wrap to carry the file name into the rendered header.
        Ok(Box::new(miette::MietteSpanContents::new_named(
            source.name.clone(),
            contents.data(),
            *contents.span(),
            contents.line(),
            contents.column(),
            contents.line_count(),
        )))
    }
}

/// Several diagnostics; a spec is valid only when there are none.
#[derive(Debug, Clone, Default)]
pub struct Diagnostics(pub Vec<Diagnostic>);

impl Diagnostics {
    /// Add one.
    pub fn push(&mut self, d: Diagnostic) {
        self.0.push(d);
    }
    /// True when nothing was found.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
    /// Rendered for people, separated by blank lines.
    pub fn render(&self, color: bool) -> String {
        self.0
            .iter()
            .map(|d| d.render(color))
            .collect::<Vec<_>>()
            .join("\n")
    }
    /// One JSON document: `{"diagnostics": [...]}`.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({ "diagnostics": self.0.iter().map(Diagnostic::to_json).collect::<Vec<_>>() })
    }
}

impl fmt::Display for Diagnostics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, d) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{d}")?;
        }
        Ok(())
    }
}

impl std::error::Error for Diagnostics {}

impl From<Diagnostic> for Diagnostics {
    fn from(d: Diagnostic) -> Self {
        Diagnostics(vec![d])
    }
}
