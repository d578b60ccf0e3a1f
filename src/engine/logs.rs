//! A container's logs (`GET /containers/{id}/logs`): what the engine kept of its stdout and
//! stderr, demultiplexed, optionally followed until the container stops.

use bollard::query_parameters::LogsOptionsBuilder;
use futures_util::{Stream, StreamExt};

use super::{Client, EngineError, OutputChunk};

/// Which part of the logs to read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LogOptions {
    /// Keep the stream open and pass on new output until the container stops.
    pub follow: bool,
    /// Only output since this time (Unix seconds).
    pub since: Option<i64>,
    /// Only the last this many lines (of each stream) before following.
    pub tail: Option<u64>,
    /// Each line starts with the engine's RFC 3339 timestamp.
    pub timestamps: bool,
}

impl Client {
    /// The logs of container `id` as pieces of output; an error ends the stream.
    pub(super) fn log_stream(
        &self,
        id: &str,
        opts: &LogOptions,
    ) -> impl Stream<Item = Result<OutputChunk, EngineError>> + Send + 'static {
        let tail = opts
            .tail
            .map_or_else(|| "all".to_string(), |n| n.to_string());
        let mut query = LogsOptionsBuilder::new()
            .stdout(true)
            .stderr(true)
            .follow(opts.follow)
            .timestamps(opts.timestamps)
            .tail(&tail);
        if let Some(since) = opts.since {
            // The engine counts in seconds; a time before 1970 or after 2038 reads all.
            query = query.since(i32::try_from(since.max(0)).unwrap_or(0));
        }
        let endpoint = self.endpoint().to_string();
        self.api("logs")
            .logs(id, Some(query.build()))
            .filter_map(move |item| {
                std::future::ready(match item {
                    Ok(o) => OutputChunk::from_bollard(o).map(Ok),
                    Err(e) => Some(Err(EngineError::from_bollard(
                        "GET /containers/{id}/logs",
                        &endpoint,
                        e,
                    ))),
                })
            })
    }
}
