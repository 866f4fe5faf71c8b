//! The summary sets of incremental runs (`summaries/<set>`, one Delta table each) and which
//! of them `gc` deletes whole.
//!
//! A set is named by the parts of the project's segments (docs/incremental.md): a spec
//! change starts a new set, and no run reads the old one again. `gc` deletes a set when
//! - no run committed within the retention names it,
//! - it is not the set of the newest run that names one (the next run may read it), and
//! - none of its objects is younger than the orphan floor (a first run of a new set, not yet
//!   committed, may still be writing it).
//!
//! Runs recorded before runs named their set (`summary_set` absent) keep every set: which
//! one they read is unknown.

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};
use futures::TryStreamExt;
use object_store::ObjectStoreExt;
use object_store::path::Path;

use super::OutputTables;
use crate::error::{EngineError, Result};
use crate::run::RunSummary;

/// The sets (`summaries/<set>` names) that no run needs any more, of `sets`, given the
/// committed `runs`: `None` when a run that must be honoured does not name its set.
pub(super) fn unneeded(
    sets: &[String],
    runs: &[RunSummary],
    since: DateTime<Utc>,
) -> Option<BTreeSet<String>> {
    let incremental = |r: &&RunSummary| {
        r.incremental
            .as_ref()
            .is_some_and(|i| i.mode == "incremental")
    };
    let committed = |r: &RunSummary| {
        DateTime::parse_from_rfc3339(&r.committed_at)
            .map(|t| t.with_timezone(&Utc))
            .ok()
    };
    let set_of = |r: &RunSummary| r.incremental.as_ref().and_then(|i| i.summary_set.clone());
    let mut needed = BTreeSet::new();
    let newest = runs.iter().filter(incremental).max_by_key(|r| committed(r));
    if let Some(run) = newest {
        needed.insert(set_of(run)?);
    }
    for run in runs.iter().filter(incremental) {
        if committed(run).is_none_or(|t| t >= since) {
            needed.insert(set_of(run)?);
        }
    }
    let folder = crate::incremental::SUMMARIES;
    Some(
        sets.iter()
            .filter(|name| {
                let set = name.strip_prefix(&format!("{folder}/")).unwrap_or(name);
                !needed.contains(set)
            })
            .cloned()
            .collect(),
    )
}

impl OutputTables {
    /// The summary tables of incremental runs under the output (`summaries/<set>`).
    pub(super) async fn summary_tables(&self) -> Result<Vec<String>> {
        let folder = crate::incremental::SUMMARIES;
        let prefix = self.location.prefix.clone().join(folder);
        let listing = self
            .location
            .store
            .list_with_delimiter(Some(&prefix))
            .await
            .map_err(|e| EngineError::output(self.describe(folder), e))?;
        let mut names: Vec<String> = listing
            .common_prefixes
            .iter()
            .filter_map(|p| p.filename().map(|set| format!("{folder}/{set}")))
            .collect();
        names.sort();
        Ok(names)
    }

    /// Delete the table `name` (every object below its folder) unless one of its objects
    /// changed after `floor`: the removed objects (relative to the folder), `None` when it
    /// was kept.
    pub(super) async fn delete_unless_newer(
        &self,
        name: &str,
        floor: DateTime<Utc>,
    ) -> Result<Option<Vec<String>>> {
        let object = self.describe(name);
        let prefix: Path = name
            .split('/')
            .fold(self.location.prefix.clone(), |p, part| p.join(part));
        let objects: Vec<_> = self
            .location
            .store
            .list(Some(&prefix))
            .try_collect()
            .await
            .map_err(|e| EngineError::output(&object, e))?;
        if objects.iter().any(|o| o.last_modified > floor) {
            return Ok(None);
        }
        let mut removed: Vec<String> = objects
            .iter()
            .map(|o| {
                o.location
                    .prefix_match(&prefix)
                    .map(|parts| parts.map(|p| p.as_ref().to_string()).collect::<Vec<_>>())
                    .map_or_else(|| o.location.to_string(), |parts| parts.join("/"))
            })
            .collect();
        // The log first, newest commit first: a run that opens the table meanwhile sees an
        // older version or none (and starts the set again); the data goes after, and a
        // `gc` stopped half way leaves files that the next one removes.
        let (mut log, data): (Vec<_>, Vec<_>) = objects
            .into_iter()
            .map(|o| o.location)
            .partition(|p| p.as_ref().contains("/_delta_log/"));
        log.sort_by(|a, b| b.cmp(a));
        for batch in [log, data] {
            for path in batch {
                self.location
                    .store
                    .delete(&path)
                    .await
                    .or_else(|e| match e {
                        object_store::Error::NotFound { .. } => Ok(()),
                        e => Err(e),
                    })
                    .map_err(|e| EngineError::output(&object, e))?;
            }
        }
        removed.sort();
        Ok(Some(removed))
    }
}
