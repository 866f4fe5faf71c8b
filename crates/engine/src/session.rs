//! Opening a project: one builder, [`ProjectSession::builder`], for every command.
//!
//! | method | reads | gives | for |
//! |---|---|---|---|
//! | [`ProjectSessionBuilder::check_offline`] | `segmint.yaml`, segment files | [`Checked`] | `validate --offline` |
//! | [`ProjectSessionBuilder::open`] | + the lake's schema (columns checked) | [`ProjectSession`] | `run`, `compile`, `preview`, `validate` |
//! | [`ProjectSessionBuilder::open_lake`] | `segmint.yaml`, the lake | [`LakeSession`] | `sql` (works while a segment file is broken) |
//! | [`ProjectSessionBuilder::open_output`] | `segmint.yaml` | [`OutputTables`] | `diff`, `gc` |
//! | [`ProjectSessionBuilder::open_offline`] | `segmint.yaml`, segment files | [`Checked`], [`OutputTables`] | `sync` |
//!
//! In the spirit of delta-rs's `DeltaTableBuilder`: say what to open it on
//! ([`ProjectSessionBuilder::with_context`], e.g. a Ballista client), then open it. Every
//! location goes through one [`StoreRegistry`] built from the project's storage options.

use std::path::PathBuf;
use std::sync::Arc;

use datafusion::arrow::datatypes::{DataType, Schema};
use datafusion::datasource::file_format::FileFormat;
use datafusion::datasource::file_format::parquet::ParquetFormat;
use datafusion::datasource::listing::{
    ListingOptions, ListingTable, ListingTableConfig, ListingTableUrl,
};
use datafusion::datasource::{TableProvider, provider_as_source};
use datafusion::execution::runtime_env::RuntimeEnvBuilder;

use crate::memory::MeteredPool;
use datafusion::logical_expr::TableSource;
use datafusion::prelude::{SessionConfig, SessionContext};
use futures::TryStreamExt;
use object_store::ObjectMeta;
use segmint_spec::{
    Checked, ColumnKind, LakeSchema, PartitionType, Project, TableColumns, TableFormat,
};

use crate::delta_lake::DeltaSource;
use crate::error::{EngineError, Result};
use crate::output::OutputTables;
use crate::storage::{Located, StoreRegistry, redact};

/// Where a run's events come from.
#[derive(Clone)]
pub enum EventsSource {
    /// Hive-partitioned Parquet: one listing table; the plan's filter prunes partitions.
    Listing(Arc<dyn TableSource>),
    /// A Delta table: each run scans the files whose statistics overlap its range.
    Delta(Arc<DeltaSource>),
    /// With identity resolution: these events, each with the `person_id` of the map.
    People {
        events: Box<EventsSource>,
        identity: segmint_spec::Identity,
        map: Arc<dyn TableSource>,
    },
}

impl EventsSource {
    /// The table a run reading `[lo, hi)` (UTC microseconds) scans.
    pub fn for_range(&self, lo: Option<i64>, hi: i64) -> Result<Arc<dyn TableSource>> {
        match self {
            EventsSource::Listing(source) => Ok(source.clone()),
            EventsSource::Delta(delta) => {
                Ok(provider_as_source(Arc::new(delta.listing(lo, Some(hi))?)))
            }
            EventsSource::People {
                events,
                identity,
                map,
            } => crate::identity::view::events(identity, events.for_range(lo, hi)?, map),
        }
    }
}

/// An opened project, ready to compile and run.
pub struct ProjectSession {
    pub checked: Checked,
    pub ctx: SessionContext,
    pub events: EventsSource,
    pub profiles: Option<Arc<dyn TableSource>>,
    pub schema: LakeSchema,
    /// Where the events are (for messages naming the source).
    pub events_location: Located,
    /// Where results are committed.
    pub output: OutputTables,
    /// The latest fitted parameters of the models and archetype sets the segments use.
    pub trained: segmint_compiler::trained::Trained,
    /// Models and archetype sets used but not loaded, and why (for the error a run gives).
    pub untrained: std::collections::BTreeMap<String, String>,
    /// The local session's memory pool (limit, peak); `None` on a cluster context.
    pub memory: Option<Arc<MeteredPool>>,
    /// With identity resolution: the last day whose events the identity map includes.
    pub identity_as_of: Option<chrono::NaiveDate>,
}

/// A project's lake, registered as the tables `events` and `profiles` (when configured),
/// with every segmint function available — the context `segmint sql` queries.
pub struct LakeSession {
    pub ctx: SessionContext,
    /// The `events` table (for a Delta table: over all its active files).
    pub events: Arc<ListingTable>,
    /// The Delta log behind `events`, when it is a Delta table.
    pub delta_events: Option<Arc<DeltaSource>>,
    pub events_location: Located,
    pub profiles: Option<Arc<ListingTable>>,
    /// The local session's memory pool; `None` on a given context.
    pub memory: Option<Arc<MeteredPool>>,
    pub schema: LakeSchema,
}

/// How to open a project; see the module docs.
pub struct ProjectSessionBuilder {
    project_file: PathBuf,
    ctx: Option<SessionContext>,
    /// Overrides the project's `memory_limit:` (`Some(None)`: no limit).
    memory_limit: Option<Option<usize>>,
}

impl ProjectSession {
    /// Start opening the project whose `segmint.yaml` is `project_file`.
    pub fn builder(project_file: impl Into<PathBuf>) -> ProjectSessionBuilder {
        ProjectSessionBuilder {
            project_file: project_file.into(),
            ctx: None,
            memory_limit: None,
        }
    }
}

/// Rows per batch (DataFusion's default is 8,192). The fused `GROUP BY entity` evaluates
/// ~55 aggregates' arguments and FILTERs per batch, with fixed costs per batch and
/// aggregate (literal arguments expanded to arrays, short-circuit checks): on the shipped
/// library over 20.5 M events (release, 2 cores), 8,192 rows took 4.3–4.7 s, 32,768 rows
/// 3.7–3.9 s with a lower operators' peak (185 MB against 432 MB), 65,536 rows 3.65–3.75 s
/// with more RSS. A memory limit sets its own, smaller batches (`memory::limited_config`).
pub const BATCH_SIZE: usize = 32_768;

/// segmint's session settings (also the base of a cluster client's settings).
pub fn session_config(config: SessionConfig) -> SessionConfig {
    config
        .with_batch_size(BATCH_SIZE)
        .with_information_schema(true)
        .set_bool("datafusion.execution.parquet.pushdown_filters", true)
}

impl ProjectSessionBuilder {
    /// Evaluate on this context (e.g. a Ballista client context with segmint's functions)
    /// instead of a new local one.
    pub fn with_context(mut self, ctx: SessionContext) -> Self {
        self.ctx = Some(ctx);
        self
    }

    /// Cap a local session's memory at `bytes` (spilling beyond it), whatever the project's
    /// `memory_limit:` says; `None` keeps the project's setting.
    pub fn with_memory_limit(mut self, bytes: Option<usize>) -> Self {
        if bytes.is_some() {
            self.memory_limit = Some(bytes);
        }
        self
    }

    /// The limit in force: the override, else the project's.
    fn limit(&self, project: &Project) -> Option<usize> {
        self.memory_limit
            .unwrap_or(project.memory_limit.map(|b| b as usize))
    }

    /// Load and check the project and its segments without touching the lake (columns and
    /// value types are not checked).
    pub fn check_offline(self) -> Result<Checked> {
        let loaded = segmint_spec::load::load(&self.project_file).map_err(EngineError::Spec)?;
        segmint_spec::check_with(&loaded.project, &loaded.segments, &loaded.models, None)
            .map_err(EngineError::Spec)
    }

    /// Load, register and check a project. Problems in the specs themselves are spec
    /// errors; specs that are fine but name columns the lake lacks (or holds with another
    /// type) mean the lake does not match them: [`EngineError::LakeMismatch`].
    pub async fn open(self) -> Result<ProjectSession> {
        let loaded = segmint_spec::load::load(&self.project_file).map_err(EngineError::Spec)?;
        let offline =
            segmint_spec::check_with(&loaded.project, &loaded.segments, &loaded.models, None)
                .map_err(EngineError::Spec)?;
        let registry = Arc::new(StoreRegistry::new(offline.project.storage.clone()));
        let output = output_tables(&registry, &offline.project)?;
        let limit = self.limit(&offline.project);
        let lake = register_lake(&offline.project, registry, self.ctx, limit).await?;
        let checked = segmint_spec::check_with(
            &loaded.project,
            &loaded.segments,
            &loaded.models,
            Some(&lake.schema),
        )
        .map_err(|d| EngineError::LakeMismatch {
            object: lake.events_location.display.clone(),
            diagnostics: d,
        })?;
        let mut events = match lake.delta_events {
            Some(delta) => EventsSource::Delta(delta),
            None => EventsSource::Listing(provider_as_source(lake.events)),
        };
        let mut profiles = lake.profiles.map(|p| provider_as_source(p));
        let mut identity_as_of = None;
        if let Some(identity) = &checked.project.identity {
            // Segments group by person: events and profiles gain `person_id` from the map.
            let (map, built) = crate::identity::view::map_source(&output).await?;
            identity_as_of = built;
            profiles = match profiles {
                Some(p) => Some(crate::identity::view::profiles(identity, p, &map)?),
                None => None,
            };
            events = EventsSource::People {
                events: Box::new(events),
                identity: identity.clone(),
                map,
            };
        }
        let (trained, untrained) = crate::models::load_trained(&checked, &output).await?;
        Ok(ProjectSession {
            checked,
            ctx: lake.ctx,
            events,
            profiles,
            schema: lake.schema,
            events_location: lake.events_location,
            output,
            trained,
            untrained,
            memory: lake.memory,
            identity_as_of,
        })
    }

    /// The checked specs (without reading the lake) and the output tables: for `sync`, which
    /// reads only committed results.
    pub fn open_offline(self) -> Result<(Checked, OutputTables)> {
        let loaded = segmint_spec::load::load(&self.project_file).map_err(EngineError::Spec)?;
        let checked =
            segmint_spec::check_with(&loaded.project, &loaded.segments, &loaded.models, None)
                .map_err(EngineError::Spec)?;
        let registry = StoreRegistry::new(checked.project.storage.clone());
        let output = output_tables(&registry, &checked.project)?;
        Ok((checked, output))
    }

    /// Read `segmint.yaml` only (not the segment files) and register its lake: ad-hoc SQL
    /// must work even while a segment file is being edited.
    pub async fn open_lake(self) -> Result<LakeSession> {
        let project = self.project()?;
        let registry = Arc::new(StoreRegistry::new(project.storage.clone()));
        let limit = self.limit(&project);
        let output = output_tables(&registry, &project)?;
        let lake = register_lake(&project, registry, self.ctx, limit).await?;
        // With identity resolution, the map's identifiers as `identity` (once built).
        if project.identity.is_some()
            && let Ok((map, _)) = crate::identity::view::map_source(&output).await
            && let Some(table) = datafusion::datasource::source_as_provider(&map).ok()
        {
            lake.ctx
                .register_table("identity", table)
                .map_err(EngineError::Plan)?;
        }
        Ok(lake)
    }

    /// `segmint.yaml` (with `identity:`), its lake and edge tables, and the output: for the
    /// `identity` commands, which work while a segment file is being edited.
    pub async fn open_identity(self) -> Result<crate::identity::IdentitySession> {
        let input =
            segmint_spec::load::load_project(&self.project_file).map_err(EngineError::Spec)?;
        let offline = segmint_spec::check_project(&input, None).map_err(EngineError::Spec)?;
        let registry = Arc::new(StoreRegistry::new(offline.storage.clone()));
        let output = output_tables(&registry, &offline)?;
        let cluster = self.ctx.is_some();
        let limit = self.limit(&offline);
        let lake = register_lake(&offline, registry.clone(), self.ctx, limit).await?;
        let project = segmint_spec::check_project(&input, Some(&lake.schema)).map_err(|d| {
            EngineError::LakeMismatch {
                object: lake.events_location.display.clone(),
                diagnostics: d,
            }
        })?;
        let Some(identity) = project.identity.clone() else {
            return Err(EngineError::Usage(format!(
                "{} has no `identity:` section: add one to stitch identifiers into people (see docs/identity.md)",
                self.project_file.display()
            )));
        };
        let mut edge_tables = Vec::new();
        for edges in &identity.edges {
            let located = registry.locate(&project.root, &edges.location)?;
            let table: Arc<ListingTable> = Arc::new(match edges.format {
                TableFormat::Parquet => listing_table(&lake.ctx, &located, vec![]).await?,
                TableFormat::Delta => DeltaSource::open(&located, None)
                    .await?
                    .listing(None, None)?,
            });
            edge_tables.push(provider_as_source(table));
        }
        Ok(crate::identity::IdentitySession {
            project,
            identity,
            lake,
            edge_tables,
            output,
            cluster,
        })
    }

    /// The output location (segments and lake are not read): for `diff` and `gc`, which
    /// only read committed history.
    pub fn open_output(self) -> Result<OutputTables> {
        let project = self.project()?;
        output_tables(&StoreRegistry::new(project.storage.clone()), &project)
    }

    /// `segmint.yaml` alone, checked.
    fn project(&self) -> Result<Project> {
        let input =
            segmint_spec::load::load_project(&self.project_file).map_err(EngineError::Spec)?;
        segmint_spec::check_project(&input, None).map_err(EngineError::Spec)
    }
}

fn output_tables(registry: &StoreRegistry, project: &Project) -> Result<OutputTables> {
    let located = registry.locate(&project.root, &project.output_location)?;
    Ok(OutputTables::new(located))
}

/// A local context with segmint's defaults, every segmint function, and stores from this
/// registry.
fn local_context(
    registry: Arc<StoreRegistry>,
    limit: Option<usize>,
) -> Result<(SessionContext, Arc<MeteredPool>)> {
    let pool = MeteredPool::new(limit);
    let runtime = RuntimeEnvBuilder::new()
        .with_object_store_registry(registry)
        .with_memory_pool(pool.clone())
        .build_arc()
        .map_err(EngineError::Plan)?;
    let config = crate::memory::limited_config(session_config(SessionConfig::new()), limit);
    let mut ctx = SessionContext::new_with_config_rt(config, runtime);
    segmint_udfs::register_all(&mut ctx).map_err(EngineError::Plan)?;
    Ok((ctx, pool))
}

/// Register a project's lake as `events` and `profiles` on `ctx` (a new local context when
/// `None`).
async fn register_lake(
    project: &Project,
    registry: Arc<StoreRegistry>,
    ctx: Option<SessionContext>,
    limit: Option<usize>,
) -> Result<LakeSession> {
    let root = &project.root;
    let events_location = registry.locate(root, &project.events.location)?;
    let profiles_location = match &project.profiles {
        Some(p) => Some(registry.locate(root, &p.location)?),
        None => None,
    };
    let (ctx, memory) = match ctx {
        Some(ctx) => (ctx, None),
        None => {
            let (ctx, pool) = local_context(registry, limit)?;
            (ctx, Some(pool))
        }
    };
    let partitions = project
        .events
        .partitioning
        .iter()
        .map(|(name, t)| {
            let dt = match t {
                PartitionType::Date => DataType::Date32,
                PartitionType::String => DataType::Utf8,
                PartitionType::Int => DataType::Int64,
            };
            (name.clone(), dt)
        })
        .collect();
    ctx.register_object_store(&events_location.store_url, events_location.store.clone());
    let (events, delta_events) = match project.events.format {
        TableFormat::Parquet => (
            Arc::new(listing_table(&ctx, &events_location, partitions).await?),
            None,
        ),
        TableFormat::Delta => {
            let delta = DeltaSource::open(&events_location, Some(&project.events.time)).await?;
            (Arc::new(delta.listing(None, None)?), Some(Arc::new(delta)))
        }
    };
    let mut schema = LakeSchema {
        events: table_columns(&events.schema()),
        profiles: None,
    };
    ctx.register_table("events", events.clone())
        .map_err(EngineError::Plan)?;
    let mut profiles = None;
    if let (Some(located), Some(p)) = (profiles_location, &project.profiles) {
        ctx.register_object_store(&located.store_url, located.store.clone());
        let table = Arc::new(match p.format {
            TableFormat::Parquet => listing_table(&ctx, &located, vec![]).await?,
            TableFormat::Delta => DeltaSource::open(&located, None)
                .await?
                .listing(None, None)?,
        });
        schema.profiles = Some(table_columns(&table.schema()));
        ctx.register_table("profiles", table.clone())
            .map_err(EngineError::Plan)?;
        profiles = Some(table);
    }
    Ok(LakeSession {
        ctx,
        events,
        delta_events,
        events_location,
        profiles,
        schema,
        memory,
    })
}

/// A listing table over a location (its store registered on the context first). A location
/// without a single Parquet object is a data error naming it.
///
/// The schema is read from one file — the last by path, i.e. the newest `date=` partition —
/// not from every file: on a lake of thousands of objects, reading every footer at open
/// would cost thousands of requests. Older files missing a newer column read as NULL.
async fn listing_table(
    ctx: &SessionContext,
    located: &Located,
    partitions: Vec<(String, DataType)>,
) -> Result<ListingTable> {
    let object = located.display.clone();
    let data = |e: &dyn std::fmt::Display| EngineError::data(&object, redact(&e.to_string()));
    ctx.register_object_store(&located.store_url, located.store.clone());
    let files: Vec<ObjectMeta> = located
        .store
        .list(Some(&located.prefix))
        .try_filter(|m| futures::future::ready(m.location.as_ref().ends_with(".parquet")))
        .try_collect()
        .await
        .map_err(|e| data(&e))?;
    let Some(newest) = files.into_iter().max_by(|a, b| a.location.cmp(&b.location)) else {
        return Err(EngineError::data(
            &object,
            "no Parquet objects at this location",
        ));
    };
    let format = Arc::new(ParquetFormat::default());
    let schema = format
        .infer_schema(&ctx.state(), &located.store, std::slice::from_ref(&newest))
        .await
        .map_err(|e| {
            EngineError::data(located.describe(&newest.location), redact(&e.to_string()))
        })?;
    let url = ListingTableUrl::parse(located.table_url()).map_err(|e| data(&e))?;
    let options = ListingOptions::new(format)
        .with_file_extension(".parquet")
        .with_table_partition_cols(partitions);
    let config = ListingTableConfig::new(url)
        .with_listing_options(options)
        .with_schema(schema);
    ListingTable::try_new(config).map_err(|e| data(&e))
}

fn kind(t: &DataType) -> ColumnKind {
    match t {
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => ColumnKind::Text,
        DataType::Dictionary(_, v) => kind(v),
        t if t.is_integer() => ColumnKind::Integer,
        t if t.is_floating()
            || matches!(t, DataType::Decimal128(..) | DataType::Decimal256(..)) =>
        {
            ColumnKind::Float
        }
        DataType::Boolean => ColumnKind::Boolean,
        DataType::Timestamp(..) => ColumnKind::Timestamp,
        DataType::Date32 | DataType::Date64 => ColumnKind::Date,
        _ => ColumnKind::Other,
    }
}

/// An Arrow schema as the spec checker sees it.
pub fn table_columns(schema: &Schema) -> TableColumns {
    schema
        .fields()
        .iter()
        .map(|f| (f.name().clone(), kind(f.data_type())))
        .collect()
}
