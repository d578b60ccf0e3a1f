//! The router adapters against a real Caddy and a real nginx (router_fixtures.rs): routes
//! answer through the proxy, a sync with nothing to do writes nothing, removed routes stop
//! answering, routes of other instances and other programs stay, a restarted Caddy gets
//! its routes back, a failed nginx reload puts the previous files back. Never skipped:
//! without caddy or nginx they fail with "run make tools".

use std::collections::BTreeMap;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::time::Duration;

use berth::model::{Exposure, Kind, ObjectKey, Route, RouteId, Upstream};
use berth::route::{RouteError, Router, RouterSpec, Synced};

use crate::router_fixtures::{get, request, upstream, Caddy, Nginx};
use crate::util::wait_for;

fn route(instance: &str, name: &str, path: &str, strip: bool, upstream: Upstream) -> Route {
    let key = ObjectKey::new(Kind::Session, name);
    Route {
        id: RouteId::of(instance, &key),
        key,
        exposure: Exposure {
            port: 80,
            path: Some(path.into()),
            host: None,
            strip_prefix: strip,
        },
        upstream,
    }
}

fn to(address: &str) -> Upstream {
    Upstream::Container {
        address: address.into(),
    }
}

fn run<T>(work: impl Future<Output = T>) -> T {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    // A sync that hangs fails the test instead of blocking it.
    rt.block_on(async { tokio::time::timeout(Duration::from_secs(60), work).await })
        .expect("the router call finished in time")
}

fn sync(router: &Router, instance: &str, want: &[Route]) -> Result<Synced, RouteError> {
    run(router.sync(instance, want))
}

fn synced(put: usize, deleted: usize) -> Synced {
    Synced { put, deleted }
}

fn caddy_router(c: &Caddy) -> Router {
    Router::new(format!("caddy={}", c.url()).parse().unwrap())
}

fn nginx_router(dir: &Path, reload: &str) -> Router {
    Router::new(RouterSpec::Nginx {
        dir: dir.to_path_buf(),
        reload: reload.into(),
    })
}

/// Polls until `path` through the proxy at `address` answers `want` (status 200).
fn answers(address: &str, path: &str, want: &str) {
    wait_for(&format!("{path} to answer {want:?}"), || {
        match get(address, path) {
            (200, body) if body == want => Ok(()),
            other => Err(format!("{other:?}")),
        }
    });
}

/// Polls until `path` no longer reaches an upstream (Caddy: 200 and empty; nginx: 404).
fn gone(address: &str, path: &str, status: u16) {
    wait_for(&format!("{path} to be gone"), || match get(address, path) {
        (s, body) if s == status && !body.contains("wake=") => Ok(()),
        other => Err(format!("{other:?}")),
    });
}

fn three_routes(instance: &str) -> Vec<Route> {
    vec![
        route(instance, "a", "/s/a/", true, to(&upstream("A"))),
        route(instance, "b", "/s/b/", false, to(&upstream("B"))),
        route(
            instance,
            "c",
            "/s/c/",
            true,
            Upstream::Wake {
                address: upstream("W"),
            },
        ),
    ]
}

fn check_three_answer(address: &str) {
    answers(address, "/s/a/x?q=1", "A /x?q=1 wake=-");
    answers(address, "/s/b/y", "B /s/b/y wake=-");
    answers(address, "/s/c/z", "W /s/c/z wake=session/c");
    answers(address, "/foreign/f", "foreign");
}

#[test]
fn caddy_routes_are_put_once_changed_in_place_and_removed() {
    let caddy = Caddy::start();
    let r = caddy_router(&caddy);
    let mut want = three_routes("demo");
    assert_eq!(sync(&r, "demo", &want).unwrap(), synced(3, 0));
    check_three_answer(&caddy.address);
    let ids = [
        "berth_demo_session_c",
        "berth_demo_session_b",
        "berth_demo_session_a",
        "-",
    ];
    assert_eq!(
        caddy.ids(),
        ids,
        "berth's routes first, the foreign one last"
    );
    assert_eq!(
        sync(&r, "demo", &want).unwrap(),
        synced(0, 0),
        "nothing to do"
    );

    want[0].exposure.strip_prefix = false;
    assert_eq!(sync(&r, "demo", &want).unwrap(), synced(1, 0));
    answers(&caddy.address, "/s/a/x", "A /s/a/x wake=-");
    assert_eq!(caddy.ids(), ids, "replaced in place");

    want.remove(1);
    assert_eq!(sync(&r, "demo", &want).unwrap(), synced(0, 1));
    gone(&caddy.address, "/s/b/y", 200);
    answers(&caddy.address, "/s/a/x", "A /s/a/x wake=-");
    answers(&caddy.address, "/foreign/f", "foreign");
    assert_eq!(sync(&r, "demo", &[]).unwrap(), synced(0, 2));
    assert_eq!(caddy.ids(), ["-"]);
}

#[test]
fn caddy_sync_touches_no_other_instance() {
    let caddy = Caddy::start();
    let r = caddy_router(&caddy);
    let up = upstream("O");
    for instance in ["demo", "demo-x", "other"] {
        let mine = route(instance, "s", &format!("/{instance}/"), true, to(&up));
        assert_eq!(sync(&r, instance, &[mine]).unwrap(), synced(1, 0));
    }
    assert_eq!(sync(&r, "demo", &[]).unwrap(), synced(0, 1));
    answers(&caddy.address, "/demo-x/p", "O /p wake=-");
    answers(&caddy.address, "/other/p", "O /p wake=-");
    let ids = caddy.ids();
    assert_eq!(
        ids,
        ["berth_other_session_s", "berth_demo-x_session_s", "-"]
    );
}

#[test]
fn caddy_restarted_empty_gets_its_routes_back_and_duplicate_ids_are_cleared() {
    let mut caddy = Caddy::start();
    let r = caddy_router(&caddy);
    let want = three_routes("demo");
    assert_eq!(sync(&r, "demo", &want).unwrap(), synced(3, 0));
    caddy.restart();
    assert_eq!(caddy.ids(), ["-"]);
    assert_eq!(sync(&r, "demo", &want).unwrap(), synced(3, 0));
    check_three_answer(&caddy.address);

    // Caddy accepts a second route with the same @id.
    let (code, a) = request(&caddy.admin, "GET", "/id/berth_demo_session_a", "").unwrap();
    assert_eq!(code, 200, "{a}");
    let path = "/config/apps/http/servers/srv0/routes/0";
    let (code, body) = request(&caddy.admin, "PUT", path, &a).unwrap();
    assert_eq!(code, 200, "{body}");
    assert_eq!(caddy.ids().len(), 5);
    assert_eq!(sync(&r, "demo", &want).unwrap(), synced(1, 0));
    let ids = caddy.ids();
    assert_eq!(
        ids.iter().filter(|i| i.ends_with("_a")).count(),
        1,
        "{ids:?}"
    );
    assert_eq!(ids.len(), 4, "{ids:?}");
    check_three_answer(&caddy.address);
}

#[test]
fn caddy_down_or_misnamed_is_an_error() {
    // Port 1 (tcpmux) is privileged and never served here: a connection is refused at once.
    // A port from `free_port()` could be taken by a parallel test's server in between
    // (it once answered this test with a page that was not JSON).
    let nobody = "caddy=http://127.0.0.1:1".to_string();
    let down = Router::new(nobody.parse().unwrap());
    let err = sync(&down, "demo", &three_routes("demo")).unwrap_err();
    assert!(matches!(err, RouteError::Unreachable { .. }), "{err}");
    assert!(
        err.to_string()
            .contains("GET /config/apps/http/servers/srv0/routes"),
        "{err}"
    );
    assert!(matches!(
        run(down.check()),
        Err(RouteError::Unreachable { .. })
    ));

    let caddy = Caddy::start();
    let ok = run(caddy_router(&caddy).check()).unwrap();
    assert!(ok.contains("server srv0 has 1 route"), "{ok}");
    let misnamed = Router::new(format!("caddy={}#nosuch", caddy.url()).parse().unwrap());
    let err = run(misnamed.check()).unwrap_err();
    assert!(matches!(err, RouteError::NotConfigured { .. }), "{err}");
    assert!(err.to_string().contains("(servers: srv0)"), "{err}");
    let err = sync(&misnamed, "demo", &[]).unwrap_err();
    assert!(
        matches!(err, RouteError::Refused { status: 400, .. }),
        "{err}"
    );
}

/// Every file in `dir` and its content (a FIFO or link as a marker).
fn snapshot(dir: &Path) -> BTreeMap<String, String> {
    let mut files = BTreeMap::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let e = e.unwrap();
        let name = e.file_name().to_string_lossy().into_owned();
        let ty = e.file_type().unwrap();
        let text = if ty.is_file() {
            std::fs::read_to_string(e.path()).unwrap_or_else(|_| "(binary)".into())
        } else {
            format!("({ty:?})")
        };
        files.insert(name, text);
    }
    files
}

const FOREIGN: &str = "location /foreign/ { return 200 \"foreign\"; }\n";

#[test]
fn nginx_routes_are_files_reloaded_only_after_a_change() {
    let n = Nginx::start(&[("foreign.conf", FOREIGN)]);
    let r = nginx_router(&n.routes, &n.reload);
    let mut want = three_routes("demo");
    assert_eq!(sync(&r, "demo", &want).unwrap(), synced(3, 0));
    check_three_answer(&n.address);
    assert_eq!(n.reloads(), 1);
    assert_eq!(sync(&r, "demo", &want).unwrap(), synced(0, 0));
    assert_eq!(n.reloads(), 1, "nothing to do, no reload");

    want.remove(1);
    assert_eq!(sync(&r, "demo", &want).unwrap(), synced(0, 1));
    gone(&n.address, "/s/b/y", 404);
    answers(&n.address, "/s/a/x", "A /x wake=-");
    answers(&n.address, "/foreign/f", "foreign");
    let names: Vec<String> = snapshot(&n.routes).into_keys().collect();
    let want_names = [
        "berth_demo_session_a.conf",
        "berth_demo_session_c.conf",
        "foreign.conf",
    ];
    assert_eq!(names, want_names, "no temporary files or backups left");
}

#[test]
fn nginx_failed_reload_puts_the_previous_files_back() {
    let dup = "location /s/dup/ { return 200 \"dup\"; }\n";
    let mut n = Nginx::start(&[("foreign.conf", FOREIGN), ("dup.conf", dup)]);
    let r = nginx_router(&n.routes, &n.reload);
    let a = route("demo", "a", "/s/a/", true, to(&upstream("A")));
    assert_eq!(
        sync(&r, "demo", std::slice::from_ref(&a)).unwrap(),
        synced(1, 0)
    );
    answers(&n.address, "/s/a/x", "A /x wake=-");
    let before = snapshot(&n.routes);

    // nginx itself refuses the new files: a location another file already has.
    let mut a2 = a.clone();
    a2.exposure.strip_prefix = false;
    let clash = route("demo", "dup", "/s/dup/", true, to(&upstream("D")));
    let err = sync(&r, "demo", &[a2.clone(), clash]).unwrap_err();
    let RouteError::Reload { ref stderr, .. } = err else {
        panic!("{err}")
    };
    assert!(stderr.contains("duplicate location"), "{err}");
    assert!(err.to_string().contains("restored"), "{err}");
    assert_eq!(snapshot(&n.routes), before);
    answers(&n.address, "/s/a/x", "A /x wake=-");

    let broken = nginx_router(&n.routes, "echo boom >&2; exit 3");
    let err = sync(&broken, "demo", std::slice::from_ref(&a2)).unwrap_err();
    let RouteError::Reload {
        ref status,
        ref stderr,
        ..
    } = err
    else {
        panic!("{err}")
    };
    assert!(status.contains('3') && stderr == "boom", "{err}");
    assert_eq!(snapshot(&n.routes), before);

    assert_eq!(
        sync(&r, "demo", std::slice::from_ref(&a2)).unwrap(),
        synced(1, 0)
    );
    answers(&n.address, "/s/a/x", "A /s/a/x wake=-");

    // nginx down: its reload command fails, the files stay as they were.
    n.stop();
    let before = snapshot(&n.routes);
    let err = sync(&r, "demo", &[]).unwrap_err();
    assert!(matches!(err, RouteError::Reload { .. }), "{err}");
    assert_eq!(snapshot(&n.routes), before);
}

#[test]
fn nginx_folder_is_read_safely_and_only_own_files_change() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let write = |name: &str, text: &str| std::fs::write(d.join(name), text).unwrap();
    write("berth_other_session_o.conf", "other's");
    write("berth_demo-x_session_y.conf", "demo-x's");
    write("notes.txt", "not a route");
    write("berth_demo_session_big.conf", &"#".repeat(10 << 20));
    std::os::unix::fs::symlink(d.join("notes.txt"), d.join("berth_demo_session_l.conf")).unwrap();
    let fifo = d.join("berth_demo_session_fifo.conf");
    let made = std::process::Command::new("mkfifo").arg(&fifo).status();
    assert!(made.unwrap().success());
    let count = d.join("reloads.txt");
    let r = nginx_router(d, &format!("echo . >> {}", count.display()));

    let a = route("demo", "a", "/s/a/", true, to("127.0.0.1:9"));
    let mut h = route("demo", "h", "/s/h/", true, to("127.0.0.1:9"));
    h.exposure.host = Some("h.test".into());
    let err = sync(&r, "demo", &[a, h]).unwrap_err();
    let RouteError::Unsupported {
        ref routes,
        synced: s,
        ..
    } = err
    else {
        panic!("{err}")
    };
    assert_eq!(routes.len(), 1, "{err}");
    assert_eq!(routes[0].0 .0, "berth_demo_session_h");
    assert!(err.to_string().contains("path prefixes only"), "{err}");
    assert_eq!(s, synced(1, 1), "a written, the big file removed");
    let after = snapshot(d);
    let names: Vec<&str> = after.keys().map(String::as_str).collect();
    let want = [
        "berth_demo-x_session_y.conf",
        "berth_demo_session_a.conf",
        "berth_demo_session_fifo.conf",
        "berth_demo_session_l.conf",
        "berth_other_session_o.conf",
        "notes.txt",
        "reloads.txt",
    ];
    assert_eq!(names, want);
    assert_eq!(after["berth_other_session_o.conf"], "other's");
    assert_eq!(after["berth_demo-x_session_y.conf"], "demo-x's");
    assert_eq!(std::fs::read_to_string(&count).unwrap(), ".\n");

    let ok = run(r.check()).unwrap();
    assert!(ok.contains("writable"), "{ok}");
    let missing = nginx_router(&PathBuf::from("/nonexistent/berth"), "true");
    assert!(matches!(run(missing.check()), Err(RouteError::Io { .. })));
    let file = nginx_router(&d.join("notes.txt"), "true");
    assert!(matches!(
        run(file.check()),
        Err(RouteError::NotConfigured { .. })
    ));
    let err = sync(&missing, "demo", &[]).unwrap_err();
    assert!(
        err.to_string().contains("cannot list /nonexistent/berth"),
        "{err}"
    );
}
