//! Network counters of one container, for idle detection: one `GET
//! /containers/{id}/stats?stream=false&one-shot=true` (allowed by `CONTAINERS=1` on a socket
//! proxy).

use futures_util::StreamExt;

use super::{Client, EngineError};

impl Client {
    /// Bytes received plus sent on every network of the container since it started;
    /// `None` when the engine reports no network (host network, not running).
    pub(super) async fn network_counter(&self, id: &str) -> Result<Option<u64>, EngineError> {
        let opts = bollard::query_parameters::StatsOptionsBuilder::new()
            .stream(false)
            .one_shot(true)
            .build();
        let mut stream = self.api("stats").stats(id, Some(opts));
        let Some(first) = stream.next().await else {
            return Ok(None);
        };
        let stats = first.map_err(|e| self.err("GET /containers/{id}/stats", e))?;
        Ok(stats.networks.map(|n| {
            n.values()
                .map(|s| {
                    s.rx_bytes
                        .unwrap_or(0)
                        .saturating_add(s.tx_bytes.unwrap_or(0))
                })
                .fold(0u64, u64::saturating_add)
        }))
    }
}
