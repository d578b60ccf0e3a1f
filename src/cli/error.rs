//! Why a command could not do its job. Each is printed once, by `main`, as `error: ...`,
//! and ends the command with exit code 2; outcomes a command reports itself (invalid
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
}

impl CliError {
    /// The exit code: 2 for every error (see the README's command table).
    pub fn exit_code(&self) -> u8 {
        2
    }
}
