//! What `diff` and `apply` share: reading and resolving the manifests (diagnostics to
//! stderr) and one observe-and-plan against the engine ([`crate::reconcile::observe::once`])
//! from what the state directory remembers (ports, orphan clocks, `berth stop`), with the
//! objects it held reported.

use crate::engine::Client;
use crate::manifest::{diagnostic, Format, Sources};
use crate::plan::Plan;
use crate::reconcile::observe::{self, Held, Memory};
use crate::resolve::{self, Loaded};
use crate::state::OverrideStore;

use super::{CliError, Context};

/// Reads the manifests and prints their diagnostics to stderr.
pub(super) fn load(sources: &Sources) -> Loaded {
    let loaded = resolve::load(sources);
    eprint!("{}", diagnostic::render(&loaded.diagnostics, Format::Text));
    loaded
}

/// A one-shot plan.
pub(super) struct OncePlan {
    pub plan: Plan,
    /// Objects held before planning (no port left in the pool, more than the host has),
    /// each said on stderr.
    pub held: Vec<Held>,
    /// The ports and orphan clocks as the plan leaves them.
    pub memory: Memory,
}

/// What the state directory remembers. An unreadable overrides file is an error: planning
/// without it could start what an operator stopped.
fn memory(ctx: &Context) -> Result<Memory, CliError> {
    let state = ctx.store().peek().unwrap_or_else(|e| {
        eprintln!("warning: {e}; planning without berth's memory");
        Default::default()
    });
    Ok(Memory {
        ports: state.port_allocations(),
        volumes: state.volumes,
        overrides: OverrideStore::new(&ctx.state_dir, &ctx.instance).read()?,
    })
}

pub(super) async fn plan(
    ctx: &Context,
    engine: &Client,
    loaded: &mut Loaded,
    allow_empty: bool,
) -> Result<OncePlan, CliError> {
    let mut memory = memory(ctx)?;
    let (plan, held) = observe::once(
        engine,
        &mut loaded.desired,
        &mut memory,
        &loaded.quotas,
        &ctx.once(allow_empty),
    )
    .await?;
    for h in &held {
        eprintln!(
            "error: {}: {}; its container is left as it is",
            h.key, h.message
        );
    }
    Ok(OncePlan { plan, held, memory })
}
