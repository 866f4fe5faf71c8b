//! Reading the `identity` table back: its files by kind, its rows as nodes and edges, its
//! merges and state row, and listing tables over its files for DataFusion queries.

use std::collections::HashMap;
use std::sync::Arc;

use datafusion::arrow::array::{
    Array, AsArray, Date32Array, RecordBatch, StringArray, TimestampMicrosecondArray,
};
use datafusion::arrow::datatypes::Schema;
use deltalake_core::DeltaTable;

use super::batches::opt;
use super::graph::{Edge, Node};
use super::table::{IDENTITY, Merge, State, schema};
use crate::error::{EngineError, Result};
use crate::output::OutputTables;

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
                first_seen: opt(first, i),
                last_seen: opt(last, i),
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
                first_seen: opt(first, i),
                last_seen: opt(last, i),
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

/// Read the whole committed state into memory (for `identity show` and `stats`); `None`
/// when nothing was built. `types` are the configured identifier types: a state holding
/// another type was built under another configuration.
pub async fn load(out: &OutputTables, types: &[String]) -> Result<Option<State>> {
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
    let index = state.index();
    let batches = read_kind(&table, "edge", &object).await?;
    push_edge_rows(&mut state, &index, &batches, &object)?;
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
