//! Caddy through its admin API (checked against Caddy 2.6.2): berth's routes are objects with
//! an `@id` in one HTTP server's `routes` list, put before every other route.
//!
//! - List: `GET /config/apps/http/servers/SERVER/routes` (`null` when the server has no
//!   `routes` key); only routes whose `@id` is the instance's count, compared as JSON values.
//! - Replace: `PATCH /id/ID` (the body carries the `@id` again, or the route loses it).
//! - Add at the front: `PUT .../routes` `[route]` without a list, `POST .../routes` into an
//!   empty one, else `PUT .../routes/0` (which inserts before index 0).
//! - Delete: `DELETE /id/ID` until 404: Caddy accepts duplicate ids, and an id then names
//!   only one of them.
//!
//! Every write reloads Caddy's whole config and closes all proxied WebSockets, so a sync that
//! finds everything in place writes nothing. Each call has [`CALL_TIMEOUT`]; answers are read
//! up to [`BODY_CAP`].

mod api;

use api::escape;

use std::collections::BTreeMap;
use std::time::Duration;

use bytes::Bytes;
use http::Method;
use http_body_util::Full;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client as HttpClient;
use hyper_util::rt::TokioExecutor;
use serde_json::{json, Map, Value};

use super::{changes, owned, Change, RouteError, Synced};
use crate::model::{Route, RouteId, Upstream};

/// The longest one admin API call (request and answer) may take.
pub const CALL_TIMEOUT: Duration = Duration::from_secs(5);
/// The most of an answer berth reads.
pub const BODY_CAP: usize = 8 << 20;

/// A Caddy admin API and the server berth's routes live in.
#[derive(Debug, Clone)]
pub struct Caddy {
    admin: String,
    server: String,
    http: HttpClient<HttpConnector, Full<Bytes>>,
}

/// The instance's routes as Caddy holds them.
#[derive(Debug, Default)]
struct Listing {
    /// Own routes by id (`null` for an id listed more than once, so that it is put again).
    have: BTreeMap<RouteId, Value>,
    /// How often each own id is listed.
    count: BTreeMap<RouteId, usize>,
    /// The length of the server's `routes` (`None`: no `routes` key).
    len: Option<usize>,
}

impl Caddy {
    /// `admin` is `http://HOST:PORT` (no trailing slash), `server` a key of
    /// `apps.http.servers`.
    pub fn new(admin: String, server: String) -> Caddy {
        // No pooled connections: a Caddy restarted between two syncs leaves none half-dead.
        let http = HttpClient::builder(TokioExecutor::new())
            .pool_max_idle_per_host(0)
            .build_http();
        Caddy {
            admin,
            server,
            http,
        }
    }

    pub fn describe(&self) -> String {
        format!("caddy at {}, server {}", self.admin, self.server)
    }

    fn routes_path(&self) -> String {
        format!("/config/apps/http/servers/{}/routes", self.server)
    }

    pub async fn sync(&self, instance: &str, want: &[Route]) -> Result<Synced, RouteError> {
        let mut refused = Vec::new();
        let mut wanted = BTreeMap::new();
        for r in want {
            if !owned(instance, &r.id.0) {
                refused.push((
                    r.id.clone(),
                    format!("not a route id of instance {instance}"),
                ));
            } else {
                wanted.insert(r.id.clone(), render(r));
            }
        }
        let mut listing = self.list(instance).await?;
        let mut synced = Synced::default();
        let mut inserts = Vec::new();
        for change in changes(&wanted, &listing.have) {
            match change {
                Change::Delete(id) => {
                    if self.delete_all(&id, &mut listing).await? {
                        synced.deleted += 1;
                    }
                }
                Change::Put(id, route) => {
                    let listed = listing.count.get(&id).copied().unwrap_or(0);
                    if listed == 1 && self.patch(&id, &route).await? {
                        synced.put += 1;
                        continue;
                    }
                    if listed > 1 {
                        self.delete_all(&id, &mut listing).await?;
                    }
                    inserts.push(route);
                }
            }
        }
        // Each insert goes to the front: the most specific route last, so that it is first.
        inserts.sort_by_key(specificity);
        for route in inserts {
            self.insert(&route, &mut listing).await?;
            synced.put += 1;
        }
        super::outcome(self.describe(), refused, synced)
    }

    pub async fn check(&self) -> Result<String, RouteError> {
        let path = format!("/config/apps/http/servers/{}", self.server);
        let server = self.get_json(&path).await?;
        match server {
            Value::Object(o) => {
                let routes = o
                    .get("routes")
                    .and_then(Value::as_array)
                    .map_or(0, Vec::len);
                let plural = if routes == 1 { "" } else { "s" };
                Ok(format!(
                    "caddy at {} answers; server {} has {routes} route{plural}",
                    self.admin, self.server
                ))
            }
            _ => {
                let servers = self.get_json("/config/apps/http/servers").await?;
                let names: Vec<&str> = servers
                    .as_object()
                    .map(|o| o.keys().map(String::as_str).collect())
                    .unwrap_or_default();
                Err(RouteError::NotConfigured {
                    router: self.describe(),
                    message: format!(
                        "Caddy has no HTTP server {:?} (servers: {})",
                        self.server,
                        if names.is_empty() {
                            "none".to_string()
                        } else {
                            names.join(", ")
                        }
                    ),
                })
            }
        }
    }

    async fn list(&self, instance: &str) -> Result<Listing, RouteError> {
        let path = self.routes_path();
        let body = self.get_json(&path).await?;
        listing(instance, &body).map_err(|message| RouteError::BadAnswer {
            router: self.describe(),
            call: format!("GET {path}"),
            message,
        })
    }

    /// Replaces a listed route in place; `false` when Caddy no longer knows the id.
    async fn patch(&self, id: &RouteId, route: &Value) -> Result<bool, RouteError> {
        let path = format!("/id/{}", escape(&id.0));
        let (status, body) = self.call(Method::PATCH, &path, Some(route)).await?;
        match status {
            404 => Ok(false),
            _ => self.ok(Method::PATCH, &path, status, &body).map(|()| true),
        }
    }

    /// Puts `route` first in the server's routes.
    async fn insert(&self, route: &Value, listing: &mut Listing) -> Result<(), RouteError> {
        let routes = self.routes_path();
        let (method, path, body) = match listing.len {
            None => (Method::PUT, routes, json!([route])),
            Some(0) => (Method::POST, routes, route.clone()),
            Some(_) => (Method::PUT, format!("{routes}/0"), route.clone()),
        };
        let (status, answer) = self.call(method.clone(), &path, Some(&body)).await?;
        self.ok(method, &path, status, &answer)?;
        listing.len = Some(listing.len.unwrap_or(0) + 1);
        Ok(())
    }

    /// Deletes every route with `id`; whether there was one.
    async fn delete_all(&self, id: &RouteId, listing: &mut Listing) -> Result<bool, RouteError> {
        let path = format!("/id/{}", escape(&id.0));
        // One more than listed: the last answer should be the 404. Bounded all the same.
        let tries = listing.count.get(id).copied().unwrap_or(0).max(1) + 1;
        let mut deleted = false;
        for _ in 0..tries {
            let (status, body) = self.call(Method::DELETE, &path, None).await?;
            if status == 404 {
                break;
            }
            self.ok(Method::DELETE, &path, status, &body)?;
            deleted = true;
            listing.len = listing.len.map(|n| n.saturating_sub(1));
        }
        listing.count.remove(id);
        Ok(deleted)
    }
}

/// The route as Caddy JSON: matched by host and/or path prefix, the prefix stripped when
/// asked (never for the wake endpoint, which needs the whole path), then proxied.
pub fn render(route: &Route) -> Value {
    let e = &route.exposure;
    let prefix = e
        .path
        .as_deref()
        .map(|p| p.trim_end_matches('/'))
        .filter(|p| !p.is_empty());
    let mut matcher = Map::new();
    if let Some(h) = &e.host {
        matcher.insert("host".into(), json!([h]));
    }
    if let Some(p) = prefix {
        matcher.insert("path".into(), json!([p, format!("{p}/*")]));
    }
    let mut handle = Vec::new();
    match &route.upstream {
        Upstream::Container { address } => {
            if let (true, Some(p)) = (e.strip_prefix, prefix) {
                handle.push(json!({"handler": "rewrite", "strip_path_prefix": p}));
            }
            handle.push(json!({"handler": "reverse_proxy", "upstreams": [{"dial": address}]}));
        }
        Upstream::Wake { address } => handle.push(json!({
            "handler": "reverse_proxy",
            "headers": {"request": {"set": {"X-Berth-Wake": [route.key.to_string()]}}},
            "upstreams": [{"dial": address}],
        })),
    }
    let mut r = Map::new();
    r.insert("@id".into(), json!(route.id.0));
    if !matcher.is_empty() {
        r.insert("match".into(), json!([matcher]));
    }
    r.insert("handle".into(), Value::Array(handle));
    r.insert("terminal".into(), json!(true));
    Value::Object(r)
}

/// The instance's routes in a `GET .../routes` answer.
fn listing(instance: &str, body: &Value) -> Result<Listing, String> {
    let routes = match body {
        Value::Null => return Ok(Listing::default()),
        Value::Array(a) => a,
        other => return Err(format!("expected a list of routes, got {}", kind(other))),
    };
    let mut l = Listing {
        len: Some(routes.len()),
        ..Listing::default()
    };
    for r in routes {
        let Some(id) = r.get("@id").and_then(Value::as_str) else {
            continue;
        };
        if !owned(instance, id) {
            continue;
        }
        let id = RouteId(id.to_string());
        let n = l.count.entry(id.clone()).or_default();
        *n += 1;
        let value = if *n == 1 { r.clone() } else { Value::Null };
        l.have.insert(id, value);
    }
    Ok(l)
}

/// Inserted in this order at the front, more specific routes end up before less specific
/// ones: no host before a host, then shorter paths before longer.
fn specificity(route: &Value) -> (bool, usize) {
    let m = route.pointer("/match/0");
    let host = m.and_then(|m| m.get("host")).is_some();
    let path = m
        .and_then(|m| m.pointer("/path/0"))
        .and_then(Value::as_str)
        .map_or(0, str::len);
    (host, path)
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
pub(super) fn test_listing(instance: &str, body: &Value) -> Result<Vec<(String, usize)>, String> {
    let l = listing(instance, body)?;
    Ok(l.count.into_iter().map(|(id, n)| (id.0, n)).collect())
}
