//! `identity update`: the days since the last build or update, re-stitching only the raw
//! components they touch — and reading and rewriting only those components' rows as Rust
//! values. The other rows are copied from the previous version by a DataFusion query
//! (Arrow batches straight into the new files), and counted by SQL for the statistics.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Instant;

use chrono::NaiveDate;
use datafusion::arrow::array::{Array, AsArray, RecordBatch};
use datafusion::datasource::MemTable;
use datafusion::prelude::SessionContext;

use super::batches::{read_nodes, read_string_edges};
use super::graph::{Edge, Node, stitch};
use super::merges::{max_opt, min_opt, record_merges};
use super::stored;
use super::table::{self, State};
use super::{IdentitySession, IdentitySummary, Stats, observe, settings_hash};
use crate::error::{EngineError, Result};

/// The columns of a copied row, in the table's order (`kind` first).
fn copy_columns(kind: &str) -> String {
    let columns: Vec<String> = table::schema()
        .fields()
        .iter()
        .map(|f| match f.name().as_str() {
            "kind" => format!("'{kind}' AS kind"),
            name => format!("r.{name}"),
        })
        .collect();
    columns.join(", ")
}

fn plan(e: datafusion::error::DataFusionError) -> EngineError {
    EngineError::Plan(e)
}

async fn rows(ctx: &SessionContext, sql: &str) -> Result<Vec<RecordBatch>> {
    ctx.sql(sql)
        .await
        .map_err(plan)?
        .collect()
        .await
        .map_err(plan)
}

/// `(value, count)` rows of a `SELECT text, count(*) … GROUP BY` query.
async fn counts(ctx: &SessionContext, sql: &str) -> Result<Vec<(Option<String>, u64)>> {
    let mut out = Vec::new();
    for b in rows(ctx, sql).await? {
        let values = b.column(0).as_string::<i32>();
        let n = b
            .column(1)
            .as_primitive::<datafusion::arrow::datatypes::Int64Type>();
        for i in 0..b.num_rows() {
            let value = values.is_valid(i).then(|| values.value(i).to_string());
            out.push((value, n.value(i) as u64));
        }
    }
    Ok(out)
}

impl IdentitySession {
    /// Add the events since the last build or update (up to the end of `as_of`), re-stitch
    /// only the raw components they touch, and commit.
    pub async fn update(&self, as_of: NaiveDate) -> Result<IdentitySummary> {
        let types = self.identity.identifiers.clone();
        let object = self.output.describe(table::IDENTITY);
        let started = Instant::now();
        let Some(delta) = stored::existing(&self.output).await? else {
            return Err(EngineError::Usage(format!(
                "no identity map at {object} yet: run `segmint identity build --as-of {as_of}` first"
            )));
        };
        let mut meta = State {
            types: types.clone(),
            ..State::default()
        };
        stored::load_meta(&delta, &mut meta, &object).await?;
        let built: IdentitySummary = serde_json::from_str(&meta.summary).unwrap_or_default();
        if built.settings_hash != settings_hash(&self.identity) {
            return Err(EngineError::Usage(format!(
                "`identity:` settings changed since the map at {object} was built: run `segmint identity build --as-of {as_of}` to rebuild it"
            )));
        }
        let Some(watermark) = meta.as_of else {
            return Err(EngineError::output(
                &object,
                "the identity map has no as-of",
            ));
        };
        if as_of < watermark {
            return Err(EngineError::Usage(format!(
                "the identity map already includes events up to {watermark}; an update goes forward (rebuild with `segmint identity build --as-of {as_of}`)"
            )));
        }

        // What the new days (and the edge tables and profiles) say.
        let ctx = &self.lake.ctx;
        let (lo, hi) = (self.end_of(watermark)?, self.end_of(as_of)?);
        let scratch = self.scratch("update");
        let tuples = observe::tuples(ctx, &self.identity, self.tuple_sources(Some(lo), hi))?;
        let tuples = scratch.keep(ctx, "tuples", tuples).await?.df;
        let new_nodes = scratch
            .collect(observe::nodes(&tuples, &self.identity)?)
            .await?;
        let new_edges = match observe::edges(&tuples, &self.identity)? {
            Some(df) => scratch.collect(df).await?,
            None => Vec::new(),
        };
        drop(tuples);
        scratch.clean().await?;

        // The stored map, read by a local context: the raw components the new identifiers
        // belong to, and those components' rows.
        let local = SessionContext::new();
        let location = &self.output.location;
        local.register_object_store(&location.store_url, location.store.clone());
        let nodes = stored::kind_listing(&delta, "node", &object)?
            .ok_or_else(|| EngineError::output(&object, "the identity map has no identifiers"))?;
        local
            .register_table("old_nodes", Arc::new(nodes))
            .map_err(plan)?;
        let edges = stored::kind_listing(&delta, "edge", &object)?;
        let has_edges = edges.is_some();
        if let Some(edges) = edges {
            local
                .register_table("old_edges", Arc::new(edges))
                .map_err(plan)?;
        }
        let seen_schema = match new_nodes.first() {
            Some(b) => b.schema(),
            None => Arc::new(datafusion::arrow::datatypes::Schema::new(vec![
                datafusion::arrow::datatypes::Field::new(
                    "id_type",
                    datafusion::arrow::datatypes::DataType::Utf8,
                    false,
                ),
                datafusion::arrow::datatypes::Field::new(
                    "id_value",
                    datafusion::arrow::datatypes::DataType::Utf8,
                    false,
                ),
            ])),
        };
        let seen = MemTable::try_new(seen_schema, vec![new_nodes.clone()]).map_err(plan)?;
        local.register_table("seen", Arc::new(seen)).map_err(plan)?;
        let affected = rows(
            &local,
            "SELECT DISTINCT n.component FROM old_nodes n \
             JOIN seen s ON n.id_type = s.id_type AND n.id_value = s.id_value",
        )
        .await?;
        let affected_schema = Arc::new(datafusion::arrow::datatypes::Schema::new(vec![
            datafusion::arrow::datatypes::Field::new(
                "component",
                datafusion::arrow::datatypes::DataType::Utf8,
                true,
            ),
        ]));
        let affected = affected
            .into_iter()
            .map(|b| RecordBatch::try_new(affected_schema.clone(), vec![b.column(0).clone()]))
            .collect::<std::result::Result<Vec<_>, _>>()
            .map_err(EngineError::Arrow)?;
        local
            .register_table(
                "affected",
                Arc::new(MemTable::try_new(affected_schema, vec![affected]).map_err(plan)?),
            )
            .map_err(plan)?;
        let mut state = State {
            types: types.clone(),
            merges: meta.merges,
            ..State::default()
        };
        let node_rows = rows(
            &local,
            "SELECT r.* FROM old_nodes r JOIN affected a ON r.component = a.component",
        )
        .await?;
        stored::push_node_rows(&mut state, &node_rows, &object)?;
        drop(node_rows);
        let mut index = state.index();
        if has_edges {
            let edge_rows = rows(
                &local,
                "SELECT r.* FROM old_edges r JOIN affected a ON r.component = a.component",
            )
            .await?;
            stored::push_edge_rows(&mut state, &index, &edge_rows, &object)?;
        }
        let read_ms = started.elapsed().as_millis() as u64;

        // Merge the new observations into those rows, then stitch them again.
        let started = Instant::now();
        for b in &new_nodes {
            for node in read_nodes(&types, b)? {
                let slot = &mut index[node.rank as usize];
                let i = match slot.get(node.value.as_str()) {
                    Some(i) => *i,
                    None => {
                        let i = state.nodes.len() as u32;
                        slot.insert(node.value.as_str().into(), i);
                        state.nodes.push(Node {
                            first_seen: None,
                            last_seen: None,
                            ..node.clone()
                        });
                        state.person.push(Arc::from(""));
                        state.component.push(Arc::from(""));
                        i
                    }
                };
                let n = &mut state.nodes[i as usize];
                n.first_seen = min_opt(n.first_seen, node.first_seen);
                n.last_seen = max_opt(n.last_seen, node.last_seen);
            }
        }
        let mut edge_index: std::collections::HashMap<(u32, u32), usize> = state
            .edges
            .iter()
            .enumerate()
            .map(|(i, e)| ((e.a, e.b), i))
            .collect();
        for b in &new_edges {
            for (a, bb, first, last) in read_string_edges(&types, b)? {
                let (Some(&a), Some(&bb)) = (
                    index[a.0 as usize].get(a.1.as_str()),
                    index[bb.0 as usize].get(bb.1.as_str()),
                ) else {
                    return Err(EngineError::Internal("an edge end is not a node".into()));
                };
                let i = *edge_index.entry((a, bb)).or_insert_with(|| {
                    state.edges.push(Edge {
                        a,
                        b: bb,
                        first_seen: None,
                        last_seen: None,
                    });
                    state.dropped.push(None);
                    state.edges.len() - 1
                });
                let e = &mut state.edges[i];
                e.first_seen = min_opt(e.first_seen, first);
                e.last_seen = max_opt(e.last_seen, last);
            }
        }
        let stitched = stitch(&state.nodes, &state.edges, None, &self.rules());
        let old: Vec<Option<Arc<str>>> = state.person.iter().map(|p| Some(p.clone())).collect();
        let (person, component) = self.ids_of(&state.nodes, &stitched);
        state.person = person;
        state.component = component;
        state.dropped = stitched
            .dropped
            .iter()
            .map(|d| d.map(|d| self.reason(d)))
            .collect();
        let all: Vec<u32> = (0..state.nodes.len() as u32).collect();
        let merges = record_merges(&mut state, &all, &old, as_of);
        let components: HashSet<&Arc<str>> = state.component.iter().collect();
        let components = components.len() as u64;

        // The untouched rows: counted for the statistics, then copied as they are.
        let mut stats = Stats::default();
        let untouched = "LEFT ANTI JOIN affected a ON r.component = a.component";
        let count = |column: &str, kind: &str| {
            format!("SELECT r.{column}, count(*) FROM {kind} r {untouched} GROUP BY r.{column}")
        };
        for (person, n) in counts(&local, &count("person_id", "old_nodes")).await? {
            stats.sizes.insert(Arc::from(person.unwrap_or_default()), n);
            stats.identifiers += n;
        }
        for (id_type, n) in counts(&local, &count("id_type", "old_nodes")).await? {
            *stats
                .by_type
                .entry(id_type.unwrap_or_default())
                .or_default() += n;
        }
        let mut copies = vec![format!(
            "SELECT {} FROM old_nodes r {untouched}",
            copy_columns("node")
        )];
        if has_edges {
            for (dropped, n) in counts(&local, &count("dropped", "old_edges")).await? {
                stats.edges += n;
                if let Some(reason) = dropped {
                    *stats.dropped.entry(reason).or_default() += n;
                }
            }
            copies.push(format!(
                "SELECT {} FROM old_edges r {untouched}",
                copy_columns("edge")
            ));
        }
        let mut copied = Vec::new();
        for copy in &copies {
            copied.push(
                local
                    .sql(copy)
                    .await
                    .map_err(plan)?
                    .execute_stream()
                    .await
                    .map_err(plan)?,
            );
        }
        let stitch_ms = started.elapsed().as_millis() as u64;
        let summary = IdentitySummary {
            mode: "update".into(),
            components,
            merges,
            read_ms,
            stitch_ms,
            ..IdentitySummary::default()
        };
        self.commit(state, stats, copied, summary, as_of).await
    }
}
