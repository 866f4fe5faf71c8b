//! Acting on segments: holdout groups and destinations, as checked.

use serde::Serialize;

use crate::syntax::{FileFormat, FileMode};

/// A segment's holdout group: the members a stable hash puts below `fraction`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Holdout {
    /// Between 0 and 1, exclusive.
    pub fraction: f64,
}

/// Where an entity falls in [0, 1) for a segment's holdout: XXH64 of the project salt, the
/// segment and the entity, scaled. The same inputs give the same position on every run,
/// machine and version, so a member stays in (or out of) the holdout while it stays in the
/// segment; another segment or salt gives an independent position.
pub fn holdout_position(salt: &str, segment: &str, entity: &str) -> f64 {
    let mut bytes = Vec::with_capacity(salt.len() + segment.len() + entity.len() + 2);
    bytes.extend_from_slice(salt.as_bytes());
    bytes.push(0);
    bytes.extend_from_slice(segment.as_bytes());
    bytes.push(0);
    bytes.extend_from_slice(entity.as_bytes());
    let hash = twox_hash::XxHash64::oneshot(0x5e67_6d69_6e74, &bytes);
    (hash >> 11) as f64 / (1u64 << 53) as f64
}

impl Holdout {
    /// Whether `entity` of `segment` is held out.
    pub fn holds_out(&self, salt: &str, segment: &str, entity: &str) -> bool {
        holdout_position(salt, segment, entity) < self.fraction
    }
}

/// A named destination of `segmint sync`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Destination {
    pub name: String,
    pub target: DestinationTarget,
    /// The segments delivered (empty: every segment).
    pub segments: Vec<String>,
    pub include_holdout: bool,
}

/// What a destination is.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub enum DestinationTarget {
    Webhook(Webhook),
    Files(FilesTarget),
}

/// A webhook. Secrets are environment variable names, never values.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Webhook {
    pub url: String,
    pub signing_key_env: Option<String>,
    /// (header, the variable holding its value).
    pub headers_env: Vec<(String, String)>,
    pub batch_size: usize,
    pub requests_per_second: f64,
    pub max_retries: u32,
    pub timeout_seconds: u32,
}

/// Files written to a location.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FilesTarget {
    pub location: String,
    pub format: FileFormat,
    pub mode: FileMode,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_are_stable_and_spread() {
        let a = holdout_position("salt", "seg", "u000001");
        assert_eq!(a, holdout_position("salt", "seg", "u000001"));
        assert_ne!(a, holdout_position("salt", "other", "u000001"));
        let held = (0..100_000)
            .filter(|i| holdout_position("salt", "seg", &format!("u{i:06}")) < 0.1)
            .count();
        assert!((9_700..10_300).contains(&held), "{held}");
    }
}
