//! Bounded memory: the DataFusion memory pool of a local session, with an optional limit
//! (`memory_limit:` in `segmint.yaml`, `--memory-limit` on the command line), the peak it
//! reached, and how much the run spilled to disk.
//!
//! Under a limit the pool is DataFusion's fair spill pool (every operator that can spill —
//! the fused `GROUP BY entity`, the sorts of ranking windows — gets an equal share and
//! spills beyond it: sorted partial states go to the OS temp folder and are merged back),
//! and the session uses spill-friendly settings: batches of [`LIMITED_BATCH_SIZE`] rows, so
//! one batch of per-entity state (event-time lists included) stays a small part of a
//! share; one partition per [`BYTES_PER_PARTITION`] of budget, so shares stay large enough
//! to make progress; and a sort-spill reservation of 1/32 of the limit. A run that does not
//! fit even so fails with [`crate::EngineError::MemoryLimit`] — never an out-of-memory kill.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use datafusion::common::Result;
use datafusion::execution::memory_pool::{
    FairSpillPool, MemoryConsumer, MemoryLimit, MemoryPool, MemoryReservation, TrackConsumersPool,
    UnboundedMemoryPool,
};
use datafusion::physical_plan::ExecutionPlan;
use datafusion::prelude::SessionConfig;
use serde::{Deserialize, Serialize};

/// Rows per batch when memory is limited (DataFusion's default is 8,192).
pub const LIMITED_BATCH_SIZE: usize = 1_024;

/// Under a limit, one partition (one aggregation stream) per this much memory, at least
/// one and at most the cores: each stream spills within a fair share of the pool, and
/// shares much smaller than a few batches of per-entity state cannot make progress.
pub const BYTES_PER_PARTITION: usize = 256 * 1024 * 1024;

/// A memory pool that remembers the most it ever had reserved.
#[derive(Debug)]
pub struct MeteredPool {
    inner: Arc<dyn MemoryPool>,
    limit: Option<usize>,
    peak: AtomicUsize,
}

impl MeteredPool {
    /// Unbounded with `None`; greedy with the limit, naming the largest consumers when full.
    pub fn new(limit: Option<usize>) -> Arc<Self> {
        let inner: Arc<dyn MemoryPool> = match limit {
            Some(bytes) => Arc::new(TrackConsumersPool::new(
                FairSpillPool::new(bytes),
                std::num::NonZeroUsize::MIN.saturating_add(4),
            )),
            None => Arc::new(UnboundedMemoryPool::default()),
        };
        Arc::new(Self {
            inner,
            limit,
            peak: AtomicUsize::new(0),
        })
    }

    /// The limit, in bytes (`None`: unbounded).
    pub fn limit(&self) -> Option<usize> {
        self.limit
    }

    /// The most reserved since the last [`MeteredPool::reset_peak`].
    pub fn peak(&self) -> usize {
        self.peak.load(Ordering::Relaxed)
    }

    /// Start measuring a new peak from what is reserved now.
    pub fn reset_peak(&self) {
        self.peak.store(self.inner.reserved(), Ordering::Relaxed);
    }

    fn note(&self) {
        self.peak
            .fetch_max(self.inner.reserved(), Ordering::Relaxed);
    }
}

impl fmt::Display for MeteredPool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "metered({})", self.inner)
    }
}

impl MemoryPool for MeteredPool {
    fn name(&self) -> &str {
        "metered"
    }

    fn register(&self, consumer: &MemoryConsumer) {
        self.inner.register(consumer);
    }

    fn unregister(&self, consumer: &MemoryConsumer) {
        self.inner.unregister(consumer);
    }

    fn grow(&self, reservation: &MemoryReservation, additional: usize) {
        self.inner.grow(reservation, additional);
        self.note();
    }

    fn shrink(&self, reservation: &MemoryReservation, shrink: usize) {
        self.inner.shrink(reservation, shrink);
    }

    fn try_grow(&self, reservation: &MemoryReservation, additional: usize) -> Result<()> {
        self.inner.try_grow(reservation, additional)?;
        self.note();
        Ok(())
    }

    fn reserved(&self) -> usize {
        self.inner.reserved()
    }

    fn memory_limit(&self) -> MemoryLimit {
        self.inner.memory_limit()
    }
}

/// The session settings for a limit: smaller batches and a proportional sort-spill
/// reservation (DataFusion reserves 10 MB per sort for merging spills by default).
pub fn limited_config(config: SessionConfig, limit: Option<usize>) -> SessionConfig {
    match limit {
        Some(bytes) => {
            let partitions = (bytes / BYTES_PER_PARTITION).clamp(1, config.target_partitions());
            config
                .with_batch_size(LIMITED_BATCH_SIZE)
                .with_target_partitions(partitions)
                .set_usize(
                    "datafusion.execution.sort_spill_reservation_bytes",
                    (bytes / 32).clamp(64 * 1024, 10 * 1024 * 1024),
                )
        }
        None => config,
    }
}

/// Memory used by one evaluation.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemoryUse {
    /// The limit in bytes (`None`: unbounded, or a cluster run).
    pub limit_bytes: Option<u64>,
    /// The most DataFusion's operators had reserved at once (`None` for a cluster run, whose
    /// memory is the executors').
    pub peak_bytes: Option<u64>,
    /// Times an operator wrote state to disk, and how much.
    pub spills: u64,
    pub spilled_bytes: u64,
}

/// Spills recorded in the metrics of `plan` and all its children.
pub fn spills(plan: &dyn ExecutionPlan) -> (u64, u64) {
    let (mut count, mut bytes) = plan.metrics().map_or((0, 0), |m| {
        (
            m.spill_count().unwrap_or(0) as u64,
            m.spilled_bytes().unwrap_or(0) as u64,
        )
    });
    for child in plan.children() {
        let (c, b) = spills(child.as_ref());
        count += c;
        bytes += b;
    }
    (count, bytes)
}
