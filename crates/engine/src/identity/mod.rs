//! Identity resolution: devices, anonymous visitors and logins stitched into people before
//! segmenting (`identity:` in `segmint.yaml`; the whole story is in `docs/identity.md`).
//!
//! | stage | where | file |
//! |---|---|---|
//! | identifier tuples, nodes, edges (blocked values removed) | DataFusion | [`observe`] |
//! | raw connected components (randomized contraction) | DataFusion | [`contract`] |
//! | limits (greedy merge, dropped edges), anchors, person ids | Rust, per component | [`graph`] |
//! | merges against the previous people | DataFusion join | `merges` |
//! | the `identity` Delta table (map, edges, merges, state) | one commit | [`table`], read back by `stored` |
//! | a daily update: only the touched components in memory | DataFusion + Rust | `update` |
//! | events and profiles seen per person | a DataFusion view | [`view`] |
//!
//! `build` reads every event before the as-of; `update` reads only the days since the last
//! build or update and re-stitches only the raw components those days touched — the
//! result equals a full build.

mod batches;
pub mod contract;
pub mod graph;
mod merges;
pub mod observe;
pub mod scratch;
mod show;
mod stored;
pub mod table;
mod update;
pub mod view;

pub use show::{PersonView, load_state, person};

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;
use std::time::Instant;

use chrono::NaiveDate;
use datafusion::datasource::provider_as_source;
use datafusion::logical_expr::{TableSource, col};
use datafusion::prelude::SessionContext;
use segmint_spec::{Identity, Project};
use serde::Serialize;

use crate::error::{EngineError, Result};
use crate::output::OutputTables;
use crate::session::LakeSession;
use batches::{number_nodes, numbered_schema, read_numbered_edges};
use graph::{Edge, Node, Rules, Stitched, person_id, stitch};
use scratch::Scratch;
use table::State;

/// A project opened for identity commands: its lake, edge tables and output.
pub struct IdentitySession {
    pub project: Project,
    pub identity: Identity,
    pub lake: LakeSession,
    /// The edge tables, in `identity.edges` order.
    pub edge_tables: Vec<Arc<dyn TableSource>>,
    pub output: OutputTables,
    /// True on a cluster client: intermediates go to files executors can read.
    pub cluster: bool,
}

/// What a build or update did (printed by `identity … --json`, kept in the `state` row).
#[derive(Debug, Clone, Default, Serialize, serde::Deserialize)]
pub struct IdentitySummary {
    /// `build` or `update`.
    pub mode: String,
    /// Events before this day (in the project timezone) were read.
    pub as_of: String,
    /// Hash of the identity settings the map was built under.
    pub settings_hash: String,
    /// The `identity` table version committed.
    pub version: i64,
    pub identifiers: u64,
    pub identifiers_by_type: BTreeMap<String, u64>,
    pub people: u64,
    pub edges: u64,
    /// Edges not merged, by reason (`limit:<type>`).
    pub dropped_edges: BTreeMap<String, u64>,
    /// Merges of two earlier people this build or update recorded.
    pub merges: u64,
    /// Contraction rounds (a build) or 0 (an update).
    pub rounds: usize,
    /// Raw components re-stitched (an update) or found (a build).
    pub components: u64,
    /// People by number of identifiers: `1`, `2`, `3-5`, `6-10`, `11-100`, `101-1000`, `>1000`.
    pub size_histogram: BTreeMap<String, u64>,
    /// The largest people: `(person id, identifiers)`.
    pub largest: Vec<(String, u64)>,
    /// People above `max_person_size` (committed only with `allow_oversized`).
    pub oversized: Vec<(String, u64)>,
    pub read_ms: u64,
    pub components_ms: u64,
    pub stitch_ms: u64,
    pub write_ms: u64,
}

/// Counts over a map's rows: identifiers per person and per type, edges, dropped edges.
#[derive(Default)]
struct Stats {
    sizes: HashMap<Arc<str>, u64>,
    by_type: BTreeMap<String, u64>,
    dropped: BTreeMap<String, u64>,
    identifiers: u64,
    edges: u64,
}

impl Stats {
    fn add_state(&mut self, state: &State) {
        // People share one string per person: counting by it allocates nothing.
        for p in &state.person {
            *self.sizes.entry(p.clone()).or_default() += 1;
        }
        let mut by_rank = vec![0u64; state.types.len()];
        for n in &state.nodes {
            by_rank[n.rank as usize] += 1;
        }
        for (t, n) in state.types.iter().zip(by_rank) {
            if n > 0 {
                *self.by_type.entry(t.clone()).or_default() += n;
            }
        }
        for d in state.dropped.iter().flatten() {
            *self.dropped.entry(d.clone()).or_default() += 1;
        }
        self.identifiers += state.nodes.len() as u64;
        self.edges += state.edges.len() as u64;
    }
}

/// What the DataFusion stages of a build found.
struct ObservedGraph {
    nodes: Vec<Node>,
    edges: Vec<Edge>,
    components: contract::Components,
    read_ms: u64,
    components_ms: u64,
}

/// A hash of the settings a map depends on: an update under other settings would not equal
/// a build, so it is refused.
fn settings_hash(identity: &Identity) -> String {
    use sha2::{Digest, Sha256};
    let text = serde_json::to_string(&(
        &identity.identifiers,
        &identity.limits,
        &identity.blocked,
        &identity.edges,
    ))
    .unwrap_or_default();
    hex::encode(&Sha256::digest(text.as_bytes())[..8])
}

fn bucket(size: u64) -> &'static str {
    match size {
        0 | 1 => "1",
        2 => "2",
        3..=5 => "3-5",
        6..=10 => "6-10",
        11..=100 => "11-100",
        101..=1000 => "101-1000",
        _ => ">1000",
    }
}

impl IdentitySession {
    fn rules(&self) -> Rules {
        Rules::from_identity(&self.identity)
    }

    /// UTC microseconds where as-of `day` ends (events before it are read).
    fn end_of(&self, day: NaiveDate) -> Result<i64> {
        Ok(segmint_compiler::AsOf::new(day, &self.project.timezone)?.end_us)
    }

    /// The identifier tuples of events in `[lo, hi)`, every edge table and the profiles.
    fn tuple_sources(&self, lo: Option<i64>, hi: i64) -> Vec<observe::TupleSource> {
        let rank = |t: &str| self.identity.rank(t);
        let events = observe::TupleSource {
            source: provider_as_source(self.lake.events.clone()),
            columns: self
                .identity
                .identifiers
                .iter()
                .enumerate()
                .map(|(r, c)| (r, c.clone()))
                .collect(),
            time: Some(self.project.events.time.clone()),
            filter: Some(segmint_compiler::span_filter(&self.project, lo, hi)),
        };
        let mut sources = vec![events];
        for (table, source) in self.identity.edges.iter().zip(&self.edge_tables) {
            sources.push(observe::TupleSource {
                source: source.clone(),
                columns: table
                    .columns
                    .iter()
                    .filter_map(|(t, c)| rank(t).map(|r| (r, c.clone())))
                    .collect(),
                time: None,
                filter: None,
            });
        }
        if let (Some(key), Some(profiles)) = (&self.identity.profiles_key, &self.lake.profiles)
            && let Some(r) = rank(key)
        {
            sources.push(observe::TupleSource {
                source: provider_as_source(profiles.clone()),
                columns: vec![(r, key.clone())],
                time: None,
                filter: None,
            });
        }
        sources
    }

    fn scratch(&self, label: &str) -> Scratch {
        if self.cluster {
            Scratch::files(
                self.output.location.clone(),
                format!(
                    "{}/_scratch/{label}-{}",
                    table::IDENTITY,
                    uuid::Uuid::new_v4()
                ),
            )
        } else {
            Scratch::memory(self.lake.ctx.state().config().target_partitions())
        }
    }

    /// Stitch every event before the end of `as_of` (and every edge table and profile) into
    /// people, and commit the map.
    pub async fn build(&self, as_of: NaiveDate) -> Result<IdentitySummary> {
        let ctx = &self.lake.ctx;
        let scratch = self.scratch("build");
        let result = self.build_in(ctx, &scratch, as_of).await;
        scratch.clean().await?;
        result
    }

    async fn build_in(
        &self,
        ctx: &SessionContext,
        scratch: &Scratch,
        as_of: NaiveDate,
    ) -> Result<IdentitySummary> {
        let hi = self.end_of(as_of)?;
        let graph = self.observe_graph(ctx, scratch, hi).await?;
        let started = Instant::now();
        let stitched = stitch(
            &graph.nodes,
            &graph.edges,
            Some(&graph.components.labels),
            &self.rules(),
        );
        let mut state = self.state_of(graph.nodes, graph.edges, &stitched);
        // Merges against the previous map, if there is one.
        let merges = match stored::existing(&self.output).await? {
            Some(delta) => {
                merges::record_merges_against(
                    &delta,
                    &self.output.location,
                    &mut state,
                    as_of,
                    &self.output.describe(table::IDENTITY),
                )
                .await?
            }
            None => 0,
        };
        let stitch_ms = started.elapsed().as_millis() as u64;
        let raw: HashSet<&Arc<str>> = state.component.iter().collect();
        let summary = IdentitySummary {
            mode: "build".into(),
            rounds: graph.components.rounds,
            components: raw.len() as u64,
            merges,
            read_ms: graph.read_ms,
            components_ms: graph.components_ms,
            stitch_ms,
            ..IdentitySummary::default()
        };
        self.commit(state, Stats::default(), Vec::new(), summary, as_of)
            .await
    }

    /// The DataFusion part of a build: nodes and numbered edges of the events before `hi`,
    /// and their raw components. Every intermediate is dropped on return.
    async fn observe_graph(
        &self,
        ctx: &SessionContext,
        scratch: &Scratch,
        hi: i64,
    ) -> Result<ObservedGraph> {
        let plan = EngineError::Plan;
        let started = Instant::now();
        let tuples = observe::tuples(ctx, &self.identity, self.tuple_sources(None, hi))?;
        let tuples = scratch.keep(ctx, "tuples", tuples).await?.df;
        let node_batches = scratch
            .collect(observe::nodes(&tuples, &self.identity)?)
            .await?;
        let (nodes, numbered) = number_nodes(&self.identity.identifiers, node_batches)?;
        let numbered = scratch
            .keep_batches(ctx, "nodes", numbered_schema(), numbered)
            .await?;
        let mut edges: Vec<Edge> = Vec::new();
        let mut edge_df = None;
        let with_numbers = observe::numbered_tuples(&tuples, &numbered, &self.identity)?;
        let with_numbers = scratch.keep(ctx, "numbered_tuples", with_numbers).await?.df;
        drop((tuples, numbered));
        if let Some(links) = observe::numbered_edges(&with_numbers, &self.identity)? {
            let kept = scratch.keep(ctx, "links", links).await?.df;
            for b in scratch.collect(kept.clone()).await? {
                read_numbered_edges(&b, &mut edges)?;
            }
            edge_df = Some(kept.select(vec![col("a"), col("b")]).map_err(plan)?);
        }
        drop(with_numbers);
        let read_ms = started.elapsed().as_millis() as u64;
        let started = Instant::now();
        let components = match edge_df {
            Some(df) => contract::components(ctx, scratch, df, nodes.len()).await?,
            None => contract::Components {
                labels: (0..nodes.len() as u32).collect(),
                rounds: 0,
            },
        };
        Ok(ObservedGraph {
            nodes,
            edges,
            components,
            read_ms,
            components_ms: started.elapsed().as_millis() as u64,
        })
    }

    fn reason(&self, d: graph::Dropped) -> String {
        format!("limit:{}", self.identity.identifiers[d.limit_rank as usize])
    }

    /// Person and component ids of each node (one shared string per person).
    fn ids_of(&self, nodes: &[Node], stitched: &Stitched) -> (Vec<Arc<str>>, Vec<Arc<str>>) {
        let types = &self.identity.identifiers;
        let name = |anchor: u32, prefix: &str| -> Arc<str> {
            let n = &nodes[anchor as usize];
            let id = person_id(&types[n.rank as usize], &n.value);
            Arc::from(format!("{prefix}{}", &id[2..]))
        };
        let mut people: Vec<Option<Arc<str>>> = vec![None; nodes.len()];
        let person = stitched
            .person
            .iter()
            .map(|a| {
                people[*a as usize]
                    .get_or_insert_with(|| name(*a, "p_"))
                    .clone()
            })
            .collect();
        let mut components: Vec<Option<Arc<str>>> = vec![None; nodes.len()];
        let component = stitched
            .component
            .iter()
            .map(|a| {
                components[*a as usize]
                    .get_or_insert_with(|| name(*a, "c_"))
                    .clone()
            })
            .collect();
        (person, component)
    }

    fn state_of(&self, nodes: Vec<Node>, edges: Vec<Edge>, stitched: &Stitched) -> State {
        let (person, component) = self.ids_of(&nodes, stitched);
        let dropped = stitched
            .dropped
            .iter()
            .map(|d| d.map(|d| self.reason(d)))
            .collect();
        State {
            types: self.identity.identifiers.clone(),
            nodes,
            person,
            component,
            edges,
            dropped,
            merges: Vec::new(),
            as_of: None,
            summary: String::new(),
        }
    }

    /// Check the size guard, fill in the statistics (of `state` plus `stats`, which count
    /// the `copied` rows) and commit `state` and the copied rows in one commit.
    async fn commit(
        &self,
        mut state: State,
        mut stats: Stats,
        copied: Vec<datafusion::physical_plan::SendableRecordBatchStream>,
        mut summary: IdentitySummary,
        as_of: NaiveDate,
    ) -> Result<IdentitySummary> {
        stats.add_state(&state);
        // The largest people, and those over the guard, without copying every person id.
        let mut by_size: Vec<(&Arc<str>, u64)> = stats.sizes.iter().map(|(p, n)| (p, *n)).collect();
        by_size.sort_unstable_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(b.0)));
        let max = self.identity.max_person_size;
        let named = |people: &[(&Arc<str>, u64)]| -> Vec<(String, u64)> {
            people.iter().map(|(p, n)| (p.to_string(), *n)).collect()
        };
        let over = by_size.iter().take_while(|(_, n)| *n > max).count();
        let oversized = named(&by_size[..over]);
        if !oversized.is_empty() && !self.identity.allow_oversized {
            return Err(EngineError::OversizedPeople {
                max,
                people: oversized,
            });
        }
        let largest = named(&by_size[..by_size.len().min(10)]);
        drop(by_size);
        for n in stats.sizes.values() {
            *summary.size_histogram.entry(bucket(*n).into()).or_default() += 1;
        }
        summary.as_of = as_of.to_string();
        summary.settings_hash = settings_hash(&self.identity);
        summary.identifiers = stats.identifiers;
        summary.identifiers_by_type = stats.by_type;
        summary.dropped_edges = stats.dropped;
        summary.people = stats.sizes.len() as u64;
        summary.edges = stats.edges;
        summary.largest = largest;
        summary.oversized = oversized;
        state.as_of = Some(as_of);
        let started = Instant::now();
        state.summary = serde_json::to_string(&summary)?;
        summary.version = Arc::new(state).commit(&self.output, copied).await?;
        summary.write_ms = started.elapsed().as_millis() as u64;
        Ok(summary)
    }
}
