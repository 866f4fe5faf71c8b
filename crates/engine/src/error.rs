//! Engine errors: one variant per way a request can fail, so callers can match. The CLI
//! maps them to exit codes and adds its flag names to the messages; the engine knows
//! nothing of either.
//!
//! Causes are kept as `#[source]` wherever no secret can appear in them (plans, Arrow,
//! JSON). Errors that come from reading or writing object stores are flattened to
//! messages redacted of every credential variable's value ([`crate::storage::redact`]).

use chrono::NaiveDate;
use segmint_spec::Diagnostics;

/// Why a request failed.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// The specs (or the project file) are invalid.
    #[error("invalid spec:\n{0}")]
    Spec(Diagnostics),
    /// The request itself is wrong: a bad location, a query that does not plan.
    #[error("{0}")]
    Usage(String),
    /// A segment named in the request does not exist.
    #[error("unknown segment `{0}`")]
    UnknownSegment(String),
    /// A range whose first day is after its last.
    #[error("the range starts on {from}, after its end {to}")]
    BadRange { from: NaiveDate, to: NaiveDate },
    /// History asked of an as-of that was never committed.
    #[error("no committed run for as-of {as_of} under {output}")]
    NotCommitted { as_of: NaiveDate, output: String },
    /// The specs are valid, but the lake lacks a column they use or holds it with another
    /// type.
    #[error("the lake at {object} does not match the specs:\n{diagnostics}")]
    LakeMismatch {
        object: String,
        diagnostics: Diagnostics,
    },
    /// The lake could not be read (message redacted).
    #[error("cannot read {object}: {message}")]
    Data { object: String, message: String },
    /// The as-of day has no event: its partition has probably not landed.
    #[error("cannot read {object}: no events on {day}: has that day's partition landed?")]
    EmptyDay { object: String, day: NaiveDate },
    /// The whole scanned range has no event.
    #[error(
        "cannot read {object}: no events between {from} and the end of {day}: are the \
         partitions for these days missing?"
    )]
    EmptyRange {
        object: String,
        from: String,
        day: NaiveDate,
    },
    /// The output could not be written or read back (message redacted).
    #[error("cannot write {object}: {message}")]
    Output { object: String, message: String },
    /// Another run committed to the same rows first; its result stands, this run's is not
    /// committed.
    #[error("cannot write {table}: another run committed first ({message}); its result stands")]
    CommitConflict { table: String, message: String },
    /// A secret a destination needs is not in the environment.
    #[error(
        "destination `{destination}` needs its {what} in the environment variable {variable}, which is not set"
    )]
    MissingSecret {
        variable: String,
        destination: String,
        what: String,
    },
    /// A destination did not accept a delivery (after its retries); the next sync sends it
    /// again.
    #[error(
        "destination `{destination}` did not accept `{segment}`: {message}; the next sync sends it again"
    )]
    Delivery {
        destination: String,
        segment: String,
        message: String,
    },
    /// A segment uses a model or archetype set that has no fitted parameters for its
    /// current features (never trained, or the features changed since).
    #[error("{message}")]
    NotTrained { name: String, message: String },
    /// The evaluation needs more memory than the limit allows, even spilling to disk.
    #[error(
        "the run needs more memory than {} allows, even spilling to disk: {message}",
        limit.map_or("the executors have".to_string(), |l| format!("the memory limit ({l} bytes)"))
    )]
    MemoryLimit { limit: Option<u64>, message: String },
    /// A model or archetype set cannot be fitted on this data (too few labels, fewer
    /// entities than archetypes).
    #[error("cannot fit `{name}`: {message}")]
    Fit { name: String, message: String },
    /// The size-change guard tripped; nothing was committed.
    #[error(
        "a segment's size changed by more than {limit_pct}%, nothing committed for {as_of}: {}",
        changes.join("; ")
    )]
    SizeGuard {
        as_of: NaiveDate,
        limit_pct: f64,
        /// `segment: before → after (change%)`, one per segment over the limit.
        changes: Vec<String>,
    },
    /// Identity resolution would make people with more identifiers than
    /// `identity.max_person_size` (usually one shared placeholder id): nothing committed.
    #[error(
        "{} people would have more than {max} identifiers (largest: {}): nothing committed",
        people.len(),
        people.iter().take(5).map(|(p, n)| format!("{p} with {n}")).collect::<Vec<_>>().join(", ")
    )]
    OversizedPeople {
        max: u64,
        /// `(person id, identifiers)`, largest first.
        people: Vec<(String, u64)>,
    },
    /// Building or optimizing a plan failed (a bug: checked specs always plan).
    #[error("planning failed: {0}")]
    Plan(#[source] datafusion::error::DataFusionError),
    /// Reshaping result rows failed (a bug).
    #[error("result rows: {0}")]
    Arrow(#[source] datafusion::arrow::error::ArrowError),
    /// Encoding a run summary failed (a bug).
    #[error("encoding: {0}")]
    Json(#[source] serde_json::Error),
    /// Anything else that should not happen.
    #[error("internal error: {0}")]
    Internal(String),
}

impl EngineError {
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
        use segmint_compiler::CompileError;
        match e {
            CompileError::UnknownSegment(s) => EngineError::UnknownSegment(s),
            CompileError::OutOfRange(_) | CompileError::AsOf(..) => {
                EngineError::Usage(e.to_string())
            }
            CompileError::NotTrained(name) => EngineError::NotTrained {
                message: format!(
                    "`{name}` has no fitted parameters for its current features: run `segmint train {name} --as-of D` (a model) or `segmint archetypes fit {name} --as-of D` (an archetype set)"
                ),
                name,
            },
            CompileError::DataFusion(e) => EngineError::Plan(e),
        }
    }
}

impl From<datafusion::arrow::error::ArrowError> for EngineError {
    fn from(e: datafusion::arrow::error::ArrowError) -> Self {
        EngineError::Arrow(e)
    }
}

impl From<serde_json::Error> for EngineError {
    fn from(e: serde_json::Error) -> Self {
        EngineError::Json(e)
    }
}

/// Result alias of this crate.
pub type Result<T, E = EngineError> = std::result::Result<T, E>;
