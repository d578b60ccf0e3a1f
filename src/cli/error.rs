//! Why a command could not do its job. Each is printed once, by `main`, as `error: ...`,
//! and ends the command with exit code 2 (`berth exec`: 125); outcomes a command reports itself (invalid
//! manifests, changes found, a failed action) are exit codes, not errors.

use thiserror::Error;

use crate::engine::EngineError;
use crate::reconcile::daemon::RunError;
use crate::source::WatchError;
use crate::state::StateError;

#[derive(Debug, Error)]
pub enum CliError {
    /// The engine is unreachable, refused a call, or answered an error.
    #[error(transparent)]
    Engine(#[from] EngineError),
    /// The flags do not go together, or name something that cannot be used.
    #[error("{0}")]
    Setup(String),
    #[error("cannot start the async runtime: {0}")]
    Runtime(std::io::Error),
    #[error("cannot listen on {address}: {source}")]
    Listen {
        address: String,
        source: std::io::Error,
    },
    #[error(transparent)]
    Watch(#[from] WatchError),
    #[error(transparent)]
    State(#[from] StateError),
    #[error(transparent)]
    Run(#[from] RunError),
    #[error("cannot write the output: {0}")]
    Output(std::io::Error),
    /// An error that ends its command with an exit code of the command's own (`berth exec`:
    /// 125, so that it cannot be mistaken for the exit code of the command it runs).
    #[error("{error}")]
    Coded { code: u8, error: Box<CliError> },
}

impl CliError {
    /// The exit code: 2 for every error (see the README's command table), unless the
    /// command gave it its own.
    pub fn exit_code(&self) -> u8 {
        match self {
            CliError::Coded { code, .. } => *code,
            _ => 2,
        }
    }
}
