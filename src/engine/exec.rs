//! Running a command in a container (`POST /containers/{id}/exec`, then
//! `POST /exec/{id}/start` attached): its output as pieces, its stdin as a writer, its exit
//! code once it ended. Through a socket proxy the start needs `EXEC=1` and `POST=1`.

use std::pin::Pin;
use std::time::Duration;

use bollard::exec::{CreateExecOptions, ResizeExecOptions, StartExecOptions, StartExecResults};
use futures_util::stream::BoxStream;
use futures_util::StreamExt;
use tokio::io::AsyncWrite;

use super::{Client, EngineError, OutputChunk};

/// What to run.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExecOptions {
    /// The command and its arguments (no shell).
    pub cmd: Vec<String>,
    /// Attach a writer to the command's stdin.
    pub stdin: bool,
    /// Give the command a pseudo-terminal: its output arrives merged, as the terminal's.
    pub tty: bool,
}

/// A started command: its output until it ends, and its stdin when it was asked for.
pub struct ExecSession {
    /// The exec instance, for [`super::Engine::exec_exit_code`] and resizing.
    pub id: String,
    pub output: BoxStream<'static, Result<OutputChunk, EngineError>>,
    /// Its stdin (shut it down to close the command's stdin); a sink when not attached.
    pub input: Pin<Box<dyn AsyncWrite + Send>>,
}

impl std::fmt::Debug for ExecSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ExecSession").field("id", &self.id).finish()
    }
}

/// The engine answers an attached start by switching the connection to a raw stream (101);
/// a proxy that drops the `Upgrade` header gets a plain 200 instead, and the stream is lost.
const NOT_UPGRADED: &str = "the connection was not switched to a stream (101 Switching \
    Protocols): a proxy in front of the engine dropped the upgrade. HAProxy 2.4 to 3.0 do \
    that for a request with a body (haproxy issue 2684; the socket proxy of \
    scripts/socket-proxy.sh on Debian 12 is HAProxy 2.6); tecnativa/docker-socket-proxy on \
    HAProxy 2.2 or 3.2 passes it. See docs/proxy.md";

/// How long the engine may take to record the exit code after the output ended.
const EXIT_CODE_WAIT: Duration = Duration::from_secs(10);

impl Client {
    /// Creates the exec instance in container `id` and starts it attached.
    pub(super) async fn start_exec(
        &self,
        id: &str,
        opts: &ExecOptions,
    ) -> Result<ExecSession, EngineError> {
        let config = CreateExecOptions {
            cmd: Some(opts.cmd.clone()),
            attach_stdin: Some(opts.stdin),
            attach_stdout: Some(true),
            attach_stderr: Some(true),
            tty: Some(opts.tty),
            ..Default::default()
        };
        let created = self
            .api("create_exec")
            .create_exec(id, config)
            .await
            .map_err(|e| self.err("POST /containers/{id}/exec", e))?;
        let start = StartExecOptions {
            detach: false,
            tty: opts.tty,
            output_capacity: None,
        };
        let started = self
            .api("start_exec")
            .start_exec(&created.id, Some(start))
            .await
            .map_err(|e| match e {
                bollard::errors::Error::HyperResponseError { err }
                    if err.to_string().contains("no upgrade available") =>
                {
                    EngineError::Engine {
                        operation: "POST /exec/{id}/start".into(),
                        status: 200,
                        message: NOT_UPGRADED.into(),
                    }
                }
                other => self.err("POST /exec/{id}/start", other),
            })?;
        let StartExecResults::Attached { output, input } = started else {
            return Err(EngineError::Engine {
                operation: "POST /exec/{id}/start".into(),
                status: 200,
                message: "the engine started the command detached".into(),
            });
        };
        let endpoint = self.endpoint().to_string();
        let output = output
            .filter_map(move |item| {
                std::future::ready(match item {
                    Ok(o) => OutputChunk::from_bollard(o).map(Ok),
                    Err(e) => Some(Err(EngineError::from_bollard(
                        "POST /exec/{id}/start",
                        &endpoint,
                        e,
                    ))),
                })
            })
            .boxed();
        Ok(ExecSession {
            id: created.id,
            output,
            input,
        })
    }

    /// The exit code of a command whose output ended: the engine may record it a moment
    /// later, so ask again while it still reports the command running. `None` when it
    /// never says.
    pub(super) async fn exec_code(&self, exec_id: &str) -> Result<Option<i64>, EngineError> {
        let deadline = tokio::time::Instant::now() + EXIT_CODE_WAIT;
        loop {
            let inspect = self
                .api("inspect_exec")
                .inspect_exec(exec_id)
                .await
                .map_err(|e| self.err("GET /exec/{id}/json", e))?;
            if inspect.running != Some(true) || tokio::time::Instant::now() >= deadline {
                return Ok(inspect.exit_code);
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Tells the command's terminal its size.
    pub(super) async fn exec_resize(
        &self,
        exec_id: &str,
        width: u16,
        height: u16,
    ) -> Result<(), EngineError> {
        self.api("resize_exec")
            .resize_exec(exec_id, ResizeExecOptions { height, width })
            .await
            .map_err(|e| self.err("POST /exec/{id}/resize", e))
    }
}
