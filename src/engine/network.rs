//! Networks berth makes: an object's own (`network: isolated` or `internal`), created before
//! its container, named like it, and removed with it; and the instance's shared ones
//! (`network: { shared: NAME }`), created before the first container that names one and
//! removed after the last (the engine refuses to remove a network still in use, which is how
//! "the last" is known). All carry the instance's label. Only objects that declare one
//! cause network calls, so a socket proxy needs `NETWORKS=1` only then.

use std::collections::HashMap;

use bollard::models::{HostConfig, NetworkCreateRequest};

use super::{Client, EngineError};
use crate::model::{labels, DesiredContainer, NetworkMode, ObjectKey};

/// The engine's name of the network berth makes for `key` in `instance`: its own network is
/// named like its container (`berth_<instance>_<kind>_<name>`), a shared one
/// `berth_<instance>_net_<name>` (a shared name has no `_`, so it cannot meet a container's
/// name); `None` on the default bridge.
pub fn network_name(instance: &str, key: &ObjectKey, mode: &NetworkMode) -> Option<String> {
    match mode {
        NetworkMode::Default => None,
        NetworkMode::Isolated | NetworkMode::Internal => Some(key.container_name(instance)),
        NetworkMode::Shared(name) => Some(format!("berth_{instance}_net_{name}")),
    }
}

/// Puts the container on berth's network when it has one.
pub(super) fn apply(instance: &str, want: &DesiredContainer, host: &mut HostConfig) {
    if let Some(name) = network_name(instance, &want.key, &want.spec.network) {
        host.network_mode = Some(name);
    }
}

impl Client {
    /// Makes sure `want`'s network exists with the right `internal` setting. A network of
    /// that name that this instance does not own is never touched: that is an error.
    pub(super) async fn make_network(
        &self,
        instance: &str,
        want: &DesiredContainer,
    ) -> Result<(), EngineError> {
        let Some(name) = network_name(instance, &want.key, &want.spec.network) else {
            return Ok(());
        };
        let internal = want.spec.network.is_internal();
        // The engine takes two networks of one name: two objects making one shared network
        // at once would each create one. Held over the look and the create.
        let _one_at_a_time = self.network_lock().lock().await;
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
                // was removed first), so it is replaced. (A shared network is never
                // internal, so this is an object's own.)
                self.remove_network(&name).await?;
            }
            Err(e) => match self.err("GET /networks/{id}", e) {
                EngineError::NotFound { .. } => {}
                other => return Err(other),
            },
        }
        let mut l = HashMap::new();
        l.insert(labels::INSTANCE.to_string(), instance.to_string());
        // An object's own network says whose it is; a shared one belongs to no one object.
        if !matches!(want.spec.network, NetworkMode::Shared(_)) {
            l.insert(labels::KIND.to_string(), want.key.kind.as_str().to_string());
            l.insert(labels::NAME.to_string(), want.key.name.clone());
        }
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
