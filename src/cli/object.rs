//! Finding the container of one object that the user named (`agent/web`), for the verbs
//! that act on a single container: `logs`, `exec`.

use crate::engine::Engine;
use crate::model::{ObjectKey, Observed, RunState};

use super::CliError;

/// The container of `key` in `instance`: when there are several (a recreate in flight, a
/// duplicate), the running one, else the newest. `None` when it has none.
pub async fn container_of<E: Engine>(
    engine: &E,
    instance: &str,
    key: &ObjectKey,
) -> Result<Option<Observed>, CliError> {
    let mut found: Vec<Observed> = engine
        .list(instance)
        .await?
        .into_iter()
        .filter(|o| o.key.as_ref() == Some(key))
        .collect();
    found.sort_by_key(|o| (o.state == RunState::Running, o.created));
    Ok(found.pop())
}

/// `agent/web has no container in instance "demo"` (what `logs` and `exec` say).
pub fn no_container(key: &ObjectKey, instance: &str) -> String {
    format!(
        "{key} has no container in instance {instance:?} (not created yet, removed, or not declared: see berth get)"
    )
}
