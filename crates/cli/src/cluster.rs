//! Where a command evaluates: in this process, or on a Ballista cluster (`--cluster`), and
//! the `scheduler` / `executor` processes of such a cluster.

use std::net::SocketAddr;
use std::path::Path;

use ballista::prelude::SessionConfigExt;
use datafusion::prelude::{SessionConfig, SessionContext};
use segmint_engine::{EngineError, LakeSession, ProjectSession};

/// The cluster a command runs on, if any.
#[derive(Debug, Clone, Default)]
pub struct Target {
    /// `df://host:port` of a scheduler.
    pub cluster: Option<String>,
    /// `key=value` session settings for the cluster (e.g. `ballista.planner.adaptive.enabled=false`).
    pub settings: Vec<String>,
}

impl Target {
    /// A context for this target: local, or a Ballista client with segmint's functions.
    pub async fn context(&self) -> Result<SessionContext, EngineError> {
        let Some(url) = &self.cluster else {
            return segmint_engine::new_context();
        };
        let mut config = segmint_engine::session_config(SessionConfig::new_with_ballista());
        for setting in &self.settings {
            let Some((key, value)) = setting.split_once('=') else {
                return Err(EngineError::Usage(format!(
                    "--cluster-config `{setting}`: expected key=value"
                )));
            };
            config = config.set_str(key.trim(), value.trim());
        }
        segmint_ballista::remote_context(url, config)
            .await
            .map_err(|e| EngineError::Data {
                object: url.clone(),
                message: segmint_engine::storage::redact(&e.to_string()),
            })
    }

    /// Open a project on this target.
    pub async fn open(&self, project: &Path) -> Result<ProjectSession, EngineError> {
        segmint_engine::open_in(project, self.context().await?).await
    }

    /// Open a project's lake for SQL on this target.
    pub async fn open_sql(&self, project: &Path) -> Result<LakeSession, EngineError> {
        segmint_engine::open_sql_in(project, self.context().await?).await
    }
}

fn address(text: &str, flag: &str) -> Result<SocketAddr, EngineError> {
    text.parse().map_err(|e| {
        EngineError::Usage(format!(
            "{flag} `{text}`: {e} (write host:port, e.g. 127.0.0.1:50050)"
        ))
    })
}

/// `segmint scheduler`: serve until killed.
pub async fn scheduler(bind: &str, executor_timeout_seconds: u64) -> Result<(), EngineError> {
    let bind = address(bind, "--bind")?;
    tracing::info!(%bind, "segmint scheduler starting");
    segmint_ballista::run_scheduler(bind, executor_timeout_seconds)
        .await
        .map_err(|e| EngineError::Internal(e.to_string()))
}

/// `segmint executor`: serve until killed.
pub async fn executor(
    scheduler: &str,
    bind: &str,
    concurrent_tasks: usize,
    work_dir: Option<&Path>,
) -> Result<(), EngineError> {
    let options = segmint_ballista::ExecutorOptions {
        scheduler: address(scheduler, "--scheduler")?,
        bind: address(bind, "--bind")?,
        concurrent_tasks,
        work_dir: work_dir.map(|p| p.display().to_string()),
    };
    tracing::info!(bind = %options.bind, scheduler = %options.scheduler, "segmint executor starting");
    segmint_ballista::run_executor(options)
        .await
        .map_err(|e| EngineError::Internal(e.to_string()))
}
