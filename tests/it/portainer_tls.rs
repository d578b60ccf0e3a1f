//! Portainer over HTTPS: the HAProxy stand-in terminates TLS with a certificate signed by a
//! CA made at test time (tests/it/pki.rs). berth verifies it against `--portainer-ca`, the
//! system roots, or (warned) not at all.

use std::process::{Command, Output};

use crate::haproxy::*;
use crate::pki::*;
use crate::util::*;

const KEY: &str = "ptr_berth-tls-key";

/// `berth <args> --portainer-url <front> --portainer-endpoint 7 <tls...>` with the key.
fn berth_tls(front: &Haproxy, args: &[&str], tls: &[&str]) -> Output {
    let mut c = Command::new(env!("CARGO_BIN_EXE_berth"));
    c.args(args)
        .args(["--portainer-url", &front.url(), "--portainer-endpoint", "7"])
        .args(tls)
        .env_remove("BERTH_INSTANCE")
        .env_remove("BERTH_PORTAINER_CA")
        .env_remove("BERTH_PORTAINER_INSECURE_SKIP_VERIFY")
        .env("PORTAINER_API_KEY", KEY)
        .env("DOCKER_HOST", "tcp://127.0.0.1:1")
        .env("BERTH_STATE_DIR", test_state_dir());
    c.output().expect("run berth")
}

fn line<'a>(out: &'a str, label: &str) -> &'a str {
    out.lines()
        .find(|l| l.split_whitespace().next() == Some(label))
        .unwrap_or_else(|| panic!("no {label} line in\n{out}"))
}

#[test]
fn apply_get_run_and_doctor_over_https_with_the_ca() {
    let pki = Pki::new();
    let front = Haproxy::portainer_front_tls(7, KEY, &pki.server);
    let inst = Instance::new("ptr-tls");
    inst.write("a.yaml", &agent("a", ""));
    let dir = inst.path_str();
    let ca = pki.ca.display().to_string();
    let tls = ["--portainer-ca", ca.as_str()];

    let apply = berth_tls(
        &front,
        &[
            "apply",
            "--instance",
            &inst.name,
            "--wait",
            "--timeout",
            "60s",
            &dir,
        ],
        &tls,
    );
    assert_exit(&apply, 0);
    assert!(inst.container("a").running);
    assert!(!stderr(&apply).contains("WARN"), "{}", stderr(&apply));

    let get = berth_tls(&front, &["get", "--instance", &inst.name], &tls);
    assert_exit(&get, 0);
    assert!(
        stderr(&get).contains(&format!("at {}/api/endpoints/7/docker", front.url())),
        "{}",
        stderr(&get)
    );

    let doctor = berth_tls(&front, &["doctor", "--instance", &inst.name], &tls);
    assert_exit(&doctor, 0);
    let out = stdout(&doctor);
    assert!(
        line(&out, "tls").ends_with(&format!("certificate verified against the CA in {ca}")),
        "{out}"
    );
    assert_eq!(
        line(&out, "subject"),
        format!("subject    CN={SERVER_NAME}")
    );
    assert_eq!(line(&out, "issuer"), format!("issuer     CN={CA_NAME}"));
    assert!(
        line(&out, "expires").starts_with(&format!(
            "expires    {}-01-01T00:00:00Z (in ",
            pki.not_after_year
        )),
        "{out}"
    );

    let json = berth_tls(
        &front,
        &["doctor", "--instance", &inst.name, "-o", "json"],
        &tls,
    );
    assert_exit(&json, 0);
    let report: serde_json::Value = serde_json::from_str(&stdout(&json)).unwrap();
    let cert = &report["tls"];
    assert_eq!(cert["url"], front.url());
    assert_eq!(cert["subject"], format!("CN={SERVER_NAME}"));
    assert_eq!(cert["issuer"], format!("CN={CA_NAME}"));
    assert_eq!(
        cert["notAfter"],
        format!("{}-01-01T00:00:00Z", pki.not_after_year)
    );
    assert_eq!(cert["verified"], true);
    assert_eq!(cert["verification"]["result"], "verified");
    assert_eq!(cert["verification"]["against"], format!("the CA in {ca}"));
    assert!(cert["expiresInDays"].as_i64().unwrap() > 300, "{cert}");
    assert_eq!(report["ok"], true);

    // berth run: the event stream goes through TLS too (a kill is seen and repaired).
    let url = front.url();
    let d = Daemon::start_with_env(
        &inst,
        &[
            "--portainer-url",
            &url,
            "--portainer-endpoint",
            "7",
            "--portainer-ca",
            &ca,
        ],
        &[
            ("DOCKER_HOST", "tcp://127.0.0.1:1"),
            ("PORTAINER_API_KEY", KEY),
        ],
    );
    let before = inst.container("a");
    assert_exit(&docker(&["kill", &before.id]), 0);
    d.wait_object("a restarted", "agent", "a", |o| {
        o["restarts"] == 1 && o["phase"] == "Running"
    });
    assert!(
        !d.log_text().contains("no engine events"),
        "{}",
        d.log_text()
    );
    drop(d);

    let down = berth_tls(&front, &["down", "--instance", &inst.name], &tls);
    assert_exit(&down, 0);
    assert!(inst.containers().is_empty());
    let log = front.log_text();
    assert!(
        log.contains("POST /api/endpoints/7/docker/containers/create"),
        "{log}"
    );
    assert!(
        !log.contains(" 401 "),
        "every request carried the key:\n{log}"
    );
}

#[test]
fn a_wrong_ca_an_untrusted_or_an_expired_certificate_is_refused_by_name() {
    let pki = Pki::new();
    let front = Haproxy::portainer_front_tls(7, KEY, &pki.server);
    let inst = Instance::new("ptr-tls-bad");
    inst.write("a.yaml", &agent("a", ""));
    let other = pki.other_ca.display().to_string();
    let wrong = ["--portainer-ca", other.as_str()];

    let get = berth_tls(&front, &["get", "--instance", &inst.name], &wrong);
    assert_exit(&get, 2);
    assert_eq!(
        stderr(&get),
        format!(
            "error: the certificate of {} is not signed by the CA in {other} (UnknownIssuer)\n",
            front.url()
        )
    );
    let apply = berth_tls(
        &front,
        &["apply", "--instance", &inst.name, &inst.path_str()],
        &wrong,
    );
    assert_exit(&apply, 2);
    assert!(
        stderr(&apply).contains("(UnknownIssuer)"),
        "{}",
        stderr(&apply)
    );
    assert!(inst.containers().is_empty(), "nothing was created");

    // doctor still shows the certificate it refuses.
    let doctor = berth_tls(&front, &["doctor", "--instance", &inst.name], &wrong);
    assert_exit(&doctor, 2);
    let out = stdout(&doctor);
    assert_eq!(
        line(&out, "tls"),
        format!(
            "tls        REFUSED: the certificate of {} is not signed by the CA in {other} (UnknownIssuer)",
            front.url()
        )
    );
    assert_eq!(line(&out, "issuer"), format!("issuer     CN={CA_NAME}"));
    assert!(
        stderr(&doctor)
            .ends_with("doctor: berth refuses the TLS connection; nothing else can be checked\n"),
        "{}",
        stderr(&doctor)
    );

    // No CA given: the system roots do not know the test CA.
    let system = berth_tls(&front, &["get", "--instance", &inst.name], &[]);
    assert_exit(&system, 2);
    assert_eq!(
        stderr(&system),
        format!(
            "error: the certificate of {} is not signed by a CA in the system roots (UnknownIssuer): give its CA with --portainer-ca FILE (`berth doctor` shows its issuer)\n",
            front.url()
        )
    );

    // The right CA, but the certificate's time is over.
    let expired = Haproxy::portainer_front_tls(7, KEY, &pki.expired);
    let ca = pki.ca.display().to_string();
    let old = berth_tls(
        &expired,
        &["get", "--instance", &inst.name],
        &["--portainer-ca", &ca],
    );
    assert_exit(&old, 2);
    assert_eq!(
        stderr(&old),
        format!(
            "error: the certificate of {} has expired (Expired)\n",
            expired.url()
        )
    );
    let log = front.log_text() + &expired.log_text();
    assert!(
        !log.contains("/api/endpoints/7/docker"),
        "no request was sent over a refused connection:\n{log}"
    );
}

#[test]
fn a_self_signed_certificate_can_be_its_own_ca() {
    // Portainer's default: a self-signed certificate. Given as the CA, it pins exactly that
    // certificate, without skipping verification.
    let pki = Pki::new();
    let front = Haproxy::portainer_front_tls(7, KEY, &pki.self_signed);
    let inst = Instance::new("ptr-tls-own");
    let own = pki.self_signed_cert.display().to_string();
    let get = berth_tls(
        &front,
        &["get", "--instance", &inst.name],
        &["--portainer-ca", &own],
    );
    assert_exit(&get, 0);
    let other = pki.ca.display().to_string();
    let refused = berth_tls(
        &front,
        &["get", "--instance", &inst.name],
        &["--portainer-ca", &other],
    );
    assert_exit(&refused, 2);
    assert!(
        stderr(&refused).contains("(UnknownIssuer)"),
        "{}",
        stderr(&refused)
    );
}

#[test]
fn skip_verify_works_and_warns_every_time() {
    let pki = Pki::new();
    let front = Haproxy::portainer_front_tls(7, KEY, &pki.server);
    let inst = Instance::new("ptr-tls-skip");
    let warning = format!(
        "TLS certificate verification is OFF for {} (--portainer-insecure-skip-verify): this connection can be intercepted",
        front.url()
    );

    let get = berth_tls(
        &front,
        &["get", "--instance", &inst.name],
        &["--portainer-insecure-skip-verify"],
    );
    assert_exit(&get, 0);
    assert!(
        stderr(&get)
            .lines()
            .any(|l| l.contains(" WARN ") && l.contains(&warning)),
        "{}",
        stderr(&get)
    );

    // The same from the environment; doctor says the certificate was not verified.
    let mut c = Command::new(env!("CARGO_BIN_EXE_berth"));
    let doctor = c
        .args(["doctor", "--instance", &inst.name])
        .args(["--portainer-url", &front.url(), "--portainer-endpoint", "7"])
        .env_remove("BERTH_INSTANCE")
        .env_remove("BERTH_PORTAINER_CA")
        .env("BERTH_PORTAINER_INSECURE_SKIP_VERIFY", "true")
        .env("PORTAINER_API_KEY", KEY)
        .output()
        .unwrap();
    assert_exit(&doctor, 0);
    assert!(stderr(&doctor).contains(&warning), "{}", stderr(&doctor));
    let out = stdout(&doctor);
    assert!(
        line(&out, "tls").ends_with(
            "certificate NOT VERIFIED (--portainer-insecure-skip-verify): the connection can be intercepted"
        ),
        "{out}"
    );
    assert_eq!(
        line(&out, "subject"),
        format!("subject    CN={SERVER_NAME}")
    );

    // The TLS flags are refused with a plain-HTTP URL, before anything is sent.
    let plain = Haproxy::portainer_front(7, KEY);
    let misuse = berth_tls(
        &plain,
        &["get", "--instance", &inst.name],
        &["--portainer-insecure-skip-verify"],
    );
    assert_exit(&misuse, 2);
    assert_eq!(
        stderr(&misuse),
        format!(
            "error: --portainer-insecure-skip-verify applies to an https:// --portainer-url only, and \"{}\" is not one\n",
            plain.url()
        )
    );
    // An https:// URL at a plain-HTTP port: the handshake fails, and says what it met.
    let mut c = Command::new(env!("CARGO_BIN_EXE_berth"));
    let https_at_http = c
        .args(["get", "--instance", &inst.name])
        .args([
            "--portainer-url",
            &format!("https://127.0.0.1:{}", plain.port),
            "--portainer-endpoint",
            "7",
        ])
        .env_remove("BERTH_INSTANCE")
        .env("PORTAINER_API_KEY", KEY)
        .output()
        .unwrap();
    assert_exit(&https_at_http, 2);
    assert!(
        stderr(&https_at_http).contains(&format!(
            "the TLS handshake with https://127.0.0.1:{} failed",
            plain.port
        )) && stderr(&https_at_http).contains("HTTPS port"),
        "{}",
        stderr(&https_at_http)
    );
}
