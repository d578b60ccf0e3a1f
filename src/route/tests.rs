use std::collections::BTreeMap;
use std::path::PathBuf;

use serde_json::json;

use super::*;
use crate::model::{Exposure, Kind, ObjectKey, Upstream};

fn route(name: &str, path: Option<&str>, host: Option<&str>, strip: bool, up: Upstream) -> Route {
    let key = ObjectKey::new(Kind::Session, name);
    Route {
        id: RouteId::of("demo", &key),
        key,
        exposure: Exposure {
            port: 8080,
            path: path.map(str::to_string),
            host: host.map(str::to_string),
            strip_prefix: strip,
        },
        upstream: up,
    }
}

fn container() -> Upstream {
    Upstream::Container {
        address: "10.0.0.5:8080".into(),
    }
}

fn wake() -> Upstream {
    Upstream::Wake {
        address: "127.0.0.1:9326".into(),
    }
}

fn id(s: &str) -> RouteId {
    RouteId(s.into())
}

#[test]
fn changes_put_missing_and_different_and_delete_unwanted() {
    let want = BTreeMap::from([(id("a"), 1), (id("b"), 2), (id("c"), 3)]);
    let have = BTreeMap::from([(id("a"), 1), (id("b"), 20), (id("d"), 4)]);
    assert_eq!(
        changes(&want, &have),
        vec![
            Change::Put(id("b"), 2),
            Change::Put(id("c"), 3),
            Change::Delete(id("d")),
        ]
    );
    assert_eq!(changes(&want, &want), vec![]);
    assert_eq!(
        changes(&BTreeMap::<RouteId, i32>::new(), &have).len(),
        3,
        "nothing wanted: every own route goes"
    );
}

#[test]
fn ownership_is_the_prefix_and_an_object() {
    assert!(owned("demo", "berth_demo_session_a"));
    assert!(!owned("demo", "berth_demo-x_session_a"), "instance demo-x");
    assert!(!owned("demo", "berth_other_session_a"));
    assert!(!owned("demo", "foreign"));
    assert!(!owned("demo", "berth_demo_"));
}

#[test]
fn router_specs_parse_and_explain() {
    let caddy = |admin: &str, server: &str| RouterSpec::Caddy {
        admin: admin.into(),
        server: server.into(),
    };
    let cases: &[(&str, RouterSpec)] = &[
        (
            "caddy=http://127.0.0.1:2019",
            caddy("http://127.0.0.1:2019", "srv0"),
        ),
        (
            "caddy=http://localhost:2019/#main",
            caddy("http://localhost:2019", "main"),
        ),
        (
            "nginx=/etc/nginx/berth.d",
            RouterSpec::Nginx {
                dir: PathBuf::from("/etc/nginx/berth.d"),
                reload: "nginx -s reload".into(),
            },
        ),
        ("traefik", RouterSpec::Traefik),
    ];
    for (text, want) in cases {
        assert_eq!(&text.parse::<RouterSpec>().unwrap(), want, "{text}");
    }
    let errors = [
        ("traefik=http://x", "traefik takes no value"),
        ("haproxy=x", "haproxy is not supported yet"),
        ("caddy", "needs a value"),
        ("nginx=", "needs a value"),
        ("", "empty router"),
        ("bogus=1", "unknown router \"bogus\""),
        ("caddy=127.0.0.1:2019", "plain http://"),
        ("caddy=https://127.0.0.1:2019", "plain http://"),
        ("caddy=http://127.0.0.1:2019/config", "without a path"),
        ("caddy=http://", "without a path"),
        ("caddy=http://127.0.0.1:2019#", "server name"),
        ("caddy=http://127.0.0.1:2019#a/b", "server name"),
    ];
    for (text, msg) in errors {
        let err = text.parse::<RouterSpec>().unwrap_err().to_string();
        assert!(err.contains(msg), "{text}: {err}");
    }
}

#[test]
fn routers_describe_themselves() {
    let c = Router::new("caddy=http://127.0.0.1:2019".parse().unwrap());
    assert_eq!(c.describe(), "caddy at http://127.0.0.1:2019, server srv0");
    let n = Router::new("nginx=/srv/routes".parse().unwrap());
    assert_eq!(n.describe(), "nginx files in /srv/routes");
}

#[test]
fn caddy_path_route_strips_its_prefix() {
    let r = route("web", Some("/s/web/"), None, true, container());
    assert_eq!(
        caddy::render(&r),
        json!({
            "@id": "berth_demo_session_web",
            "match": [{"path": ["/s/web", "/s/web/*"]}],
            "handle": [
                {"handler": "rewrite", "strip_path_prefix": "/s/web"},
                {"handler": "reverse_proxy", "upstreams": [{"dial": "10.0.0.5:8080"}]}
            ],
            "terminal": true
        })
    );
}

#[test]
fn caddy_host_routes_match_the_host_and_strip_only_a_path() {
    let both = route("web", Some("/api/"), Some("web.test"), true, container());
    assert_eq!(
        caddy::render(&both)["match"],
        json!([{"host": ["web.test"], "path": ["/api", "/api/*"]}])
    );
    assert_eq!(
        caddy::render(&both)["handle"][0]["strip_path_prefix"],
        "/api"
    );
    let host = route("web", None, Some("web.test"), true, container());
    assert_eq!(
        caddy::render(&host),
        json!({
            "@id": "berth_demo_session_web",
            "match": [{"host": ["web.test"]}],
            "handle": [{"handler": "reverse_proxy", "upstreams": [{"dial": "10.0.0.5:8080"}]}],
            "terminal": true
        })
    );
    // "/" is every path: no path matcher, nothing to strip.
    let root = route("web", Some("/"), None, true, container());
    let v = caddy::render(&root);
    assert!(v.get("match").is_none(), "{v}");
    assert_eq!(v["handle"].as_array().unwrap().len(), 1);
}

#[test]
fn caddy_keeps_the_prefix_when_not_stripping() {
    let r = route("web", Some("/s/web/"), None, false, container());
    let handle = &caddy::render(&r)["handle"];
    assert_eq!(handle.as_array().unwrap().len(), 1);
    assert_eq!(handle[0]["handler"], "reverse_proxy");
}

#[test]
fn caddy_wake_route_names_the_object_and_never_strips() {
    let r = route("x", Some("/s/x/"), None, true, wake());
    assert_eq!(
        caddy::render(&r)["handle"],
        json!([{
            "handler": "reverse_proxy",
            "headers": {"request": {"set": {"X-Berth-Wake": ["session/x"]}}},
            "upstreams": [{"dial": "127.0.0.1:9326"}]
        }])
    );
}

#[test]
fn caddy_listing_keeps_own_ids_and_counts_duplicates() {
    let body = json!([
        {"@id": "berth_demo_session_a", "handle": []},
        {"@id": "berth_demo-x_session_a", "handle": []},
        {"@id": "berth_other_session_a", "handle": []},
        {"handle": [{"handler": "static_response"}]},
        {"@id": 7},
        "junk",
        {"@id": "berth_demo_session_a", "handle": []},
    ]);
    assert_eq!(
        caddy::test_listing("demo", &body).unwrap(),
        vec![("berth_demo_session_a".to_string(), 2)]
    );
    assert_eq!(caddy::test_listing("demo", &json!(null)).unwrap(), vec![]);
    assert!(caddy::test_listing("demo", &json!({"a": 1})).is_err());
}

#[test]
fn nginx_strip_route_replaces_the_prefix() {
    let text = nginx::render(&route("web", Some("/s/web/"), None, true, container())).unwrap();
    let want = "\
# berth route berth_demo_session_web (session/web); berth rewrites or removes this file.
# $connection_upgrade needs, in the http block:
#   map $http_upgrade $connection_upgrade { default upgrade; '' close; }
location /s/web/ {
    proxy_pass http://10.0.0.5:8080/;
    proxy_http_version 1.1;
    proxy_set_header Upgrade $http_upgrade;
    proxy_set_header Connection $connection_upgrade;
    proxy_set_header Host $http_host;
    proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
    proxy_set_header X-Forwarded-Proto $scheme;
    proxy_set_header X-Forwarded-Prefix /s/web;
    proxy_read_timeout 1h;
}
";
    assert_eq!(text, want);
}

#[test]
fn nginx_without_strip_and_wake_pass_the_whole_path() {
    let keep = nginx::render(&route("web", Some("/s/web/"), None, false, container())).unwrap();
    assert!(
        keep.contains("    proxy_pass http://10.0.0.5:8080;\n"),
        "{keep}"
    );
    assert!(!keep.contains("X-Forwarded-Prefix"), "{keep}");
    let w = nginx::render(&route("x", Some("/s/x/"), None, true, wake())).unwrap();
    assert!(w.contains("    proxy_pass http://127.0.0.1:9326;\n"), "{w}");
    assert!(
        w.contains("    proxy_set_header X-Berth-Wake session/x;\n"),
        "{w}"
    );
    assert!(!w.contains("X-Forwarded-Prefix"), "{w}");
}

#[test]
fn nginx_refuses_hosts_and_anything_that_is_not_plain() {
    let host = nginx::render(&route(
        "web",
        Some("/a/"),
        Some("web.test"),
        true,
        container(),
    ));
    assert!(host.unwrap_err().contains("path prefixes only"));
    let bad_path = nginx::render(&route("w", Some("/a/;}x/"), None, true, container()));
    assert!(bad_path.unwrap_err().contains("plain path prefix"));
    let bad_addr = nginx::render(&route(
        "w",
        Some("/a/"),
        None,
        true,
        Upstream::Container {
            address: "1.2.3.4:80; evil".into(),
        },
    ));
    assert!(bad_addr.unwrap_err().contains("HOST:PORT"));
    let root = nginx::render(&route("w", None, None, true, container())).unwrap();
    assert!(root.contains("location / {\n    proxy_pass http://10.0.0.5:8080;"));
}

#[test]
fn errors_say_which_router_what_call_and_why() {
    let e = RouteError::Refused {
        router: "caddy at http://127.0.0.1:2019, server srv0".into(),
        call: "PUT /config/apps/http/servers/srv0/routes/0".into(),
        status: 500,
        message: "loading new config: unknown module".into(),
    };
    assert_eq!(
        e.to_string(),
        "caddy at http://127.0.0.1:2019, server srv0: PUT /config/apps/http/servers/srv0/routes/0: \
         refused (500): loading new config: unknown module"
    );
    let u = RouteError::Unsupported {
        router: "nginx files in /d".into(),
        routes: vec![(id("berth_demo_session_a"), "host a.test: no".into())],
        synced: Synced { put: 1, deleted: 0 },
    };
    assert_eq!(
        u.to_string(),
        "nginx files in /d: 1 route not applied: berth_demo_session_a (host a.test: no); \
         the others are in place (1 put, 0 deleted)"
    );
}
