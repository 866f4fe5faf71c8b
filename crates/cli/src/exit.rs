//! The exit-code contract and how errors read on stderr. The engine reports what went
//! wrong; the CLI decides the code and names its own flags in the messages.
//!
//! | code | meaning |
//! |---|---|
//! | 0 | ok |
//! | 1 | internal error |
//! | 2 | invalid spec or usage (also a destination's secret variable not set) |
//! | 3 | source data unreadable or not matching the spec |
//! | 4 | output not written (including a commit race lost to another run), or a destination refused a batch after its retries |
//! | 5 | a guard tripped (`--max-change`, or `identity.max_person_size`): nothing committed |
//! | 6 | the run needs more memory than `--memory-limit` / `memory_limit:` allows, even spilling: nothing committed |

use segmint_engine::EngineError;

use crate::ErrorFormat;

/// The process exit code of an error.
pub fn exit_code(error: &EngineError) -> u8 {
    match error {
        EngineError::Spec(_)
        | EngineError::Usage(_)
        | EngineError::UnknownSegment(_)
        | EngineError::BadRange { .. }
        | EngineError::NotCommitted { .. }
        | EngineError::MissingSecret { .. }
        | EngineError::NotTrained { .. } => 2,
        EngineError::Data { .. }
        | EngineError::LakeMismatch { .. }
        | EngineError::EmptyDay { .. }
        | EngineError::EmptyRange { .. }
        | EngineError::Fit { .. } => 3,
        EngineError::Output { .. }
        | EngineError::CommitConflict { .. }
        | EngineError::Delivery { .. } => 4,
        EngineError::SizeGuard { .. } | EngineError::OversizedPeople { .. } => 5,
        EngineError::MemoryLimit { .. } => 6,
        EngineError::Plan(_)
        | EngineError::Arrow(_)
        | EngineError::Json(_)
        | EngineError::Internal(_) => 1,
    }
}

/// The one-line message of an error, naming the flag that changes the outcome.
pub fn message(error: &EngineError) -> String {
    match error {
        EngineError::EmptyDay { .. } => format!("{error} (--allow-empty-day runs anyway)"),
        EngineError::BadRange { from, to } => format!("--from {from} is after --to {to}"),
        EngineError::SizeGuard {
            as_of,
            limit_pct,
            changes,
        } => format!(
            "--max-change {limit_pct}% tripped, nothing committed for {as_of}: {}",
            changes.join("; ")
        ),
        EngineError::MemoryLimit {
            limit: Some(limit), ..
        } => format!(
            "{error} (raise --memory-limit or `memory_limit:` in segmint.yaml above {limit} bytes; nothing was committed)"
        ),
        other => other.to_string(),
    }
}

/// Print an error the way the user asked; return its exit code.
pub fn report(error: EngineError, format: ErrorFormat) -> u8 {
    let code = exit_code(&error);
    let terminal = std::io::IsTerminal::is_terminal(&std::io::stderr());
    match (&error, format) {
        (EngineError::Spec(d), ErrorFormat::Human) => {
            eprintln!("{}", d.render(terminal));
            eprintln!("error: {} problem(s) in the specs", d.0.len());
        }
        (EngineError::Spec(d), ErrorFormat::Json) => eprintln!("{}", d.to_json()),
        (
            EngineError::LakeMismatch {
                object,
                diagnostics,
            },
            ErrorFormat::Human,
        ) => {
            eprintln!("{}", diagnostics.render(terminal));
            eprintln!("error: the lake at {object} does not match the specs (exit {code})");
        }
        (
            EngineError::LakeMismatch {
                object,
                diagnostics,
            },
            ErrorFormat::Json,
        ) => {
            let mut value = diagnostics.to_json();
            value["status"] = serde_json::json!("error");
            value["exit_code"] = serde_json::json!(code);
            value["object"] = serde_json::json!(object);
            eprintln!("{value}");
        }
        (_, ErrorFormat::Json) => eprintln!(
            "{}",
            serde_json::json!({"status": "error", "exit_code": code, "error": message(&error)})
        ),
        (_, ErrorFormat::Human) => eprintln!("error: {}", message(&error)),
    }
    code
}
