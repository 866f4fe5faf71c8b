//! The checked `identity:` settings: which identifiers name a person, and the rules for
//! stitching them (limits, blocked values, size guard). See `docs/identity.md`.

use serde::Serialize;

use crate::syntax::TableFormat;

/// The column segments group by when identity resolution is configured.
pub const PERSON_ID: &str = "person_id";

/// Values that identify no one: blanks and the placeholders SDKs and forms write when they
/// have no real identifier. Anchored, case-insensitive regexes; `blocked:` adds more.
pub const DEFAULT_BLOCKED: [&str; 5] = [
    r"^\s*$",
    r"^(?i)(0|-1|null|nil|none|undefined|nan|unknown|anonymous|guest|test|n/a|na|\[object object\])$",
    r"^0+$",
    r"^0{8}-0{4}-0{4}-0{4}-0{12}$",
    r"^(?i)f{8}-f{4}-f{4}-f{4}-f{12}$",
];

/// Identity resolution settings, defaults filled in.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Identity {
    /// Identifier types (event columns), highest priority first: the first present on an
    /// event names its person; edges between higher-priority types are merged first.
    pub identifiers: Vec<String>,
    /// `(type, most values per person)`, in `identifiers` order.
    pub limits: Vec<(String, u32)>,
    /// Regexes of values that identify no one (the defaults first, unless turned off).
    pub blocked: Vec<String>,
    /// Tables of identifier pairs.
    pub edges: Vec<EdgeTable>,
    /// Identifiers per person above which a build fails (exit 5) unless `allow_oversized`.
    pub max_person_size: u64,
    pub allow_oversized: bool,
    /// The identifier type of the profiles table's key (its column name), when profiles
    /// are configured.
    pub profiles_key: Option<String>,
}

/// A table of identifier links: each row joins its non-blank identifiers.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EdgeTable {
    pub location: String,
    pub format: TableFormat,
    /// `(identifier type, column)`, in priority order.
    pub columns: Vec<(String, String)>,
}

impl Identity {
    /// The priority rank of an identifier type (0 = highest), if it is one.
    pub fn rank(&self, id_type: &str) -> Option<usize> {
        self.identifiers.iter().position(|t| t == id_type)
    }

    /// The most values of `id_type` one person may have (`None`: no limit).
    pub fn limit(&self, id_type: &str) -> Option<u32> {
        self.limits
            .iter()
            .find(|(t, _)| t == id_type)
            .map(|(_, n)| *n)
    }
}
