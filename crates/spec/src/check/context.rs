//! The state threaded through checking one file: its text, the lake schema, and the
//! diagnostics found so far.

use serde_saphyr::Spanned;

use crate::diagnostic::{Code, Diagnostic, Diagnostics, Position, SourceText};
use crate::schema::LakeSchema;

/// Checking context for one spec file.
pub struct FileContext<'a> {
    pub source: &'a SourceText,
    pub schema: Option<&'a LakeSchema>,
    pub has_profiles: bool,
    /// Features, models and archetype sets that `predict` / `archetype` leaves may name.
    pub catalog: Option<&'a crate::model::Catalog>,
    pub diagnostics: &'a mut Diagnostics,
}

impl FileContext<'_> {
    /// Report a problem at a position of this file.
    pub fn report(
        &mut self,
        code: Code,
        at: Position,
        message: impl Into<String>,
        hint: impl Into<String>,
    ) {
        self.diagnostics
            .push(Diagnostic::new(code, self.source, at, message, hint));
    }
}

/// The position of a spanned value.
pub fn at<T>(spanned: &Spanned<T>) -> Position {
    Position::from_location(spanned.referenced)
}
