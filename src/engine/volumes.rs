//! Volumes: the instance's listing, their sizes where the engine reports them, creating one
//! with berth's labels and removing one (never forced).

use std::collections::HashMap;

use bollard::query_parameters::ListVolumesOptionsBuilder;

use super::{convert, Client, EngineError};
use crate::model::{labels, CleanupRule, ObservedVolume, VolumeOwner};

impl Client {
    /// Every volume that carries `instance`'s ownership label. One call.
    pub(super) async fn volumes(&self, instance: &str) -> Result<Vec<ObservedVolume>, EngineError> {
        let filters = HashMap::from([(
            "label".to_string(),
            vec![format!("{}={instance}", labels::INSTANCE)],
        )]);
        let opts = ListVolumesOptionsBuilder::new().filters(&filters).build();
        let list = self
            .api("list_volumes")
            .list_volumes(Some(opts))
            .await
            .map_err(|e| self.err("GET /volumes", e))?;
        Ok(list
            .volumes
            .unwrap_or_default()
            .into_iter()
            .filter(|v| {
                v.labels
                    .get(labels::INSTANCE)
                    .is_some_and(|i| i == instance)
            })
            .map(convert::observed_volume)
            .collect())
    }

    /// Sizes of the instance's volumes, where the engine reports them (`GET /system/df`,
    /// which a socket proxy allows only with SYSTEM=1).
    pub(super) async fn sizes(&self) -> Result<HashMap<String, u64>, EngineError> {
        let df = self
            .api("df")
            .df(None::<bollard::query_parameters::DataUsageOptions>)
            .await
            .map_err(|e| self.err("GET /system/df", e))?;
        let items = df.volume_usage.and_then(|u| u.items).unwrap_or_default();
        Ok(items
            .iter()
            .filter_map(|v| {
                let name = v.get("Name")?.as_str()?.to_string();
                let size = v.get("UsageData")?.get("Size")?.as_i64()?;
                (size >= 0).then_some((name, size as u64))
            })
            .collect())
    }

    /// Creates a volume with berth's labels for `owner`; an existing one is left as it is.
    pub(super) async fn new_volume(
        &self,
        instance: &str,
        name: &str,
        owner: &VolumeOwner,
        cleanup: Option<&CleanupRule>,
    ) -> Result<(), EngineError> {
        let mut l = HashMap::from([
            (labels::INSTANCE.to_string(), instance.to_string()),
            (labels::VOLUME_OWNER.to_string(), owner.to_string()),
        ]);
        if let Some(c) = cleanup {
            l.insert(labels::VOLUME_CLEANUP.to_string(), c.label());
        }
        self.api("create_volume")
            .create_volume(bollard::models::VolumeCreateRequest {
                name: Some(name.to_string()),
                labels: Some(l),
                ..Default::default()
            })
            .await
            .map(|_| ())
            .map_err(|e| self.err("POST /volumes/create", e))
    }

    /// Removes a volume, never forced: one in use answers a conflict (retried later); one
    /// already gone is success.
    pub(super) async fn drop_volume(&self, name: &str) -> Result<(), EngineError> {
        match self
            .api("remove_volume")
            .remove_volume(name, None::<bollard::query_parameters::RemoveVolumeOptions>)
            .await
            .map_err(|e| self.err("DELETE /volumes/{name}", e))
        {
            Err(EngineError::NotFound { .. }) => Ok(()),
            other => other,
        }
    }
}
