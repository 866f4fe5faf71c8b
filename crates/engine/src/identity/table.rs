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
    Array, ArrayRef, AsArray, Date32Array, RecordBatch, StringArray, StringBuilder,
    TimestampMicrosecondArray,
};
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};
use deltalake_core::DeltaTable;
use deltalake_core::kernel::Action;
use deltalake_core::kernel::transaction::CommitBuilder;
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

/// The parts of a state written concurrently.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Part {
    Nodes,
    Edges,
    /// Merges and the state row.
    Rest,
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

/// A node's or edge's `first_seen` / `last_seen` column value.
fn seen(column: &str, row: &impl Seen) -> Option<i64> {
    match column {
        "first_seen" => row.first_seen(),
        "last_seen" => row.last_seen(),
        _ => None,
    }
}

/// Rows that were seen at event times.
trait Seen {
    fn first_seen(&self) -> Option<i64>;
    fn last_seen(&self) -> Option<i64>;
}

impl Seen for Node {
    fn first_seen(&self) -> Option<i64> {
        self.first_seen
    }
    fn last_seen(&self) -> Option<i64> {
        self.last_seen
    }
}

impl Seen for Edge {
    fn first_seen(&self) -> Option<i64> {
        self.first_seen
    }
    fn last_seen(&self) -> Option<i64> {
        self.last_seen
    }
}

/// Rows `lo..hi` of one kind as a batch: `text(column, i)`, `time(column, i)` and `day(i)`
/// give the values of row `i` (absent columns are NULL).
struct Rows<'a> {
    kind: &'static str,
    lo: usize,
    hi: usize,
    text: &'a dyn Fn(&str, usize) -> Option<&'a str>,
    time: &'a dyn Fn(&str, usize) -> Option<i64>,
    day: &'a dyn Fn(usize) -> Option<i32>,
}

fn batch(rows: Rows<'_>) -> Result<RecordBatch> {
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

    /// One part of the table's rows, one batch at a time (`ROWS_PER_BATCH` rows each) into
    /// `writer`, so no more than one batch of strings is built at once.
    async fn write_batches(
        &self,
        writer: &mut RecordBatchWriter,
        part: Part,
        object: &str,
    ) -> Result<()> {
        let none_time = |_: &str, _: usize| None;
        let none_day = |_: usize| None;
        let types: Vec<&str> = self.types.iter().map(String::as_str).collect();
        let mut put = async |b: RecordBatch| {
            writer
                .write(b)
                .await
                .map_err(|e| EngineError::output(object, e))
        };
        let nodes = if part == Part::Nodes {
            self.nodes.len()
        } else {
            0
        };
        for lo in (0..nodes).step_by(ROWS_PER_BATCH) {
            let hi = (lo + ROWS_PER_BATCH).min(nodes);
            let text = |name: &str, i: usize| match name {
                "id_type" => Some(types[self.nodes[i].rank as usize]),
                "id_value" => Some(self.nodes[i].value.as_str()),
                "person_id" => Some(&*self.person[i]),
                "component" => Some(&*self.component[i]),
                _ => None,
            };
            let time = |name: &str, i: usize| seen(name, &self.nodes[i]);
            put(batch(Rows {
                kind: "node",
                lo,
                hi,
                text: &text,
                time: &time,
                day: &none_day,
            })?)
            .await?;
        }
        let edges = if part == Part::Edges {
            self.edges.len()
        } else {
            0
        };
        for lo in (0..edges).step_by(ROWS_PER_BATCH) {
            let hi = (lo + ROWS_PER_BATCH).min(edges);
            let text = |name: &str, i: usize| {
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
            };
            let time = |name: &str, i: usize| seen(name, &self.edges[i]);
            put(batch(Rows {
                kind: "edge",
                lo,
                hi,
                text: &text,
                time: &time,
                day: &none_day,
            })?)
            .await?;
        }
        if part != Part::Rest {
            return Ok(());
        }
        if !self.merges.is_empty() {
            let text = |name: &str, i: usize| match name {
                "person_id" => Some(self.merges[i].merged.as_str()),
                "into_person" => Some(self.merges[i].into.as_str()),
                _ => None,
            };
            put(batch(Rows {
                kind: "merge",
                lo: 0,
                hi: self.merges.len(),
                text: &text,
                time: &none_time,
                day: &|i| Some(days_since_epoch(self.merges[i].as_of)),
            })?)
            .await?;
        }
        let text = |name: &str, _: usize| (name == "summary").then_some(self.summary.as_str());
        put(batch(Rows {
            kind: "state",
            lo: 0,
            hi: 1,
            text: &text,
            time: &none_time,
            day: &|_| self.as_of.map(days_since_epoch),
        })?)
        .await
    }

    /// Replace the table's contents with this state — and the `copied` rows (streams in the
    /// table's schema) — in one commit; the new version. The nodes, the edges, the rest and
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
        for part in [Part::Nodes, Part::Edges, Part::Rest] {
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
        let finalized = CommitBuilder::default()
            .with_actions(actions)
            .build(Some(snapshot.snapshot()), table.log_store(), operation)
            .await
            .map_err(|e| crate::output::commit_error(&object, e))?;
        Ok(finalized.version() as i64)
    }
}

/// The committed table, if any.
pub async fn existing(out: &OutputTables) -> Result<Option<DeltaTable>> {
    out.existing(IDENTITY).await
}

/// Every committed row of one kind, as batches (without the `kind` column).
pub async fn read_kind(table: &DeltaTable, kind: &str, object: &str) -> Result<Vec<RecordBatch>> {
    let snapshot = table
        .snapshot()
        .map_err(|e| EngineError::output(object, e))?;
    let mut out = Vec::new();
    for file in snapshot.log_data().iter() {
        if file
            .partition_values_map()
            .get("kind")
            .cloned()
            .flatten()
            .as_deref()
            != Some(kind)
        {
            continue;
        }
        let path = file.object_store_path();
        out.extend(crate::output::read_table_file(table, &path, None, object).await?);
    }
    Ok(out)
}

/// The URLs of the files holding one kind of row (for a listing table over them).
pub fn kind_files(table: &DeltaTable, kind: &str, object: &str) -> Result<Vec<String>> {
    let snapshot = table
        .snapshot()
        .map_err(|e| EngineError::output(object, e))?;
    let base = table.table_url().to_string();
    let base = if base.ends_with('/') {
        base
    } else {
        format!("{base}/")
    };
    Ok(snapshot
        .log_data()
        .iter()
        .filter(|f| {
            f.partition_values_map()
                .get("kind")
                .cloned()
                .flatten()
                .as_deref()
                == Some(kind)
        })
        .map(|f| format!("{base}{}", f.object_store_path()))
        .collect())
}

fn column<'a>(batch: &'a RecordBatch, name: &str, object: &str) -> Result<&'a StringArray> {
    batch
        .column_by_name(name)
        .and_then(|c| c.as_string_opt::<i32>())
        .ok_or_else(|| EngineError::output(object, format!("no text column `{name}`")))
}

fn time_column<'a>(
    batch: &'a RecordBatch,
    name: &str,
    object: &str,
) -> Result<&'a TimestampMicrosecondArray> {
    batch
        .column_by_name(name)
        .and_then(|c| c.as_any().downcast_ref::<TimestampMicrosecondArray>())
        .ok_or_else(|| EngineError::output(object, format!("no timestamp column `{name}`")))
}

fn opt_time(a: &TimestampMicrosecondArray, i: usize) -> Option<i64> {
    a.is_valid(i).then(|| a.value(i))
}

/// One shared string per distinct value.
fn shared(seen: &mut HashMap<String, Arc<str>>, value: &str) -> Arc<str> {
    if let Some(s) = seen.get(value) {
        return s.clone();
    }
    let s: Arc<str> = Arc::from(value);
    seen.insert(value.to_string(), s.clone());
    s
}

fn opt_text(a: &StringArray, i: usize) -> Option<String> {
    a.is_valid(i).then(|| a.value(i).to_string())
}

/// The rank of identifier type `t` among `types`; another type means the map was built
/// under other settings.
fn rank_of(types: &[String], t: &str, object: &str) -> Result<u8> {
    types.iter().position(|x| x == t).map(|r| r as u8).ok_or_else(|| {
        EngineError::Usage(format!(
            "the identity map at {object} holds identifier type `{t}`, which `identity.identifiers` no longer lists: run `segmint identity build` to rebuild it"
        ))
    })
}

/// Append `node` rows (batches of the table's columns) to `state`.
pub fn push_node_rows(state: &mut State, batches: &[RecordBatch], object: &str) -> Result<()> {
    let mut people: HashMap<String, Arc<str>> = HashMap::new();
    let mut components: HashMap<String, Arc<str>> = HashMap::new();
    let mut last_type: (String, u8) = (String::new(), 0);
    for b in batches {
        let (t, v, p, c) = (
            column(b, "id_type", object)?,
            column(b, "id_value", object)?,
            column(b, "person_id", object)?,
            column(b, "component", object)?,
        );
        let (first, last) = (
            time_column(b, "first_seen", object)?,
            time_column(b, "last_seen", object)?,
        );
        for i in 0..b.num_rows() {
            let type_name = t.value(i);
            if type_name != last_type.0 || state.nodes.is_empty() {
                last_type = (
                    type_name.to_string(),
                    rank_of(&state.types, type_name, object)?,
                );
            }
            state.nodes.push(Node {
                rank: last_type.1,
                value: v.value(i).to_string(),
                first_seen: opt_time(first, i),
                last_seen: opt_time(last, i),
            });
            state.person.push(shared(&mut people, p.value(i)));
            state.component.push(shared(&mut components, c.value(i)));
        }
    }
    Ok(())
}

/// Append `edge` rows to `state`, whose nodes must hold both ends (`index`: [`State::index`]).
pub fn push_edge_rows(
    state: &mut State,
    index: &[HashMap<Box<str>, u32>],
    batches: &[RecordBatch],
    object: &str,
) -> Result<()> {
    for b in batches {
        let (t, v, ot, ov, d) = (
            column(b, "id_type", object)?,
            column(b, "id_value", object)?,
            column(b, "other_type", object)?,
            column(b, "other_value", object)?,
            column(b, "dropped", object)?,
        );
        let (first, last) = (
            time_column(b, "first_seen", object)?,
            time_column(b, "last_seen", object)?,
        );
        for i in 0..b.num_rows() {
            let end = |t: &str, v: &str| -> Result<u32> {
                index[rank_of(&state.types, t, object)? as usize]
                    .get(v)
                    .copied()
                    .ok_or_else(|| {
                        EngineError::output(object, format!("edge end {t}={v} is not a node"))
                    })
            };
            let edge = Edge {
                a: end(t.value(i), v.value(i))?,
                b: end(ot.value(i), ov.value(i))?,
                first_seen: opt_time(first, i),
                last_seen: opt_time(last, i),
            };
            state.edges.push(edge);
            state.dropped.push(opt_text(d, i));
        }
    }
    Ok(())
}

/// The table's merges, its as-of and its summary (the small kinds), into `state`.
pub async fn load_meta(table: &DeltaTable, state: &mut State, object: &str) -> Result<()> {
    for b in read_kind(table, "merge", object).await? {
        let (p, into) = (
            column(&b, "person_id", object)?,
            column(&b, "into_person", object)?,
        );
        let days = b
            .column_by_name("as_of")
            .and_then(|c| c.as_any().downcast_ref::<Date32Array>())
            .ok_or_else(|| EngineError::output(object, "no `as_of` column"))?;
        for i in 0..b.num_rows() {
            state.merges.push(Merge {
                as_of: crate::members::date_of_days(days.value(i)),
                merged: p.value(i).to_string(),
                into: into.value(i).to_string(),
            });
        }
    }
    for b in read_kind(table, "state", object).await? {
        let summary = column(&b, "summary", object)?;
        let days = b
            .column_by_name("as_of")
            .and_then(|c| c.as_any().downcast_ref::<Date32Array>())
            .ok_or_else(|| EngineError::output(object, "no `as_of` column"))?;
        for i in 0..b.num_rows() {
            state.summary = summary.value(i).to_string();
            state.as_of = days
                .is_valid(i)
                .then(|| crate::members::date_of_days(days.value(i)));
        }
    }
    Ok(())
}

/// Read the committed state; `None` when nothing was built. `types` are the configured
/// identifier types: a state holding another type was built under another configuration.
pub async fn load(out: &OutputTables, types: &[String]) -> Result<Option<State>> {
    load_parts(out, types, true).await
}

/// [`load`]; `edges: false` leaves the edges out (to compare people, e.g. for merges).
pub async fn load_parts(
    out: &OutputTables,
    types: &[String],
    edges: bool,
) -> Result<Option<State>> {
    let object = out.describe(IDENTITY);
    let Some(table) = existing(out).await? else {
        return Ok(None);
    };
    let mut state = State {
        types: types.to_vec(),
        ..State::default()
    };
    push_node_rows(
        &mut state,
        &read_kind(&table, "node", &object).await?,
        &object,
    )?;
    if edges {
        let index = state.index();
        let batches = read_kind(&table, "edge", &object).await?;
        push_edge_rows(&mut state, &index, &batches, &object)?;
    }
    load_meta(&table, &mut state, &object).await?;
    Ok(Some(state))
}

/// A listing table over the files of one kind of row (the table's columns but `kind`), or
/// `None` when there are none.
pub fn kind_listing(
    table: &DeltaTable,
    kind: &str,
    object: &str,
) -> Result<Option<datafusion::datasource::listing::ListingTable>> {
    use datafusion::datasource::file_format::parquet::ParquetFormat;
    use datafusion::datasource::listing::{
        ListingOptions, ListingTable, ListingTableConfig, ListingTableUrl,
    };
    let urls = kind_files(table, kind, object)?
        .iter()
        .map(ListingTableUrl::parse)
        .collect::<std::result::Result<Vec<_>, _>>()
        .map_err(|e| EngineError::output(object, e))?;
    if urls.is_empty() {
        return Ok(None);
    }
    let fields: Vec<_> = schema()
        .fields()
        .iter()
        .filter(|f| f.name() != "kind")
        .cloned()
        .collect();
    let options =
        ListingOptions::new(Arc::new(ParquetFormat::default())).with_file_extension(".parquet");
    let config = ListingTableConfig::new_with_multi_paths(urls)
        .with_listing_options(options)
        .with_schema(Arc::new(Schema::new(fields)));
    ListingTable::try_new(config)
        .map(Some)
        .map_err(|e| EngineError::output(object, e))
}
