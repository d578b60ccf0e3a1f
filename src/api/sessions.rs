//! `POST /v1/sessions`: what writes a new manifest, and the checks shared with renewals. A
//! request is checked in this order, each step with its own answer: token (401), scope
//! (403), body (400, 422), name taken (409, or 200 for the same body), the resolve
//! pipeline and Policy (422), scope on the resolved labels (403), quota (429). Only then
//! is the file written; all of it under one lock, so concurrent requests never both take
//! the last place of a quota or both write one name.

use axum::body::Bytes;
use axum::extract::Query;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};

use super::dir::{Known, SessionDir};
use super::render;
use super::tokens::{Access, Caller};
use super::types::{CreateQuery, CreateSession, Session};
use super::{json, wait, Answer, Api, ApiState, Problem};
use crate::manifest::discover::SourceFile;
use crate::model::{Kind, ObjectKey, Phase};
use crate::policy::quota::{Counted, Usage};
use crate::status::Report;

pub use super::listing::{delete, get_one, list};
pub use super::renew::renew;

/// A handler's answer as a response.
pub(super) fn answer(a: Answer) -> Response {
    a.unwrap_or_else(IntoResponse::into_response)
}

/// Create a Session from a template.
#[utoipa::path(
    post,
    path = "/v1/sessions",
    request_body = CreateSession,
    params(CreateQuery),
    responses(
        (status = 201, description = "Created (with `?wait=ready`: and running)", body = Session),
        (status = 200, description = "It exists already with the same body", body = Session),
        (status = 202, description = "Created, not ready within the wait's timeout", body = Session),
        (status = 400, description = "The body is not JSON, or a query parameter is wrong", body = Problem),
        (status = 401, description = "No token, or an unknown one", body = Problem),
        (status = 403, description = "The token may not write this session", body = Problem),
        (status = 409, description = "The name is taken by another body or another manifest", body = Problem),
        (status = 422, description = "The manifest it makes is refused: diagnostics in `errors`", body = Problem),
        (status = 429, description = "A quota of the Policy is full", body = Problem),
    ),
    security(("bearer" = []))
)]
pub async fn create(
    axum::extract::State(api): ApiState,
    headers: HeaderMap,
    Query(q): Query<CreateQuery>,
    body: Bytes,
) -> Response {
    answer(create_session(&api, &headers, q, &body).await)
}

async fn create_session(api: &Api, headers: &HeaderMap, q: CreateQuery, body: &[u8]) -> Answer {
    let caller = writer(api, headers)?;
    let ready = match q.wait.as_deref() {
        None => false,
        Some("ready") => true,
        Some(other) => {
            return Err(Problem::bad_request(format!(
                "wait={other}: a create waits only for ready"
            )))
        }
    };
    let limit = wait::timeout_of(q.timeout.as_deref())?;
    let req: CreateSession = parse_body(body)?;
    let name = match &req.name {
        Some(n) if render::is_name(n) => n.clone(),
        Some(n) => {
            return Err(
                Problem::unprocessable(format!("name {n:?} is not a DNS label")).with_errors(
                    vec![format!(
                        "metadata.name: {n:?} must be lower-case letters, digits and '-', at most 63, starting and ending with a letter or digit"
                    )],
                ),
            )
        }
        None => render::generate_name(&req.template),
    };
    let text = render::session(&name, &req);
    let slot = if ready { Some(api.wait_slot()?) } else { None };
    let (status, session) = {
        let mut dir = api.dir.lock().await;
        dir.refresh(&api.sources)
            .map_err(|e| Problem::internal(e.to_string()))?;
        let file = format!("{name}.yaml");
        if dir.session(&name).is_some() || dir.has_file(&file) {
            if !dir.holds(&name, &text) {
                return Err(Problem::conflict(format!(
                    "session {name:?} exists with another body ({}); delete it first, or use another name",
                    dir.source_of(&name).display
                )));
            }
            let report = api.shared.report.read().expect("not poisoned");
            let known = dir.session(&name);
            let s = status_of(&report, &name, true).or_else(|| known.map(pending));
            match s {
                Some(s) if known.is_none_or(|k| caller.may_read(&k.labels)) => (StatusCode::OK, s),
                _ => return Err(Problem::forbidden(out_of_scope(caller, &name))),
            }
        } else {
            if let Some(elsewhere) = declared_elsewhere(api, &name) {
                return Err(Problem::conflict(format!(
                    "session {name:?} is declared in {elsewhere}, not by the API"
                )));
            }
            let source = dir.source_of(&name);
            let known = admit(api, &dir, caller, &source, &name, &text)?;
            let mut s = pending(&known);
            s.ttl = Some(req.ttl.clone());
            dir.write(known, &text, false).map_err(|e| {
                if dir.has_file(&file) {
                    Problem::conflict(format!("session {name:?} was written meanwhile"))
                } else {
                    Problem::internal(e.to_string())
                }
            })?;
            api.nudge();
            (StatusCode::CREATED, s)
        }
    };
    if !ready || session.ready {
        return Ok(json(status, &session));
    }
    // Ready once it runs (healthy, where checked) and has run the settle window without
    // exiting; or settled for good in a phase that will not change by itself.
    let found = wait::until(&api.shared, limit, |r| {
        let Some(o) = r
            .objects
            .iter()
            .find(|o| o.kind == Kind::Session.as_str() && o.name == name)
        else {
            return wait::Look::NotYet;
        };
        let s = Session::of(o, true);
        if s.ready {
            return match wait::settling(o, std::time::SystemTime::now()) {
                left if left.is_zero() => wait::Look::Found(s),
                left => wait::Look::Within(left),
            };
        }
        match s.phase == Phase::Invalid.as_str() || s.phase == Phase::OverQuota.as_str() {
            true => wait::Look::Found(s),
            false => wait::Look::NotYet,
        }
    })
    .await;
    drop(slot);
    Ok(match found {
        Some(s) if s.ready => json(status, &s),
        Some(s) => json(StatusCode::ACCEPTED, &s),
        None => {
            let r = api.shared.report.read().expect("not poisoned").clone();
            json(
                StatusCode::ACCEPTED,
                &status_of(&r, &name, true).unwrap_or(session),
            )
        }
    })
}

/// The manifest checked as the loop will check it, then the caller's scope on the labels
/// it resolves to, then the quotas. Returns what the file declares.
fn admit(
    api: &Api,
    dir: &SessionDir,
    caller: &Caller,
    source: &SourceFile,
    name: &str,
    text: &str,
) -> Result<Known, Problem> {
    let (want, quotas) = resolved(api, source, name, text)?;
    if !caller.may_write(&want.spec.labels) {
        return Err(Problem::forbidden(out_of_scope(caller, name)));
    }
    let quotas = &quotas;
    if !quotas.is_empty() {
        let report = api.shared.report.read().expect("not poisoned");
        let usage = usage(&report, dir, name, quotas);
        let this = Counted {
            labels: &want.spec.labels,
            template: want.template.as_deref(),
        };
        if let Err(e) = usage.check(quotas, this) {
            return Err(Problem::new(
                StatusCode::TOO_MANY_REQUESTS,
                format!("over quota: {e}"),
            ));
        }
    }
    Ok(Known {
        name: name.to_string(),
        labels: want.spec.labels.clone(),
        template: want.template.clone(),
        file: format!("{name}.yaml"),
        alone: true,
    })
}

/// The Session `text` declares, resolved by the same pipeline and Policy as the loop's (the
/// trusted manifests read from disk, `text` as the drop-in file `source`), with the
/// Policy's quotas; 422 with the diagnostics, `field.path: message`, when it is refused.
pub(super) fn resolved(
    api: &Api,
    source: &SourceFile,
    name: &str,
    text: &str,
) -> Result<(crate::model::DesiredContainer, crate::policy::Quotas), Problem> {
    let mut loaded = crate::resolve::load_with(&api.sources, &[(source.clone(), text.to_string())]);
    let errors: Vec<String> = loaded
        .diagnostics
        .iter()
        .filter(|d| d.is_error() && d.file == source.display)
        .map(|d| match d.path.as_str() {
            "" => d.message.clone(),
            path => format!("{path}: {}", d.message),
        })
        .collect();
    let key = ObjectKey::new(Kind::Session, name);
    match loaded.desired.objects.remove(&key) {
        Some(want) if errors.is_empty() => Ok((want, loaded.quotas)),
        _ => Err(Problem::unprocessable(format!(
            "the session's manifest is refused ({})",
            source.display
        ))
        .with_errors(errors)),
    }
}

/// The Sessions that count against the quotas now, as the loop counts them: every one
/// declared (in the directory, or in the other manifests the loop read) but those past
/// their TTL or held by a quota themselves.
fn usage(report: &Report, dir: &SessionDir, except: &str, quotas: &crate::policy::Quotas) -> Usage {
    let phase = |name: &str| {
        report
            .objects
            .iter()
            .find(|o| o.kind == Kind::Session.as_str() && o.name == name)
            .map(|o| o.phase)
    };
    let not_counted = |p: Option<Phase>| {
        matches!(
            p,
            Some(
                Phase::Expired
                    | Phase::OverQuota
                    | Phase::Invalid
                    | Phase::Terminating
                    | Phase::Orphaned
            )
        )
    };
    let mut usage = Usage::default();
    for k in dir.sessions().filter(|k| k.name != except) {
        if !not_counted(phase(&k.name)) {
            usage.add(
                quotas,
                Counted {
                    labels: &k.labels,
                    template: k.template.as_deref(),
                },
            );
        }
    }
    for o in report.objects.iter().filter(|o| {
        o.kind == Kind::Session.as_str()
            && o.desired.is_some()
            && o.name != except
            && dir.session(&o.name).is_none()
    }) {
        if !not_counted(Some(o.phase)) {
            usage.add(
                quotas,
                Counted {
                    labels: &o.labels,
                    template: o.template.as_deref(),
                },
            );
        }
    }
    usage
}

/// The caller, who must hold a write token.
pub(super) fn writer<'a>(api: &'a Api, headers: &HeaderMap) -> Result<&'a Caller, Problem> {
    let caller = api.caller(headers)?;
    if caller.access != Access::Write {
        return Err(Problem::forbidden(format!(
            "token {:?} may only read (scope {})",
            caller.name,
            caller.scope()
        )));
    }
    Ok(caller)
}

/// The Session as the API's directory declares it, which the caller may change.
pub(super) fn managed(
    api: &Api,
    dir: &SessionDir,
    caller: &Caller,
    name: &str,
) -> Result<Known, Problem> {
    let Some(known) = dir.session(name) else {
        return Err(match declared_elsewhere(api, name) {
            Some(src) => Problem::conflict(format!(
                "session {name:?} is declared in {src}, not in the API's sessions directory"
            )),
            None => Problem::not_found(format!("no session {name:?}")),
        });
    };
    if !caller.may_write(&known.labels) {
        return Err(Problem::forbidden(out_of_scope(caller, name)));
    }
    if !known.alone {
        return Err(Problem::conflict(format!(
            "{} declares other sessions too; change it by hand",
            dir.display_of(&known.file)
        )));
    }
    Ok(known.clone())
}

pub(super) fn out_of_scope(caller: &Caller, name: &str) -> String {
    format!(
        "token {:?} (scope {}) may not touch session {name:?}",
        caller.name,
        caller.scope()
    )
}

/// The manifest file outside the API's directory that declares the Session, if any.
fn declared_elsewhere(api: &Api, name: &str) -> Option<String> {
    let report = api.shared.report.read().expect("not poisoned");
    report
        .objects
        .iter()
        .find(|o| o.kind == Kind::Session.as_str() && o.name == name)
        .and_then(|o| o.desired.as_ref())
        .map(|d| d.source.clone())
}

/// The body as JSON of type `T`: 400 when it is not JSON, 422 when it has the wrong shape.
pub(super) fn parse_body<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, Problem> {
    serde_json::from_slice(body).map_err(|e| match e.classify() {
        serde_json::error::Category::Data => {
            Problem::unprocessable(format!("body: {e}")).with_errors(vec![format!("body: {e}")])
        }
        _ => Problem::bad_request(format!("the body is not JSON: {e}")),
    })
}

/// A Session's line of the report, as the API shows it.
pub(super) fn status_of(report: &Report, name: &str, managed: bool) -> Option<Session> {
    report
        .objects
        .iter()
        .find(|o| o.kind == Kind::Session.as_str() && o.name == name)
        .map(|o| Session::of(o, managed))
}

/// A Session the loop has not seen yet.
pub(super) fn pending(k: &Known) -> Session {
    Session {
        name: k.name.clone(),
        phase: Phase::Pending.to_string(),
        ready: false,
        template: k.template.clone(),
        labels: k.labels.clone(),
        ttl: None,
        expires_at_ms: None,
        url: None,
        ports: Vec::new(),
        restarts: 0,
        message: Some("written; berth run has not read it yet".into()),
        managed: true,
    }
}
