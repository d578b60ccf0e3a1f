//! berth behind the socket proxy (HAProxy with the tecnativa/docker-socket-proxy rules):
//! everything works with the minimal flags, and a refusal is a clear infrastructure error
//! that names the call and the flag, never leads to a delete, and is retried with backoff.

use crate::haproxy::*;
use crate::util::*;

#[test]
fn apply_diff_get_down_work_through_the_minimal_proxy() {
    let proxy = Haproxy::socket_proxy(MINIMAL);
    let host = proxy.docker_host();
    let env = [("DOCKER_HOST", host.as_str())];
    let inst = Instance::new("px-apply");
    inst.write(
        "a.yaml",
        &format!("{}---\n{}", agent("a", ""), agent("b", "")),
    );

    let diff = berth_env(&inst, "diff", &[], &env);
    assert_exit(&diff, 1);
    let apply = berth_env(&inst, "apply", &["--wait", "--timeout", "60s"], &env);
    assert_exit(&apply, 0);
    assert!(
        stdout(&apply).contains("ready: 2 object(s) running"),
        "{}",
        stdout(&apply)
    );
    assert_exit(&berth_env(&inst, "diff", &[], &env), 0);

    // A change recreates (stop, remove, create, start) through the proxy.
    inst.write(
        "a.yaml",
        &format!(
            "{}---\n{}",
            agent("a", "  env: { V: \"2\" }\n"),
            agent("b", "")
        ),
    );
    let apply = berth_env(&inst, "apply", &["--wait", "--timeout", "60s"], &env);
    assert_exit(&apply, 0);
    assert!(stdout(&apply).contains("~ agent/a: recreate: env.V added (2) ... recreated"));

    let get = berth_env(&inst, "get", &["-o", "json"], &env);
    assert_exit(&get, 0);
    let rows: serde_json::Value = serde_json::from_slice(&get.stdout).unwrap();
    assert_eq!(rows.as_array().unwrap().len(), 2);
    let table = berth_env(&inst, "get", &[], &env);
    assert!(
        stderr(&table).starts_with("engine: Docker "),
        "get names the engine kind: {}",
        stderr(&table)
    );

    assert_exit(&berth_env(&inst, "down", &[], &env), 0);
    assert!(inst.containers().is_empty());
    assert!(
        proxy.log_text().contains("\"POST /containers/create"),
        "the calls went through the proxy:\n{}",
        proxy.log_text()
    );
}

#[test]
fn run_works_through_the_minimal_proxy() {
    let proxy = Haproxy::socket_proxy(MINIMAL);
    let host = proxy.docker_host();
    // (HAProxy logs a request when it ends, so the open event stream is not in its log.)
    let inst = Instance::new("px-run");
    inst.write(
        "a.yaml",
        &agent("k", "  restart: { backoff: { initial: 200ms, max: 2s } }\n"),
    );
    let d = Daemon::start_with_env(&inst, &[], &[("DOCKER_HOST", &host)]);
    inst.wait_until("k runs", |cs| cs.iter().any(|c| c.running));
    let before = inst.container("k");

    // A crash is seen through the proxied event stream and restarted.
    assert_exit(&docker(&["kill", &before.id]), 0);
    d.wait_object("one restart", "agent", "k", |o| {
        o["restarts"] == 1 && o["phase"] == "Running"
    });
    assert!(
        !d.log_text().contains("no engine events"),
        "the event stream works through the proxy"
    );

    inst.write("b.yaml", &agent("b", ""));
    inst.wait_until("b runs", |cs| cs.iter().filter(|c| c.running).count() == 2);
    inst.remove("b.yaml");
    inst.wait_until("b is reaped", |cs| cs.iter().all(|c| c.object != "b"));
    assert_eq!(inst.container("k").id, before.id);
}

#[test]
fn a_refusal_names_the_call_and_the_flag_and_deletes_nothing() {
    let inst = Instance::new("px-403");
    inst.write("a.yaml", &agent("a", ""));
    assert_exit(&inst.run("apply", &["--wait", "--timeout", "60s"]), 0);
    let before = inst.containers();

    // Without POST: a change cannot be applied, and nothing is stopped or removed.
    let no_post = Haproxy::minimal_without("POST");
    let host = no_post.docker_host();
    let env = [("DOCKER_HOST", host.as_str())];
    inst.write("a.yaml", &agent("a", "  env: { V: \"2\" }\n"));
    inst.write("n.yaml", &agent("n", ""));
    let apply = berth_env(&inst, "apply", &[], &env);
    assert_exit(&apply, 1);
    let out = stdout(&apply);
    assert!(
        out.contains("+ agent/n: create: not on the engine ... FAILED [infrastructure]: POST /containers/create was refused by the socket proxy: enable POST=1 and CONTAINERS=1"),
        "{out}"
    );
    assert!(
        out.contains("~ agent/a: recreate: env.V added (2) ... FAILED [infrastructure]: POST /containers/{id}/stop was refused by the socket proxy: enable POST=1 and CONTAINERS=1"),
        "{out}"
    );
    assert_eq!(inst.containers(), before, "nothing was stopped or removed");

    // A removal is refused too: the container stays.
    inst.remove("a.yaml");
    inst.remove("n.yaml");
    let apply = berth_env(&inst, "apply", &["--allow-empty"], &env);
    assert_exit(&apply, 1);
    assert!(stdout(&apply).contains("- agent/a: remove: manifest gone ... FAILED [infrastructure]"));
    assert_eq!(inst.containers(), before);

    // Without CONTAINERS even the listing is refused: nothing is planned at all.
    let no_containers = Haproxy::minimal_without("CONTAINERS");
    let host = no_containers.docker_host();
    let diff = berth_env(&inst, "diff", &["--allow-empty"], &[("DOCKER_HOST", &host)]);
    assert_exit(&diff, 2);
    assert_eq!(
        stderr(&diff),
        "error: GET /containers/json was refused by the socket proxy: enable CONTAINERS=1\n"
    );
    let apply = berth_env(
        &inst,
        "apply",
        &["--allow-empty"],
        &[("DOCKER_HOST", &host)],
    );
    assert_exit(&apply, 2);
    assert_eq!(inst.containers(), before);

    // Without VERSION berth cannot even negotiate the API version.
    let no_version = Haproxy::minimal_without("VERSION");
    let host = no_version.docker_host();
    let get = berth_env(&inst, "get", &[], &[("DOCKER_HOST", &host)]);
    assert_exit(&get, 2);
    assert!(
        stderr(&get).contains("GET /version was refused by the socket proxy: enable VERSION=1"),
        "{}",
        stderr(&get)
    );
}

#[test]
fn run_backs_off_while_the_proxy_refuses() {
    // Listing refused: the loop waits 1s, 2s, 4s, ... between attempts.
    let no_containers = Haproxy::minimal_without("CONTAINERS");
    let inst = Instance::new("px-backoff");
    inst.write("a.yaml", &agent("a", ""));
    let d = Daemon::spawn_with_env(&inst, &[], &[("DOCKER_HOST", &no_containers.docker_host())]);
    let delays = wait_for("three refused listings", || {
        let delays: Vec<u64> = d
            .log_text()
            .lines()
            .filter(|l| l.contains("cannot list the engine's state"))
            .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
            .filter_map(|v| v["retry_in_ms"].as_u64())
            .collect();
        if delays.len() >= 3 {
            Ok(delays)
        } else {
            Err(d.log_text())
        }
    });
    assert_eq!(
        delays[..3],
        [2000, 4000, 8000],
        "doubling from the poll interval (2s)"
    );
    assert!(d
        .log_text()
        .contains("GET /containers/json was refused by the socket proxy: enable CONTAINERS=1"));
    drop(d);

    // Create refused: the object's retries back off, and its error says what to enable.
    let no_post = Haproxy::minimal_without("POST");
    let d = Daemon::start_with_env(&inst, &[], &[("DOCKER_HOST", &no_post.docker_host())]);
    let o = d.wait_object("the retry delay to reach 4s", "agent", "a", |o| {
        let at = o["lastError"]["atMs"].as_u64().unwrap_or(0);
        let next = o["nextRetryMs"].as_u64().unwrap_or(0);
        at > 0 && next >= at + 4000
    });
    assert_eq!(o["lastError"]["class"], "infrastructure");
    assert_eq!(
        o["lastError"]["message"],
        "POST /containers/create was refused by the socket proxy: enable POST=1 and CONTAINERS=1"
    );
    assert!(inst.containers().is_empty());
}
