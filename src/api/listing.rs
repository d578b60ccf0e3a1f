//! `GET /v1/sessions[?labelSelector=]`, `GET /v1/sessions/{name}`,
//! `DELETE /v1/sessions/{name}[?wait=gone]`: what reads the report, and what removes a
//! manifest.

use std::collections::BTreeMap;
use std::sync::atomic::Ordering;

use axum::extract::{Path, Query};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde::Serialize;
use utoipa::ToSchema;

use super::sessions::{answer, managed, out_of_scope, pending, status_of, writer};
use super::types::{DeleteQuery, ListQuery, Session, SessionList};
use super::{json, wait, Answer, Api, ApiState, Problem};
use crate::model::{Kind, Selector};

/// Every Session the caller may see (those of other manifests too), by name.
#[utoipa::path(
    get,
    path = "/v1/sessions",
    params(ListQuery),
    responses(
        (status = 200, body = SessionList),
        (status = 400, description = "The selector is not one", body = Problem),
        (status = 401, body = Problem),
    ),
    security(("bearer" = []))
)]
pub async fn list(
    axum::extract::State(api): ApiState,
    headers: HeaderMap,
    Query(q): Query<ListQuery>,
) -> Response {
    answer(list_sessions(&api, &headers, q).await)
}

async fn list_sessions(api: &Api, headers: &HeaderMap, q: ListQuery) -> Answer {
    let caller = api.caller(headers)?;
    let selector: Selector = q
        .label_selector
        .as_deref()
        .unwrap_or("")
        .parse()
        .map_err(|e| Problem::bad_request(format!("labelSelector: {e}")))?;
    let items = all(api).await?;
    let items = items
        .into_values()
        .filter(|s| caller.may_read(&s.labels) && selector.matches(&s.labels))
        .collect();
    Ok(json(StatusCode::OK, &SessionList { items }))
}

/// Every Session: the report's, and the directory's that the loop has not read yet.
async fn all(api: &Api) -> Result<BTreeMap<String, Session>, Problem> {
    let mut dir = api.dir.lock().await;
    dir.refresh(&api.sources)
        .map_err(|e| Problem::internal(e.to_string()))?;
    let report = api.shared.report.read().expect("not poisoned");
    let mut items: BTreeMap<String, Session> = report
        .objects
        .iter()
        .filter(|o| o.kind == Kind::Session.as_str())
        .map(|o| {
            (
                o.name.clone(),
                Session::of(o, dir.session(&o.name).is_some()),
            )
        })
        .collect();
    for k in dir.sessions() {
        items.entry(k.name.clone()).or_insert_with(|| pending(k));
    }
    Ok(items)
}

/// One Session.
#[utoipa::path(
    get,
    path = "/v1/sessions/{name}",
    params(("name" = String, Path, description = "The session")),
    responses(
        (status = 200, body = Session),
        (status = 401, body = Problem),
        (status = 403, description = "The token's selector does not match it", body = Problem),
        (status = 404, body = Problem),
    ),
    security(("bearer" = []))
)]
pub async fn get_one(
    axum::extract::State(api): ApiState,
    headers: HeaderMap,
    Path(name): Path<String>,
) -> Response {
    answer(get_session(&api, &headers, &name).await)
}

async fn get_session(api: &Api, headers: &HeaderMap, name: &str) -> Answer {
    let caller = api.caller(headers)?;
    let mut items = all(api).await?;
    let s = items
        .remove(name)
        .ok_or_else(|| Problem::not_found(format!("no session {name:?}")))?;
    if !caller.may_read(&s.labels) {
        return Err(Problem::forbidden(out_of_scope(caller, name)));
    }
    Ok(json(StatusCode::OK, &s))
}

/// What a delete did.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Deleted {
    pub name: String,
    /// Its container is removed (with `?wait=gone`); otherwise only its file is.
    pub gone: bool,
}

/// Delete a Session: its file is removed, and the loop removes its container.
#[utoipa::path(
    delete,
    path = "/v1/sessions/{name}",
    params(("name" = String, Path, description = "The session"), DeleteQuery),
    responses(
        (status = 202, description = "Its file is removed; its container goes next", body = Deleted),
        (status = 200, description = "With `?wait=gone`: its container is removed", body = Deleted),
        (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 409, description = "Another manifest declares it", body = Problem),
    ),
    security(("bearer" = []))
)]
pub async fn delete(
    axum::extract::State(api): ApiState,
    headers: HeaderMap,
    Path(name): Path<String>,
    Query(q): Query<DeleteQuery>,
) -> Response {
    answer(delete_session(&api, &headers, &name, q).await)
}

async fn delete_session(api: &Api, headers: &HeaderMap, name: &str, q: DeleteQuery) -> Answer {
    let caller = writer(api, headers)?;
    let gone = match q.wait.as_deref() {
        None => false,
        Some("gone") => true,
        Some(other) => {
            return Err(Problem::bad_request(format!(
                "wait={other}: a delete waits only for gone"
            )))
        }
    };
    let limit = wait::timeout_of(q.timeout.as_deref())?;
    let slot = if gone { Some(api.wait_slot()?) } else { None };
    let read_before = {
        let mut dir = api.dir.lock().await;
        dir.refresh(&api.sources)
            .map_err(|e| Problem::internal(e.to_string()))?;
        let known = managed(api, &dir, caller, name)?;
        dir.remove(&known)
            .map_err(|e| Problem::internal(e.to_string()))?;
        api.nudge();
        api.shared.manifest_reads.load(Ordering::SeqCst)
    };
    if !gone {
        return Ok(json(
            StatusCode::ACCEPTED,
            &Deleted {
                name: name.to_string(),
                gone: false,
            },
        ));
    }
    // Gone: a report made after the loop read the manifests again shows nothing of it.
    let done = wait::until(&api.shared, limit, |r| {
        match r.manifest_reads > read_before && status_of(r, name, false).is_none() {
            true => wait::Look::Found(()),
            false => wait::Look::NotYet,
        }
    })
    .await
    .is_some();
    drop(slot);
    Ok(json(
        if done {
            StatusCode::OK
        } else {
            StatusCode::ACCEPTED
        },
        &Deleted {
            name: name.to_string(),
            gone: done,
        },
    ))
}
