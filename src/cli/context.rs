//! What every command gets from the command line besides its own flags: the instance, the
//! engine target, the `hostPort: auto` pool, the default volume cleanup. Built once in
//! `main` and passed down; no settings live in globals.

use crate::engine::{Client, Target};
use crate::model::CleanupRule;
use crate::plan::ports::PortPool;
use crate::state::Store;

use super::error::CliError;

#[derive(Debug, Clone)]
pub struct Context {
    pub instance: String,
    pub cleanup: CleanupRule,
    pub target: Target,
    pub port_pool: PortPool,
    /// Where the instance's state file, lock and overrides live (`--state-dir`).
    pub state_dir: std::path::PathBuf,
}

impl Context {
    /// Connects to the engine (negotiating the API version).
    pub async fn connect(&self) -> Result<Client, CliError> {
        Ok(Client::connect_to(&self.target).await?)
    }

    /// The instance's state file.
    pub fn store(&self) -> Store {
        Store::new(&self.state_dir, &self.instance)
    }

    /// Settings of a one-shot plan for this instance.
    pub fn once(&self, allow_empty: bool) -> crate::reconcile::observe::Once {
        crate::reconcile::observe::Once {
            instance: self.instance.clone(),
            allow_empty,
            cleanup: self.cleanup,
            pool: self.port_pool,
        }
    }
}
