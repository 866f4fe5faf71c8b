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

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    /// A committed run at `hours` after midnight of 2026-12-01, incremental from `set`
    /// (`Some(None)`: incremental, recorded before runs named their set; `None`: full).
    fn run(hours: i64, set: Option<Option<&str>>) -> RunSummary {
        let at = DateTime::parse_from_rfc3339("2026-12-01T00:00:00Z").unwrap()
            + chrono::Duration::hours(hours);
        let incremental = match set {
            None => serde_json::json!({"mode": "full", "reason": "--full",
                "days_summarised": 0, "days_merged": 0}),
            Some(set) => serde_json::json!({"mode": "incremental", "days_summarised": 2,
                "days_merged": 30, "summary_set": set}),
        };
        serde_json::from_value(serde_json::json!({
            "status": "ok", "as_of": "2026-11-30", "run_id": format!("r{hours}"),
            "previous_as_of": null, "output": "out", "segments": {}, "timings_ms": {},
            "committed_at": at.to_rfc3339(), "segmint_version": "0", "incremental": incremental,
        }))
        .unwrap()
    }

    fn sets() -> Vec<String> {
        ["a", "b", "c"].map(|s| format!("summaries/{s}")).to_vec()
    }

    fn since(hours: i64) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-12-01T00:00:00Z")
            .unwrap()
            .with_timezone(&Utc)
            + chrono::Duration::hours(hours)
    }

    #[test]
    fn the_newest_runs_set_and_those_within_the_retention_are_needed() {
        let runs = [
            run(1, Some(Some("a"))),
            run(5, Some(Some("b"))),
            run(9, Some(Some("c"))),
        ];
        let gone = unneeded(&sets(), &runs, since(4)).unwrap();
        assert_eq!(gone, BTreeSet::from(["summaries/a".to_string()]));
        // Past every run's commit: only the newest run's set stays, even after a full run.
        let runs = [
            run(1, Some(Some("a"))),
            run(5, Some(Some("b"))),
            run(9, None),
        ];
        let gone = unneeded(&sets(), &runs, since(20)).unwrap();
        let expected = ["summaries/a", "summaries/c"].map(String::from);
        assert_eq!(gone, BTreeSet::from(expected));
    }

    #[test]
    fn a_run_that_does_not_name_its_set_keeps_every_set() {
        let runs = [run(1, Some(Some("a"))), run(5, Some(None))];
        assert_eq!(unneeded(&sets(), &runs, since(20)), None);
        // Older than the retention and not the newest: it no longer matters.
        let runs = [run(1, Some(None)), run(5, Some(Some("b")))];
        let gone = unneeded(&sets(), &runs, since(3)).unwrap();
        let expected = ["summaries/a", "summaries/c"].map(String::from);
        assert_eq!(gone, BTreeSet::from(expected));
    }
}
