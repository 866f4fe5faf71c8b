//! Engine errors, each mapped to one of the documented exit codes.

use segmint_spec::Diagnostics;

/// Why a run failed.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// The specs are invalid (exit 2).
    #[error("invalid spec:\n{0}")]
    Spec(Diagnostics),
    /// Bad usage, e.g. an unknown `--segment` or a malformed `--as-of` (exit 2).
    #[error("{0}")]
    Usage(String),
    /// The specs are valid, but the lake lacks a column they use or holds it with another
    /// type (exit 3).
    #[error("the lake at {object} does not match the specs:\n{diagnostics}")]
    LakeMismatch {
        object: String,
        diagnostics: Diagnostics,
    },
    /// The lake could not be read or does not match the spec (exit 3).
    #[error("cannot read {object}: {message}")]
    Data { object: String, message: String },
    /// The output could not be written (exit 4).
    #[error("cannot write {object}: {message}")]
    Output { object: String, message: String },
    /// A guard tripped, e.g. `--max-change` (exit 5); nothing was committed.
    #[error("{0}")]
    Guard(String),
    /// Anything else (exit 1).
    #[error("internal error: {0}")]
    Internal(String),
}

impl EngineError {
    /// The process exit code for this error (see README "Exit codes").
    pub fn exit_code(&self) -> i32 {
        match self {
            EngineError::Spec(_) | EngineError::Usage(_) => 2,
            EngineError::Data { .. } | EngineError::LakeMismatch { .. } => 3,
            EngineError::Output { .. } => 4,
            EngineError::Guard(_) => 5,
            EngineError::Internal(_) => 1,
        }
    }

    /// A data error; the message is redacted of credentials.
    pub(crate) fn data(object: impl Into<String>, e: impl std::fmt::Display) -> Self {
        EngineError::Data {
            object: object.into(),
            message: crate::storage::redact(&e.to_string()),
        }
    }

    /// An output error; the message is redacted of credentials.
    pub fn output(object: impl Into<String>, e: impl std::fmt::Display) -> Self {
        EngineError::Output {
            object: object.into(),
            message: crate::storage::redact(&e.to_string()),
        }
    }
}

impl From<segmint_compiler::CompileError> for EngineError {
    fn from(e: segmint_compiler::CompileError) -> Self {
        match e {
            segmint_compiler::CompileError::UnknownSegment(s) => {
                EngineError::Usage(format!("unknown segment `{s}`"))
            }
            segmint_compiler::CompileError::Unsupported(s) => EngineError::Usage(s),
            other => EngineError::Internal(other.to_string()),
        }
    }
}

/// Result alias of this crate.
pub type Result<T, E = EngineError> = std::result::Result<T, E>;
