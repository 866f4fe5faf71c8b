//! The days a daily run summarises, merged from memory while they are summarised.
//!
//! A daily run summarises its as-of and lookback days from their events, and merges every
//! window from the summaries. The settled days' files do not depend on the new ones, so the
//! merge branches start on them at once, beside the summarising, and take the new days'
//! rows when they are ready: each branch scans its settled files ([`FreshSummaries`]) and
//! then the summarised rows of its days, handed over in memory ([`FreshRows`]) instead of
//! read back from the files being written. The rows are the ones written, so members are
//! the same as when the merge waits for the files.

use std::collections::BTreeSet;
use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;
use chrono::NaiveDate;
use datafusion::arrow::array::{ArrayRef, RecordBatch};
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::catalog::Session;
use datafusion::common::tree_node::TreeNodeRecursion;
use datafusion::datasource::TableProvider;
use datafusion::datasource::listing::ListingTable;
use datafusion::error::{DataFusionError, Result};
use datafusion::execution::TaskContext;
use datafusion::logical_expr::{Expr, TableProviderFilterPushDown, TableType};
use datafusion::physical_expr::{EquivalenceProperties, PhysicalExpr};
use datafusion::physical_plan::empty::EmptyExec;
use datafusion::physical_plan::execution_plan::{Boundedness, EmissionType};
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use datafusion::physical_plan::{
    DisplayAs, DisplayFormatType, ExecutionPlan, Partitioning, PlanProperties,
    SendableRecordBatchStream,
};
use futures::future::{BoxFuture, FutureExt, Shared};
use futures::{StreamExt, TryFutureExt};

/// The new days' summary rows (stored types, every summary column), once summarised; an
/// error when summarising failed (its own error is the run's).
pub(super) type FreshRows =
    Shared<BoxFuture<'static, std::result::Result<Arc<Vec<RecordBatch>>, String>>>;

/// The days summarised by this run and their rows to come.
#[derive(Clone)]
pub(super) struct Fresh {
    /// The days, all after the settled ones.
    pub days: BTreeSet<NaiveDate>,
    pub rows: FreshRows,
}

impl Fresh {
    /// The rows of `days`, to come through the returned sender.
    pub fn new(
        days: BTreeSet<NaiveDate>,
    ) -> (Self, tokio::sync::oneshot::Sender<Arc<Vec<RecordBatch>>>) {
        let (give, take) = tokio::sync::oneshot::channel();
        let rows = take
            .map_err(|_| "the new days were not summarised".to_string())
            .boxed()
            .shared();
        (Fresh { days, rows }, give)
    }

    /// The first new day: a branch reads the settled files before it.
    pub fn first(&self) -> Option<NaiveDate> {
        self.days.first().copied()
    }

    /// How many new days `[lo, hi)` holds.
    pub fn days_in(&self, lo: NaiveDate, hi: NaiveDate) -> usize {
        if lo >= hi {
            return 0;
        }
        self.days.range(lo..hi).count()
    }
}

/// A branch's summaries: its settled files (none: `None`), then the new days' rows.
#[derive(Debug)]
pub(super) struct FreshSummaries {
    schema: SchemaRef,
    settled: Option<Arc<ListingTable>>,
    rows: FreshRowsHandle,
}

impl FreshSummaries {
    pub fn new(schema: SchemaRef, settled: Option<Arc<ListingTable>>, rows: FreshRows) -> Self {
        FreshSummaries {
            schema,
            settled,
            rows: FreshRowsHandle(rows),
        }
    }
}

/// [`FreshRows`], shown by name in plans.
#[derive(Clone)]
struct FreshRowsHandle(FreshRows);

impl fmt::Debug for FreshRowsHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("FreshRows")
    }
}

#[async_trait]
impl TableProvider for FreshSummaries {
    fn schema(&self) -> SchemaRef {
        self.schema.clone()
    }

    fn table_type(&self) -> TableType {
        TableType::Base
    }

    /// Filters prune the settled files; the plan applies them to every row.
    fn supports_filters_pushdown(
        &self,
        filters: &[&Expr],
    ) -> Result<Vec<TableProviderFilterPushDown>> {
        Ok(vec![TableProviderFilterPushDown::Inexact; filters.len()])
    }

    async fn scan(
        &self,
        state: &dyn Session,
        projection: Option<&Vec<usize>>,
        filters: &[Expr],
        _limit: Option<usize>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        let settled: Arc<dyn ExecutionPlan> = match &self.settled {
            Some(table) => table.scan(state, projection, filters, None).await?,
            None => {
                let schema = match projection {
                    Some(p) => Arc::new(self.schema.project(p)?),
                    None => self.schema.clone(),
                };
                Arc::new(EmptyExec::new(schema))
            }
        };
        Ok(Arc::new(ThenFreshExec::new(settled, self.rows.clone())))
    }
}

/// Its input's rows, then (in its first partition) the new days' rows in its input's
/// columns.
#[derive(Debug)]
struct ThenFreshExec {
    input: Arc<dyn ExecutionPlan>,
    rows: FreshRowsHandle,
    properties: Arc<PlanProperties>,
}

impl ThenFreshExec {
    fn new(input: Arc<dyn ExecutionPlan>, rows: FreshRowsHandle) -> Self {
        let partitions = input.properties().partitioning.partition_count();
        let properties = PlanProperties::new(
            EquivalenceProperties::new(input.schema()),
            Partitioning::UnknownPartitioning(partitions),
            EmissionType::Incremental,
            Boundedness::Bounded,
        );
        ThenFreshExec {
            input,
            rows,
            properties: Arc::new(properties),
        }
    }
}

impl DisplayAs for ThenFreshExec {
    fn fmt_as(&self, _: DisplayFormatType, f: &mut fmt::Formatter) -> fmt::Result {
        write!(
            f,
            "ThenFreshExec: the days summarised by this run, from memory"
        )
    }
}

/// `batch` (a summary batch) as a batch of `schema`'s columns, found by name.
fn in_columns(batch: &RecordBatch, schema: &SchemaRef) -> Result<RecordBatch> {
    let columns = schema
        .fields()
        .iter()
        .map(|field| {
            batch.column_by_name(field.name()).cloned().ok_or_else(|| {
                DataFusionError::Internal(format!(
                    "summarised rows without column `{}`",
                    field.name()
                ))
            })
        })
        .collect::<Result<Vec<ArrayRef>>>()?;
    Ok(RecordBatch::try_new(schema.clone(), columns)?)
}

impl ExecutionPlan for ThenFreshExec {
    fn name(&self) -> &str {
        "ThenFreshExec"
    }

    fn properties(&self) -> &Arc<PlanProperties> {
        &self.properties
    }

    fn children(&self) -> Vec<&Arc<dyn ExecutionPlan>> {
        vec![&self.input]
    }

    fn apply_expressions(
        &self,
        _f: &mut dyn FnMut(&Arc<dyn PhysicalExpr>) -> Result<TreeNodeRecursion>,
    ) -> Result<TreeNodeRecursion> {
        Ok(TreeNodeRecursion::Continue)
    }

    fn with_new_children(
        self: Arc<Self>,
        children: Vec<Arc<dyn ExecutionPlan>>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        let [input] = <[Arc<dyn ExecutionPlan>; 1]>::try_from(children)
            .map_err(|_| DataFusionError::Internal("ThenFreshExec has one input".into()))?;
        Ok(Arc::new(ThenFreshExec::new(input, self.rows.clone())))
    }

    fn execute(
        &self,
        partition: usize,
        context: Arc<TaskContext>,
    ) -> Result<SendableRecordBatchStream> {
        let settled = self.input.execute(partition, context)?;
        if partition != 0 {
            return Ok(settled);
        }
        let schema = self.input.schema();
        let rows = self.rows.0.clone();
        let to = schema.clone();
        let fresh = futures::stream::once(rows).flat_map(move |rows| {
            let batches: Vec<Result<RecordBatch>> = match rows {
                Ok(batches) => batches.iter().map(|b| in_columns(b, &to)).collect(),
                Err(message) => vec![Err(DataFusionError::Execution(message))],
            };
            futures::stream::iter(batches)
        });
        Ok(Box::pin(RecordBatchStreamAdapter::new(
            schema,
            settled.chain(fresh),
        )))
    }
}
