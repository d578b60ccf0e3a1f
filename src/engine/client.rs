//! The bollard client: connecting (as the docker CLI would, or through Portainer),
//! negotiating the API version, counting calls, and what the engine says about itself.

use std::sync::Arc;

use bollard::Docker;

use super::{EngineError, EngineInfo, PeerCertificate, Target};
use crate::model::HostFacts;

/// How long berth waits for calls that should answer at once (`GET /info`): a wedged engine
/// must not hold up a command.
const QUICK_CALL: std::time::Duration = std::time::Duration::from_secs(5);

/// A connection to a Docker-compatible engine.
#[derive(Debug, Clone)]
pub struct Client {
    docker: Docker,
    endpoint: String,
    api_version: String,
    info: EngineInfo,
    calls: CallObserver,
    /// What `GET /info` said, asked once per connection.
    facts: Arc<tokio::sync::OnceCell<HostFacts>>,
    /// Held while a network is looked up and created (see `make_network`).
    networks: Arc<tokio::sync::Mutex<()>>,
}

/// Told the name of every engine call (the bollard operation, e.g. `list_containers`) just
/// before it is made: how `berth run` counts its engine requests.
#[derive(Clone, Default)]
pub struct CallObserver(Option<Arc<dyn Fn(&'static str) + Send + Sync>>);

impl std::fmt::Debug for CallObserver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.0.is_some() {
            "CallObserver(set)"
        } else {
            "CallObserver(none)"
        })
    }
}

impl Client {
    /// Connects to `target`: `DOCKER_HOST` or Portainer.
    pub async fn connect_to(target: &Target) -> Result<Client, EngineError> {
        let (docker, endpoint) = match target {
            Target::DockerHost => {
                let endpoint = std::env::var("DOCKER_HOST")
                    .unwrap_or_else(|_| "unix:///var/run/docker.sock".into());
                let docker = Docker::connect_with_defaults()
                    .map_err(|e| EngineError::from_bollard("connect", &endpoint, e))?;
                (docker, endpoint)
            }
            Target::Portainer(p) => p.connect()?,
        };
        let docker = docker
            .negotiate_version()
            .await
            .map_err(|e| EngineError::from_bollard("GET /version", &endpoint, e))?;
        let api_version = docker.client_version().to_string();
        let version = docker
            .version()
            .await
            .map_err(|e| EngineError::from_bollard("GET /version", &endpoint, e))?;
        Ok(Client {
            docker,
            endpoint,
            api_version,
            info: EngineInfo::from_version(&version),
            calls: CallObserver::default(),
            facts: Arc::default(),
            networks: Arc::default(),
        })
    }

    /// The certificate the target presents, from a TLS handshake of berth's own (for `berth
    /// doctor`): `None` unless the target is Portainer over HTTPS. A certificate berth
    /// refuses is still described, with the refusal as its verification.
    pub async fn peer_certificate(target: &Target) -> Option<Result<PeerCertificate, EngineError>> {
        match target {
            Target::DockerHost => None,
            Target::Portainer(p) => p.peer_certificate().await,
        }
    }

    /// The same connection, telling `observe` about every engine call it makes from now on.
    pub fn observed_by(mut self, observe: impl Fn(&'static str) + Send + Sync + 'static) -> Client {
        self.calls = CallObserver(Some(Arc::new(observe)));
        self
    }

    /// The client, for one call named `operation` (counted).
    pub(super) fn api(&self, operation: &'static str) -> &Docker {
        if let Some(observe) = &self.calls.0 {
            observe(operation);
        }
        &self.docker
    }

    /// Held while a network is looked up and created.
    pub(super) fn network_lock(&self) -> &tokio::sync::Mutex<()> {
        &self.networks
    }

    /// What the engine said about itself at connect.
    pub fn info(&self) -> &EngineInfo {
        &self.info
    }

    /// Where the engine answers, for messages.
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// The API version both sides agreed on.
    pub fn api_version(&self) -> &str {
        &self.api_version
    }

    pub(super) fn err(&self, operation: &str, e: bollard::errors::Error) -> EngineError {
        EngineError::from_bollard(operation, &self.endpoint, e)
    }

    /// What the engine says about its host, asked once per connection; empty where it does
    /// not say (a socket proxy without INFO=1, or no answer within a few seconds).
    pub(super) async fn facts(&self) -> HostFacts {
        self.facts
            .get_or_init(|| async {
                let quick = self.api("info").clone().with_timeout(QUICK_CALL);
                match quick.info().await {
                    Ok(i) => HostFacts {
                        cpus: i.ncpu.and_then(|n| u32::try_from(n).ok()).filter(|n| *n > 0),
                        memory_bytes: i
                            .mem_total
                            .and_then(|m| u64::try_from(m).ok())
                            .filter(|m| *m > 0),
                        data_root: i.docker_root_dir.filter(|d| d.starts_with('/')),
                        apparmor: i.security_options.map(|o| {
                            o.iter().any(|opt| {
                                opt.split(',').any(|kv| kv == "name=apparmor" || kv == "apparmor")
                            })
                        }),
                    },
                    Err(e) => {
                        tracing::debug!(error = %self.err("GET /info", e), "no host facts from the engine");
                        HostFacts::default()
                    }
                }
            })
            .await
            .clone()
    }
}
