//! The escape matrix: dangerous configurations, each refused by the rule that names it, and
//! legitimate ones, admitted. Every case runs against the built-in `restricted` profile
//! unless it says otherwise.

use std::collections::BTreeMap;

use super::rules::{compile, Policy, Rule};
use super::{admit, Request};
use crate::manifest::types::PolicySpec;
use crate::model::{Device, HostNamespace, Spec};

fn base() -> Spec {
    Spec {
        args: None,
        env: BTreeMap::new(),
        memory_bytes: 512 << 20,
        ..crate::model::sample_spec()
    }
}

/// A Policy compiled from YAML-like JSON.
fn policy(json: serde_json::Value) -> Policy {
    let spec: PolicySpec = serde_json::from_value(json).expect("policy spec");
    compile("test", &spec).expect("compiles")
}

struct Case {
    name: &'static str,
    policy: Policy,
    spec: Spec,
    seccomp: Option<&'static str>,
    host_paths: Vec<(&'static str, &'static str)>,
}

fn case(name: &'static str, f: impl FnOnce(&mut Spec)) -> Case {
    let mut spec = base();
    f(&mut spec);
    Case {
        name,
        policy: Policy::restricted(),
        spec,
        seccomp: None,
        host_paths: Vec::new(),
    }
}

impl Case {
    fn under(mut self, p: Policy) -> Case {
        self.policy = p;
        self
    }
    fn host(mut self, pointer: &'static str, path: &'static str) -> Case {
        self.host_paths.push((pointer, path));
        self
    }
    fn seccomp(mut self, s: &'static str) -> Case {
        self.seccomp = Some(s);
        self
    }
    fn run(&self) -> Vec<(String, Rule)> {
        let req = Request {
            spec: &self.spec,
            seccomp: self.seccomp,
            host_paths: self
                .host_paths
                .iter()
                .map(|(a, b)| (a.to_string(), b.to_string()))
                .collect(),
            ttl: None,
        };
        admit(&self.policy, &req)
            .into_iter()
            .map(|v| (v.pointer, v.rule))
            .collect()
    }
}

fn device(path: &str) -> Device {
    Device {
        host_path: path.into(),
        container_path: path.into(),
        permissions: "rwm".into(),
    }
}

#[test]
fn escape_matrix_every_dangerous_configuration_is_refused() {
    use Rule::*;
    let socket_ok = || policy(serde_json::json!({ "allowedHostPaths": ["/srv/agents"] }));
    let root_ok = || policy(serde_json::json!({ "allowedHostPaths": ["/"] }));
    let strict = || {
        policy(serde_json::json!({
            "allowedImages": ["berth-runtime:1", "registry.internal/agents/*"],
            "requireNonRoot": true,
            "requireReadOnlyRootFilesystem": true,
            "maxResources": { "memory": "1Gi", "cpus": 2, "pids": 512 },
        }))
    };
    let seccomp_dev = "/spec/security/seccompProfile";
    let dev0 = "/spec/devices/0/hostPath";
    let cases: Vec<(Case, Vec<(&str, Rule)>)> = vec![
        (
            case("privileged", |s| s.privileges.privileged = true),
            vec![("/spec/security/privileged", AllowPrivileged)],
        ),
        (
            case("host network", |s| {
                s.privileges.host_namespaces = vec![HostNamespace::Network]
            }),
            vec![("/spec/hostNamespaces/network", AllowHostNamespaces)],
        ),
        (
            case("host pid", |s| {
                s.privileges.host_namespaces = vec![HostNamespace::Pid]
            }),
            vec![("/spec/hostNamespaces/pid", AllowHostNamespaces)],
        ),
        (
            case("host ipc", |s| {
                s.privileges.host_namespaces = vec![HostNamespace::Ipc]
            }),
            vec![("/spec/hostNamespaces/ipc", AllowHostNamespaces)],
        ),
        (
            case("host uts and userns", |s| {
                s.privileges.host_namespaces = vec![HostNamespace::Uts, HostNamespace::User]
            }),
            vec![
                ("/spec/hostNamespaces/user", AllowHostNamespaces),
                ("/spec/hostNamespaces/uts", AllowHostNamespaces),
            ],
        ),
        (
            case("host pid where only network is allowed", |s| {
                s.privileges.host_namespaces = vec![HostNamespace::Pid]
            })
            .under(policy(
                serde_json::json!({ "allowHostNamespaces": ["network"] }),
            )),
            vec![("/spec/hostNamespaces/pid", AllowHostNamespaces)],
        ),
        (
            case("bind of /", |_| {}).host("/spec/hostMounts/0/hostPath", "/"),
            vec![("/spec/hostMounts/0/hostPath", AllowedHostPaths)],
        ),
        (
            case(
                "bind of / where / is allowed still reaches the socket",
                |_| {},
            )
            .under(root_ok())
            .host("/spec/hostMounts/0/hostPath", "/"),
            vec![("/spec/hostMounts/0/hostPath", AllowedHostPaths)],
        ),
        (
            case("bind of /etc", |_| {}).host("/spec/hostMounts/0/hostPath", "/etc/"),
            vec![("/spec/hostMounts/0/hostPath", AllowedHostPaths)],
        ),
        (
            case("docker socket", |_| {})
                .under(root_ok())
                .host("/spec/hostMounts/0/hostPath", "/var/run/docker.sock"),
            vec![("/spec/hostMounts/0/hostPath", AllowedHostPaths)],
        ),
        (
            case("docker socket via /run", |_| {})
                .under(root_ok())
                .host("/spec/hostMounts/0/hostPath", "/run/docker.sock"),
            vec![("/spec/hostMounts/0/hostPath", AllowedHostPaths)],
        ),
        (
            case("docker socket with .. ", |_| {})
                .under(root_ok())
                .host("/spec/hostMounts/0/hostPath", "/var/run/../run/docker.sock"),
            vec![("/spec/hostMounts/0/hostPath", AllowedHostPaths)],
        ),
        (
            case("docker socket with // and trailing /", |_| {})
                .under(root_ok())
                .host("/spec/hostMounts/0/hostPath", "//var//run/./docker.sock/"),
            vec![("/spec/hostMounts/0/hostPath", AllowedHostPaths)],
        ),
        (
            case("the directory holding the socket", |_| {})
                .under(policy(serde_json::json!({ "allowedHostPaths": ["/run"] })))
                .host("/spec/hostMounts/0/hostPath", "/var/run"),
            vec![("/spec/hostMounts/0/hostPath", AllowedHostPaths)],
        ),
        (
            case("/var/run is /run, not under an allowed /var", |_| {})
                .under(policy(serde_json::json!({ "allowedHostPaths": ["/var"] })))
                .host("/spec/hostMounts/0/hostPath", "/var/run/user"),
            vec![("/spec/hostMounts/0/hostPath", AllowedHostPaths)],
        ),
        (
            case("rootless podman socket", |_| {})
                .under(root_ok())
                .host(
                    "/spec/hostMounts/0/hostPath",
                    "/run/user/1000/podman/podman.sock",
                ),
            vec![("/spec/hostMounts/0/hostPath", AllowedHostPaths)],
        ),
        (
            case("the engine's data root", |_| {})
                .under(policy(
                    serde_json::json!({ "allowedHostPaths": ["/var/lib"] }),
                ))
                .host("/spec/hostMounts/0/hostPath", "/var/lib/docker/volumes"),
            vec![("/spec/hostMounts/0/hostPath", AllowedHostPaths)],
        ),
        (
            case("a sibling with a shared prefix", |_| {})
                .under(socket_ok())
                .host("/spec/hostMounts/0/hostPath", "/srv/agents-evil"),
            vec![("/spec/hostMounts/0/hostPath", AllowedHostPaths)],
        ),
        (
            case("climbing out of an allowed prefix", |_| {})
                .under(socket_ok())
                .host("/spec/hostMounts/0/hostPath", "/srv/agents/../../etc"),
            vec![("/spec/hostMounts/0/hostPath", AllowedHostPaths)],
        ),
        (
            case("a relative host path", |_| {})
                .under(socket_ok())
                .host("/spec/hostMounts/0/hostPath", "srv/agents"),
            vec![("/spec/hostMounts/0/hostPath", AllowedHostPaths)],
        ),
        (
            case("cap_add SYS_ADMIN", |s| {
                s.cap_add = vec!["SYS_ADMIN".into()]
            }),
            vec![("/spec/security/capabilities/add", AllowedCapabilities)],
        ),
        (
            case("cap_add ALL", |s| s.cap_add = vec!["ALL".into()]),
            vec![("/spec/security/capabilities/add", AllowedCapabilities)],
        ),
        (
            case("keeping the engine's default capabilities", |s| {
                s.cap_drop = vec!["NET_RAW".into()]
            }),
            vec![("/spec/security/capabilities/drop", AllowedCapabilities)],
        ),
        (
            case("a device", |s| {
                s.privileges.devices = vec![device("/dev/sda")]
            })
            .host(dev0, "/dev/sda"),
            vec![("/spec/devices/0", AllowDevices), (dev0, AllowedHostPaths)],
        ),
        (
            case("a device outside the allowed paths", |s| {
                s.privileges.devices = vec![device("/dev/mem")]
            })
            .under(policy(serde_json::json!({
                "allowDevices": true, "allowedHostPaths": ["/dev/fuse"]
            })))
            .host(dev0, "/dev/mem"),
            vec![(dev0, AllowedHostPaths)],
        ),
        (
            case("seccomp unconfined", |s| {
                s.seccomp_profile = Some("unconfined".into())
            })
            .seccomp("unconfined"),
            vec![(seccomp_dev, AllowedSeccompProfiles)],
        ),
        (
            case("a seccomp file outside the allowed paths", |s| {
                s.seccomp_profile = Some("{}".into())
            })
            .seccomp("/etc/shadow")
            .host(seccomp_dev, "/etc/shadow"),
            vec![(seccomp_dev, AllowedHostPaths)],
        ),
        (
            case("apparmor unconfined", |s| {
                s.privileges.apparmor_profile = Some("unconfined".into())
            }),
            vec![("/spec/security/apparmorProfile", AllowedApparmorProfiles)],
        ),
        (
            case(
                "a named apparmor profile where only default is allowed",
                |s| s.privileges.apparmor_profile = Some("permissive".into()),
            )
            .under(policy(
                serde_json::json!({ "allowedApparmorProfiles": ["default"] }),
            )),
            vec![("/spec/security/apparmorProfile", AllowedApparmorProfiles)],
        ),
        (
            case("user 0 where non-root is required", |s| {
                s.user = Some("0".into())
            })
            .under(strict()),
            vec![
                ("/spec/resources/cpus", MaxResources),
                (
                    "/spec/security/readOnlyRootFilesystem",
                    RequireReadOnlyRootFilesystem,
                ),
                ("/spec/security/user", RequireNonRoot),
            ],
        ),
        (
            case("root by name, and no user at all", |s| {
                s.user = Some("root".into());
                s.read_only_root_filesystem = true;
                s.nano_cpus = Some(1_000_000_000);
            })
            .under(strict()),
            vec![("/spec/security/user", RequireNonRoot)],
        ),
        (
            case("uid 0 with a group", |s| {
                s.user = Some("0:1000".into());
                s.read_only_root_filesystem = true;
                s.nano_cpus = Some(1_000_000_000);
            })
            .under(strict()),
            vec![("/spec/security/user", RequireNonRoot)],
        ),
        (
            case("memory over the cap", |s| {
                s.user = Some("1000".into());
                s.read_only_root_filesystem = true;
                s.nano_cpus = Some(1_000_000_000);
                s.memory_bytes = 2 << 30;
                s.pids_limit = 4096;
            })
            .under(strict()),
            vec![
                ("/spec/resources/memory", MaxResources),
                ("/spec/resources/pids", MaxResources),
            ],
        ),
        (
            case("cpus over the cap", |s| {
                s.user = Some("1000".into());
                s.read_only_root_filesystem = true;
                s.nano_cpus = Some(3_000_000_000);
            })
            .under(strict()),
            vec![("/spec/resources/cpus", MaxResources)],
        ),
        (
            case("a disallowed image", |s| {
                s.image = "alpine:3".into();
                s.user = Some("1000".into());
                s.read_only_root_filesystem = true;
                s.nano_cpus = Some(1_000_000_000);
            })
            .under(strict()),
            vec![("/spec/image", AllowedImages)],
        ),
        (
            case("another tag of an allowed image", |s| {
                s.image = "berth-runtime:2".into();
                s.user = Some("1000".into());
                s.read_only_root_filesystem = true;
                s.nano_cpus = Some(1_000_000_000);
            })
            .under(strict()),
            vec![("/spec/image", AllowedImages)],
        ),
        (
            case("an allowed tag pinned to another digest", |s| {
                s.image = format!("berth-runtime:1@sha256:{}", "e".repeat(64));
                s.user = Some("1000".into());
                s.read_only_root_filesystem = true;
                s.nano_cpus = Some(1_000_000_000);
            })
            .under(strict()),
            vec![("/spec/image", AllowedImages)],
        ),
        (
            case("the same name on another registry", |s| {
                s.image = "registry.evil.com/berth-runtime:1".into();
                s.user = Some("1000".into());
                s.read_only_root_filesystem = true;
                s.nano_cpus = Some(1_000_000_000);
            })
            .under(strict()),
            vec![("/spec/image", AllowedImages)],
        ),
        (
            case("a look-alike registry", |s| {
                s.image = "registry.internal.evil.com/agents/rt:1".into();
                s.user = Some("1000".into());
                s.read_only_root_filesystem = true;
                s.nano_cpus = Some(1_000_000_000);
            })
            .under(strict()),
            vec![("/spec/image", AllowedImages)],
        ),
        (
            case("a sysctl", |s| {
                s.privileges
                    .sysctls
                    .insert("kernel.shm_rmid_forced".into(), "1".into());
            }),
            vec![("/spec/sysctls/kernel.shm_rmid_forced", AllowedSysctls)],
        ),
        (
            case("a sysctl outside the listed pattern", |s| {
                s.privileges
                    .sysctls
                    .insert("net.ipv6.conf.all.forwarding".into(), "1".into());
            })
            .under(policy(
                serde_json::json!({ "allowedSysctls": ["net.ipv4.*"] }),
            )),
            vec![("/spec/sysctls/net.ipv6.conf.all.forwarding", AllowedSysctls)],
        ),
        (
            case("privilege escalation", |s| s.no_new_privileges = false),
            vec![("/spec/security/noNewPrivileges", AllowPrivilegeEscalation)],
        ),
    ];
    assert!(cases.len() >= 15);
    let mut failures = Vec::new();
    for (c, want) in &cases {
        let got = c.run();
        let want: Vec<(String, Rule)> = want.iter().map(|(p, r)| (p.to_string(), *r)).collect();
        if got != want {
            failures.push(format!("{}:\n  want {want:?}\n  got  {got:?}", c.name));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn escape_matrix_legitimate_configurations_are_admitted() {
    let relaxed = policy(serde_json::json!({
        "allowedImages": ["berth-runtime:*", "registry.internal/agents/*"],
        "allowPrivileged": true,
        "allowHostNamespaces": ["network", "pid"],
        "allowedHostPaths": ["/srv/agents", "/dev/fuse", "/var/run/docker.sock", "/etc/berth/seccomp"],
        "allowedCapabilities": ["NET_BIND_SERVICE", "NET_ADMIN"],
        "allowedSeccompProfiles": ["default", "unconfined", "/etc/berth/seccomp/*.json"],
        "allowedApparmorProfiles": ["default", "unconfined"],
        "allowDevices": true,
        "allowedSysctls": ["net.ipv4.ping_group_range", "net.core.*"],
        "maxResources": { "memory": "1Gi", "cpus": 2, "pids": 512 },
        "requireNonRoot": true,
        "requireReadOnlyRootFilesystem": true,
        "allowPrivilegeEscalation": true,
    }));
    let ok = |s: &mut Spec| {
        s.user = Some("1000:1000".into());
        s.read_only_root_filesystem = true;
        s.nano_cpus = Some(500_000_000);
    };
    let cases = vec![
        case("the defaults", |_| {}),
        case("NET_BIND_SERVICE", |s| {
            s.cap_add = vec!["NET_BIND_SERVICE".into()]
        }),
        case("a named AppArmor profile", |s| {
            s.privileges.apparmor_profile = Some("berth-agent".into())
        }),
        case("seccomp default", |_| {}).seccomp("default"),
        case("every relaxation the policy allows", |s| {
            ok(s);
            s.image = "registry.internal/agents/runtime:1.4".into();
            s.privileges.privileged = true;
            s.privileges.host_namespaces = vec![HostNamespace::Network, HostNamespace::Pid];
            s.privileges.devices = vec![device("/dev/fuse")];
            s.privileges
                .sysctls
                .insert("net.core.somaxconn".into(), "1024".into());
            s.privileges.apparmor_profile = Some("unconfined".into());
            s.cap_add = vec!["NET_ADMIN".into()];
            s.no_new_privileges = false;
            s.memory_bytes = 1 << 30;
            s.pids_limit = 512;
        })
        .under(relaxed.clone())
        .host("/spec/devices/0/hostPath", "/dev/fuse")
        .host("/spec/hostMounts/0/hostPath", "/srv/agents/workspace/"),
        case(
            "the socket listed by its exact path, spelt another way",
            |s| ok(s),
        )
        .under(relaxed.clone())
        .host("/spec/hostMounts/0/hostPath", "/run/docker.sock"),
        case("a seccomp file under an allowed path", |s| {
            ok(s);
            s.seccomp_profile = Some("{}".into());
        })
        .under(relaxed.clone())
        .seccomp("/etc/berth/seccomp/agent.json")
        .host(
            "/spec/security/seccompProfile",
            "/etc/berth/seccomp/agent.json",
        ),
        case("an allowed image by its long name", |s| {
            ok(s);
            s.image = "docker.io/library/berth-runtime:2".into();
        })
        .under(relaxed.clone()),
    ];
    for c in &cases {
        assert_eq!(c.run(), vec![], "{} should be admitted", c.name);
    }
}

#[test]
fn messages_say_what_is_asked_and_what_is_allowed() {
    let mut s = base();
    s.cap_add = vec!["NET_ADMIN".into(), "SYS_ADMIN".into()];
    s.privileges.host_namespaces = vec![HostNamespace::Pid];
    let v = admit(
        &Policy::restricted(),
        &Request {
            spec: &s,
            seccomp: None,
            host_paths: vec![("/spec/x".into(), "/var/run/../run/docker.sock".into())],
            ttl: None,
        },
    );
    let text: Vec<String> = v
        .iter()
        .map(|v| format!("{}: {}", v.rule, v.message))
        .collect();
    assert_eq!(
        text,
        [
            "allowHostNamespaces: the host's pid namespace is not allowed (the policy allows none)",
            "allowedCapabilities: NET_ADMIN, SYS_ADMIN are not allowed (allowed: NET_BIND_SERVICE)",
            "allowedHostPaths: host path \"/var/run/../run/docker.sock\" contains '..', which can resolve outside any allowed prefix through a symlink; write the path without it",
        ]
    );
}

#[test]
fn a_policy_document_starts_from_the_restricted_profile() {
    let p = policy(serde_json::json!({ "allowedImages": ["berth-runtime:*"] }));
    let r = Policy::restricted();
    assert!(!p.builtin);
    assert_eq!(p.capabilities, r.capabilities);
    assert_eq!(p.host_paths, r.host_paths);
    assert!(!p.allow_privileged && !p.allow_devices && !p.allow_privilege_escalation);
    assert_eq!(p.images.len(), 1);
}

#[test]
fn policy_fields_that_do_not_compile_are_each_reported() {
    let spec: PolicySpec = serde_json::from_value(serde_json::json!({
        "allowedImages": ["Bad Image"],
        "allowedHostPaths": ["relative", "/ok", "/a/../b"],
        "allowedCapabilities": ["SYS_ADMINN"],
        "allowedSysctls": ["net/ipv4/ip_forward"],
        "maxResources": { "memory": "1m" },
    }))
    .unwrap();
    let errs = compile("p", &spec).unwrap_err();
    let pointers: Vec<&str> = errs.iter().map(|(p, _)| p.as_str()).collect();
    assert_eq!(
        pointers,
        [
            "/spec/allowedImages/0",
            "/spec/allowedHostPaths/0",
            "/spec/allowedHostPaths/2",
            "/spec/allowedCapabilities/0",
            "/spec/allowedSysctls/0",
            "/spec/maxResources/memory",
        ]
    );
}
