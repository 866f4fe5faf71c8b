//! Reading spec files safely and parsing them into the syntax types.
//!
//! Hostile input is bounded before and during parsing: files over [`MAX_SPEC_BYTES`] are
//! refused unread, and serde-saphyr's budget caps nesting depth, node count, aliases and
//! scalar bytes. Every failure becomes a coded [`Diagnostic`] at a file:line:column.

use std::path::Path;
use std::sync::Arc;

use serde::de::DeserializeOwned;
use serde_saphyr::{Budget, DuplicateKeyPolicy, Error as YamlError, Options};

use crate::diagnostic::{Code, Diagnostic, Position, SourceText};

/// The largest spec file segmint reads (256 KiB): a segment is a few dozen lines.
pub const MAX_SPEC_BYTES: usize = 256 * 1024;
/// The deepest nesting accepted (maps and lists).
pub const MAX_DEPTH: usize = 24;
/// The most YAML nodes accepted in one file.
pub const MAX_NODES: usize = 20_000;

/// Read a spec file from disk, refusing oversized, non-UTF-8 and empty files.
pub fn read_source(path: &Path) -> Result<SourceText, Diagnostic> {
    let name = path.display().to_string();
    let unreadable = |e: std::io::Error| {
        Diagnostic::whole_file(
            Code::Io,
            &name,
            format!("cannot read `{name}`: {e}"),
            "check that the file exists and is readable",
        )
    };
    let meta = std::fs::metadata(path).map_err(unreadable)?;
    if meta.len() > MAX_SPEC_BYTES as u64 {
        return Err(over_size(&name, meta.len()));
    }
    let bytes = std::fs::read(path).map_err(unreadable)?;
    source_from_bytes(&name, bytes)
}

/// Turn raw bytes into a source text, with the same checks as [`read_source`].
pub fn source_from_bytes(name: &str, bytes: Vec<u8>) -> Result<SourceText, Diagnostic> {
    if bytes.len() > MAX_SPEC_BYTES {
        return Err(over_size(name, bytes.len() as u64));
    }
    let text = String::from_utf8(bytes).map_err(|e| {
        let offset = e.utf8_error().valid_up_to();
        let valid = &e.as_bytes()[..offset];
        let line = valid.iter().filter(|b| **b == b'\n').count() + 1;
        let column = valid.iter().rev().take_while(|b| **b != b'\n').count() + 1;
        Diagnostic::whole_file(
            Code::NotUtf8,
            format!("{name}:{line}:{column}"),
            format!("`{name}` is not valid UTF-8 (first bad byte at offset {offset})"),
            "save the file as UTF-8",
        )
    })?;
    Ok(SourceText {
        name: name.to_string(),
        text: Arc::from(text),
    })
}

fn over_size(name: &str, len: u64) -> Diagnostic {
    Diagnostic::whole_file(
        Code::OverBudget,
        name,
        format!("`{name}` is {len} bytes; spec files may be at most {MAX_SPEC_BYTES} bytes"),
        "split the file: one segment per file",
    )
}

/// Parse a source into `T`, mapping every YAML or shape error to a coded diagnostic.
pub fn parse<T: DeserializeOwned>(source: &SourceText) -> Result<T, Diagnostic> {
    if let Some(d) = blank_document(source) {
        return Err(d);
    }
    if let Some(d) = tab_indentation(source) {
        return Err(d);
    }
    serde_saphyr::from_str_with_options::<T>(&source.text, parse_options())
        .map_err(|e| diagnostic_for(source, &e))
}

fn parse_options() -> Options {
    let mut budget = Budget::default();
    budget.max_depth = MAX_DEPTH;
    budget.max_nodes = MAX_NODES;
    budget.max_events = MAX_NODES * 4;
    budget.max_aliases = 256;
    budget.max_anchors = 256;
    budget.max_documents = 1;
    budget.max_total_scalar_bytes = MAX_SPEC_BYTES;
    let mut options = Options::default();
    options.budget = Some(budget);
    options.duplicate_keys = DuplicateKeyPolicy::Error;
    options.strict_booleans = true;
    options.with_snippet = false;
    options
}

fn blank_document(source: &SourceText) -> Option<Diagnostic> {
    let blank = source
        .text
        .lines()
        .all(|l| l.trim().is_empty() || l.trim_start().starts_with('#') || l.trim() == "---");
    blank.then(|| {
        Diagnostic::whole_file(
            Code::EmptyDocument,
            &source.name,
            format!("`{}` is empty", source.name),
            "a segment file starts with `segment: <name>`; delete the file if it is not needed",
        )
    })
}

fn tab_indentation(source: &SourceText) -> Option<Diagnostic> {
    let mut offset = 0usize;
    for (index, line) in source.text.split('\n').enumerate() {
        let indent: &str = &line[..line.len() - line.trim_start().len()];
        if let Some(tab) = indent.find('\t') {
            let position = Position {
                line: index as u64 + 1,
                column: tab as u64 + 1,
                offset: offset + tab,
                len: 1,
            };
            return Some(Diagnostic::new(
                Code::YamlSyntax,
                source,
                position,
                "a tab is used for indentation",
                "YAML indentation must use spaces; replace the tab with spaces",
            ));
        }
        offset += line.len() + 1;
    }
    None
}

/// Map a serde-saphyr error to a diagnostic.
fn diagnostic_for(source: &SourceText, error: &YamlError) -> Diagnostic {
    let error = error.without_snippet();
    let position = error
        .location()
        .map(Position::from_location)
        .unwrap_or_default();
    let (code, message, hint) = match error {
        YamlError::SerdeUnknownField {
            field, expected, ..
        } => (
            Code::UnknownKey,
            format!("unknown key `{field}`"),
            did_you_mean(field, expected, "keys"),
        ),
        YamlError::SerdeUnknownVariant {
            variant, expected, ..
        } => (
            Code::UnknownKey,
            format!("unknown name `{variant}`"),
            did_you_mean(variant, expected, "names"),
        ),
        YamlError::DuplicateMappingKey { key, .. } => (
            Code::DuplicateKey,
            match key {
                Some(k) => format!("duplicate key `{k}`"),
                None => "duplicate key".to_string(),
            },
            "each key may appear once per mapping; merge the two entries or remove one".into(),
        ),
        YamlError::SerdeMissingField { field, .. } => (
            Code::MissingKey,
            format!("missing required key `{field}`"),
            format!("add `{field}:` here"),
        ),
        YamlError::SerdeInvalidType {
            unexpected,
            expected,
            ..
        }
        | YamlError::SerdeInvalidValue {
            unexpected,
            expected,
            ..
        } => (
            Code::WrongType,
            format!("expected {expected}, found {unexpected}"),
            "check the value's type: quote text, use a list `[a, b]` or a map `{key: value}` as the key requires".into(),
        ),
        YamlError::Budget { breach, .. } => (
            Code::OverBudget,
            format!("the document exceeds segmint's parsing budget: {breach:?}"),
            format!(
                "spec files are small: at most {MAX_DEPTH} levels deep and {MAX_NODES} nodes, few anchors"
            ),
        ),
        YamlError::Message { msg, .. } => (
            Code::WrongType,
            msg.clone(),
            "check the value's type and spelling".into(),
        ),
        YamlError::Eof { .. } => (
            Code::YamlSyntax,
            "unexpected end of file".into(),
            "the document ends in the middle of a value".into(),
        ),
        other if is_shape_error(other) => (
            Code::WrongType,
            plain_message(other),
            "check the value's type: quote text, use a list `[a, b]` or a map `{key: value}` as the key requires".into(),
        ),
        other => (
            Code::YamlSyntax,
            plain_message(other),
            "check the YAML syntax near this place (indentation, colons, quotes, brackets)".into(),
        ),
    };
    Diagnostic::new(code, source, position, message, hint)
}

fn is_shape_error(error: &YamlError) -> bool {
    matches!(
        error,
        YamlError::SerdeInvalidLength { .. }
            | YamlError::InvalidScalar { .. }
            | YamlError::InvalidBooleanStrict { .. }
            | YamlError::NullIntoString { .. }
            | YamlError::ExternallyTaggedEnumExpectedScalarOrMapping { .. }
            | YamlError::ExpectedStringKeyForExternallyTaggedEnum { .. }
            | YamlError::UnexpectedValueForUnitEnumVariant { .. }
            | YamlError::NonFiniteFloat { .. }
    )
}

/// The error's message without any location suffix (the diagnostic carries the location).
fn plain_message(error: &YamlError) -> String {
    let text = error.to_string();
    match text.find(" at line ") {
        Some(i) => text[..i].to_string(),
        None => text,
    }
}

/// "did you mean `x`?" plus the list of accepted spellings.
pub fn did_you_mean(found: &str, expected: &[&str], what: &str) -> String {
    let best = expected
        .iter()
        .map(|e| (strsim::levenshtein(found, e), *e))
        .filter(|(d, _)| *d <= 3)
        .min();
    let list = expected
        .iter()
        .map(|e| format!("`{e}`"))
        .collect::<Vec<_>>()
        .join(", ");
    match best {
        Some((_, e)) => format!("did you mean `{e}`? accepted {what}: {list}"),
        None => format!("accepted {what}: {list}"),
    }
}
