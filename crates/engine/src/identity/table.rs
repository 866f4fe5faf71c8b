//! The `identity` Delta table under the output location: the whole identity state, rewritten
//! in one commit per `identity build` / `identity update`, partitioned by `kind`.
//!
//! | column | `node` rows | `edge` rows | `merge` rows | `state` row |
//! |---|---|---|---|---|
//! | `kind` (partition) | `node` | `edge` | `merge` | `state` |
//! | `id_type`, `id_value` | the identifier | one end | | |
//! | `other_type`, `other_value` | | the other end | | |
//! | `person_id` | its person | | the person merged away | |
//! | `component` | its raw component (limits ignored) | the raw component of its ends | | |
//! | `into_person` | | | the surviving person | |
//! | `first_seen`, `last_seen` | event times | event times | | |
//! | `dropped` | | why not merged (`limit:<type>`), else null | | |
//! | `as_of` | | | when | the events read: before this day |
//! | `summary` | | | | the JSON summary of the build |
//!
//! One table, so a build or an update is one atomic commit: a reader never sees a map
//! from one build with the edges of another.

use std::collections::HashMap;
use std::sync::Arc;

use chrono::NaiveDate;
use datafusion::arrow::array::{
    ArrayRef, Date32Array, RecordBatch, StringArray, StringBuilder, TimestampMicrosecondArray,
};
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};
use deltalake_core::kernel::Action;
use deltalake_core::protocol::{DeltaOperation, SaveMode};
use deltalake_core::writer::{DeltaWriter, RecordBatchWriter};

use super::graph::{Edge, Node};
use crate::error::{EngineError, Result};
use crate::members::days_since_epoch;
use crate::output::OutputTables;

/// The table's folder below the output location.
pub const IDENTITY: &str = "identity";

const ROWS_PER_BATCH: usize = 1 << 20;

/// The table's schema (with the `kind` partition column).
pub fn schema() -> SchemaRef {
    let time = DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()));
    Arc::new(Schema::new(vec![
        Field::new("kind", DataType::Utf8, false),
        Field::new("id_type", DataType::Utf8, true),
        Field::new("id_value", DataType::Utf8, true),
        Field::new("other_type", DataType::Utf8, true),
        Field::new("other_value", DataType::Utf8, true),
        Field::new("person_id", DataType::Utf8, true),
        Field::new("component", DataType::Utf8, true),
        Field::new("into_person", DataType::Utf8, true),
        Field::new("first_seen", time.clone(), true),
        Field::new("last_seen", time, true),
        Field::new("dropped", DataType::Utf8, true),
        Field::new("as_of", DataType::Date32, true),
        Field::new("summary", DataType::Utf8, true),
    ]))
}

/// The parts of a state, written concurrently.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Part {
    Nodes,
    Edges,
    Merges,
    /// The one `state` row.
    State,
}

/// A merge of two people: `merged` is gone, its identifiers are `into`'s now.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Merge {
    pub as_of: NaiveDate,
    pub merged: String,
    pub into: String,
}

/// The identity state, in memory.
#[derive(Debug, Clone, Default)]
pub struct State {
    /// Identifier types, by rank.
    pub types: Vec<String>,
    pub nodes: Vec<Node>,
    /// Per node: its person id and raw component id (shared by the person's nodes).
    pub person: Vec<Arc<str>>,
    pub component: Vec<Arc<str>>,
    pub edges: Vec<Edge>,
    /// Per edge: why it was not merged.
    pub dropped: Vec<Option<String>>,
    pub merges: Vec<Merge>,
    /// The events read were before this day.
    pub as_of: Option<NaiveDate>,
    pub summary: String,
}

fn text<'a>(rows: usize, value: impl Fn(usize) -> Option<&'a str>) -> ArrayRef {
    let mut b = StringBuilder::with_capacity(rows, rows * 8);
    for i in 0..rows {
        b.append_option(value(i));
    }
    Arc::new(b.finish())
}

fn times(rows: usize, value: impl Fn(usize) -> Option<i64>) -> ArrayRef {
    Arc::new(
        TimestampMicrosecondArray::from((0..rows).map(value).collect::<Vec<_>>())
            .with_timezone("UTC"),
    )
}

/// The `first_seen` / `last_seen` column value of a row seen from `first` to `last`.
fn seen(column: &str, first: Option<i64>, last: Option<i64>) -> Option<i64> {
    match column {
        "first_seen" => first,
        "last_seen" => last,
        _ => None,
    }
}

/// Rows `lo..hi` of one kind as a batch: `text(column, i)`, `time(column, i)` and `day(i)`
/// give the values of row `i` (absent columns are NULL).
struct Rows<'f, 'a> {
    kind: &'static str,
    lo: usize,
    hi: usize,
    text: &'f dyn Fn(&str, usize) -> Option<&'a str>,
    time: &'f dyn Fn(&str, usize) -> Option<i64>,
    day: &'f dyn Fn(usize) -> Option<i32>,
}

fn batch(rows: Rows<'_, '_>) -> Result<RecordBatch> {
    let schema = schema();
    let n = rows.hi - rows.lo;
    let columns: Vec<ArrayRef> = schema
        .fields()
        .iter()
        .map(|f| match (f.name().as_str(), f.data_type()) {
            ("kind", _) => Arc::new(StringArray::from(vec![rows.kind; n])) as ArrayRef,
            (name, DataType::Utf8) => text(n, |i| (rows.text)(name, rows.lo + i)),
            (name, DataType::Timestamp(..)) => times(n, |i| (rows.time)(name, rows.lo + i)),
            (_, _) => Arc::new(Date32Array::from(
                (0..n).map(|i| (rows.day)(rows.lo + i)).collect::<Vec<_>>(),
            )),
        })
        .collect();
    RecordBatch::try_new(schema, columns).map_err(EngineError::Arrow)
}

impl State {
    /// Node index by value, one map per identifier type (rank).
    pub fn index(&self) -> Vec<HashMap<Box<str>, u32>> {
        let mut index: Vec<HashMap<Box<str>, u32>> = vec![HashMap::new(); self.types.len()];
        for (i, n) in self.nodes.iter().enumerate() {
            index[n.rank as usize].insert(n.value.as_str().into(), i as u32);
        }
        index
    }

    /// One part of the table's rows into `writer`, `ROWS_PER_BATCH` rows per batch, so no
    /// more than one batch of strings is built at once.
    async fn write_batches(
        &self,
        writer: &mut RecordBatchWriter,
        part: Part,
        object: &str,
    ) -> Result<()> {
        let names: Vec<&str> = self.types.iter().map(String::as_str).collect();
        let types = &names;
        type Text<'a> = Box<dyn Fn(&str, usize) -> Option<&'a str> + Send + Sync + 'a>;
        type Time<'a> = Box<dyn Fn(&str, usize) -> Option<i64> + Send + Sync + 'a>;
        type Day<'a> = Box<dyn Fn(usize) -> Option<i32> + Send + Sync + 'a>;
        let (kind, rows, text, time, day): (&'static str, usize, Text, Time, Day) = match part {
            Part::Nodes => (
                "node",
                self.nodes.len(),
                Box::new(move |name, i| match name {
                    "id_type" => Some(types[self.nodes[i].rank as usize]),
                    "id_value" => Some(self.nodes[i].value.as_str()),
                    "person_id" => Some(&*self.person[i]),
                    "component" => Some(&*self.component[i]),
                    _ => None,
                }),
                Box::new(move |name, i| {
                    seen(name, self.nodes[i].first_seen, self.nodes[i].last_seen)
                }),
                Box::new(|_| None),
            ),
            Part::Edges => (
                "edge",
                self.edges.len(),
                Box::new(move |name, i| {
                    let e = &self.edges[i];
                    let (a, b) = (&self.nodes[e.a as usize], &self.nodes[e.b as usize]);
                    match name {
                        "id_type" => Some(types[a.rank as usize]),
                        "id_value" => Some(a.value.as_str()),
                        "other_type" => Some(types[b.rank as usize]),
                        "other_value" => Some(b.value.as_str()),
                        "component" => Some(&*self.component[e.a as usize]),
                        "dropped" => self.dropped[i].as_deref(),
                        _ => None,
                    }
                }),
                Box::new(move |name, i| {
                    seen(name, self.edges[i].first_seen, self.edges[i].last_seen)
                }),
                Box::new(|_| None),
            ),
            Part::Merges => (
                "merge",
                self.merges.len(),
                Box::new(move |name, i| match name {
                    "person_id" => Some(self.merges[i].merged.as_str()),
                    "into_person" => Some(self.merges[i].into.as_str()),
                    _ => None,
                }),
                Box::new(|_, _| None),
                Box::new(move |i| Some(days_since_epoch(self.merges[i].as_of))),
            ),
            Part::State => (
                "state",
                1,
                Box::new(move |name, _| (name == "summary").then_some(self.summary.as_str())),
                Box::new(|_, _| None),
                Box::new(move |_| self.as_of.map(days_since_epoch)),
            ),
        };
        for lo in (0..rows).step_by(ROWS_PER_BATCH) {
            let hi = (lo + ROWS_PER_BATCH).min(rows);
            let b = batch(Rows {
                kind,
                lo,
                hi,
                text: &*text,
                time: &*time,
                day: &*day,
            })?;
            writer
                .write(b)
                .await
                .map_err(|e| EngineError::output(object, e))?;
        }
        Ok(())
    }

    /// Replace the table's contents with this state — and the `copied` rows (streams in the
    /// table's schema) — in one commit; the new version. The nodes, the edges, the merges, the state row and
    /// each copied stream are encoded concurrently, each into its own files.
    pub async fn commit(
        self: Arc<Self>,
        out: &OutputTables,
        copied: Vec<datafusion::physical_plan::SendableRecordBatchStream>,
    ) -> Result<i64> {
        let object = out.describe(IDENTITY);
        let table = out.ensure(IDENTITY, &schema(), &["kind"]).await?;
        let snapshot = table
            .snapshot()
            .map_err(|e| EngineError::output(&object, e))?;
        let mut tasks = tokio::task::JoinSet::new();
        for part in [Part::Nodes, Part::Edges, Part::Merges, Part::State] {
            let (state, table, object) = (self.clone(), table.clone(), object.clone());
            tasks.spawn(async move {
                let mut writer = RecordBatchWriter::for_table(&table)
                    .map_err(|e| EngineError::output(&object, e))?;
                state.write_batches(&mut writer, part, &object).await?;
                writer
                    .flush()
                    .await
                    .map_err(|e| EngineError::output(&object, e))
            });
        }
        for mut rows in copied {
            let (table, object) = (table.clone(), object.clone());
            tasks.spawn(async move {
                use futures::StreamExt;
                let mut writer = RecordBatchWriter::for_table(&table)
                    .map_err(|e| EngineError::output(&object, e))?;
                while let Some(batch) = rows.next().await {
                    let batch = batch.map_err(|e| EngineError::output(&object, e))?;
                    writer
                        .write(batch)
                        .await
                        .map_err(|e| EngineError::output(&object, e))?;
                }
                writer
                    .flush()
                    .await
                    .map_err(|e| EngineError::output(&object, e))
            });
        }
        let mut adds = Vec::new();
        while let Some(done) = tasks.join_next().await {
            let added =
                done.map_err(|e| EngineError::Internal(format!("a writer task: {e}")))??;
            adds.extend(added);
        }
        let mut actions: Vec<Action> = snapshot
            .log_data()
            .iter()
            .map(|f| Action::Remove(f.remove_action(true)))
            .collect();
        actions.extend(adds.into_iter().map(Action::Add));
        let operation = DeltaOperation::Write {
            mode: SaveMode::Overwrite,
            partition_by: Some(vec!["kind".to_string()]),
            predicate: None,
        };
        let finalized = crate::output::committer()
            .with_actions(actions)
            .build(Some(snapshot.snapshot()), table.log_store(), operation)
            .await
            .map_err(|e| crate::output::commit_error(&object, e))?;
        Ok(finalized.version() as i64)
    }
}
