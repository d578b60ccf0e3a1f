//! Policy admission through the command line: the escape matrix read from real YAML (with
//! file, line and field), refusals that leave running containers alone in `apply`, `diff`
//! and `run`, and admitted relaxations that reach the engine as declared.

use crate::util::*;

/// Writes `files` into a fresh directory and runs `berth validate` on it, with `policy`
/// (spec lines) as the `--policy` source when given.
fn validate(files: &[(&str, &str)], policy: Option<&str>) -> std::process::Output {
    let dir = tempfile::tempdir().unwrap();
    let m = dir.path().join("m");
    std::fs::create_dir(&m).unwrap();
    for (name, text) in files {
        std::fs::write(m.join(name), text).unwrap();
    }
    let m = m.display().to_string();
    match policy {
        Some(spec) => {
            let p = dir.path().join("policy.yaml");
            std::fs::write(&p, policy_doc(spec)).unwrap();
            berth(&["validate", "--policy", &p.display().to_string(), &m])
        }
        None => berth(&["validate", &m]),
    }
}

/// Agent `x` with extra spec lines (two-space indented).
fn x(extra: &str) -> String {
    format!(
        "apiVersion: berth/v1\nkind: Agent\nmetadata: {{ name: x }}\nspec:\n  image: {IMAGE}\n{extra}"
    )
}

const ROOT_DEVICES: &str = "  allowDevices: true\n  allowedHostPaths: [\"/\"]\n";
const STRICT: &str = "  allowedImages: [\"berth-runtime:1\"]\n  requireNonRoot: true\n  maxResources: { memory: 256Mi }\n";

#[test]
fn escape_matrix_from_yaml_each_refused_at_its_line_and_field() {
    // (case, Policy spec or "" for the built-in profile, agent spec lines, expected line)
    let cases: &[(&str, &str, &str, &str)] = &[
        ("privileged", "", "  security: { privileged: true }\n", "x.yaml:6:27: spec.security.privileged: policy: allowPrivileged:"),
        ("host network", "", "  hostNamespaces: { network: true }\n", "x.yaml:6:30: spec.hostNamespaces.network: policy: allowHostNamespaces:"),
        ("host pid", "", "  hostNamespaces: { pid: true }\n", "x.yaml:6:26: spec.hostNamespaces.pid: policy: allowHostNamespaces:"),
        ("host ipc", "", "  hostNamespaces: { ipc: true }\n", "x.yaml:6:26: spec.hostNamespaces.ipc: policy: allowHostNamespaces:"),
        ("cap_add SYS_ADMIN", "", "  security: { capabilities: { add: [SYS_ADMIN] } }\n", "x.yaml:6:36: spec.security.capabilities.add: policy: allowedCapabilities: SYS_ADMIN is not allowed"),
        ("cap_add ALL", "", "  security: { capabilities: { add: [ALL] } }\n", "spec.security.capabilities.add: policy: allowedCapabilities: ALL is not allowed"),
        ("default capabilities kept", "", "  security: { capabilities: { drop: [NET_RAW] } }\n", "spec.security.capabilities.drop: policy: allowedCapabilities: without ALL"),
        ("a device", "", "  devices: [ { hostPath: /dev/sda } ]\n", "spec.devices[0]: policy: allowDevices: host device /dev/sda is not allowed"),
        ("the docker socket as a device", ROOT_DEVICES, "  devices: [ { hostPath: /var/run/docker.sock } ]\n", "spec.devices[0].hostPath: policy: allowedHostPaths: host path /var/run/docker.sock (that is /run/docker.sock) reaches the container engine"),
        ("the socket through ..", ROOT_DEVICES, "  devices: [ { hostPath: /var/run/../run/docker.sock } ]\n", "spec.devices[0].hostPath: policy: allowedHostPaths: host path \"/var/run/../run/docker.sock\" contains '..'"),
        ("the socket with // and a trailing /", ROOT_DEVICES, "  devices: [ { hostPath: \"//run//docker.sock/\" } ]\n", "reaches the container engine (Docker's socket /run/docker.sock)"),
        ("/srv as a device path", "  allowDevices: true\n  allowedHostPaths: [/dev]\n", "  devices: [ { hostPath: /srv/ } ]\n", "spec.devices[0].hostPath: policy: allowedHostPaths: host path /srv/ (that is /srv) is not under an allowed prefix (allowed: /dev)"),
        ("/etc holds the engine's configuration", ROOT_DEVICES, "  devices: [ { hostPath: /etc/ } ]\n", "host path /etc/ (that is /etc) reaches the container engine (Docker's configuration /etc/docker, Podman's configuration /etc/containers)"),
        ("seccomp unconfined", "", "  security: { seccompProfile: unconfined }\n", "spec.security.seccompProfile: policy: allowedSeccompProfiles: seccomp profile \"unconfined\" is not allowed"),
        ("apparmor unconfined", "", "  security: { apparmorProfile: unconfined }\n", "spec.security.apparmorProfile: policy: allowedApparmorProfiles:"),
        ("user 0 where non-root is required", STRICT, "  resources: { memory: 64Mi }\n  security: { user: \"0\" }\n", "x.yaml:7:21: spec.security.user: policy: requireNonRoot: user \"0\" is root (uid 0)"),
        ("no user where non-root is required", STRICT, "  resources: { memory: 64Mi }\n", "spec.security.user: policy: requireNonRoot: no user is set"),
        ("memory over the cap", STRICT, "  resources: { memory: 1Gi }\n  security: { user: \"1000\" }\n", "x.yaml:6:24: spec.resources.memory: policy: maxResources: memory 1Gi is over the maximum of 256Mi"),
        ("the default memory over the cap", STRICT, "  security: { user: \"1000\" }\n", "spec.resources.memory: policy: maxResources: memory 512Mi is over the maximum of 256Mi"),
        ("another tag", STRICT, "  resources: { memory: 64Mi }\n  security: { user: \"1000\" }\n", ""),
        ("a sysctl", "", "  sysctls: { kernel.msgmax: \"65536\" }\n", "spec.sysctls.kernel.msgmax: policy: allowedSysctls: sysctl kernel.msgmax is not allowed"),
        ("privilege escalation", "", "  security: { noNewPrivileges: false }\n", "spec.security.noNewPrivileges: policy: allowPrivilegeEscalation:"),
    ];
    let mut failures = Vec::new();
    for (name, policy, extra, want) in cases {
        let mut text = x(extra);
        // "another tag": the image differs, the rest is fine.
        if *name == "another tag" {
            text = text.replace("berth-runtime:1", "berth-runtime:2");
        }
        let o = validate(
            &[("x.yaml", &text)],
            (!policy.is_empty()).then_some(*policy),
        );
        let out = stdout(&o);
        let want = if want.is_empty() {
            "spec.image: policy: allowedImages: image \"berth-runtime:2\""
        } else {
            want
        };
        if o.status.code() != Some(1) || !out.contains(want) {
            failures.push(format!("{name}: want {want:?}\n  got {out}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn legitimate_configurations_are_admitted() {
    let relaxed = "  allowedImages: [\"berth-runtime:*\"]\n  allowHostNamespaces: [pid]\n  allowDevices: true\n  allowedHostPaths: [/dev/null]\n  allowedCapabilities: [NET_BIND_SERVICE, CHOWN]\n  allowedSysctls: [\"net.ipv4.ping_*\"]\n  requireNonRoot: true\n";
    let cases: &[(&str, &str)] = &[
        ("defaults under the built-in profile", ""),
        (
            "NET_BIND_SERVICE",
            "  security: { capabilities: { add: [NET_BIND_SERVICE] } }\n",
        ),
        (
            "a read-only non-root agent",
            "  security: { user: \"1000:1000\", readOnlyRootFilesystem: true }\n",
        ),
    ];
    for (name, extra) in cases {
        let o = validate(&[("x.yaml", &x(extra))], None);
        assert_eq!(o.status.code(), Some(0), "{name}: {}", stdout(&o));
    }
    let o = validate(
        &[(
            "x.yaml",
            &x("  security: { user: \"1000\", capabilities: { add: [CHOWN] } }\n  hostNamespaces: { pid: true }\n  devices: [ { hostPath: /dev/null, containerPath: /dev/berth-null } ]\n  sysctls: { net.ipv4.ping_group_range: \"0 0\" }\n"),
        )],
        Some(relaxed),
    );
    assert_exit(&o, 0);
}

#[test]
fn a_policy_among_the_manifests_grants_nothing_and_holds_only_its_file() {
    let o = validate(
        &[
            (
                "a.yaml",
                &format!(
                    "{}---\n{}",
                    policy_doc("  allowPrivileged: true\n"),
                    x("  security: { privileged: true }\n")
                ),
            ),
            ("b.yaml", &x("").replace("name: x", "name: y")),
        ],
        None,
    );
    assert_exit(&o, 1);
    let out = stdout(&o);
    assert!(
        out.contains(
            "a.yaml:2:7: kind: a Policy is read only from the trusted source named by --policy"
        ),
        "{out}"
    );
    assert!(
        out.contains("spec.security.privileged: policy: allowPrivileged:")
            && out.contains("[built-in profile \"restricted\"]"),
        "the Policy beside it granted nothing: {out}"
    );
    assert!(
        !out.contains("b.yaml"),
        "the other file is not affected: {out}"
    );
    assert!(
        stderr(&o).contains("invalid: 2 error(s) in 2 file(s)"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn a_broken_policy_source_admits_nothing() {
    for (name, spec) in [
        (
            "a field that does not compile",
            "  allowedHostPaths: [relative/path]\n",
        ),
        ("an unknown field", "  allowPriviledged: true\n"),
        ("truncated YAML", "  allowedImages: [\"berth-runtime:*\"\n"),
    ] {
        let o = validate(&[("x.yaml", &x(""))], Some(spec));
        assert_exit(&o, 1);
        let out = stdout(&o);
        assert!(
            out.contains("x.yaml:2:7: kind: policy: not admitted: the Policy source --policy ")
                && out.contains("nothing is created, changed or removed until it is fixed"),
            "{name}: {out}"
        );
        assert!(
            out.contains("policy.yaml:"),
            "{name}: the source's own error is shown: {out}"
        );
    }
    let missing = berth(&[
        "validate",
        "--policy",
        "/nonexistent/policy.yaml",
        &repo("examples").display().to_string(),
    ]);
    assert_exit(&missing, 1);
    assert!(
        stdout(&missing)
            .contains("cannot be read (/nonexistent/policy.yaml: no such file or directory)"),
        "{}",
        stdout(&missing)
    );
}

#[test]
fn apply_and_diff_refuse_and_leave_the_running_container_untouched() {
    let inst = Instance::new("pol-apply");
    inst.write("x.yaml", &agent("x", ""));
    assert_exit(&inst.run("apply", &["--wait", "--timeout", "60s"]), 0);
    let before = inst.container("x");

    // The same object now asks for a privileged container; a new one asks for the host pid.
    inst.write("x.yaml", &agent("x", "  security: { privileged: true }\n"));
    inst.write("y.yaml", &agent("y", "  hostNamespaces: { pid: true }\n"));
    let since = now();
    let diff = inst.run("diff", &[]);
    assert_exit(&diff, 2);
    assert!(
        stderr(&diff).contains("x.yaml:8:27: spec.security.privileged: policy: allowPrivileged:"),
        "{}",
        stderr(&diff)
    );
    assert_eq!(stdout(&diff), "= agent/x: kept: its manifest has errors\n");

    let apply = inst.run("apply", &[]);
    assert_exit(&apply, 1);
    assert!(
        stderr(&apply)
            .contains("y.yaml:8:26: spec.hostNamespaces.pid: policy: allowHostNamespaces:"),
        "{}",
        stderr(&apply)
    );
    let until = now() + 0.5;
    std::thread::sleep(std::time::Duration::from_millis(600));
    assert_eq!(
        events_between(&inst.name, since, until),
        Vec::<String>::new(),
        "nothing refused reaches the engine"
    );
    assert_eq!(
        inst.container("x"),
        before,
        "the running container is untouched"
    );
    assert_eq!(
        inst.containers().len(),
        1,
        "the refused new object was not created"
    );
}

#[test]
fn admitted_relaxations_reach_the_engine_as_declared() {
    let inst = Instance::new("pol-relaxed");
    let policy = inst.write_policy("  allowPrivileged: true\n  allowHostNamespaces: [pid, ipc, uts]\n  allowDevices: true\n  allowedHostPaths: [/dev/null]\n  allowedSysctls: [\"net.ipv4.ping_group_range\"]\n");
    inst.write(
        "x.yaml",
        &agent(
            "x",
            "  hostNamespaces: { pid: true, ipc: true, uts: true }\n  devices: [ { hostPath: /dev/null, containerPath: /dev/berth-null, permissions: rw } ]\n  sysctls: { net.ipv4.ping_group_range: \"0 0\" }\n",
        ),
    );
    // Privileged containers cannot start on every engine (a daemon without every
    // capability cannot grant them all): this one is only created, which is enough to see
    // what was sent.
    inst.write(
        "p.yaml",
        &agent("p", "  state: Stopped\n  security: { privileged: true }\n"),
    );
    assert_exit(&inst.run("apply", &["--policy", &policy]), 0);
    let host_config = |id: &str| -> serde_json::Value {
        let o = docker(&["inspect", "--format", "{{json .HostConfig}}", id]);
        serde_json::from_slice(&o.stdout).unwrap()
    };
    assert_eq!(host_config(&inst.container("p").id)["Privileged"], true);
    inst.wait_until("x runs", |cs| {
        cs.iter().any(|c| c.object == "x" && c.running)
    });
    let c = inst.container("x");
    let h = host_config(&c.id);
    assert_eq!(h["Privileged"], false);
    assert_eq!(h["PidMode"], "host");
    assert_eq!(h["IpcMode"], "host");
    assert_eq!(h["UTSMode"], "host");
    assert_eq!(h["Sysctls"]["net.ipv4.ping_group_range"], "0 0");
    assert_eq!(h["Devices"][0]["PathInContainer"], "/dev/berth-null");
    assert_eq!(h["Devices"][0]["CgroupPermissions"], "rw");

    // Tightening the Policy holds the object: the container keeps running as it is.
    inst.write_policy("  allowPrivileged: true\n");
    let apply = inst.run("apply", &["--policy", &policy]);
    assert_exit(&apply, 1);
    assert!(stdout(&apply).contains("= agent/x: kept: its manifest has errors"));
    assert_eq!(inst.container("x"), c);
}

#[test]
fn run_holds_a_refused_object_and_reports_it_as_policy() {
    let inst = Instance::new("pol-run");
    inst.write("x.yaml", &agent("x", ""));
    let d = Daemon::start(&inst, &[]);
    inst.wait_until("x runs", |cs| cs.iter().any(|c| c.running));
    let before = inst.container("x");

    inst.write(
        "x.yaml",
        &agent("x", "  security: { capabilities: { add: [SYS_ADMIN] } }\n"),
    );
    d.wait_object("x held as invalid", "agent", "x", |o| {
        o["phase"] == "Invalid"
    });
    wait_for("the refusal in the log", || {
        let log = d.log_text();
        if log.contains("\"class\":\"policy\"") && log.contains("allowedCapabilities") {
            Ok(())
        } else {
            Err(log)
        }
    });
    assert_eq!(inst.container("x"), before, "untouched");
    let status = d.status();
    assert!(
        status["diagnostics"][0]
            .as_str()
            .unwrap()
            .contains("policy: allowedCapabilities: SYS_ADMIN is not allowed"),
        "{status:#}"
    );

    // Allowed again: converges (a recreate with the new spec).
    inst.write(
        "x.yaml",
        &agent(
            "x",
            "  security: { capabilities: { add: [NET_BIND_SERVICE] } }\n",
        ),
    );
    inst.wait_until("x recreated", |cs| {
        cs.iter().any(|c| c.running && c.id != before.id)
    });
}
