//! Opening a project: specs loaded, lake tables registered, schema read, specs checked.

use std::path::Path;
use std::sync::Arc;

use datafusion::arrow::datatypes::{DataType, Schema};
use datafusion::datasource::file_format::parquet::ParquetFormat;
use datafusion::datasource::listing::{
    ListingOptions, ListingTable, ListingTableConfig, ListingTableUrl,
};
use datafusion::datasource::{TableProvider, provider_as_source};
use datafusion::logical_expr::TableSource;
use datafusion::prelude::{SessionConfig, SessionContext};
use segmint_spec::{Checked, ColumnKind, LakeSchema, PartitionType, ProjectInput, TableColumns};

use datafusion::datasource::file_format::FileFormat;
use futures::TryStreamExt;
use object_store::ObjectMeta;

use crate::error::{EngineError, Result};
use crate::storage::{Located, locate, redact};

/// An opened project, ready to compile and run.
pub struct ProjectSession {
    pub checked: Checked,
    pub ctx: SessionContext,
    pub events: Arc<dyn TableSource>,
    pub profiles: Option<Arc<dyn TableSource>>,
    pub schema: LakeSchema,
    /// Where the events are (for messages naming the source).
    pub events_location: Located,
    /// Where results are committed.
    pub output: Located,
}

/// segmint's session settings (also the base of a cluster client's settings).
pub fn session_config(config: SessionConfig) -> SessionConfig {
    config
        .with_information_schema(true)
        .set_bool("datafusion.execution.parquet.pushdown_filters", true)
}

/// A DataFusion session with segmint's defaults and every segmint function registered.
pub fn new_context() -> Result<SessionContext> {
    let config = session_config(SessionConfig::new());
    let mut ctx = SessionContext::new_with_config(config);
    segmint_udfs::register_all(&mut ctx).map_err(|e| EngineError::Internal(e.to_string()))?;
    Ok(ctx)
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

fn columns(schema: &Schema) -> TableColumns {
    schema
        .fields()
        .iter()
        .map(|f| (f.name().clone(), kind(f.data_type())))
        .collect()
}

/// A project's lake, registered as the tables `events` and `profiles` (when configured),
/// with every segmint function available — the context `segmint sql` queries.
pub struct LakeSession {
    pub ctx: SessionContext,
    pub events: Arc<ListingTable>,
    pub events_location: Located,
    pub profiles: Option<Arc<ListingTable>>,
    pub schema: LakeSchema,
}

/// Register the lake of a parsed project file (segments are not read or checked).
pub async fn open_lake(project: &ProjectInput) -> Result<LakeSession> {
    open_lake_in(project, new_context()?).await
}

/// [`open_lake`] on a given context (e.g. a Ballista client context with segmint's
/// functions registered).
pub async fn open_lake_in(project: &ProjectInput, ctx: SessionContext) -> Result<LakeSession> {
    let root = &project.root;
    let lake = &project.syntax.lake;
    let storage = project.syntax.storage.clone().unwrap_or_default();
    let partitions = lake
        .events
        .partitioning
        .iter()
        .flatten()
        .map(|(name, t)| {
            let dt = match t.value {
                PartitionType::Date => DataType::Date32,
                PartitionType::String => DataType::Utf8,
                PartitionType::Int => DataType::Int64,
            };
            (name.clone(), dt)
        })
        .collect();
    let events_location = locate(root, &lake.events.location.value, &storage)?;
    let events = Arc::new(listing_table(&ctx, &events_location, partitions).await?);
    let mut schema = LakeSchema {
        events: columns(&events.schema()),
        profiles: None,
    };
    ctx.register_table("events", events.clone())
        .map_err(|e| EngineError::Internal(e.to_string()))?;
    let mut profiles = None;
    if let Some(p) = &lake.profiles {
        let located = locate(root, &p.location.value, &storage)?;
        let table = Arc::new(listing_table(&ctx, &located, vec![]).await?);
        schema.profiles = Some(columns(&table.schema()));
        ctx.register_table("profiles", table.clone())
            .map_err(|e| EngineError::Internal(e.to_string()))?;
        profiles = Some(table);
    }
    Ok(LakeSession {
        ctx,
        events,
        events_location,
        profiles,
        schema,
    })
}

/// Load, register and check a project. Problems in the specs themselves are spec errors
/// (exit 2); specs that are fine but name columns the lake lacks (or holds with another
/// type) mean the lake does not match them: data errors (exit 3) naming the location.
pub async fn open(project_file: &Path) -> Result<ProjectSession> {
    open_in(project_file, new_context()?).await
}

/// [`open`] on a given context (e.g. a Ballista client context).
pub async fn open_in(project_file: &Path, ctx: SessionContext) -> Result<ProjectSession> {
    let loaded = segmint_spec::load::load(project_file).map_err(EngineError::Spec)?;
    segmint_spec::check(&loaded.project, &loaded.segments, None).map_err(EngineError::Spec)?;
    let storage = loaded.project.syntax.storage.clone().unwrap_or_default();
    let output = locate(
        &loaded.project.root,
        &loaded.project.syntax.output.location.value,
        &storage,
    )?;
    let lake = open_lake_in(&loaded.project, ctx).await?;
    let checked = segmint_spec::check(&loaded.project, &loaded.segments, Some(&lake.schema))
        .map_err(|d| EngineError::LakeMismatch {
            object: lake.events_location.display.clone(),
            diagnostics: d,
        })?;
    Ok(ProjectSession {
        checked,
        ctx: lake.ctx,
        events: provider_as_source(lake.events),
        profiles: lake.profiles.map(|p| provider_as_source(p)),
        schema: lake.schema,
        events_location: lake.events_location,
        output,
    })
}

/// Parse `segmint.yaml` only and register its lake: for ad-hoc SQL over the lake, which
/// must work even while a segment file is being edited.
pub async fn open_sql(project_file: &Path) -> Result<LakeSession> {
    open_sql_in(project_file, new_context()?).await
}

/// [`open_sql`] on a given context.
pub async fn open_sql_in(project_file: &Path, ctx: SessionContext) -> Result<LakeSession> {
    let project = segmint_spec::load::load_project(project_file).map_err(EngineError::Spec)?;
    open_lake_in(&project, ctx).await
}

/// The output location of a project file (segments and lake are not read): for `diff`
/// and `gc`, which only read committed history.
pub fn open_output(project_file: &Path) -> Result<crate::output::OutputDir> {
    let project = segmint_spec::load::load_project(project_file).map_err(EngineError::Spec)?;
    let storage = project.syntax.storage.clone().unwrap_or_default();
    let output = locate(
        &project.root,
        &project.syntax.output.location.value,
        &storage,
    )?;
    Ok(crate::output::OutputDir::new(output))
}

/// Load and check a project without touching the lake (no column checks).
pub fn check_offline(project_file: &Path) -> Result<Checked> {
    let loaded = segmint_spec::load::load(project_file).map_err(EngineError::Spec)?;
    segmint_spec::check(&loaded.project, &loaded.segments, None).map_err(EngineError::Spec)
}
