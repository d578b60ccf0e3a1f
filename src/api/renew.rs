//! `POST /v1/sessions/{name}/renew`: the Session's file written again with a longer `ttl`,
//! checked like a create (but taking no new place in a quota).

use axum::body::Bytes;
use axum::extract::Path;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;

use super::dir::Known;
use super::render;
use super::sessions::{
    answer, managed, out_of_scope, parse_body, pending, resolved, status_of, writer,
};
use super::tokens::Caller;
use super::types::{Renew, Session};
use super::{json, Answer, Api, ApiState, Problem};
use crate::manifest::discover::SourceFile;
use crate::model::Phase;
use crate::status::now_ms;

/// Extend a Session's lifetime: it may live `ttl` from now.
#[utoipa::path(
    post,
    path = "/v1/sessions/{name}/renew",
    request_body = Renew,
    params(("name" = String, Path, description = "The session")),
    responses(
        (status = 200, description = "Renewed", body = Session),
        (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 404, description = "No such session in the API's directory", body = Problem),
        (status = 409, description = "It expired already, or another manifest declares it", body = Problem),
        (status = 422, description = "The new lifetime is refused (e.g. beyond maxTtl)", body = Problem),
    ),
    security(("bearer" = []))
)]
pub async fn renew(
    axum::extract::State(api): ApiState,
    headers: HeaderMap,
    Path(name): Path<String>,
    body: Bytes,
) -> Response {
    answer(renew_session(&api, &headers, &name, &body).await)
}

async fn renew_session(api: &Api, headers: &HeaderMap, name: &str, body: &[u8]) -> Answer {
    let caller = writer(api, headers)?;
    let req: Renew = parse_body(body)?;
    let wanted = humantime::parse_duration(&req.ttl).map_err(|e| {
        Problem::unprocessable(format!("ttl {:?}: {e}", req.ttl))
            .with_errors(vec![format!("spec.ttl: {e}")])
    })?;
    let mut dir = api.dir.lock().await;
    dir.refresh(&api.sources)
        .map_err(|e| Problem::internal(e.to_string()))?;
    let known = managed(api, &dir, caller, name)?;
    let status = {
        let report = api.shared.report.read().expect("not poisoned");
        status_of(&report, name, true)
    };
    if status
        .as_ref()
        .is_some_and(|s| s.phase == Phase::Expired.as_str())
    {
        return Err(Problem::conflict(format!(
            "session {name:?} has expired; delete it and create a new one"
        )));
    }
    // The TTL counts from the first start: keep the time lived, add what is asked for.
    let lived = status
        .as_ref()
        .and_then(|s| {
            let ttl = humantime::parse_duration(s.ttl.as_deref()?).ok()?;
            let started = s.expires_at_ms?.checked_sub(ttl.as_millis() as u64)?;
            Some(std::time::Duration::from_millis(
                now_ms().saturating_sub(started),
            ))
        })
        .unwrap_or_default();
    let source = SourceFile {
        canonical: dir.path_of(&known.file),
        display: dir.display_of(&known.file),
        trust: crate::manifest::Trust::DropIn,
    };
    // Under the manifest rules (a regular file, bounded, never waiting on a FIFO): another
    // program may have swapped it since the directory was read.
    let text = crate::manifest::files::Reader::new(api.sources.limits)
        .read_text(std::path::Path::new(&source.canonical))
        .map_err(|e| Problem::conflict(format!("{}: {e}", source.display)))?;
    let Some(renewed) = render::with_ttl(&text, lived + wanted) else {
        return Err(Problem::conflict(format!(
            "{} is not a single Session document; change it by hand",
            source.display
        )));
    };
    let known = admit_renewal(api, caller, &source, name, &renewed, known)?;
    dir.write(known.clone(), &renewed, true)
        .map_err(|e| Problem::internal(e.to_string()))?;
    api.nudge();
    let mut s = status.unwrap_or_else(|| pending(&known));
    s.ttl = Some(render::format_ttl(lived + wanted));
    if s.expires_at_ms.is_some() {
        s.expires_at_ms = Some(now_ms() + wanted.as_millis() as u64);
    }
    Ok(json(StatusCode::OK, &s))
}

/// A renewal is checked like a create, but takes no new place in a quota.
fn admit_renewal(
    api: &Api,
    caller: &Caller,
    source: &SourceFile,
    name: &str,
    text: &str,
    known: Known,
) -> Result<Known, Problem> {
    let (want, _) = resolved(api, source, name, text)?;
    if !caller.may_write(&want.spec.labels) {
        return Err(Problem::forbidden(out_of_scope(caller, name)));
    }
    Ok(known)
}
