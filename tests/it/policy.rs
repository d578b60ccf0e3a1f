//! Policy admission through the command line: the escape matrix read from real YAML (with
//! file, line and field), refusals that leave running containers alone in `apply`, `diff`
//! and `run`, and admitted relaxations that reach the engine as declared.

use crate::util::*;

/// Writes `files` into a fresh directory and runs `berth validate` on it.
fn validate(files: &[(&str, &str)]) -> std::process::Output {
    let dir = tempfile::tempdir().unwrap();
    for (name, text) in files {
        std::fs::write(dir.path().join(name), text).unwrap();
    }
    berth(&["validate", &dir.path().display().to_string()])
}

fn policy_doc(spec: &str) -> String {
    format!("apiVersion: berth/v1\nkind: Policy\nmetadata: {{ name: p }}\nspec:\n{spec}")
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
        ("the socket with // and a trailing /", ROOT_DEVICES, "  devices: [ { hostPath: \"//run//docker.sock/\" } ]\n", "reaches the container engine (/run/docker.sock)"),
        ("/etc as a device path", "  allowDevices: true\n  allowedHostPaths: [/dev]\n", "  devices: [ { hostPath: /etc/ } ]\n", "spec.devices[0].hostPath: policy: allowedHostPaths: host path /etc/ (that is /etc) is not under an allowed prefix (allowed: /dev)"),
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
        let mut files = vec![("x.yaml", x(extra))];
        if !policy.is_empty() {
            files.push(("policy.yaml", policy_doc(policy)));
        }
        let mut files: Vec<(&str, &str)> = files.iter().map(|(n, t)| (*n, t.as_str())).collect();
        // "another tag": the image differs, the rest is fine.
        let retagged;
        if *name == "another tag" {
            retagged = files[0].1.replace("berth-runtime:1", "berth-runtime:2");
            files[0].1 = &retagged;
        }
        let o = validate(&files);
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
    let relaxed = policy_doc(
        "  allowedImages: [\"berth-runtime:*\"]\n  allowHostNamespaces: [pid]\n  allowDevices: true\n  allowedHostPaths: [/dev/null]\n  allowedCapabilities: [NET_BIND_SERVICE, CHOWN]\n  allowedSysctls: [\"net.ipv4.ping_*\"]\n  requireNonRoot: true\n",
    );
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
        let o = validate(&[("x.yaml", &x(extra))]);
        assert_eq!(o.status.code(), Some(0), "{name}: {}", stdout(&o));
    }
    let o = validate(&[
        ("policy.yaml", &relaxed),
        (
            "x.yaml",
            &x("  security: { user: \"1000\", capabilities: { add: [CHOWN] } }\n  hostNamespaces: { pid: true }\n  devices: [ { hostPath: /dev/null, containerPath: /dev/berth-null } ]\n  sysctls: { net.ipv4.ping_group_range: \"0 0\" }\n"),
        ),
    ]);
    assert_exit(&o, 0);
}

#[test]
fn two_policies_or_a_broken_one_admit_nothing() {
    let two = validate(&[
        ("a.yaml", &policy_doc("  allowPrivileged: false\n")),
        (
            "b.yaml",
            &policy_doc("  allowPrivileged: true\n").replace("name: p", "name: q"),
        ),
        ("x.yaml", &x("")),
    ]);
    assert_exit(&two, 1);
    let out = stdout(&two);
    assert!(
        out.contains("b.yaml:3:19: metadata.name: a second Policy: an instance has at most one"),
        "{out}"
    );
    assert!(
        out.contains("x.yaml:2:7: kind: policy: not admitted: 2 Policy documents are declared"),
        "{out}"
    );

    let broken = validate(&[
        (
            "a.yaml",
            &policy_doc("  allowedHostPaths: [relative/path]\n"),
        ),
        ("x.yaml", &x("")),
    ]);
    assert_exit(&broken, 1);
    let out = stdout(&broken);
    assert!(
        out.contains(
            "a.yaml:5:22: spec.allowedHostPaths[0]: \"relative/path\" is not an absolute path"
        ),
        "{out}"
    );
    assert!(
        out.contains("x.yaml:2:7: kind: policy: not admitted: Policy \"p\""),
        "{out}"
    );

    let unparsable = validate(&[
        (
            "a.yaml",
            "apiVersion: berth/v1\nkind: Policy\nmetadata: { name: p\n",
        ),
        ("x.yaml", &x("")),
    ]);
    assert_exit(&unparsable, 1);
    assert!(
        stdout(&unparsable).contains("a.yaml could not be parsed and may hold the Policy"),
        "{}",
        stdout(&unparsable)
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
    inst.write(
        "policy.yaml",
        &policy_doc("  allowPrivileged: true\n  allowHostNamespaces: [pid, ipc, uts]\n  allowDevices: true\n  allowedHostPaths: [/dev/null]\n  allowedSysctls: [\"net.ipv4.ping_group_range\"]\n"),
    );
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
    assert_exit(&inst.run("apply", &[]), 0);
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
    inst.write("policy.yaml", &policy_doc("  allowPrivileged: true\n"));
    let apply = inst.run("apply", &[]);
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
