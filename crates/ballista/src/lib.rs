//! # segmint-ballista — the same segments on an Apache Ballista cluster
//!
//! | piece | what it does |
//! |---|---|
//! | [`run_scheduler`] | a Ballista 55 scheduler whose every session has segmint's functions and object stores |
//! | [`run_executor`] | a Ballista executor with segmint's function registry and a runtime that builds object stores from the environment |
//! | [`remote_context`] | the client side: a `SessionContext` connected to a scheduler, with segmint's cluster defaults ([`client_config`]: the static planner) and functions registered *after* Ballista's session upgrade (registering before is dropped by the upgrade) |
//! | [`env_runtime`] | a runtime whose object stores come from segmint's [`StoreRegistry`] with default options: created on first use per `scheme://authority`, from the environment only |
//!
//! Plans travel between processes as DataFusion protobuf: segmint's functions are rebuilt
//! on each process from their names and constant arguments (see `segmint-udfs`). Nothing
//! secret travels: object-store credentials are never put into session options, each
//! process reads its own environment (`AWS_ACCESS_KEY_ID`, …) when it first touches a
//! bucket. Ballista's own S3 registry (which logs its options at trace level) is not used.

use std::net::SocketAddr;
use std::sync::Arc;

use ballista::prelude::{SessionConfigExt, SessionContextExt};
use ballista_core::registry::BallistaFunctionRegistry;
use ballista_executor::executor_process::{ExecutorProcessConfig, start_executor_process};
use ballista_scheduler::cluster::BallistaCluster;
use ballista_scheduler::config::SchedulerConfig;
use ballista_scheduler::scheduler_process::start_server;
use datafusion::common::Result as DfResult;
use datafusion::execution::SessionStateBuilder;
use datafusion::execution::runtime_env::{RuntimeEnv, RuntimeEnvBuilder};
use datafusion::prelude::{SessionConfig, SessionContext};
use segmint_engine::storage::StoreRegistry;

/// Errors of starting a scheduler or an executor, or of connecting to a scheduler.
#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    #[error("{0}")]
    Ballista(String),
    #[error("{0}")]
    Usage(String),
}

fn ballista(e: impl std::fmt::Display) -> ClusterError {
    ClusterError::Ballista(segmint_engine::storage::redact(&e.to_string()))
}

/// A runtime whose object stores come from the environment, through segmint's one store
/// registry (default storage options).
pub fn env_runtime() -> DfResult<Arc<RuntimeEnv>> {
    RuntimeEnvBuilder::new()
        .with_object_store_registry(Arc::new(StoreRegistry::default()))
        .build_arc()
}

/// Ballista's switch between its adaptive and its static distributed planner.
pub const ADAPTIVE_PLANNER: &str = "ballista.planner.adaptive.enabled";

/// A client's session settings: segmint's, Ballista's, the **static planner** by default
/// (Ballista 55's adaptive planner can hang a job whose executor is lost mid-stage, see
/// docs/distributed.md), then `settings` (`key=value`, e.g.
/// `ballista.planner.adaptive.enabled=true`) on top.
pub fn client_config(settings: &[String]) -> Result<SessionConfig, ClusterError> {
    let mut config = segmint_engine::session_config(SessionConfig::new_with_ballista())
        .set_bool(ADAPTIVE_PLANNER, false);
    for setting in settings {
        let Some((key, value)) = setting.split_once('=') else {
            return Err(ClusterError::Usage(format!(
                "cluster setting `{setting}`: expected key=value"
            )));
        };
        config = config.set_str(key.trim(), value.trim());
    }
    Ok(config)
}

/// The scheduler's sessions: Ballista's defaults plus segmint's functions and stores.
fn scheduler_session(config: SessionConfig) -> DfResult<datafusion::execution::SessionState> {
    let mut state = SessionStateBuilder::new()
        .with_default_features()
        .with_config(config)
        .with_runtime_env(env_runtime()?)
        .with_optimizer_rules(ballista_core::optimizer::ballista_default_optimizer_rules())
        .with_scalar_functions(ballista_core::extension::ballista_scalar_functions())
        .with_aggregate_functions(ballista_core::extension::ballista_aggregate_functions())
        .with_window_functions(ballista_core::extension::ballista_window_functions())
        .build();
    segmint_udfs::register_all(&mut state)?;
    Ok(state)
}

/// Seconds between an executor's heartbeats (segmint executors).
pub const HEARTBEAT_SECONDS: u64 = 5;

/// Run a scheduler on `bind` until the process ends. An executor silent for
/// `executor_timeout_seconds` is declared lost and its tasks are rescheduled.
pub async fn run_scheduler(
    bind: SocketAddr,
    executor_timeout_seconds: u64,
) -> Result<(), ClusterError> {
    let mut config = SchedulerConfig::default()
        .with_hostname(bind.ip().to_string())
        .with_port(bind.port())
        .with_override_session_builder(Arc::new(scheduler_session));
    config.bind_host = bind.ip().to_string();
    config.executor_timeout_seconds = executor_timeout_seconds.max(2 * HEARTBEAT_SECONDS);
    config.expire_dead_executor_interval_seconds = HEARTBEAT_SECONDS;
    config.no_executors_grace_period_seconds = config.executor_timeout_seconds;
    let cluster = BallistaCluster::new_from_config(&config)
        .await
        .map_err(ballista)?;
    start_server(cluster, bind, Arc::new(config))
        .await
        .map_err(ballista)
}

/// segmint's functions, on top of Ballista's defaults, for executors.
pub fn function_registry() -> BallistaFunctionRegistry {
    let mut registry = BallistaFunctionRegistry::default();
    for f in segmint_udfs::all_udfs() {
        registry.scalar_functions.insert(f.name().to_string(), f);
    }
    for f in segmint_udfs::all_udafs() {
        registry.aggregate_functions.insert(f.name().to_string(), f);
    }
    for f in segmint_udfs::all_udwfs() {
        registry.window_functions.insert(f.name().to_string(), f);
    }
    registry
}

/// Where an executor listens and which scheduler it serves.
#[derive(Debug, Clone)]
pub struct ExecutorOptions {
    /// The scheduler's host name or IP address.
    pub scheduler_host: String,
    pub scheduler_port: u16,
    /// Arrow Flight (shuffle) address; the gRPC port is the next one.
    pub bind: SocketAddr,
    /// The host name other processes reach this executor by. `None` with an unspecified
    /// bind address (`0.0.0.0`) lets the scheduler use the address it sees the executor
    /// connect from; otherwise the bind address.
    pub advertise_host: Option<String>,
    pub concurrent_tasks: usize,
    /// Shuffle files go here (default: a temporary folder).
    pub work_dir: Option<String>,
}

/// Run an executor until the process ends.
pub async fn run_executor(options: ExecutorOptions) -> Result<(), ClusterError> {
    let grpc_port = options.bind.port().checked_add(1).ok_or_else(|| {
        ClusterError::Usage("--bind port must leave room for the gRPC port".into())
    })?;
    let config = ExecutorProcessConfig {
        bind_host: options.bind.ip().to_string(),
        external_host: options.advertise_host.clone().or_else(|| {
            (!options.bind.ip().is_unspecified()).then(|| options.bind.ip().to_string())
        }),
        port: options.bind.port(),
        grpc_port,
        scheduler_host: options.scheduler_host,
        scheduler_port: options.scheduler_port,
        scheduler_connect_timeout_seconds: 30,
        vcores: options.concurrent_tasks.max(1),
        work_dir: options.work_dir,
        executor_heartbeat_interval_seconds: HEARTBEAT_SECONDS,
        override_function_registry: Some(Arc::new(function_registry())),
        override_runtime_producer: Some(Arc::new(|_config: &SessionConfig| env_runtime())),
        ..ExecutorProcessConfig::default()
    };
    start_executor_process(Arc::new(config))
        .await
        .map_err(ballista)
}

/// A client context on a scheduler (`df://host:port`) with segmint's defaults
/// ([`client_config`]) and functions.
pub async fn remote_context(
    url: &str,
    settings: &[String],
) -> Result<SessionContext, ClusterError> {
    let state = SessionStateBuilder::new()
        .with_default_features()
        .with_config(client_config(settings)?)
        .with_runtime_env(env_runtime().map_err(ballista)?)
        .build();
    let mut ctx = SessionContext::remote_with_state(url, state)
        .await
        .map_err(ballista)?;
    // After the upgrade: registrations made before it are dropped.
    segmint_udfs::register_all(&mut ctx).map_err(ballista)?;
    Ok(ctx)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clients_plan_statically_unless_asked() {
        let adaptive = |settings: &[String]| {
            client_config(settings)
                .map(|c| c.ballista_config().adaptive_query_planner_enabled())
                .ok()
        };
        assert_eq!(adaptive(&[]), Some(false));
        assert_eq!(adaptive(&[format!("{ADAPTIVE_PLANNER}=true")]), Some(true));
        assert_eq!(adaptive(&["no-equals-sign".into()]), None);
    }
}
