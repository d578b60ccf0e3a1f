//! `berth doctor`: the engine, the negotiated API version, and a verdict per proxy flag.

use crate::haproxy::*;
use crate::util::*;

fn doctor(host: &str, json: bool) -> std::process::Output {
    let mut args = vec!["doctor", "--instance", "it-doctor"];
    if json {
        args.extend(["-o", "json"]);
    }
    std::process::Command::new(env!("CARGO_BIN_EXE_berth"))
        .args(&args)
        .env_remove("BERTH_INSTANCE")
        .env("DOCKER_HOST", host)
        .output()
        .expect("run berth")
}

fn row<'a>(out: &'a str, flag: &str) -> &'a str {
    out.lines()
        .find(|l| l.split_whitespace().next() == Some(flag))
        .unwrap_or_else(|| panic!("no {flag} row in\n{out}"))
}

#[test]
fn the_minimal_proxy_passes_with_a_verdict_per_flag() {
    require_engine();
    let proxy = Haproxy::socket_proxy(MINIMAL);
    let o = doctor(&proxy.docker_host(), false);
    assert_exit(&o, 0);
    let out = stdout(&o);
    assert!(
        out.starts_with(&format!("endpoint   {}", proxy.docker_host())),
        "{out}"
    );
    assert!(out.contains("engine     Docker "), "{out}");
    assert!(out.contains("api        1.41 negotiated"), "{out}");
    for flag in [
        "VERSION",
        "PING",
        "CONTAINERS",
        "IMAGES",
        "VOLUMES",
        "EVENTS",
        "POST",
    ] {
        assert!(
            row(&out, flag).ends_with(" ok"),
            "{flag}: {}",
            row(&out, flag)
        );
    }
    assert!(row(&out, "NETWORKS")
        .ends_with("refused by the proxy: enable NETWORKS=1 to use isolated networks"));
    assert!(row(&out, "INFO").ends_with("refused by the proxy (good)"));
    // Optional: only `berth exec` needs it, and its refusal does not fail the verdict.
    assert!(row(&out, "EXEC").contains(" optional: berth exec "));
    assert!(row(&out, "EXEC").ends_with("refused by the proxy: enable EXEC=1 to use berth exec"));
    assert!(
        out.ends_with("doctor: ok: every call berth needs gets through\n"),
        "{out}"
    );

    let j = doctor(&proxy.docker_host(), true);
    assert_exit(&j, 0);
    let v: serde_json::Value = serde_json::from_slice(&j.stdout).unwrap();
    assert_eq!(v["engine"]["kind"], "docker");
    assert_eq!(v["negotiatedApiVersion"], "1.41");
    assert_eq!(v["ok"], true);
    let post = v["probes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["flag"] == "POST")
        .unwrap();
    assert_eq!(post["verdict"], "allowed");
    assert_eq!(post["need"], "required");
}

#[test]
fn a_missing_flag_fails_and_names_it() {
    require_engine();
    let no_post = Haproxy::socket_proxy(&["CONTAINERS", "IMAGES", "VOLUMES", "PING", "VERSION"]);
    let o = doctor(&no_post.docker_host(), false);
    assert_exit(&o, 1);
    let out = stdout(&o);
    assert!(
        row(&out, "POST").ends_with("REFUSED by the proxy: enable POST=1"),
        "{out}"
    );
    assert!(
        row(&out, "EVENTS").ends_with("REFUSED by the proxy: enable EVENTS=1"),
        "{out}"
    );
    assert!(
        out.ends_with("doctor: missing: GET /events, POST /containers/{id}/start (enable EVENTS=1 POST=1 on the socket proxy)\n"),
        "{out}"
    );

    let no_version = Haproxy::minimal_without("VERSION");
    let o = doctor(&no_version.docker_host(), false);
    assert_exit(&o, 1);
    assert!(
        stderr(&o).contains("GET /version was refused by the socket proxy: enable VERSION=1"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn nothing_listening_is_exit_2_and_a_plain_socket_is_wide_open() {
    let port = free_port();
    let o = doctor(&format!("tcp://127.0.0.1:{port}"), false);
    assert_exit(&o, 2);
    assert!(
        stderr(&o).contains(&format!(
            "error: cannot connect to the engine at tcp://127.0.0.1:{port}: connection refused\n"
        )),
        "{}",
        stderr(&o)
    );

    require_engine();
    let o = doctor("unix:///var/run/docker.sock", false);
    assert_exit(&o, 0);
    let out = stdout(&o);
    assert!(row(&out, "INFO").contains("allowed; berth never uses it (on a socket proxy: INFO=0)"));
    assert!(out.contains("doctor: note: calls berth never makes get through too"));
}
