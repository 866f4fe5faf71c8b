//! The output: Delta Lake tables under `output.location`, readable by any engine.
//!
//! ```text
//! <output>/members/   one row per (as_of, segment, entity) with tier, holdout and outputs
//! <output>/runs/      one row per committed run: sizes, entered/exited, timings, spec hashes
//! ```
//!
//! A run replaces its as-of in the `members` table with one Delta commit (the commit
//! point; its `commitInfo` carries the run summary), then appends its row to `runs`.
//! Concurrent runs are resolved by Delta's optimistic concurrency: runs of different
//! as-ofs both commit (the loser of a race retries against the new version); runs of the
//! same as-of conflict and the later one fails with [`EngineError::CommitConflict`],
//! leaving the winner's rows intact. A run that dies before its commit leaves only
//! unreferenced files, which [`OutputTables::gc`] (a Delta vacuum) removes.

mod delta;
pub mod members_table;
pub mod runs_table;
mod segment_files;
mod summary_sets;

use std::collections::{BTreeMap, BTreeSet, HashSet};

use chrono::{DateTime, NaiveDate, Utc};
use datafusion::arrow::datatypes::Schema;
use deltalake_core::DeltaTable;
use deltalake_core::operations::vacuum::VacuumMode;
use serde::Serialize;

pub use delta::register_schemes;
pub(crate) use delta::{
    append as append_table, commit_error, committer, load as load_table,
    read_file as read_table_file, read_text_column, table_url,
};
pub use members_table::{MEMBERS, OutputField};
pub use runs_table::RUNS;

use crate::error::{EngineError, Result};
use crate::run::RunSummary;
use crate::storage::Located;

/// Files an unfinished run may still be writing are younger than this; `gc` never removes
/// unreferenced files younger than it, whatever the retention.
pub const ORPHAN_FLOOR_HOURS: i64 = 1;

/// What `gc` removed, per table.
#[derive(Debug, Clone, Default, Serialize)]
pub struct GcReport {
    /// Files removed from each table.
    pub removed_files: BTreeMap<String, Vec<String>>,
    /// Tables deleted whole (summary sets no run needs any more).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub removed_tables: Vec<String>,
}

/// The committed history: every committed run, by as-of.
#[derive(Debug, Clone, Default)]
pub struct History {
    pub runs: Vec<RunSummary>,
}

impl History {
    fn day(run: &RunSummary) -> Option<NaiveDate> {
        NaiveDate::parse_from_str(&run.as_of, "%Y-%m-%d").ok()
    }

    /// Every committed as-of.
    pub fn days(&self) -> BTreeSet<NaiveDate> {
        self.runs.iter().filter_map(Self::day).collect()
    }

    /// The latest committed as-of strictly before `as_of`.
    pub fn previous(&self, as_of: NaiveDate) -> Option<NaiveDate> {
        self.days().into_iter().rfind(|d| *d < as_of)
    }

    /// Each segment committed at `day`, with the summary of the run that last wrote it.
    pub fn segments_at(&self, day: NaiveDate) -> BTreeMap<String, &crate::run::SegmentSummary> {
        let mut out = BTreeMap::new();
        for run in self.runs.iter().filter(|r| Self::day(r) == Some(day)) {
            for (name, segment) in &run.segments {
                out.insert(name.clone(), segment);
            }
        }
        out
    }

    /// The runs committed at `day`, oldest first.
    pub fn runs_at(&self, day: NaiveDate) -> Vec<&RunSummary> {
        self.runs
            .iter()
            .filter(|r| Self::day(r) == Some(day))
            .collect()
    }
}

/// The output location and its tables.
#[derive(Debug, Clone)]
pub struct OutputTables {
    pub location: Located,
}

impl OutputTables {
    pub fn new(location: Located) -> Self {
        OutputTables { location }
    }

    /// The full URL of a table, for messages.
    pub fn describe(&self, table: &str) -> String {
        format!("{}{table}", self.location.table_url())
    }

    async fn table(&self, name: &str) -> Result<Option<DeltaTable>> {
        let url = table_url(&self.location, name)?;
        delta::load(&self.location, &url).await
    }

    /// The members table, created when missing, with its schema brought up to these
    /// outputs.
    pub async fn members_for_write(&self, outputs: &[OutputField]) -> Result<DeltaTable> {
        self.members_for_write_from(None, outputs).await
    }

    /// [`Self::members_for_write`] from the members table as a command loaded it already
    /// (`None`: load it, or create it).
    pub async fn members_for_write_from(
        &self,
        loaded: Option<DeltaTable>,
        outputs: &[OutputField],
    ) -> Result<DeltaTable> {
        let wanted = members_table::schema(outputs)?;
        let object = self.describe(MEMBERS);
        let table = match loaded {
            Some(table) => table,
            None => {
                self.created(MEMBERS, &wanted, &["as_of", "segment"])
                    .await?
            }
        };
        members_table::evolve(table, &wanted, &object).await
    }

    /// The members table as it is now (`None`: nothing committed yet), for a command that
    /// reads it several times: each load replays its log.
    pub async fn members_table(&self) -> Result<Option<DeltaTable>> {
        self.table(MEMBERS).await
    }

    pub(crate) async fn created(
        &self,
        name: &str,
        schema: &Schema,
        partitions: &[&str],
    ) -> Result<DeltaTable> {
        let url = table_url(&self.location, name)?;
        let delta_schema = members_table::delta_schema(schema)?;
        delta::load_or_create(&self.location, &url, &delta_schema, partitions, &[]).await
    }

    /// Record committed runs in the runs table (created when missing).
    pub(crate) async fn append_runs(&self, runs: &[RunSummary]) -> Result<()> {
        let table = self.created(RUNS, &runs_table::schema(), &[]).await?;
        runs_table::append(&table, runs, &self.describe(RUNS)).await?;
        Ok(())
    }

    /// Every committed run. Runs whose members commit landed but whose runs row did not (the
    /// process died in between) are added to the runs table first.
    pub async fn history(&self) -> Result<History> {
        self.history_of(self.table(MEMBERS).await?.as_ref()).await
    }

    /// [`Self::history`] of the members table as loaded (`None`: no table yet).
    pub async fn history_of(&self, members: Option<&DeltaTable>) -> Result<History> {
        let Some(members) = members else {
            return Ok(History::default());
        };
        let mut runs = match self.table(RUNS).await? {
            Some(t) => runs_table::read_all(&t, &self.describe(RUNS)).await?,
            None => Vec::new(),
        };
        let known: HashSet<String> = runs.iter().map(|r| r.run_id.clone()).collect();
        let after = runs
            .iter()
            .filter_map(|r| r.table_version)
            .max()
            .unwrap_or(-1);
        let missing =
            runs_table::missing_runs(members, after, &known, &self.describe(MEMBERS)).await?;
        if !missing.is_empty() {
            self.append_runs(&missing).await?;
            runs.extend(missing);
            runs.sort_by(|a, b| (&a.as_of, &a.committed_at).cmp(&(&b.as_of, &b.committed_at)));
        }
        Ok(History { runs })
    }

    /// The committed members of each segment at `day` (only `segments`, when given).
    pub async fn members_at(
        &self,
        day: NaiveDate,
        segments: Option<&BTreeSet<String>>,
    ) -> Result<BTreeMap<String, HashSet<String>>> {
        match self.table(MEMBERS).await? {
            Some(t) => members_table::read_as_of(&t, day, segments, &self.describe(MEMBERS)).await,
            None => Ok(BTreeMap::new()),
        }
    }

    /// The committed entity column of each segment at `day` (only `segments`, when given),
    /// in the members table as loaded (`None`: no table yet):
    /// what a run's entered/exited counts compare with, without a string copied per member.
    pub async fn member_entities_in(
        &self,
        members: Option<&DeltaTable>,
        day: NaiveDate,
        segments: Option<&BTreeSet<String>>,
    ) -> Result<BTreeMap<String, Vec<datafusion::arrow::array::StringArray>>> {
        match members {
            Some(t) => {
                members_table::read_entities_as_of(t, day, segments, &self.describe(MEMBERS)).await
            }
            None => Ok(BTreeMap::new()),
        }
    }

    /// The committed rows of one segment at `day` (entity, tier, holdout, its outputs);
    /// empty when the table or the segment's rows are missing.
    pub async fn segment_rows(
        &self,
        day: NaiveDate,
        segment: &str,
    ) -> Result<Vec<datafusion::arrow::array::RecordBatch>> {
        match self.table(MEMBERS).await? {
            Some(t) => members_table::read_segment(&t, day, segment, &self.describe(MEMBERS)).await,
            None => Ok(Vec::new()),
        }
    }

    /// A table of the output by name (`members`, `runs`, `delivered`, …), if it exists.
    pub(crate) async fn existing(&self, name: &str) -> Result<Option<DeltaTable>> {
        self.table(name).await
    }

    /// A table of the output by name, created with `schema` and `partitions` when missing.
    pub(crate) async fn ensure(
        &self,
        name: &str,
        schema: &Schema,
        partitions: &[&str],
    ) -> Result<DeltaTable> {
        self.created(name, schema, partitions).await
    }

    /// Vacuum the tables (`members`, `runs` and the summary tables of incremental runs):
    /// files no version younger than `retention` needs are removed; unreferenced files (from
    /// runs that never committed) only once older than [`ORPHAN_FLOOR_HOURS`] too, so a run
    /// still writing keeps its files. Files the current version reads are never removed.
    ///
    /// Summary sets that no run needs any more (after a spec change: `summary_sets`) are
    /// deleted whole, once none of their files is younger than that floor either.
    pub async fn gc(&self, retention: chrono::Duration, now: DateTime<Utc>) -> Result<GcReport> {
        let mut report = GcReport::default();
        let floor = chrono::Duration::hours(ORPHAN_FLOOR_HOURS).max(retention);
        let mut names = vec![MEMBERS.to_string(), RUNS.to_string()];
        let sets = self.summary_tables().await?;
        let unneeded = summary_sets::unneeded(&sets, &self.history().await?.runs, now - retention)
            .unwrap_or_default();
        for name in &unneeded {
            if let Some(removed) = self.delete_unless_newer(name, now - floor).await? {
                report.removed_files.insert(name.clone(), removed);
                report.removed_tables.push(name.clone());
            }
        }
        names.extend(
            sets.into_iter()
                .filter(|s| !report.removed_tables.contains(s)),
        );
        for name in &names {
            let name = name.as_str();
            let Some(table) = self.table(name).await? else {
                continue;
            };
            let object = self.describe(name);
            let mut removed = Vec::new();
            let (table, lite) = table
                .vacuum()
                .with_retention_period(retention)
                .with_enforce_retention_duration(false)
                .with_mode(VacuumMode::Lite)
                .await
                .map_err(|e| EngineError::output(&object, e))?;
            removed.extend(lite.files_deleted);
            let (_, full) = table
                .vacuum()
                .with_retention_period(floor)
                .with_enforce_retention_duration(false)
                .with_mode(VacuumMode::Full)
                .await
                .map_err(|e| EngineError::output(&object, e))?;
            removed.extend(full.files_deleted);
            report.removed_files.insert(name.to_string(), removed);
        }
        Ok(report)
    }
}
