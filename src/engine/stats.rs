//! Counters of one container: its network bytes, for idle detection, and a whole reading
//! (CPU, memory, network, pids) for the resource metrics. Each is one `GET
//! /containers/{id}/stats?stream=false&one-shot=true` (allowed by `CONTAINERS=1` on a socket
//! proxy).

use futures_util::StreamExt;

use super::{Client, EngineError};
use crate::model::Sample;

impl Client {
    /// One stats answer, without streaming and without the engine's second CPU reading.
    async fn stats_once(
        &self,
        id: &str,
    ) -> Result<Option<bollard::models::ContainerStatsResponse>, EngineError> {
        let opts = bollard::query_parameters::StatsOptionsBuilder::new()
            .stream(false)
            .one_shot(true)
            .build();
        let mut stream = self.api("stats").stats(id, Some(opts));
        match stream.next().await {
            None => Ok(None),
            Some(first) => first
                .map(Some)
                .map_err(|e| self.err("GET /containers/{id}/stats", e)),
        }
    }

    /// Bytes received plus sent on every network of the container since it started;
    /// `None` when the engine reports no network (host network, not running).
    pub(super) async fn network_counter(&self, id: &str) -> Result<Option<u64>, EngineError> {
        let Some(stats) = self.stats_once(id).await? else {
            return Ok(None);
        };
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

    /// One reading of a running container's counters (`None` when the engine answers with
    /// nothing). Working set = usage − inactive file pages (cgroup v2 `inactive_file`, v1
    /// `total_inactive_file`), as cAdvisor counts it.
    pub(super) async fn sample(&self, id: &str) -> Result<Option<Sample>, EngineError> {
        let Some(s) = self.stats_once(id).await? else {
            return Ok(None);
        };
        let cpu_ns = s
            .cpu_stats
            .as_ref()
            .and_then(|c| c.cpu_usage.as_ref())
            .and_then(|u| u.total_usage)
            .unwrap_or(0);
        let memory = s.memory_stats.as_ref();
        let usage = memory.and_then(|m| m.usage).unwrap_or(0);
        let inactive = memory
            .and_then(|m| m.stats.as_ref())
            .and_then(|st| st.get("inactive_file").or(st.get("total_inactive_file")))
            .copied()
            .unwrap_or(0);
        let (rx, tx) = s
            .networks
            .iter()
            .flatten()
            .fold((0u64, 0u64), |(r, t), (_, n)| {
                (
                    r.saturating_add(n.rx_bytes.unwrap_or(0)),
                    t.saturating_add(n.tx_bytes.unwrap_or(0)),
                )
            });
        Ok(Some(Sample {
            cpu_seconds: cpu_ns as f64 / 1e9,
            memory_bytes: usage.saturating_sub(inactive),
            memory_limit_bytes: memory.and_then(|m| m.limit).unwrap_or(0),
            rx_bytes: rx,
            tx_bytes: tx,
            pids: s.pids_stats.and_then(|p| p.current).unwrap_or(0),
        }))
    }
}
