//! Where a command evaluates: in this process, or on a Ballista cluster (`--cluster`), and
//! the `scheduler` / `executor` processes of such a cluster.

use std::net::SocketAddr;
use std::path::Path;

use segmint_engine::{EngineError, LakeSession, ProjectSession, ProjectSessionBuilder};

/// The cluster a command runs on, if any.
#[derive(Debug, Clone, Default)]
pub struct Target {
    /// `df://host:port` of a scheduler.
    pub cluster: Option<String>,
    /// `key=value` session settings for the cluster (e.g. `ballista.planner.adaptive.enabled=true`).
    pub settings: Vec<String>,
    /// `--memory-limit` in bytes (local evaluation only).
    pub memory_limit: Option<usize>,
}

impl Target {
    /// The project's builder, on a Ballista client context when a cluster is given (with
    /// segmint-ballista's defaults, the static planner among them).
    async fn builder(&self, project: &Path) -> Result<ProjectSessionBuilder, EngineError> {
        let builder = ProjectSession::builder(project).with_memory_limit(self.memory_limit);
        let Some(url) = &self.cluster else {
            return Ok(builder);
        };
        let ctx = segmint_ballista::remote_context(url, &self.settings)
            .await
            .map_err(|e| match e {
                segmint_ballista::ClusterError::Usage(m) => {
                    EngineError::Usage(format!("--cluster-config: {m}"))
                }
                other => EngineError::Data {
                    object: url.clone(),
                    message: other.to_string(),
                },
            })?;
        Ok(builder.with_context(ctx))
    }

    /// Open a project on this target.
    pub async fn open(&self, project: &Path) -> Result<ProjectSession, EngineError> {
        self.builder(project).await?.open().await
    }

    /// Open a project for the `identity` commands on this target.
    pub async fn open_identity(
        &self,
        project: &Path,
    ) -> Result<segmint_engine::identity::IdentitySession, EngineError> {
        self.builder(project).await?.open_identity().await
    }

    /// Open a project's lake for SQL on this target.
    pub async fn open_lake(&self, project: &Path) -> Result<LakeSession, EngineError> {
        self.builder(project).await?.open_lake().await
    }
}

fn address(text: &str, flag: &str) -> Result<SocketAddr, EngineError> {
    text.parse().map_err(|e| {
        EngineError::Usage(format!(
            "{flag} `{text}`: {e} (write host:port, e.g. 127.0.0.1:50050)"
        ))
    })
}

/// A `host:port` whose host may be a name (`scheduler:50050`) or an address.
fn host_port(text: &str, flag: &str) -> Result<(String, u16), EngineError> {
    let usage = |why: &str| {
        EngineError::Usage(format!(
            "{flag} `{text}`: {why} (write host:port, e.g. 127.0.0.1:50050 or scheduler:50050)"
        ))
    };
    if let Ok(addr) = text.parse::<SocketAddr>() {
        return Ok((addr.ip().to_string(), addr.port()));
    }
    let (host, port) = text.rsplit_once(':').ok_or_else(|| usage("no port"))?;
    let port = port
        .parse()
        .map_err(|_| usage("the port is not a number"))?;
    if host.is_empty() || host.contains(['/', ' ', '[', ']']) {
        return Err(usage("not a host name"));
    }
    Ok((host.to_string(), port))
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
    advertise_host: Option<&str>,
    concurrent_tasks: usize,
    work_dir: Option<&Path>,
) -> Result<(), EngineError> {
    let (scheduler_host, scheduler_port) = host_port(scheduler, "--scheduler")?;
    let options = segmint_ballista::ExecutorOptions {
        scheduler_host,
        scheduler_port,
        bind: address(bind, "--bind")?,
        advertise_host: advertise_host.map(str::to_string),
        concurrent_tasks,
        work_dir: work_dir.map(|p| p.display().to_string()),
    };
    tracing::info!(bind = %options.bind, scheduler = %scheduler, "segmint executor starting");
    segmint_ballista::run_executor(options)
        .await
        .map_err(|e| EngineError::Internal(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::host_port;

    #[test]
    fn scheduler_addresses_take_names_and_ips() {
        let ok = |t: &str| host_port(t, "--scheduler").map_err(|e| e.to_string());
        assert_eq!(ok("127.0.0.1:50050"), Ok(("127.0.0.1".into(), 50050)));
        assert_eq!(ok("scheduler:50050"), Ok(("scheduler".into(), 50050)));
        assert_eq!(ok("[::1]:7"), Ok(("::1".into(), 7)));
        for bad in [
            "scheduler",
            "scheduler:port",
            ":50050",
            "a b:1",
            "host:70000",
        ] {
            let e = ok(bad).err().unwrap_or_default();
            assert!(e.contains("--scheduler") && e.contains(bad), "{e}");
        }
    }
}
