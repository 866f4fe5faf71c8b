//! Ad-hoc SQL over a project's lake (`segmint sql`): the `events` and `profiles` tables
//! of `segmint.yaml`, with every segmint function registered.

use datafusion::arrow::array::RecordBatch;
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::error::DataFusionError;

use crate::error::{EngineError, Result};
use crate::session::LakeSession;

/// Plan and run one SQL statement. Errors while planning (syntax, unknown table, column or
/// function, wrong argument types) are usage errors (exit 2); errors while reading the
/// lake are data errors (exit 3); a value the query cannot handle is a usage error too.
pub async fn run_sql(lake: &LakeSession, query: &str) -> Result<(SchemaRef, Vec<RecordBatch>)> {
    let frame = lake.ctx.sql(query).await.map_err(planning_error)?;
    let schema = SchemaRef::new(frame.schema().as_arrow().clone());
    let batches = frame
        .collect()
        .await
        .map_err(|e| execution_error(lake, e))?;
    Ok((schema, batches))
}

fn planning_error(e: DataFusionError) -> EngineError {
    match e.find_root() {
        DataFusionError::ObjectStore(_)
        | DataFusionError::IoError(_)
        | DataFusionError::ParquetError(_) => EngineError::data("the lake", e),
        _ => EngineError::Usage(format!("SQL: {e}")),
    }
}

fn execution_error(lake: &LakeSession, e: DataFusionError) -> EngineError {
    match e.find_root() {
        DataFusionError::ObjectStore(_)
        | DataFusionError::IoError(_)
        | DataFusionError::ParquetError(_)
        | DataFusionError::ArrowError(..) => {
            let object = lake
                .events
                .table_paths()
                .first()
                .map_or_else(|| "the lake".to_string(), |p| p.to_string());
            EngineError::data(object, e)
        }
        // A value the query cannot handle (a bad cast, a score outside 1-5): the query's fault.
        DataFusionError::Plan(_)
        | DataFusionError::SchemaError(..)
        | DataFusionError::Execution(_)
        | DataFusionError::NotImplemented(_) => EngineError::Usage(format!("SQL: {e}")),
        _ => EngineError::Internal(e.to_string()),
    }
}
