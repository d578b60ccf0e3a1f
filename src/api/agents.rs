//! `POST /v1/agents/{name}/stop|start`: the operator's override (`berth stop`, `berth
//! start`) through the API. The loop reads the overrides file and acts.

use std::time::SystemTime;

use axum::extract::Path;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;

use super::sessions::{answer, writer};
use super::types::Agent;
use super::{json, Answer, Api, ApiState, Problem};
use crate::model::{Kind, ObjectKey};

/// Stop an Agent until it is started again (its container is kept).
#[utoipa::path(
    post,
    path = "/v1/agents/{name}/stop",
    params(("name" = String, Path, description = "The agent")),
    responses(
        (status = 202, description = "Recorded; berth run stops it", body = Agent),
        (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem),
    ),
    security(("bearer" = []))
)]
pub async fn stop(
    axum::extract::State(api): ApiState,
    headers: HeaderMap,
    Path(name): Path<String>,
) -> Response {
    answer(set(&api, &headers, &name, true).await)
}

/// Start an Agent that `stop` (or `berth stop`) stopped.
#[utoipa::path(
    post,
    path = "/v1/agents/{name}/start",
    params(("name" = String, Path, description = "The agent")),
    responses(
        (status = 202, description = "Recorded; berth run starts it", body = Agent),
        (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 409, description = "Its manifest declares `state: Stopped`", body = Problem),
    ),
    security(("bearer" = []))
)]
pub async fn start(
    axum::extract::State(api): ApiState,
    headers: HeaderMap,
    Path(name): Path<String>,
) -> Response {
    answer(set(&api, &headers, &name, false).await)
}

async fn set(api: &Api, headers: &HeaderMap, name: &str, stopped: bool) -> Answer {
    let caller = writer(api, headers)?;
    let (phase, declared_stopped) = {
        let report = api.shared.report.read().expect("not poisoned");
        let o = report
            .objects
            .iter()
            .find(|o| o.kind == Kind::Agent.as_str() && o.name == name && o.desired.is_some())
            .ok_or_else(|| Problem::not_found(format!("no agent {name:?}")))?;
        if !caller.may_write(&o.labels) {
            return Err(Problem::forbidden(format!(
                "token {:?} (scope {}) may not touch agent {name:?}",
                caller.name,
                caller.scope()
            )));
        }
        let declared = o.desired.as_ref().is_some_and(|d| d.state == "Stopped");
        (o.phase, declared)
    };
    if !stopped && declared_stopped {
        return Err(Problem::conflict(format!(
            "agent {name:?}: its manifest declares state: Stopped; edit the manifest to run it"
        )));
    }
    let key = ObjectKey::new(Kind::Agent, name);
    let store = api.overrides.clone();
    tokio::task::spawn_blocking(move || {
        store.modify(|o| {
            if stopped {
                o.stopped.entry(key).or_insert_with(SystemTime::now);
            } else {
                o.stopped.remove(&key);
                o.idle.remove(&key);
            }
        })
    })
    .await
    .map_err(|e| Problem::internal(e.to_string()))?
    .map_err(|e| Problem::internal(e.to_string()))?;
    Ok(json(
        StatusCode::ACCEPTED,
        &Agent {
            name: name.to_string(),
            phase: phase.to_string(),
            stopped,
        },
    ))
}
