//! Containers: one listing per pass, and the writes (create, start, stop, remove, rename).

use std::collections::HashMap;

use bollard::query_parameters::{
    ListContainersOptionsBuilder, RemoveContainerOptionsBuilder, RenameContainerOptionsBuilder,
    StopContainerOptionsBuilder,
};

use super::{convert, Client, EngineError, EngineKind};
use crate::model::{labels, DesiredContainer, Observed};

/// Beyond a stop's own grace period, how long the engine has to finish the stop.
const STOP_MARGIN: std::time::Duration = std::time::Duration::from_secs(30);

impl Client {
    /// Every container (running or not) that carries `instance`'s ownership label. One call.
    pub(super) async fn containers(&self, instance: &str) -> Result<Vec<Observed>, EngineError> {
        let filters = HashMap::from([(
            "label".to_string(),
            vec![format!("{}={instance}", labels::INSTANCE)],
        )]);
        let opts = ListContainersOptionsBuilder::new()
            .all(true)
            .filters(&filters)
            .build();
        // Podman reports a container whose process just ended as `stopped` for a moment,
        // a state the Docker API (and bollard) does not know: the whole listing then fails
        // to read. It settles to `exited` within milliseconds, so look again.
        let mut attempt = 0;
        let list = loop {
            match self
                .api("list_containers")
                .list_containers(Some(opts.clone()))
                .await
            {
                Err(bollard::errors::Error::JsonDataError { message, .. })
                    if message.contains("unknown variant") && attempt < 40 =>
                {
                    attempt += 1;
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                }
                other => break other.map_err(|e| self.err("GET /containers/json", e))?,
            }
        };
        Ok(list
            .into_iter()
            // The filter is the engine's; check again so no foreign container slips through.
            .filter(|c| {
                c.labels
                    .as_ref()
                    .and_then(|l| l.get(labels::INSTANCE))
                    .is_some_and(|v| v == instance)
            })
            .map(convert::observed)
            .collect())
    }

    /// Creates the container for `want` under its predictable name; returns its id.
    pub(super) async fn create_container(
        &self,
        instance: &str,
        want: &DesiredContainer,
    ) -> Result<String, EngineError> {
        let name = want.key.container_name(instance);
        let opts = bollard::query_parameters::CreateContainerOptionsBuilder::new()
            .name(&name)
            .build();
        let facts = self.facts().await;
        // Where the host has AppArmor, the engine's profile is set explicitly (CIS 5.2);
        // Podman applies its own default by itself.
        let apparmor = (facts.apparmor == Some(true) && self.info().kind == EngineKind::Docker)
            .then_some(convert::DOCKER_APPARMOR_PROFILE);
        let body = convert::create_body(instance, want, apparmor);
        match self
            .api("create_container")
            .create_container(Some(opts), body)
            .await
        {
            Ok(r) => Ok(r.id),
            Err(e) => Err(match self.err("POST /containers/create", e) {
                EngineError::NotFound { message, .. } if message.contains("image") => {
                    EngineError::ImageMissing {
                        image: want.spec.image.clone(),
                    }
                }
                other => other,
            }),
        }
    }

    /// Starts a container; already running is success.
    pub(super) async fn start_container(&self, id: &str) -> Result<(), EngineError> {
        self.api("start_container")
            .start_container(id, None)
            .await
            .or_else(not_modified_ok)
            .map_err(|e| self.err("POST /containers/{id}/start", e))
    }

    /// Renames the container now called `from` (a name, never an id: once renamed, a second
    /// rename of the same container finds nothing). Atomic in the engine.
    pub(super) async fn rename_container(&self, from: &str, to: &str) -> Result<(), EngineError> {
        let opts = RenameContainerOptionsBuilder::new().name(to).build();
        self.api("rename_container")
            .rename_container(from, opts)
            .await
            .map_err(|e| self.err("POST /containers/{id}/rename", e))
    }

    /// Stops a container with `grace_secs` between SIGTERM and SIGKILL; already stopped or
    /// gone is success. The call may take the whole grace period: its timeout is longer.
    pub(super) async fn stop_container(
        &self,
        id: &str,
        grace_secs: u64,
    ) -> Result<(), EngineError> {
        let opts = StopContainerOptionsBuilder::new()
            .t(i32::try_from(grace_secs).unwrap_or(i32::MAX))
            .build();
        let client = self.api("stop_container");
        let needed = std::time::Duration::from_secs(grace_secs) + STOP_MARGIN;
        let client = if client.timeout() < needed {
            client.clone().with_timeout(needed)
        } else {
            client.clone()
        };
        match client
            .stop_container(id, Some(opts))
            .await
            .or_else(not_modified_ok)
            .map_err(|e| self.err("POST /containers/{id}/stop", e))
        {
            Err(EngineError::NotFound { .. }) => Ok(()),
            other => other,
        }
    }

    /// Removes a container (forcing a still-running one); already gone is success. A
    /// network of the object's own goes with it.
    pub(super) async fn remove_container(&self, id: &str) -> Result<(), EngineError> {
        // Which network was the container's own? Its network mode names it, and its
        // labels say whose it is.
        let own_network = match self
            .api("inspect_container")
            .inspect_container(id, None)
            .await
        {
            Ok(c) => {
                let mode = c.host_config.and_then(|h| h.network_mode);
                let instance = c
                    .config
                    .and_then(|c| c.labels)
                    .and_then(|l| l.get(labels::INSTANCE).cloned());
                mode.zip(instance)
                    .filter(|(mode, instance)| mode.starts_with(&format!("berth_{instance}_")))
            }
            Err(_) => None, // gone, or unreadable: the removal below says which
        };
        let opts = RemoveContainerOptionsBuilder::new().force(true).build();
        match self
            .api("remove_container")
            .remove_container(id, Some(opts))
            .await
            .map_err(|e| self.err("DELETE /containers/{id}", e))
        {
            Err(EngineError::NotFound { .. }) | Ok(()) => {}
            Err(other) => return Err(other),
        }
        if let Some((network, instance)) = own_network {
            self.remove_owned_network(&network, &instance).await?;
        }
        Ok(())
    }

    /// Removes `name` if `instance` owns it and no container uses it any more.
    async fn remove_owned_network(&self, name: &str, instance: &str) -> Result<(), EngineError> {
        let owned = match self
            .api("inspect_network")
            .inspect_network(name, None)
            .await
        {
            Ok(n) => n
                .labels
                .as_ref()
                .and_then(|l| l.get(labels::INSTANCE))
                .is_some_and(|v| v == instance),
            Err(e) => match self.err("GET /networks/{id}", e) {
                EngineError::NotFound { .. } => return Ok(()),
                other => return Err(other),
            },
        };
        if !owned {
            return Ok(());
        }
        match self.remove_network(name).await {
            // Still in use (a duplicate container): it goes with the last one.
            Err(EngineError::Conflict { .. }) => Ok(()),
            other => other,
        }
    }
}

/// 304 Not Modified: the container was already in the asked state.
fn not_modified_ok(e: bollard::errors::Error) -> Result<(), bollard::errors::Error> {
    match e {
        bollard::errors::Error::DockerResponseServerError {
            status_code: 304, ..
        } => Ok(()),
        other => Err(other),
    }
}
