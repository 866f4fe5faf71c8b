//! Compiler errors.

/// Why a checked spec could not be compiled.
#[derive(Debug, thiserror::Error)]
pub enum CompileError {
    /// A window reaches outside the calendar's range from this as-of.
    #[error("window {0} is out of range")]
    OutOfRange(String),
    /// The as-of date cannot be placed in the project timezone.
    #[error("as-of {0} does not exist in timezone {1}")]
    AsOf(String, String),
    /// A segment named for compilation does not exist.
    #[error("unknown segment `{0}`")]
    UnknownSegment(String),
    /// A `predict` or `archetype` leaf names parameters that were not loaded (never
    /// trained or fitted, or fitted to other features).
    #[error("`{0}` has no fitted parameters for these features")]
    NotTrained(String),
    /// DataFusion rejected the plan.
    #[error(transparent)]
    DataFusion(#[from] datafusion::error::DataFusionError),
}

/// Result alias of this crate.
pub type Result<T, E = CompileError> = std::result::Result<T, E>;
