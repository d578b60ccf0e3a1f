//! What `diff` and `apply` share: reading and resolving the manifests (diagnostics to stderr) and one
//! observe-and-plan against the engine ([`crate::reconcile::observe::once`]), with the
//! objects it held reported.

use crate::engine::Client;
use crate::manifest::{diagnostic, Format, Sources};
use crate::plan::Plan;
use crate::reconcile::observe;
use crate::resolve::{self, Loaded};

use super::{CliError, Context};

/// Reads the manifests and prints their diagnostics to stderr.
pub(super) fn load(sources: &Sources) -> Loaded {
    let loaded = resolve::load(sources);
    eprint!("{}", diagnostic::render(&loaded.diagnostics, Format::Text));
    loaded
}

/// The plan of a one-shot command; `false` beside it when an object was held before
/// planning (no port left in the pool, more than the host has), each said on stderr.
pub(super) async fn plan(
    ctx: &Context,
    engine: &Client,
    loaded: &mut Loaded,
    allow_empty: bool,
) -> Result<(Plan, bool), CliError> {
    let mut ports = ctx.remembered_ports();
    let (p, held) = observe::once(
        engine,
        &mut loaded.desired,
        &mut ports,
        &ctx.once(allow_empty),
    )
    .await?;
    for h in &held {
        eprintln!(
            "error: {}: {}; its container is left as it is",
            h.key, h.message
        );
    }
    Ok((p, held.is_empty()))
}
