//! Exposure (where an object's HTTP port appears in the reverse proxy), idle rules, and the
//! routes berth keeps in a router. Berth-level: none of it is part of the spec hash, so a
//! changed path or host changes a route, never a container.

use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::ObjectKey;

/// Where an object's HTTP port appears, placeholders already filled in.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Exposure {
    pub port: u16,
    /// A path prefix, starting and ending with `/`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
    /// Strip the path prefix before proxying.
    pub strip_prefix: bool,
}

impl Exposure {
    /// The URL users reach it at: `http://HOST/PATH`, or just `/PATH` without a host.
    pub fn url(&self) -> String {
        let path = self.path.as_deref().unwrap_or("/");
        match &self.host {
            Some(h) => format!("http://{h}{path}"),
            None => path.to_string(),
        }
    }

    /// What two objects may not share: the host (any host when none) and the path prefix.
    pub fn place(&self) -> (Option<&str>, &str) {
        (self.host.as_deref(), self.path.as_deref().unwrap_or("/"))
    }
}

/// The Traefik docker-provider labels for an exposure (`--router traefik`): a router and a
/// service named by the route id, and a strip-prefix middleware when the prefix is stripped.
pub fn traefik_labels(id: &RouteId, e: &Exposure) -> std::collections::BTreeMap<String, String> {
    let n = &id.0;
    let mut rule = Vec::new();
    if let Some(h) = &e.host {
        rule.push(format!("Host(`{h}`)"));
    }
    if let Some(p) = &e.path {
        rule.push(format!("PathPrefix(`{p}`)"));
    }
    let mut l = std::collections::BTreeMap::from([
        ("traefik.enable".to_string(), "true".to_string()),
        (format!("traefik.http.routers.{n}.rule"), rule.join(" && ")),
        (format!("traefik.http.routers.{n}.service"), n.clone()),
        (
            format!("traefik.http.services.{n}.loadbalancer.server.port"),
            e.port.to_string(),
        ),
    ]);
    if let (true, Some(p)) = (e.strip_prefix, &e.path) {
        let prefix = p.trim_end_matches('/');
        if !prefix.is_empty() {
            l.insert(
                format!("traefik.http.middlewares.{n}-strip.stripprefix.prefixes"),
                prefix.to_string(),
            );
            l.insert(
                format!("traefik.http.routers.{n}.middlewares"),
                format!("{n}-strip"),
            );
        }
    }
    l
}

/// What happens to an idle object.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum IdleAction {
    Stop,
    Remove,
}

/// An object is idle after `after` without network traffic; then `action`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct IdleRule {
    pub after: Duration,
    pub action: IdleAction,
}

/// Where a route sends its requests.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", tag = "to")]
pub enum Upstream {
    /// The container: `IP:PORT` on its network.
    Container { address: String },
    /// berth's wake endpoint (`HOST:PORT`): the object is idle and a request starts it.
    Wake { address: String },
}

impl Upstream {
    pub fn address(&self) -> &str {
        match self {
            Upstream::Container { address } | Upstream::Wake { address } => address,
        }
    }
}

/// One route berth keeps in a router.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Route {
    /// `berth_<instance>_<kind>_<name>` (like container names: `_` is in no DNS label, so
    /// no instance can claim another's routes): how the router names it, and how berth finds its
    /// own routes among the router's.
    pub id: RouteId,
    pub key: ObjectKey,
    pub exposure: Exposure,
    pub upstream: Upstream,
}

/// A route's name in the router.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct RouteId(pub String);

impl RouteId {
    /// The prefix of every route of `instance`.
    pub fn prefix(instance: &str) -> String {
        format!("berth_{instance}_")
    }

    pub fn of(instance: &str, key: &ObjectKey) -> RouteId {
        RouteId(format!(
            "{}{}_{}",
            Self::prefix(instance),
            key.kind,
            key.name
        ))
    }

    /// The object a route id of `instance` names (`None` for another instance's, or
    /// another program's, routes).
    pub fn key(&self, instance: &str) -> Option<ObjectKey> {
        let rest = self.0.strip_prefix(&Self::prefix(instance))?;
        let (kind, name) = rest.split_once('_')?;
        let kind = kind.parse().ok()?;
        (!name.is_empty()).then(|| ObjectKey::new(kind, name))
    }
}

impl fmt::Display for RouteId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Kind;

    #[test]
    fn route_ids_name_their_object_and_instance_only() {
        let k = ObjectKey::new(Kind::Session, "sess-a");
        let id = RouteId::of("demo", &k);
        assert_eq!(id.0, "berth_demo_session_sess-a");
        assert_eq!(id.key("demo"), Some(k));
        assert_eq!(id.key("dem"), None);
        assert_eq!(RouteId("berth_demo_bogus_x".into()).key("demo"), None);
        assert_eq!(RouteId("berth-demo-session-x".into()).key("demo"), None);
    }

    #[test]
    fn traefik_labels_name_router_service_and_strip() {
        let id = RouteId("berth_demo_session_s1".into());
        let e = Exposure {
            port: 8080,
            path: Some("/s/s1/".into()),
            host: Some("s1.example.com".into()),
            strip_prefix: true,
        };
        let l = traefik_labels(&id, &e);
        let r = "traefik.http.routers.berth_demo_session_s1";
        assert_eq!(
            l[&format!("{r}.rule")],
            "Host(`s1.example.com`) && PathPrefix(`/s/s1/`)"
        );
        assert_eq!(
            l[&format!("{r}.middlewares")],
            "berth_demo_session_s1-strip"
        );
        assert_eq!(
            l["traefik.http.middlewares.berth_demo_session_s1-strip.stripprefix.prefixes"],
            "/s/s1"
        );
        assert_eq!(
            l["traefik.http.services.berth_demo_session_s1.loadbalancer.server.port"],
            "8080"
        );
        let kept = traefik_labels(
            &id,
            &Exposure {
                strip_prefix: false,
                ..e
            },
        );
        assert!(!kept.contains_key(&format!("{r}.middlewares")));
    }

    #[test]
    fn urls_show_host_and_path() {
        let e = Exposure {
            port: 80,
            path: Some("/s/a/".into()),
            host: None,
            strip_prefix: true,
        };
        assert_eq!(e.url(), "/s/a/");
        let h = Exposure {
            host: Some("a.example.com".into()),
            path: None,
            ..e
        };
        assert_eq!(h.url(), "http://a.example.com/");
    }
}
