//! Networks of an object's own (`network: isolated` or `internal`): created before its
//! container, named like it, labelled with the instance, and removed with it. Only objects
//! that declare one cause network calls, so a socket proxy needs `NETWORKS=1` only then.

use std::collections::HashMap;

use bollard::models::{HostConfig, NetworkCreateRequest};

use super::{Client, EngineError};
use crate::model::{labels, DesiredContainer, NetworkMode, ObjectKey};

/// The network name of `key` in `instance` (the container's name).
pub fn network_name(instance: &str, key: &ObjectKey) -> String {
    key.container_name(instance)
}

/// Puts the container on its own network when it has one.
pub(super) fn apply(instance: &str, want: &DesiredContainer, host: &mut HostConfig) {
    if want.spec.network.is_own() {
        host.network_mode = Some(network_name(instance, &want.key));
    }
}

impl Client {
    /// Makes sure `want`'s own network exists with the right `internal` setting. A network
    /// of that name that this instance does not own is never touched: that is an error.
    pub(super) async fn own_network(
        &self,
        instance: &str,
        want: &DesiredContainer,
    ) -> Result<(), EngineError> {
        let name = network_name(instance, &want.key);
        let internal = want.spec.network == NetworkMode::Internal;
        match self
            .api("inspect_network")
            .inspect_network(&name, None)
            .await
        {
            Ok(n) => {
                let owner = n
                    .labels
                    .as_ref()
                    .and_then(|l| l.get(labels::INSTANCE))
                    .cloned();
                if owner.as_deref() != Some(instance) {
                    return Err(EngineError::Conflict {
                        operation: "POST /networks/create".into(),
                        message: format!(
                            "a network named {name} exists and does not belong to instance {instance:?}; berth leaves it alone"
                        ),
                    });
                }
                if n.internal.unwrap_or(false) == internal {
                    return Ok(());
                }
                // The setting changed: the old network has no container left (its container
                // was removed first), so it is replaced.
                self.remove_network(&name).await?;
            }
            Err(e) => match self.err("GET /networks/{id}", e) {
                EngineError::NotFound { .. } => {}
                other => return Err(other),
            },
        }
        let mut l = HashMap::new();
        l.insert(labels::INSTANCE.to_string(), instance.to_string());
        l.insert(labels::KIND.to_string(), want.key.kind.as_str().to_string());
        l.insert(labels::NAME.to_string(), want.key.name.clone());
        let req = NetworkCreateRequest {
            name: name.clone(),
            driver: Some("bridge".into()),
            internal: Some(internal),
            labels: Some(l),
            ..Default::default()
        };
        match self.api("create_network").create_network(req).await {
            Ok(_) => Ok(()),
            Err(e) => match self.err("POST /networks/create", e) {
                // Created concurrently: look again next time.
                EngineError::Conflict { .. } => Ok(()),
                other => Err(other),
            },
        }
    }

    /// Removes a network this instance owns; already gone is success.
    pub async fn remove_network(&self, name: &str) -> Result<(), EngineError> {
        match self.api("remove_network").remove_network(name).await {
            Ok(()) => Ok(()),
            Err(e) => match self.err("DELETE /networks/{id}", e) {
                EngineError::NotFound { .. } => Ok(()),
                other => Err(other),
            },
        }
    }

    /// Every network labelled with `instance` (name, owning object).
    pub async fn list_networks(
        &self,
        instance: &str,
    ) -> Result<Vec<(String, Option<ObjectKey>)>, EngineError> {
        let filters = HashMap::from([(
            "label".to_string(),
            vec![format!("{}={instance}", labels::INSTANCE)],
        )]);
        let opts = bollard::query_parameters::ListNetworksOptionsBuilder::new()
            .filters(&filters)
            .build();
        let list = self
            .api("list_networks")
            .list_networks(Some(opts))
            .await
            .map_err(|e| self.err("GET /networks", e))?;
        Ok(list
            .into_iter()
            .filter(|n| {
                n.labels
                    .as_ref()
                    .and_then(|l| l.get(labels::INSTANCE))
                    .is_some_and(|v| v == instance)
            })
            .map(|n| {
                let l = n.labels.unwrap_or_default();
                let key = match (
                    l.get(labels::KIND).and_then(|k| k.parse().ok()),
                    l.get(labels::NAME),
                ) {
                    (Some(kind), Some(name)) => Some(ObjectKey::new(kind, name.clone())),
                    _ => None,
                };
                (n.name.unwrap_or_default(), key)
            })
            .collect())
    }
}
