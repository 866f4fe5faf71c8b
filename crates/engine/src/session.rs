//! Opening a project: specs loaded, lake tables registered, schema read, specs checked.

use std::path::{Path, PathBuf};
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

use crate::error::{EngineError, Result};

/// An opened project, ready to compile and run.
pub struct ProjectSession {
    pub checked: Checked,
    pub ctx: SessionContext,
    pub events: Arc<dyn TableSource>,
    pub profiles: Option<Arc<dyn TableSource>>,
    pub schema: LakeSchema,
}

/// Resolve a location from the project file: a `file://` URL, an absolute path, or a path
/// relative to the project folder.
pub fn resolve_location(root: &Path, location: &str) -> Result<PathBuf> {
    if let Some(path) = location.strip_prefix("file://") {
        return Ok(PathBuf::from(path));
    }
    if location.contains("://") {
        return Err(EngineError::Usage(format!(
            "location `{location}`: only local paths and file:// URLs are supported in this version"
        )));
    }
    Ok(root.join(location))
}

/// A DataFusion session with segmint's defaults and every segmint function registered.
pub fn new_context() -> Result<SessionContext> {
    let config = SessionConfig::new()
        .with_information_schema(true)
        .set_bool("datafusion.execution.parquet.pushdown_filters", true);
    let mut ctx = SessionContext::new_with_config(config);
    segmint_udfs::register_all(&mut ctx).map_err(|e| EngineError::Internal(e.to_string()))?;
    Ok(ctx)
}

async fn listing_table(
    ctx: &SessionContext,
    dir: &Path,
    partitions: Vec<(String, DataType)>,
) -> Result<ListingTable> {
    let object = dir.display().to_string();
    if !dir.is_dir() {
        return Err(EngineError::data(&object, "no such folder"));
    }
    let mut url = object.clone();
    if !url.ends_with('/') {
        url.push('/');
    }
    let url = ListingTableUrl::parse(&url).map_err(|e| EngineError::data(&object, e))?;
    let options = ListingOptions::new(Arc::new(ParquetFormat::default()))
        .with_file_extension(".parquet")
        .with_table_partition_cols(partitions);
    let config = ListingTableConfig::new(url)
        .with_listing_options(options)
        .infer_schema(&ctx.state())
        .await
        .map_err(|e| EngineError::data(&object, e))?;
    ListingTable::try_new(config).map_err(|e| EngineError::data(&object, e))
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
    pub profiles: Option<Arc<ListingTable>>,
    pub schema: LakeSchema,
}

/// Register the lake of a parsed project file (segments are not read or checked).
pub async fn open_lake(project: &ProjectInput) -> Result<LakeSession> {
    let root = &project.root;
    let lake = &project.syntax.lake;
    let ctx = new_context()?;
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
    let events_dir = resolve_location(root, &lake.events.location.value)?;
    let events = Arc::new(listing_table(&ctx, &events_dir, partitions).await?);
    let mut schema = LakeSchema {
        events: columns(&events.schema()),
        profiles: None,
    };
    ctx.register_table("events", events.clone())
        .map_err(|e| EngineError::Internal(e.to_string()))?;
    let mut profiles = None;
    if let Some(p) = &lake.profiles {
        let dir = resolve_location(root, &p.location.value)?;
        let table = Arc::new(listing_table(&ctx, &dir, vec![]).await?);
        schema.profiles = Some(columns(&table.schema()));
        ctx.register_table("profiles", table.clone())
            .map_err(|e| EngineError::Internal(e.to_string()))?;
        profiles = Some(table);
    }
    Ok(LakeSession {
        ctx,
        events,
        profiles,
        schema,
    })
}

/// Load, register and check a project.
pub async fn open(project_file: &Path) -> Result<ProjectSession> {
    let loaded = segmint_spec::load::load(project_file).map_err(EngineError::Spec)?;
    let lake = open_lake(&loaded.project).await?;
    let checked = segmint_spec::check(&loaded.project, &loaded.segments, Some(&lake.schema))
        .map_err(EngineError::Spec)?;
    Ok(ProjectSession {
        checked,
        ctx: lake.ctx,
        events: provider_as_source(lake.events),
        profiles: lake.profiles.map(|p| provider_as_source(p)),
        schema: lake.schema,
    })
}

/// Parse `segmint.yaml` only and register its lake: for ad-hoc SQL over the lake, which
/// must work even while a segment file is being edited.
pub async fn open_sql(project_file: &Path) -> Result<LakeSession> {
    let project = segmint_spec::load::load_project(project_file).map_err(EngineError::Spec)?;
    open_lake(&project).await
}

/// Load and check a project without touching the lake (no column checks).
pub fn check_offline(project_file: &Path) -> Result<Checked> {
    let loaded = segmint_spec::load::load(project_file).map_err(EngineError::Spec)?;
    segmint_spec::check(&loaded.project, &loaded.segments, None).map_err(EngineError::Spec)
}
