//! The escape matrix: dangerous configurations, each refused by the rule that names it, and
//! legitimate ones, admitted. One row per case, in four tables: whole container specs, host
//! paths, images, seccomp profiles by content.

use std::collections::BTreeMap;
use std::time::Duration;

use super::rules::{Policy, Rule};
use super::{admit, check_host_paths, check_seccomp_content, Request};
use crate::model::{Device, HostNamespace, Spec};
use Rule::*;

pub(crate) mod policies;
use policies::*;

fn base() -> Spec {
    Spec {
        args: None,
        env: BTreeMap::new(),
        memory_bytes: 512 << 20,
        nano_cpus: Some(1_000_000_000),
        read_only_root_filesystem: true,
        ..crate::model::sample_spec()
    }
}

/// What a strict or relaxed policy needs besides the case's own change.
fn fine(s: &mut Spec) {
    s.user = Some("1000:1000".into());
    s.read_only_root_filesystem = true;
    s.nano_cpus = Some(500_000_000);
}

fn device(s: &mut Spec, path: &str) {
    s.privileges.devices.push(Device {
        host_path: path.into(),
        container_path: path.into(),
        permissions: "rwm".into(),
    });
}

/// (case, policy, change to the spec, host paths (pointer, path), seccomp as written, ttl
/// in seconds, the rules that refuse it at their pointers; empty: admitted).
type Row = (
    &'static str,
    fn() -> Policy,
    fn(&mut Spec),
    &'static [(&'static str, &'static str)],
    Option<&'static str>,
    Option<u64>,
    &'static [(&'static str, Rule)],
);

const DEV0: &str = "/spec/devices/0/hostPath";
const MNT0: &str = "/spec/hostMounts/0/hostPath";
const SECCOMP: &str = "/spec/security/seccompProfile";

#[rustfmt::skip]
const SPECS: &[Row] = &[
    ("the defaults", restricted, |_| {}, &[], None, None, &[]),
    ("privileged", restricted, |s| s.privileges.privileged = true, &[], None, None, &[("/spec/security/privileged", AllowPrivileged)]),
    ("privileged under a strict policy", strict, |s| { fine(s); s.privileges.privileged = true }, &[], None, None, &[("/spec/security/privileged", AllowPrivileged)]),
    ("host network", restricted, |s| s.privileges.host_namespaces = vec![HostNamespace::Network], &[], None, None, &[("/spec/hostNamespaces/network", AllowHostNamespaces)]),
    ("host pid", restricted, |s| s.privileges.host_namespaces = vec![HostNamespace::Pid], &[], None, None, &[("/spec/hostNamespaces/pid", AllowHostNamespaces)]),
    ("host ipc", restricted, |s| s.privileges.host_namespaces = vec![HostNamespace::Ipc], &[], None, None, &[("/spec/hostNamespaces/ipc", AllowHostNamespaces)]),
    ("host uts and userns", restricted, |s| s.privileges.host_namespaces = vec![HostNamespace::Uts, HostNamespace::User], &[], None, None, &[("/spec/hostNamespaces/user", AllowHostNamespaces), ("/spec/hostNamespaces/uts", AllowHostNamespaces)]),
    ("host pid where only network is allowed", ns_network, |s| s.privileges.host_namespaces = vec![HostNamespace::Pid], &[], None, None, &[("/spec/hostNamespaces/pid", AllowHostNamespaces)]),
    ("host network where it is allowed", ns_network, |s| s.privileges.host_namespaces = vec![HostNamespace::Network], &[], None, None, &[]),
    ("cap_add SYS_ADMIN", restricted, |s| s.cap_add = vec!["SYS_ADMIN".into()], &[], None, None, &[("/spec/security/capabilities/add", AllowedCapabilities)]),
    ("cap_add SYS_PTRACE", restricted, |s| s.cap_add = vec!["SYS_PTRACE".into()], &[], None, None, &[("/spec/security/capabilities/add", AllowedCapabilities)]),
    ("cap_add SYS_MODULE", restricted, |s| s.cap_add = vec!["SYS_MODULE".into()], &[], None, None, &[("/spec/security/capabilities/add", AllowedCapabilities)]),
    ("cap_add DAC_READ_SEARCH", restricted, |s| s.cap_add = vec!["DAC_READ_SEARCH".into()], &[], None, None, &[("/spec/security/capabilities/add", AllowedCapabilities)]),
    ("cap_add BPF", restricted, |s| s.cap_add = vec!["BPF".into()], &[], None, None, &[("/spec/security/capabilities/add", AllowedCapabilities)]),
    ("cap_add NET_RAW", restricted, |s| s.cap_add = vec!["NET_RAW".into()], &[], None, None, &[("/spec/security/capabilities/add", AllowedCapabilities)]),
    ("cap_add ALL", restricted, |s| s.cap_add = vec!["ALL".into()], &[], None, None, &[("/spec/security/capabilities/add", AllowedCapabilities)]),
    ("cap_add NET_BIND_SERVICE", restricted, |s| s.cap_add = vec!["NET_BIND_SERVICE".into()], &[], None, None, &[]),
    ("cap_add NET_ADMIN where it is allowed", relaxed, |s| { fine(s); s.cap_add = vec!["NET_ADMIN".into()] }, &[], None, None, &[]),
    ("keeping the engine's default capabilities", restricted, |s| s.cap_drop = vec!["NET_RAW".into()], &[], None, None, &[("/spec/security/capabilities/drop", AllowedCapabilities)]),
    ("dropping nothing at all", restricted, |s| s.cap_drop = vec![], &[], None, None, &[("/spec/security/capabilities/drop", AllowedCapabilities)]),
    ("a device", restricted, |s| device(s, "/dev/sda"), &[(DEV0, "/dev/sda")], None, None, &[("/spec/devices/0", AllowDevices), (DEV0, AllowedHostPaths)]),
    ("/dev/mem where only fuse is allowed", relaxed, |s| { fine(s); device(s, "/dev/mem") }, &[(DEV0, "/dev/mem")], None, None, &[(DEV0, AllowedHostPaths)]),
    ("/dev/fuse where it is allowed", relaxed, |s| { fine(s); device(s, "/dev/fuse") }, &[(DEV0, "/dev/fuse")], None, None, &[]),
    ("a device through /dev/fd (the host's file descriptors)", root_ok, |s| device(s, "/dev/fd/3"), &[(DEV0, "/dev/fd/3")], None, None, &[(DEV0, AllowedHostPaths)]),
    ("/proc/kcore as a device", root_ok, |s| device(s, "/proc/kcore"), &[(DEV0, "/proc/kcore")], None, None, &[(DEV0, AllowedHostPaths)]),
    ("/dev/core, which is /proc/kcore", root_ok, |s| device(s, "/dev/core"), &[(DEV0, "/dev/core")], None, None, &[(DEV0, AllowedHostPaths)]),
    ("seccomp unconfined", restricted, |s| s.seccomp_profile = Some("unconfined".into()), &[], Some("unconfined"), None, &[(SECCOMP, AllowedSeccompProfiles)]),
    ("seccomp unconfined where it is listed", unconfined_ok, |s| s.seccomp_profile = Some("unconfined".into()), &[], Some("unconfined"), None, &[]),
    ("a seccomp file outside the allowed paths", restricted, |s| s.seccomp_profile = Some("{}".into()), &[(SECCOMP, "/etc/shadow")], Some("/etc/shadow"), None, &[(SECCOMP, AllowedHostPaths)]),
    ("a seccomp file in /proc", root_ok, |s| s.seccomp_profile = Some("{}".into()), &[(SECCOMP, "/proc/self/environ")], Some("/proc/self/environ"), None, &[(SECCOMP, AllowedHostPaths)]),
    ("a seccomp file outside the allowed pattern", relaxed, |s| { fine(s); s.seccomp_profile = Some("{}".into()) }, &[(SECCOMP, "/etc/berth/seccomp/x.txt")], Some("/etc/berth/seccomp/x.txt"), None, &[(SECCOMP, AllowedSeccompProfiles)]),
    ("a seccomp file under an allowed path", relaxed, |s| { fine(s); s.seccomp_profile = Some("{}".into()) }, &[(SECCOMP, "/etc/berth/seccomp/agent.json")], Some("/etc/berth/seccomp/agent.json"), None, &[]),
    ("seccomp default", restricted, |_| {}, &[], Some("default"), None, &[]),
    ("apparmor unconfined", restricted, |s| s.privileges.apparmor_profile = Some("unconfined".into()), &[], None, None, &[("/spec/security/apparmorProfile", AllowedApparmorProfiles)]),
    ("apparmor unconfined where it is listed", unconfined_ok, |s| s.privileges.apparmor_profile = Some("unconfined".into()), &[], None, None, &[]),
    ("a named apparmor profile where only default is allowed", apparmor_default, |s| s.privileges.apparmor_profile = Some("permissive".into()), &[], None, None, &[("/spec/security/apparmorProfile", AllowedApparmorProfiles)]),
    ("a named apparmor profile", restricted, |s| s.privileges.apparmor_profile = Some("berth-agent".into()), &[], None, None, &[]),
    ("a sysctl", restricted, |s| { s.privileges.sysctls.insert("kernel.shm_rmid_forced".into(), "1".into()); }, &[], None, None, &[("/spec/sysctls/kernel.shm_rmid_forced", AllowedSysctls)]),
    ("a sysctl outside the listed pattern", sysctl_v4, |s| { s.privileges.sysctls.insert("net.ipv6.conf.all.forwarding".into(), "1".into()); }, &[], None, None, &[("/spec/sysctls/net.ipv6.conf.all.forwarding", AllowedSysctls)]),
    ("a sysctl inside the listed pattern", sysctl_v4, |s| { s.privileges.sysctls.insert("net.ipv4.ip_forward".into(), "1".into()); }, &[], None, None, &[]),
    ("privilege escalation", restricted, |s| s.no_new_privileges = false, &[], None, None, &[("/spec/security/noNewPrivileges", AllowPrivilegeEscalation)]),
    ("privilege escalation where it is allowed", relaxed, |s| { fine(s); s.no_new_privileges = false }, &[], None, None, &[]),
    ("user 0 where non-root is required", strict, |s| { fine(s); s.user = Some("0".into()) }, &[], None, None, &[("/spec/security/user", RequireNonRoot)]),
    ("root by name", strict, |s| { fine(s); s.user = Some("root".into()) }, &[], None, None, &[("/spec/security/user", RequireNonRoot)]),
    ("uid 0 with a group", strict, |s| { fine(s); s.user = Some("0:1000".into()) }, &[], None, None, &[("/spec/security/user", RequireNonRoot)]),
    ("no user where non-root is required", strict, |s| { fine(s); s.user = None }, &[], None, None, &[("/spec/security/user", RequireNonRoot)]),
    ("a writable root where read-only is required", strict, |s| { fine(s); s.read_only_root_filesystem = false }, &[], None, None, &[("/spec/security/readOnlyRootFilesystem", RequireReadOnlyRootFilesystem)]),
    ("no CPU limit under a cpus cap", strict, |s| { fine(s); s.nano_cpus = None }, &[], None, None, &[("/spec/resources/cpus", MaxResources)]),
    ("cpus over the cap", strict, |s| { fine(s); s.nano_cpus = Some(3_000_000_000) }, &[], None, None, &[("/spec/resources/cpus", MaxResources)]),
    ("memory and pids over the cap", strict, |s| { fine(s); s.memory_bytes = 2 << 30; s.pids_limit = 4096 }, &[], None, None, &[("/spec/resources/memory", MaxResources), ("/spec/resources/pids", MaxResources)]),
    ("memory over the built-in cap", restricted, |s| s.memory_bytes = 64 << 30, &[], None, None, &[("/spec/resources/memory", MaxResources)]),
    ("8Ei of memory, which is no limit", restricted, |s| s.memory_bytes = 8 << 60, &[], None, None, &[("/spec/resources/memory", MaxResources)]),
    ("memory at the built-in cap", restricted, |s| s.memory_bytes = 16 << 30, &[], None, None, &[]),
    ("a ttl over the built-in maximum", restricted, |_| {}, &[], None, Some(31 * 86_400), &[("/spec/ttl", MaxTtl)]),
    ("a ttl over the policy's maximum", strict, |s| fine(s), &[], None, Some(9 * 3600), &[("/spec/ttl", MaxTtl)]),
    ("a ttl within the maximum", strict, |s| fine(s), &[], None, Some(2 * 3600), &[]),
    ("a long stop grace period", restricted, |s| s.stop_grace_period_secs = 3600, &[], None, None, &[("/spec/stopGracePeriod", MaxStopGracePeriod)]),
    ("a stop grace period over the policy's maximum", strict, |s| { fine(s); s.stop_grace_period_secs = 60 }, &[], None, None, &[("/spec/stopGracePeriod", MaxStopGracePeriod)]),
    ("a disallowed image", strict, |s| { fine(s); s.image = "alpine:3".into() }, &[], None, None, &[("/spec/image", AllowedImages)]),
    ("another tag of an allowed image", strict, |s| { fine(s); s.image = "berth-runtime:2".into() }, &[], None, None, &[("/spec/image", AllowedImages)]),
    ("an image by its short ID", strict, |s| { fine(s); s.image = "7373cfcf642b".into() }, &[], None, None, &[("/spec/image", AllowedImages)]),
    ("an image by its full ID", strict, |s| { fine(s); s.image = format!("sha256:{}", "a".repeat(64)) }, &[], None, None, &[("/spec/image", AllowedImages)]),
    ("every relaxation the policy allows", relaxed, |s| {
        fine(s);
        s.image = "registry.internal/agents/runtime:1.4".into();
        s.privileges.privileged = true;
        s.privileges.host_namespaces = vec![HostNamespace::Network, HostNamespace::Pid];
        device(s, "/dev/fuse");
        s.privileges.sysctls.insert("net.core.somaxconn".into(), "1024".into());
        s.privileges.apparmor_profile = Some("unconfined".into());
        s.cap_add = vec!["NET_ADMIN".into()];
        s.no_new_privileges = false;
        s.memory_bytes = 1 << 30;
        s.pids_limit = 512;
    }, &[(DEV0, "/dev/fuse"), (MNT0, "/srv/agents/workspace/")], None, None, &[]),
];

#[test]
fn escape_matrix_whole_specs() {
    let mut failures = Vec::new();
    for (name, p, change, paths, seccomp, ttl, want) in SPECS {
        let mut spec = base();
        change(&mut spec);
        let req = Request {
            spec: &spec,
            seccomp: *seccomp,
            host_paths: paths
                .iter()
                .map(|(a, b)| (a.to_string(), b.to_string()))
                .collect(),
            ttl: ttl.map(Duration::from_secs),
        };
        let got: Vec<(String, Rule)> = admit(&p(), &req)
            .into_iter()
            .map(|v| (v.pointer, v.rule))
            .collect();
        let want: Vec<(String, Rule)> = want.iter().map(|(p, r)| (p.to_string(), *r)).collect();
        if got != want {
            failures.push(format!("{name}:\n  want {want:?}\n  got  {got:?}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// (host path as written, policy, `None` admitted or the start of the refusal).
type PathRow = (&'static str, fn() -> Policy, Option<&'static str>);

#[rustfmt::skip]
const HOST_PATHS: &[PathRow] = &[
    // The kernel's views of the host: never, whatever the prefix.
    ("/", root_ok, Some("host path / reaches the host's processes and kernel (/proc) and the host's kernel and devices (/sys)")),
    ("/proc", root_ok, Some("host path /proc reaches the host's processes")),
    ("/proc/", root_ok, Some("host path /proc/ (that is /proc) reaches the host's processes")),
    ("/proc/1/root", root_ok, Some("host path /proc/1/root reaches the host's processes")),
    ("/proc/self/root", root_ok, Some("host path /proc/self/root reaches")),
    ("/proc/self/fd/3", root_ok, Some("host path /proc/self/fd/3 reaches")),
    ("/proc/self/cwd", root_ok, Some("host path /proc/self/cwd reaches")),
    ("/proc/sys/kernel", root_ok, Some("host path /proc/sys/kernel reaches")),
    ("/proc/kcore", root_ok, Some("host path /proc/kcore reaches")),
    ("//proc//1/./root/", root_ok, Some("host path //proc//1/./root/ (that is /proc/1/root) reaches")),
    ("/dev/fd", root_ok, Some("host path /dev/fd (that is /proc/self/fd) reaches")),
    ("/dev/fd/4", root_ok, Some("host path /dev/fd/4 (that is /proc/self/fd/4) reaches")),
    ("/dev/stdin", root_ok, Some("host path /dev/stdin (that is /proc/self/fd/0) reaches")),
    ("/dev/stdout", root_ok, Some("host path /dev/stdout (that is /proc/self/fd/1) reaches")),
    ("/dev/stderr", root_ok, Some("host path /dev/stderr (that is /proc/self/fd/2) reaches")),
    ("/dev/core", root_ok, Some("host path /dev/core (that is /proc/kcore) reaches")),
    ("/sys", root_ok, Some("host path /sys reaches the host's kernel and devices")),
    ("/sys/fs/cgroup", root_ok, Some("host path /sys/fs/cgroup reaches")),
    ("/sys/kernel/security", root_ok, Some("host path /sys/kernel/security reaches")),
    ("/sys/firmware", root_ok, Some("host path /sys/firmware reaches")),
    // Docker.
    ("/var/run/docker.sock", root_ok, Some("host path /var/run/docker.sock (that is /run/docker.sock) reaches the container engine (Docker's socket")),
    ("/run/docker.sock", root_ok, Some("host path /run/docker.sock reaches the container engine")),
    ("//var//run/./docker.sock/", root_ok, Some("host path //var//run/./docker.sock/ (that is /run/docker.sock) reaches the container engine")),
    ("/run//docker.sock", root_ok, Some("reaches the container engine")),
    ("/run/./docker.sock", root_ok, Some("reaches the container engine")),
    ("/var/run/../run/docker.sock", root_ok, Some("host path \"/var/run/../run/docker.sock\" contains '..'")),
    ("/run", run_ok, Some("host path /run reaches the container engine")),
    ("/var/run", run_ok, Some("host path /var/run (that is /run) reaches the container engine")),
    ("/var/run/", run_ok, Some("reaches the container engine")),
    ("/run/docker", run_ok, Some("host path /run/docker reaches the container engine (Docker's state")),
    ("/run/docker/containerd/containerd.sock", run_ok, Some("reaches the container engine (Docker's state")),
    ("/var/run/docker/containerd", run_ok, Some("reaches the container engine")),
    ("/run/docker/plugins", run_ok, Some("reaches the container engine")),
    ("/var/lib/docker", run_ok, Some("host path /var/lib/docker reaches the container engine (Docker's data root")),
    ("/var/lib/docker/volumes/x/_data", run_ok, Some("reaches the container engine")),
    ("/var/lib/docker/overlay2", run_ok, Some("reaches the container engine")),
    ("/var/lib", run_ok, Some("host path /var/lib reaches the container engine")),
    ("/var", root_ok, Some("host path /var reaches the container engine")),
    ("/etc/docker", run_ok, Some("reaches the container engine (Docker's configuration")),
    ("/etc/docker/daemon.json", run_ok, Some("reaches the container engine")),
    ("/etc", run_ok, Some("host path /etc reaches the container engine")),
    ("/var/snap/docker/common", root_ok, Some("reaches the container engine (Docker's snap")),
    // containerd, runc, crun, k3s.
    ("/run/containerd", run_ok, Some("reaches the container engine (containerd's")),
    ("/run/containerd/containerd.sock", run_ok, Some("reaches the container engine")),
    ("/var/run/containerd/containerd.sock", run_ok, Some("reaches the container engine")),
    ("/run/containerd/containerd.sock.ttrpc", run_ok, Some("reaches the container engine")),
    ("/var/lib/containerd", run_ok, Some("reaches the container engine (containerd's data root")),
    ("/run/k3s/containerd/containerd.sock", run_ok, Some("reaches the container engine (k3s")),
    ("/run/runc", run_ok, Some("reaches the container engine (runc's")),
    ("/run/crun", run_ok, Some("reaches the container engine (crun's")),
    // Podman.
    ("/run/podman/podman.sock", run_ok, Some("reaches the container engine (Podman's socket")),
    ("/var/run/podman", run_ok, Some("reaches the container engine")),
    ("/run/containers/storage", run_ok, Some("reaches the container engine (Podman's runtime")),
    ("/run/libpod", run_ok, Some("reaches the container engine")),
    ("/var/lib/containers/storage", run_ok, Some("reaches the container engine (Podman's storage")),
    ("/etc/containers/containers.conf", run_ok, Some("reaches the container engine (Podman's configuration")),
    ("/run/user/1000/podman/podman.sock", run_ok, Some("reaches the container engine (rootless Podman's socket")),
    ("/run/user/1000/containers", run_ok, Some("reaches the container engine (rootless Podman's state")),
    ("/run/user/1000/libpod/tmp", run_ok, Some("reaches the container engine")),
    ("/home/alice/.local/share/containers/storage", run_ok, Some("reaches the container engine (rootless Podman's storage")),
    ("/root/.local/share/containers", root_ok, Some("reaches the container engine")),
    // CRI-O, BuildKit, rootless Docker.
    ("/run/crio/crio.sock", run_ok, Some("reaches the container engine (CRI-O's")),
    ("/var/run/crio", run_ok, Some("reaches the container engine")),
    ("/var/lib/crio", run_ok, Some("reaches the container engine")),
    ("/run/buildkit/buildkitd.sock", run_ok, Some("reaches the container engine (BuildKit's")),
    ("/var/lib/buildkit", run_ok, Some("reaches the container engine")),
    ("/run/user/1000/docker.sock", run_ok, Some("reaches the container engine (rootless Docker's socket")),
    ("/run/user/1000/docker", run_ok, Some("reaches the container engine")),
    ("/run/user/1000/buildkit", run_ok, Some("reaches the container engine")),
    ("/run/user/1000/containerd", run_ok, Some("reaches the container engine")),
    ("/run/user/1000", run_ok, Some("host path /run/user/1000 reaches the container engine")),
    ("/run/user", run_ok, Some("reaches the container engine")),
    ("/home/alice/.local/share/docker", run_ok, Some("reaches the container engine (rootless Docker's data root")),
    ("/home/alice/.local", run_ok, Some("reaches the container engine")),
    ("/home", run_ok, Some("reaches the container engine")),
    ("/root/.local/share/docker/volumes", root_ok, Some("reaches the container engine")),
    // Listed exactly: the trusted Policy may name an engine path.
    ("/run/docker.sock", socket_listed, None),
    ("/var/run/docker.sock", socket_listed, None),
    ("//run/docker.sock/", socket_listed, None),
    ("/run/docker", socket_listed, Some("reaches the container engine")),
    ("/run/containerd/containerd.sock", socket_listed, Some("reaches the container engine (containerd's")),
    // Prefixes, segments, spellings.
    ("/srv/agents", srv_ok, None),
    ("/srv/agents/", srv_ok, None),
    ("/srv/agents/workspace", srv_ok, None),
    ("/srv//agents/./workspace/", srv_ok, None),
    ("/srv/agents-evil", srv_ok, Some("host path /srv/agents-evil is not under an allowed prefix (allowed: /srv/agents)")),
    ("/srv/agent", srv_ok, Some("is not under an allowed prefix")),
    ("/srv", srv_ok, Some("is not under an allowed prefix")),
    ("/srv/agents/../../etc", srv_ok, Some("contains '..'")),
    ("/srv/agents/..", srv_ok, Some("contains '..'")),
    ("srv/agents", srv_ok, Some("host path \"srv/agents\" is not an absolute path")),
    ("./srv/agents", srv_ok, Some("is not an absolute path")),
    ("", srv_ok, Some("is not an absolute path")),
    ("/srv/agents/x\0", srv_ok, Some("contains a control character")),
    ("/srv/agents/x\ny", srv_ok, Some("contains a control character")),
    ("/etc/shadow", restricted, Some("host path /etc/shadow is not under an allowed prefix (the policy allows none)")),
    ("/var/runner", run_ok, Some("is not under an allowed prefix")),
    ("/var/lib/dockerx", run_ok, None),
    ("/var/lock/x", run_ok, None),
    ("/home/alice/projects", run_ok, None),
    ("/etc/ssl/certs", run_ok, None),
    ("/run/lock", run_ok, None),
    ("/dev/fuse", root_ok, None),
    ("/dev/null", root_ok, None),
    ("/srv/data", root_ok, None),
];

#[test]
fn escape_matrix_host_paths() {
    let mut failures = Vec::new();
    for (path, p, want) in HOST_PATHS {
        let got = check_host_paths(&p(), &[(MNT0.to_string(), path.to_string())]);
        let ok = match (want, got.as_slice()) {
            (None, []) => true,
            (Some(w), [v]) => {
                v.rule == AllowedHostPaths && v.pointer == MNT0 && v.message.contains(w)
            }
            _ => false,
        };
        if !ok {
            failures.push(format!("{path:?}: want {want:?}\n  got {got:?}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// (allowedImages, image, admitted).
type ImageRow = (&'static [&'static str], &'static str, bool);

#[rustfmt::skip]
const IMAGES: &[ImageRow] = &[
    (&["*"], "anything/at:all", true),
    (&["*"], "7373cfcf642b", true),
    (&["berth-runtime:*"], "berth-runtime:1", true),
    (&["berth-runtime:*"], "docker.io/library/berth-runtime:2", true),
    (&["berth-runtime:*"], "index.docker.io/library/berth-runtime:2", true),
    (&["berth-runtime:*"], "evil/berth-runtime:1", false),
    (&["berth-runtime:*"], "registry.evil.com/berth-runtime:1", false),
    (&["berth-runtime:*"], "localhost/berth-runtime:1", false),
    (&["berth-runtime:*"], "berth-runtime@sha256:0000000000000000000000000000000000000000000000000000000000000000", false),
    (&["berth-runtime:1"], "berth-runtime:1", true),
    (&["berth-runtime:1"], "berth-runtime", false),
    (&["berth-runtime:1"], "berth-runtime:1-rc", false),
    (&["berth-runtime:1"], "Berth-runtime:1", false),
    (&["berth-runtime:1"], " berth-runtime:1", false),
    (&["berth-runtime"], "berth-runtime:9", true),
    (&["registry.internal/agents/*"], "registry.internal/agents/rt:1.4", true),
    (&["registry.internal/agents/*"], "registry.internal/agents/team/rt:1", false),
    (&["registry.internal/agents/**"], "registry.internal/agents/team/rt:1", true),
    (&["registry.internal/agents/*"], "registry.internal.evil.com/agents/rt:1", false),
    (&["registry.internal/agents/*"], "registry.internal/agentsx:1", false),
    (&["docker.io/library/*"], "busybox", true),
    // Images by ID: the engine runs whatever image has that ID.
    (&["docker.io/library/*"], "7373cfcf642b", false),
    (&["docker.io/library/*"], "beef", false),
    (&["docker.io/library/*"], "beef:latest", true),
    (&["docker.io/library/*"], "sha256:7373cfcf642b", false),
    (&["**"], "sha256:7373cfcf642b", true),
    (&["docker.io/**"], "sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", false),
    (&["sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"], "sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", true),
    (&["sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"], "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", true),
    (&["sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"], "aaaaaaaaaaaa", false),
    (&["sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"], "sha256:bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb", false),
];

#[test]
fn escape_matrix_images() {
    let mut failures = Vec::new();
    for (allowed, image, want) in IMAGES {
        let p = allowing_images(allowed);
        let mut spec = base();
        spec.image = image.to_string();
        let req = Request {
            spec: &spec,
            seccomp: None,
            host_paths: vec![],
            ttl: None,
        };
        let admitted = admit(&p, &req).is_empty();
        if admitted != *want {
            failures.push(format!("{image:?} under {allowed:?}: want admitted={want}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// (profile JSON, policy, admitted).
type SeccompRow = (&'static str, fn() -> Policy, bool);

#[rustfmt::skip]
const SECCOMP_PROFILES: &[SeccompRow] = &[
    ("{}", restricted, false),
    ("[]", restricted, false),
    ("\"SCMP_ACT_ERRNO\"", restricted, false),
    (r#"{"defaultAction": "SCMP_ACT_ALLOW"}"#, restricted, false),
    (r#"{"defaultAction": "SCMP_ACT_LOG"}"#, restricted, false),
    (r#"{"defaultAction": "SCMP_ACT_NOTIFY"}"#, restricted, false),
    (r#"{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["mount"], "action": "SCMP_ACT_ERRNO"}]}"#, restricted, false),
    (r#"{"defaultAction": "scmp_act_errno"}"#, restricted, false),
    (r#"{"defaultAction": null}"#, restricted, false),
    (r#"{"defaultAction": "SCMP_ACT_ERRNO", "listenerPath": "/run/notify.sock"}"#, restricted, false),
    (r#"{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{"names": ["open"], "action": "SCMP_ACT_NOTIFY"}]}"#, restricted, false),
    (r#"{"defaultAction": "SCMP_ACT_ALLOW"}"#, unconfined_ok, true),
    (r#"{"defaultAction": "SCMP_ACT_ERRNO"}"#, restricted, true),
    (r#"{"defaultAction": "SCMP_ACT_KILL"}"#, restricted, true),
    (r#"{"defaultAction": "SCMP_ACT_KILL_PROCESS"}"#, restricted, true),
    (r#"{"defaultAction": "SCMP_ACT_TRAP"}"#, restricted, true),
    (r#"{"defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": 1, "syscalls": [{"names": ["read", "write"], "action": "SCMP_ACT_ALLOW"}]}"#, restricted, true),
];

#[test]
fn escape_matrix_seccomp_profiles_by_content() {
    let mut failures = Vec::new();
    for (text, p, want) in SECCOMP_PROFILES {
        let profile: serde_json::Value = serde_json::from_str(text).unwrap();
        let refused = check_seccomp_content(&p(), &profile);
        if refused.is_none() != *want {
            failures.push(format!("{text}: want admitted={want}, got {refused:?}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn the_matrix_has_at_least_150_rows() {
    let rows = SPECS.len() + HOST_PATHS.len() + IMAGES.len() + SECCOMP_PROFILES.len();
    assert!(rows >= 150, "{rows} rows");
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
