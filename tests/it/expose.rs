//! `expose`, idle stop and wake, end to end: a session behind a real Caddy (admin API) on
//! the real engine, `berth run --router caddy=URL`. Traffic goes through Caddy to busybox
//! `httpd` in the session's container. The daemons reach the engine through a socket proxy
//! with the minimal flags plus NETWORKS (the sessions have a network of their own): what
//! exposure and idle watching need beyond that is nothing.

use std::io::{Read, Write};

use crate::haproxy::{Haproxy, MINIMAL};
use crate::router_fixtures::{get, Caddy};
use crate::util::*;

const TEMPLATE: &str = "apiVersion: berth/v1\nkind: Template\nmetadata: { name: web }\nspec:\n  image: berth-runtime:1\n  command: [httpd, -f, -p, \"8080\", -h, /www]\n  stopGracePeriod: 1s\n  network: isolated\n  expose: { port: 8080, path: \"/s/{name}/\" }\n";

fn session(name: &str, extra: &str) -> String {
    format!(
        "apiVersion: berth/v1\nkind: Session\nmetadata: {{ name: {name} }}\nspec:\n  template: web\n  ttl: 1h\n{extra}"
    )
}

/// The least-privilege socket proxy, with NETWORKS for the sessions' own networks.
fn proxy() -> Haproxy {
    let mut flags = MINIMAL.to_vec();
    flags.push("NETWORKS");
    Haproxy::socket_proxy(&flags)
}

/// `berth run` with extra flags, through `proxy`.
fn run_through(inst: &Instance, proxy: &Haproxy, extra: &[&str]) -> Daemon {
    let host = proxy.docker_host();
    Daemon::start_with_env(inst, extra, &[("DOCKER_HOST", host.as_str())])
}

fn daemon(inst: &Instance, caddy: &Caddy, proxy: &Haproxy) -> Daemon {
    let router = format!("caddy={}", caddy.url());
    run_through(inst, proxy, &["--router", &router, "--resync", "2s"])
}

/// Waits until `path` answers through Caddy with the image's index page.
fn wait_answered(caddy: &Caddy, path: &str) {
    wait_for("the session answers through caddy", || {
        match get(&caddy.address, path) {
            (200, body) if body == "berth demo\n" => Ok(()),
            other => Err(format!("{other:?}")),
        }
    });
}

/// A request straight to berth's wake endpoint, as a router's wake route sends it.
fn wake_request(port: u16, object: &str) -> u16 {
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    write!(
        s,
        "GET /s/x/ HTTP/1.1\r\nHost: x\r\nX-Berth-Wake: {object}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    out.split_whitespace().nth(1).unwrap().parse().unwrap()
}

#[test]
fn a_session_answers_through_caddy_and_its_route_follows_it() {
    let proxy = proxy();
    let caddy = Caddy::start();
    let inst = Instance::new("expose-route");
    inst.write("templates.yaml", TEMPLATE);
    inst.write("s1.yaml", &session("s1", ""));
    inst.write("s2.yaml", &session("s2", ""));
    let d = daemon(&inst, &caddy, &proxy);
    wait_answered(&caddy, "/s/s1/");
    wait_answered(&caddy, "/s/s2/");
    let id = |n: &str| format!("berth_{}_session_{n}", inst.name);
    let mut ids = caddy.ids();
    ids.sort();
    assert_eq!(
        ids,
        ["-", &id("s1"), &id("s2")],
        "berth's routes and the foreign one"
    );
    assert_eq!(caddy.ids().last().unwrap(), "-", "berth's routes go first");
    assert_eq!(get(&caddy.address, "/foreign/x"), (200, "foreign".into()));
    let described = inst.berth("describe", &["session/s1"]);
    assert!(
        stdout(&described).contains("URL:"),
        "{}",
        stdout(&described)
    );

    // Caddy restarted empty: the next resync puts the route back.
    let mut caddy = caddy;
    caddy.restart();
    assert_eq!(caddy.ids(), ["-"]);
    wait_answered(&caddy, "/s/s1/");
    wait_answered(&caddy, "/s/s2/");

    // The session file goes: so do its container and its route; the foreign route stays.
    inst.remove("s1.yaml");
    wait_for("the route is gone", || {
        if caddy.ids() == [id("s2").as_str(), "-"] {
            Ok(())
        } else {
            Err(format!("{:?}", caddy.ids()))
        }
    });
    assert_ne!(get(&caddy.address, "/s/s1/").1, "berth demo\n");
    assert_eq!(get(&caddy.address, "/foreign/x"), (200, "foreign".into()));
    inst.wait_until("the container is gone", |cs| {
        cs.iter().all(|c| c.object != "s1")
    });
    drop(d);
}

#[test]
fn an_idle_session_is_stopped_and_a_request_through_caddy_wakes_it() {
    let proxy = proxy();
    let caddy = Caddy::start();
    let inst = Instance::new("expose-idle");
    inst.write("templates.yaml", TEMPLATE);
    inst.write("s1.yaml", &session("s1", "  idle: { after: 3s }\n"));
    let d = daemon(&inst, &caddy, &proxy);
    wait_answered(&caddy, "/s/s1/");

    // No traffic for 3 s: stopped, phase Idle, and the route now leads to berth.
    d.wait_object("idle", "session", "s1", |o| o["phase"] == "Idle");
    inst.wait_until("stopped", |cs| cs.len() == 1 && !cs[0].running);
    let got = inst.berth("get", &["session/s1"]);
    assert!(stdout(&got).contains("Idle"), "{}", stdout(&got));

    // A request wakes it: held until it runs and its route leads to it again, then sent
    // back to the same URL, which the container answers.
    let (code, _) = get(&caddy.address, "/s/s1/");
    assert_eq!(
        code, 307,
        "the held request is redirected once the session runs"
    );
    assert_eq!(get(&caddy.address, "/s/s1/"), (200, "berth demo\n".into()));
    d.wait_object("running again", "session", "s1", |o| {
        o["phase"] == "Running"
    });
    assert!(d.log_text().contains("woken by a request to its route"));
}

#[test]
fn an_expired_session_is_never_woken() {
    let proxy = proxy();
    let caddy = Caddy::start();
    let inst = Instance::new("expose-expired");
    inst.write("templates.yaml", TEMPLATE);
    inst.write(
        "s1.yaml",
        &session("s1", "  idle: { after: 2s }\n").replace("ttl: 1h", "ttl: 20s"),
    );
    let d = daemon(&inst, &caddy, &proxy);
    d.wait_object("idle", "session", "s1", |o| o["phase"] == "Idle");
    d.wait_object("expired", "session", "s1", |o| o["phase"] == "Expired");
    inst.wait_until("the container is gone", |cs| cs.is_empty());
    wait_for("no route left", || {
        if caddy.ids() == ["-"] {
            Ok(())
        } else {
            Err(format!("{:?}", caddy.ids()))
        }
    });
    assert_eq!(
        get(&caddy.address, "/s/s1/"),
        (200, String::new()),
        "no route: Caddy's empty answer"
    );
    assert_eq!(wake_request(d.port, "session/s1"), 410);
    assert!(inst.containers().is_empty(), "nothing was created again");
}

#[test]
fn a_session_answers_through_nginx_and_its_include_file_follows_it() {
    let proxy = proxy();
    let nginx = crate::router_fixtures::Nginx::start(&[]);
    let inst = Instance::new("expose-nginx");
    inst.write("templates.yaml", TEMPLATE);
    inst.write("s1.yaml", &session("s1", ""));
    inst.write("s2.yaml", &session("s2", ""));
    let router = format!("nginx={}", nginx.routes.display());
    let d = run_through(
        &inst,
        &proxy,
        &[
            "--router",
            &router,
            "--nginx-reload",
            &nginx.reload,
            "--resync",
            "2s",
        ],
    );
    for path in ["/s/s1/", "/s/s2/"] {
        wait_for("the session answers through nginx", || {
            match get(&nginx.address, path) {
                (200, body) if body == "berth demo\n" => Ok(()),
                other => Err(format!("{other:?}\n{}", nginx.log())),
            }
        });
    }
    let file = nginx
        .routes
        .join(format!("berth_{}_session_s1.conf", inst.name));
    assert!(file.exists());
    inst.remove("s1.yaml");
    wait_for("the include file and the route are gone", || {
        match (file.exists(), get(&nginx.address, "/s/s1/")) {
            (false, (404, _)) => Ok(()),
            other => Err(format!("{other:?}")),
        }
    });
    assert_eq!(get(&nginx.address, "/s/s2/"), (200, "berth demo\n".into()));
    drop(d);
}

#[test]
fn two_objects_on_one_route_and_unknown_placeholders_are_errors_naming_where() {
    let inst = Instance::new("expose-validate");
    let fixed = TEMPLATE.replace("/s/{name}/", "/shared/");
    inst.write("templates.yaml", &fixed);
    inst.write("a.yaml", &session("a", ""));
    inst.write("b.yaml", &session("b", ""));
    let o = berth(&["validate", &inst.path_str()]);
    assert_exit(&o, 1);
    let err = format!("{}{}", stdout(&o), stderr(&o));
    assert!(
        err.contains("b.yaml")
            && err.contains("route /shared/ is already")
            && err.contains("a.yaml"),
        "{err}"
    );
    inst.write("templates.yaml", &TEMPLATE.replace("{name}", "{user}"));
    inst.remove("b.yaml");
    let o = berth(&["validate", &inst.path_str()]);
    assert_exit(&o, 1);
    assert!(
        stdout(&o).contains(
            "spec.expose.path: unknown placeholder {user}: use {name}, {kind} or {label.KEY}"
        ),
        "{}",
        stdout(&o)
    );
}

#[test]
fn doctor_checks_each_router() {
    let caddy = Caddy::start();
    let up = format!("caddy={}", caddy.url());
    let down = format!("caddy=http://127.0.0.1:{}", free_port());
    let o = berth(&["doctor", "--router", &up, "--router", &down]);
    assert_exit(&o, 1);
    let out = stdout(&o);
    assert!(
        out.contains(&format!("router     ok: caddy at {} answers", caddy.url())),
        "{out}"
    );
    assert!(out.contains("router     FAILED: "), "{out}");
    assert!(
        out.contains("doctor: the router caddy at http://127.0.0.1:"),
        "{out}"
    );
}

#[test]
fn with_traefik_the_route_is_in_the_containers_labels_and_a_new_route_is_a_new_container() {
    let inst = Instance::new("expose-traefik");
    let shared_network = TEMPLATE.replace("  network: isolated\n", "");
    inst.write("templates.yaml", &shared_network);
    inst.write("s1.yaml", &session("s1", ""));
    let dir = inst.path_str();
    let apply = inst.berth("apply", &["--router", "traefik", &dir]);
    assert_exit(&apply, 0);
    let name = format!("berth_{}_session_s1", inst.name);
    let labels = |name: &str| -> serde_json::Value {
        let o = docker(&["inspect", "-f", "{{json .Config.Labels}}", name]);
        serde_json::from_str(&stdout(&o)).unwrap()
    };
    let l = labels(&name);
    let router = format!("traefik.http.routers.berth_{}_session_s1", inst.name);
    assert_eq!(l["traefik.enable"], "true");
    assert_eq!(l[format!("{router}.rule")], "PathPrefix(`/s/s1/`)");
    assert_eq!(
        l[format!("{router}.middlewares")],
        format!("berth_{}_session_s1-strip", inst.name)
    );

    // Unchanged: nothing to do. A new path: a new container, and the reason says why.
    let again = inst.berth("diff", &["--router", "traefik", &dir]);
    assert_exit(&again, 0);
    inst.write(
        "templates.yaml",
        &shared_network.replace("/s/{name}/", "/t/{name}/"),
    );
    let diff = inst.berth("diff", &["--router", "traefik", &dir]);
    assert_exit(&diff, 1);
    assert!(
        stdout(&diff).contains("recreate: traefik route /s/s1/ → /t/s1/"),
        "{}",
        stdout(&diff)
    );
}
