//! Ad-hoc SQL over a project's lake (`segmint sql`): the `events` and `profiles` tables
//! of `segmint.yaml`, with every segmint function registered.

use datafusion::arrow::array::RecordBatch;
use datafusion::arrow::datatypes::SchemaRef;

use crate::error::Result;
use crate::failure::{planning_error, query_error};
use crate::session::LakeSession;

/// Plan and run one SQL statement. Errors while planning (syntax, unknown table, column or
/// function, wrong argument types) are usage errors; errors while reading the lake are
/// data errors naming the location (or the damaged object); a value the query cannot
/// handle is a usage error too.
pub async fn run_sql(lake: &LakeSession, query: &str) -> Result<(SchemaRef, Vec<RecordBatch>)> {
    let frame = lake.ctx.sql(query).await.map_err(planning_error)?;
    let schema = SchemaRef::new(frame.schema().as_arrow().clone());
    match frame.collect().await {
        Ok(batches) => Ok((schema, batches)),
        Err(e) => Err(query_error(&lake.events_location, e).await),
    }
}
