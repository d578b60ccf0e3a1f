//! The CIS Docker Benchmark 1.6, section 5 (container runtime), against a container berth
//! creates from a manifest that says nothing about security: every item berth is
//! responsible for, one assertion each, named after the item, so a regression names what it
//! breaks. Items about the host, the image or how people use the CLI (5.1 swarm, 5.3
//! SELinux, 5.7 sshd, 5.19 ulimits, 5.23/5.24 exec, 5.28 image versions, 5.30 docker0) are
//! outside what a container's configuration decides; docs/security.md says which is which.

use serde_json::Value;

use crate::util::*;

/// `docker inspect` of one container, as JSON.
fn inspect_json(id: &str) -> Value {
    let o = docker(&["inspect", id]);
    assert!(o.status.success(), "{}", stderr(&o));
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    v[0].clone()
}

/// Whether the engine's host confines containers with AppArmor.
fn host_has_apparmor() -> bool {
    let o = docker(&["info", "--format", "{{json .SecurityOptions}}"]);
    stdout(&o).contains("apparmor")
}

#[test]
fn a_default_container_passes_the_cis_section_5_items_berth_controls() {
    let inst = Instance::new("cis");
    // Nothing about security: image, command, and (for 5.27) a health check.
    inst.write(
        "a.yaml",
        &format!(
            "apiVersion: berth/v1\nkind: Agent\nmetadata: {{ name: plain }}\nspec:\n  image: {IMAGE}\n  command: [sh, -c, 'echo ok > /tmp/written && exec sleep 3600']\n  stopGracePeriod: 1s\n  health: {{ exec: [test, -f, /tmp/written], interval: 1s }}\n"
        ),
    );
    let apply = inst.run("apply", &["--wait", "--timeout", "60s"]);
    assert_exit(&apply, 0);
    let c = inst.container("plain");
    let i = inspect_json(&c.id);
    let h = &i["HostConfig"];
    let sec_opts: Vec<String> = h["SecurityOpt"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default();
    let mounts = i["Mounts"].as_array().cloned().unwrap_or_default();
    let mut failed: Vec<String> = Vec::new();
    let mut item = |id: &str, ok: bool, seen: String| {
        if !ok {
            failed.push(format!("CIS {id}: {seen}"));
        }
    };

    let apparmor = i["AppArmorProfile"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    if host_has_apparmor() {
        item(
            "5.2 AppArmor profile enabled",
            !apparmor.is_empty() && apparmor != "unconfined",
            format!("AppArmorProfile={apparmor:?}"),
        );
    } else {
        // Through the test socket proxy (no INFO=1) berth cannot tell, and says that.
        let want = if std::env::var_os("BERTH_TEST_DOCKER_HOST").is_some() {
            "unknown: the engine does not answer GET /info"
        } else {
            "this host has no AppArmor"
        };
        let doctor = inst.berth("doctor", &[]);
        item(
            "5.2 AppArmor (host without AppArmor: doctor says so)",
            stdout(&doctor).contains(want),
            stdout(&doctor),
        );
    }
    item(
        "5.4 capabilities restricted",
        h["CapDrop"] == serde_json::json!(["ALL"])
            && h["CapAdd"].as_array().is_none_or(|a| a.is_empty()),
        format!("CapDrop={} CapAdd={}", h["CapDrop"], h["CapAdd"]),
    );
    item(
        "5.5 not privileged",
        h["Privileged"] == false,
        format!("Privileged={}", h["Privileged"]),
    );
    item(
        "5.6 no sensitive host directories mounted",
        mounts.iter().all(|m| m["Type"] != "bind"),
        format!("Mounts={mounts:?}"),
    );
    item(
        "5.8 no privileged ports mapped",
        h["PortBindings"].as_object().is_none_or(|p| p.is_empty()),
        format!("PortBindings={}", h["PortBindings"]),
    );
    item(
        "5.9 only needed ports open",
        i["NetworkSettings"]["Ports"]
            .as_object()
            .is_none_or(|p| p.is_empty()),
        format!("Ports={}", i["NetworkSettings"]["Ports"]),
    );
    item(
        "5.10 host network not shared",
        h["NetworkMode"] != "host",
        format!("NetworkMode={}", h["NetworkMode"]),
    );
    item(
        "5.11 memory limited",
        h["Memory"].as_i64().is_some_and(|m| m > 0),
        format!("Memory={}", h["Memory"]),
    );
    let shares = h["CpuShares"].as_i64().unwrap_or(0);
    item(
        "5.12 CPU priority set",
        shares != 0 && shares != 1024 && h["NanoCpus"].as_i64().is_some_and(|n| n > 0),
        format!("CpuShares={shares} NanoCpus={}", h["NanoCpus"]),
    );
    item(
        "5.13 root filesystem read-only",
        h["ReadonlyRootfs"] == true,
        format!("ReadonlyRootfs={}", h["ReadonlyRootfs"]),
    );
    item(
        "5.14 traffic bound to a specific interface (nothing published)",
        h["PortBindings"].as_object().is_none_or(|p| p.is_empty()),
        format!("PortBindings={}", h["PortBindings"]),
    );
    let restart = &h["RestartPolicy"];
    item(
        "5.15 restart policy bounded",
        restart["Name"] == "no"
            || (restart["Name"] == "on-failure"
                && restart["MaximumRetryCount"]
                    .as_i64()
                    .is_some_and(|n| n <= 5)),
        format!("RestartPolicy={restart}"),
    );
    item(
        "5.16 host PID namespace not shared",
        h["PidMode"] != "host",
        format!("PidMode={}", h["PidMode"]),
    );
    item(
        "5.17 host IPC namespace not shared",
        h["IpcMode"] != "host",
        format!("IpcMode={}", h["IpcMode"]),
    );
    item(
        "5.18 no host devices",
        h["Devices"].as_array().is_none_or(|d| d.is_empty()),
        format!("Devices={}", h["Devices"]),
    );
    item(
        "5.20 mount propagation not shared",
        mounts
            .iter()
            .all(|m| !m["Propagation"].as_str().unwrap_or("").contains("shared")),
        format!("Mounts={mounts:?}"),
    );
    item(
        "5.21 host UTS namespace not shared",
        h["UTSMode"] != "host",
        format!("UTSMode={}", h["UTSMode"]),
    );
    item(
        "5.22 default seccomp profile not disabled",
        !sec_opts
            .iter()
            .any(|o| o == "seccomp=unconfined" || o == "seccomp:unconfined"),
        format!("SecurityOpt={sec_opts:?}"),
    );
    item(
        "5.25 cgroup usage confirmed (default parent)",
        h["CgroupParent"].as_str().unwrap_or("").is_empty(),
        format!("CgroupParent={}", h["CgroupParent"]),
    );
    item(
        "5.26 no additional privileges",
        sec_opts
            .iter()
            .any(|o| o == "no-new-privileges:true" || o == "no-new-privileges"),
        format!("SecurityOpt={sec_opts:?}"),
    );
    item(
        "5.27 health checked at runtime",
        i["State"]["Health"]["Status"].as_str().is_some(),
        format!("State.Health={}", i["State"]["Health"]),
    );
    item(
        "5.29 PIDs cgroup limit used",
        h["PidsLimit"].as_i64().is_some_and(|n| n > 0),
        format!("PidsLimit={}", h["PidsLimit"]),
    );
    item(
        "5.31 host user namespace not shared",
        h["UsernsMode"] != "host",
        format!("UsernsMode={}", h["UsernsMode"]),
    );
    item(
        "5.32 engine socket not mounted",
        mounts
            .iter()
            .all(|m| !m["Source"].as_str().unwrap_or("").contains("docker.sock")),
        format!("Mounts={mounts:?}"),
    );
    assert!(failed.is_empty(), "{}", failed.join("\n"));

    // What real images need keeps working: /tmp is a writable tmpfs, the root is not.
    let tmp = h["Tmpfs"]["/tmp"].as_str().unwrap_or_default().to_string();
    assert!(
        tmp.contains("size="),
        "a sized tmpfs at /tmp: {}",
        h["Tmpfs"]
    );
    let write_root = docker(&["exec", &c.id, "sh", "-c", "echo x > /x"]);
    assert!(
        !write_root.status.success(),
        "the root filesystem is read-only"
    );
    let write_tmp = docker(&["exec", &c.id, "sh", "-c", "echo x > /tmp/x"]);
    assert!(write_tmp.status.success(), "{}", stderr(&write_tmp));
}

#[test]
fn relaxing_the_defaults_is_explicit_and_a_policy_can_forbid_it() {
    let inst = Instance::new("cis-optout");
    inst.write(
        "a.yaml",
        &agent(
            "w",
            "  security: { readOnlyRootFilesystem: false }\n  resources: { cpus: 2 }\n",
        ),
    );
    let strict = inst.write_policy("  requireReadOnlyRootFilesystem: true\n");
    let refused = inst.run("validate", &["--policy", &strict]);
    assert_exit(&refused, 1);
    assert!(
        stdout(&refused).contains(
            "spec.security.readOnlyRootFilesystem: policy: requireReadOnlyRootFilesystem"
        ),
        "{}",
        stdout(&refused)
    );
    assert_exit(&inst.run("apply", &["--wait", "--timeout", "60s"]), 0);
    let h = inspect_json(&inst.container("w").id)["HostConfig"].clone();
    assert_eq!(h["ReadonlyRootfs"], false);
    assert!(
        h["Tmpfs"].as_object().is_none_or(|t| t.is_empty()),
        "no /tmp added to a writable root: {}",
        h["Tmpfs"]
    );
    assert_eq!(h["NanoCpus"], 2_000_000_000i64);
    assert_eq!(h["CpuShares"], 2000);
}
