//! The session API (`berth run --api`) on the real engine, driven through the API only:
//! create → wait → running, list by selector, renew, delete → gone, every refusal with its
//! status, quotas per user, the stopped-agent override, and many clients at once.

use std::collections::BTreeSet;

use serde_json::{json, Value};

use crate::api_client::{call, Answer, At};
use crate::util::*;

const WRITE: &str = "w-0123456789abcdef0123";
const READ: &str = "r-0123456789abcdef0123";
const U1: &str = "u1-0123456789abcdef012";

/// Templates (one with a volume that goes with its session) and an agent.
fn manifests(inst: &Instance) {
    inst.write(
        "t.yaml",
        "apiVersion: berth/v1\nkind: Template\nmetadata: { name: box }\nspec:\n  image: berth-runtime:1\n  command: [sleep, \"3600\"]\n  stopGracePeriod: 1s\n---\napiVersion: berth/v1\nkind: Template\nmetadata: { name: disk }\nspec:\n  image: berth-runtime:1\n  command: [sleep, \"3600\"]\n  stopGracePeriod: 1s\n  volumes: [ { name: work, mountPath: /work, cleanup: { policy: Delete } } ]\n",
    );
    inst.write("a.yaml", &agent("keeper", "  labels: { team: a }\n"));
}

/// `berth run --api` with a token file of three callers, and a Policy (its `spec` lines).
fn start(inst: &Instance, policy: &str, api: &At, extra: &[&str]) -> Daemon {
    let policy = inst.write_policy(policy);
    start_with(inst, &policy, api, extra)
}

/// The same with the Policy at `policy`.
fn start_with(inst: &Instance, policy: &str, api: &At, extra: &[&str]) -> Daemon {
    let tokens = inst.state.path().join("tokens");
    std::fs::write(
        &tokens,
        format!("writer write {WRITE}\nreader read {READ}\nuser1 write:user=u1 {U1}\n"),
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&tokens, std::fs::Permissions::from_mode(0o600)).unwrap();
    let sessions = inst.sessions_str();
    let addr = match api {
        At::Tcp(a) => a.clone(),
        At::Unix(p) => format!("unix:{}", p.display()),
    };
    let tokens = tokens.display().to_string();
    let mut flags = vec![
        "--api",
        addr.as_str(),
        "--api-tokens",
        tokens.as_str(),
        "--policy",
        policy,
        "--sessions",
        sessions.as_str(),
    ];
    flags.extend_from_slice(extra);
    Daemon::start(inst, &flags)
}

fn tcp() -> At {
    At::Tcp(format!("127.0.0.1:{}", free_port()))
}

fn create(at: &At, token: &str, body: Value, query: &str) -> Answer {
    call(
        at,
        "POST",
        &format!("/v1/sessions{query}"),
        Some(token),
        Some(&body.to_string()),
    )
}

fn running(inst: &Instance) -> BTreeSet<String> {
    inst.containers()
        .into_iter()
        .filter(|c| c.name.contains("_session_") && c.running)
        .map(|c| c.object)
        .collect()
}

#[test]
fn a_session_is_created_waited_for_listed_renewed_and_deleted_through_the_api() {
    let inst = Instance::new("api-life");
    manifests(&inst);
    let sock = inst.state.path().join("api.sock");
    let at = At::Unix(sock.clone());
    let _d = start(&inst, "", &at, &[]);
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(&sock).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o660, "the socket is for the owner and its group");

    let body = json!({"template": "box", "name": "s1", "ttl": "1h", "labels": {"user": "u1"}});
    let a = create(&at, WRITE, body.clone(), "?wait=ready&timeout=60s");
    assert_eq!(a.status, 201, "{a:?}");
    assert_eq!(
        (a.body["phase"].as_str(), a.body["ready"].as_bool()),
        (Some("Running"), Some(true))
    );
    assert!(a.body["expiresAtMs"].as_u64().is_some(), "{a:?}");
    assert_eq!(running(&inst), BTreeSet::from(["s1".to_string()]));
    assert!(
        inst.sessions.path().join("s1.yaml").is_file(),
        "the file is the truth"
    );

    // The same request again is the same session; another body under its name is not.
    assert_eq!(create(&at, WRITE, body, "").status, 200);
    let other = create(
        &at,
        WRITE,
        json!({"template": "box", "name": "s1", "ttl": "2h"}),
        "",
    );
    assert_eq!(other.status, 409, "{other:?}");

    // A generated name, another user; listing by selector.
    let b = create(
        &at,
        WRITE,
        json!({"template": "box", "ttl": "1h", "labels": {"user": "u2"}}),
        "?wait=ready",
    );
    assert_eq!(b.status, 201, "{b:?}");
    let generated = b.body["name"].as_str().unwrap().to_string();
    assert!(generated.starts_with("box-"), "{generated}");
    let names = |a: Answer| -> Vec<String> {
        a.body["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["name"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(
        names(call(
            &at,
            "GET",
            "/v1/sessions?labelSelector=user%3Du1",
            Some(READ),
            None
        )),
        ["s1"]
    );
    assert_eq!(
        names(call(
            &at,
            "GET",
            "/v1/sessions?labelSelector=user!%3Du1",
            Some(READ),
            None
        )),
        vec![generated.clone()]
    );
    // A scoped token sees only its own.
    assert_eq!(
        names(call(&at, "GET", "/v1/sessions", Some(U1), None)),
        ["s1"]
    );
    let one = call(&at, "GET", "/v1/sessions/s1", Some(READ), None);
    assert_eq!(
        (one.status, one.body["labels"]["user"].as_str()),
        (200, Some("u1"))
    );

    // Renew: it may live two hours from now (the TTL counts from the first start).
    let before = one.body["expiresAtMs"].as_u64().unwrap();
    let r = call(
        &at,
        "POST",
        "/v1/sessions/s1/renew",
        Some(U1),
        Some(r#"{"ttl": "2h"}"#),
    );
    assert_eq!(r.status, 200, "{r:?}");
    let after = r.body["expiresAtMs"].as_u64().unwrap();
    assert!(after >= before + 3_500_000, "{before} → {after}");
    let id = inst.container("s1").id;
    let _ = _d.wait_object("the renewed ttl is read", "session", "s1", |o| {
        o["expiresAtMs"]
            .as_u64()
            .is_some_and(|e| e >= before + 3_500_000)
    });
    assert_eq!(inst.container("s1").id, id, "a renewal is not a recreate");

    // Delete and wait until its container is gone.
    let del = call(
        &at,
        "DELETE",
        "/v1/sessions/s1?wait=gone",
        Some(WRITE),
        None,
    );
    assert_eq!(
        (del.status, del.body["gone"].as_bool()),
        (200, Some(true)),
        "{del:?}"
    );
    assert!(inst.containers().iter().all(|c| c.object != "s1"));
    assert!(!inst.sessions.path().join("s1.yaml").exists());
    assert_eq!(
        call(&at, "GET", "/v1/sessions/s1", Some(READ), None).status,
        404
    );
    let del = call(
        &at,
        "DELETE",
        &format!("/v1/sessions/{generated}"),
        Some(WRITE),
        None,
    );
    assert_eq!(del.status, 202, "{del:?}");
    inst.wait_until("the generated session is removed", |cs| {
        cs.iter().all(|c| !c.name.contains("_session_"))
    });
}

#[test]
fn every_refusal_has_its_status_and_says_why() {
    let inst = Instance::new("api-refuse");
    manifests(&inst);
    inst.write(
        "s.yaml",
        "apiVersion: berth/v1\nkind: Session\nmetadata: { name: git-one }\nspec: { template: box, ttl: 1h }\n",
    );
    let at = tcp();
    let _d = start(&inst, "  maxSessionsPer: { user: 1 }", &at, &[]);
    let ok = json!({"template": "box", "ttl": "1h", "labels": {"user": "u1"}});
    let cases: Vec<(Answer, u16, &str)> = vec![
        (
            call(&at, "GET", "/v1/sessions", None, None),
            401,
            "no token",
        ),
        (
            call(
                &at,
                "GET",
                "/v1/sessions",
                Some("not-a-known-token-x"),
                None,
            ),
            401,
            "unknown token",
        ),
        (create(&at, READ, ok.clone(), ""), 403, "may only read"),
        (
            create(
                &at,
                U1,
                json!({"template": "box", "ttl": "1h", "labels": {"user": "u2"}}),
                "",
            ),
            403,
            "may not touch",
        ),
        (
            call(&at, "POST", "/v1/sessions", Some(WRITE), Some("{nope")),
            400,
            "not JSON",
        ),
        (
            create(
                &at,
                WRITE,
                json!({"template": "box", "ttl": "1h", "image": "x"}),
                "",
            ),
            422,
            "unknown field `image`",
        ),
        (
            create(
                &at,
                WRITE,
                json!({"template": "box", "ttl": "1h", "name": "../x"}),
                "",
            ),
            422,
            "not a DNS label",
        ),
        (
            create(&at, WRITE, json!({"template": "nope", "ttl": "1h"}), ""),
            422,
            "spec.template: template \"nope\"",
        ),
        (
            create(&at, WRITE, json!({"template": "box", "ttl": "soon"}), ""),
            422,
            "spec.ttl",
        ),
        (
            create(
                &at,
                WRITE,
                json!({"template": "box", "ttl": "1h", "labels": {"berth.kind": "x"}}),
                "",
            ),
            422,
            "reserved",
        ),
        (
            create(&at, WRITE, ok.clone(), "?wait=forever"),
            400,
            "wait=forever",
        ),
        (
            create(&at, WRITE, ok.clone(), "?wait=ready&timeout=1h"),
            400,
            "longer than",
        ),
        (
            call(&at, "GET", "/v1/sessions/none", Some(READ), None),
            404,
            "no session",
        ),
        (
            call(&at, "DELETE", "/v1/sessions/git-one", Some(WRITE), None),
            409,
            "declared in",
        ),
        (
            call(&at, "POST", "/v1/agents/none/stop", Some(WRITE), None),
            404,
            "no agent",
        ),
        (
            call(&at, "GET", "/v1/nothing", Some(READ), None),
            404,
            "no such endpoint",
        ),
    ];
    for (a, status, says) in cases {
        assert_eq!(a.status, status, "{says}: {a:?}");
        assert_eq!(a.content_type, "application/problem+json", "{says}: {a:?}");
        let errors: Vec<&str> = a.body["errors"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|e| e.as_str())
            .collect();
        let text = format!(
            "{} {}",
            a.body["detail"].as_str().unwrap_or(""),
            errors.join("\n")
        );
        assert!(text.contains(says), "{says}: {a:?}");
    }
    // The quota: one session per user.
    assert_eq!(create(&at, U1, ok.clone(), "").status, 201);
    let over = create(&at, U1, ok.clone(), "");
    assert_eq!(over.status, 429, "{over:?}");
    assert!(
        over.body["detail"]
            .as_str()
            .unwrap()
            .contains("maxSessionsPer"),
        "{over:?}"
    );
    assert_eq!(
        create(
            &at,
            WRITE,
            json!({"template": "box", "ttl": "1h", "labels": {"user": "u2"}}),
            ""
        )
        .status,
        201
    );
    // The description of it all.
    let doc = call(&at, "GET", "/v1/openapi.json", None, None);
    assert_eq!(doc.status, 200);
    for path in [
        "/v1/sessions",
        "/v1/sessions/{name}",
        "/v1/sessions/{name}/renew",
        "/v1/agents/{name}/stop",
    ] {
        assert!(doc.body["paths"].get(path).is_some(), "{path}");
    }
    assert!(!_d.log_text().contains(WRITE), "tokens are never logged");
}

#[test]
fn a_file_dropped_past_the_quota_is_held_and_a_lowered_quota_reaps_nothing() {
    let inst = Instance::new("api-quota");
    manifests(&inst);
    let at = tcp();
    let d = start(&inst, "  maxSessions: 2", &at, &["--resync", "1s"]);
    let file = |n: &str| {
        format!("apiVersion: berth/v1\nkind: Session\nmetadata: {{ name: {n} }}\nspec: {{ template: box, ttl: 1h }}\n")
    };
    inst.write_session("q1.yaml", &file("q1"));
    inst.write_session("q2.yaml", &file("q2"));
    inst.wait_until("two sessions run", |_| running(&inst).len() == 2);
    inst.write_session("q3.yaml", &file("q3"));
    let held = d.wait_object("q3 is held", "session", "q3", |o| o["phase"] == "OverQuota");
    assert!(
        held["waiting"].as_str().unwrap().contains("maxSessions"),
        "{held:#}"
    );
    let refused = create(&at, WRITE, json!({"template": "box", "ttl": "1h"}), "");
    assert_eq!(refused.status, 429, "{refused:?}");
    // Lower the quota: nothing that runs is reaped.
    std::fs::write(
        inst.state.path().join("policy.yaml"),
        policy_doc("  maxSessions: 1"),
    )
    .unwrap();
    let _ = d.wait_object("the Policy is read again", "session", "q3", |o| {
        o["waiting"]
            .as_str()
            .is_some_and(|w| w.contains("allows 1 session"))
    });
    assert_eq!(running(&inst), BTreeSet::from(["q1".into(), "q2".into()]));
    // Room again: the held one starts.
    std::fs::write(
        inst.state.path().join("policy.yaml"),
        policy_doc("  maxSessions: 3"),
    )
    .unwrap();
    inst.wait_until("q3 runs once there is room", |_| running(&inst).len() == 3);
}

#[test]
fn an_agent_is_stopped_and_started_through_the_api() {
    let inst = Instance::new("api-agent");
    manifests(&inst);
    let at = tcp();
    let d = start(&inst, "", &at, &[]);
    let _ = d.wait_object("keeper runs", "agent", "keeper", |o| {
        o["phase"] == "Running"
    });
    let a = call(&at, "POST", "/v1/agents/keeper/stop", Some(U1), None);
    assert_eq!(
        a.status, 403,
        "a token for user=u1 cannot stop a team=a agent: {a:?}"
    );
    let a = call(&at, "POST", "/v1/agents/keeper/stop", Some(WRITE), None);
    assert_eq!(
        (a.status, a.body["stopped"].as_bool()),
        (202, Some(true)),
        "{a:?}"
    );
    let _ = d.wait_object("keeper is stopped", "agent", "keeper", |o| {
        o["phase"] == "Stopped"
    });
    assert!(!inst.container("keeper").running);
    let a = call(&at, "POST", "/v1/agents/keeper/start", Some(WRITE), None);
    assert_eq!(a.status, 202, "{a:?}");
    let _ = d.wait_object("keeper runs again", "agent", "keeper", |o| {
        o["phase"] == "Running"
    });
}

#[test]
fn many_clients_at_once_lose_nothing_and_duplicate_nothing() {
    const N: usize = 40;
    const CLIENTS: usize = 8;
    let inst = Instance::new("api-load");
    manifests(&inst);
    let at = tcp();
    let d = start(&inst, "", &at, &[]);
    let names: Vec<String> = (0..N).map(|i| format!("l{i}")).collect();
    let each = |f: &(dyn Fn(&str) -> u16 + Sync)| {
        std::thread::scope(|s| {
            let handles: Vec<_> = names
                .chunks(N / CLIENTS)
                .map(|chunk| s.spawn(move || chunk.iter().map(|n| f(n)).collect::<Vec<u16>>()))
                .collect();
            handles
                .into_iter()
                .flat_map(|h| h.join().unwrap())
                .collect::<Vec<u16>>()
        })
    };
    let created = each(&|n| {
        create(
            &at,
            WRITE,
            json!({"template": "disk", "name": n, "ttl": "1h"}),
            "",
        )
        .status
    });
    assert!(created.iter().all(|s| *s == 201), "{created:?}");
    let files = std::fs::read_dir(inst.sessions.path())
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().ends_with(".yaml"))
        .count();
    assert_eq!(files, N);
    inst.wait_until("every session runs", |_| running(&inst).len() == N);
    let cs = inst.containers();
    assert_eq!(
        cs.iter().filter(|c| c.name.contains("_session_")).count(),
        N,
        "one container each"
    );
    assert_eq!(inst.volumes().len(), N, "one volume each");
    // While the loop converges the API answers (the list is the report plus the files).
    let listed = call(&at, "GET", "/v1/sessions", Some(READ), None);
    assert_eq!(listed.body["items"].as_array().unwrap().len(), N);

    let deleted = each(&|n| {
        call(
            &at,
            "DELETE",
            &format!("/v1/sessions/{n}"),
            Some(WRITE),
            None,
        )
        .status
    });
    assert!(deleted.iter().all(|s| *s == 202), "{deleted:?}");
    inst.wait_until("every session is removed", |cs| {
        cs.iter().all(|c| !c.name.contains("_session_"))
    });
    wait_for("their volumes are removed", || match inst.volumes().len() {
        0 => Ok(()),
        n => Err(format!("{n} left")),
    });

    // One name created and deleted at once, again and again: the end state is consistent.
    for round in 0..10 {
        let (c, del) = std::thread::scope(|s| {
            let c = s.spawn(|| {
                create(
                    &at,
                    WRITE,
                    json!({"template": "box", "name": "race", "ttl": "1h"}),
                    "",
                )
                .status
            });
            let del =
                s.spawn(|| call(&at, "DELETE", "/v1/sessions/race", Some(WRITE), None).status);
            (c.join().unwrap(), del.join().unwrap())
        });
        assert!(c == 201, "round {round}: create {c}");
        assert!(del == 202 || del == 404, "round {round}: delete {del}");
        let exists = inst.sessions.path().join("race.yaml").exists();
        assert_eq!(
            exists,
            del == 404,
            "round {round}: the file is there exactly when the delete came first"
        );
        let want = usize::from(exists);
        inst.wait_until("the container follows the file", |cs| {
            cs.iter()
                .filter(|c| c.object == "race" && c.running)
                .count()
                == want
                && cs.iter().filter(|c| c.object == "race").count() == want
        });
        if exists {
            assert_eq!(
                call(
                    &at,
                    "DELETE",
                    "/v1/sessions/race?wait=gone",
                    Some(WRITE),
                    None
                )
                .status,
                200
            );
        }
    }
    assert!(!d.log_text().contains("panicked"));
}

#[test]
fn the_python_client_of_the_docs_works() {
    let inst = Instance::new("api-python");
    let at = tcp();
    let templates = repo("manifests/templates").display().to_string();
    let policy = repo("manifests/policy.yaml").display().to_string();
    let _d = start_with(&inst, &policy, &at, &["--allow-empty", &templates]);
    let page = std::fs::read_to_string(repo("docs/api.md")).unwrap();
    let start = page
        .find("```python\n")
        .expect("a Python block in docs/api.md")
        + 10;
    let code = &page[start..start + page[start..].find("```").unwrap()];
    let At::Tcp(addr) = &at else { unreachable!() };
    let out = std::process::Command::new("python3")
        .args(["-c", code])
        .env("BERTH_API", format!("http://{addr}"))
        .env("BERTH_TOKEN", WRITE)
        .output()
        .expect("python3 runs (the Compose tests need it too)");
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        out.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        text.contains("started web-agent-") && text.contains(" Running "),
        "{text}"
    );
    assert!(text.contains("sessions of usr-123: ['web-agent-"), "{text}");
    assert!(text.contains("deleted 200 True"), "{text}");
    assert!(inst.containers().is_empty(), "{:#?}", inst.containers());
}
