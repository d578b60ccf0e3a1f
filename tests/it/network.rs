//! `network: isolated | internal`: a network of the object's own, created with its container
//! under the instance's labels, replaced when the setting changes, removed with it; and
//! `network: { shared: NAME }`, one network of the instance for every object naming it,
//! removed with the last. Through the socket proxy only NETWORKS is added to the minimal
//! flags.

use crate::haproxy::*;
use crate::util::*;

fn network_json(name: &str) -> Option<serde_json::Value> {
    let o = docker(&["network", "inspect", name]);
    o.status
        .success()
        .then(|| serde_json::from_slice::<serde_json::Value>(&o.stdout).unwrap()[0].clone())
}

#[test]
fn an_isolated_network_lives_and_dies_with_its_object() {
    let mut flags = MINIMAL.to_vec();
    flags.push("NETWORKS");
    let proxy = Haproxy::socket_proxy(&flags);
    let host = proxy.docker_host();
    let env = [("DOCKER_HOST", host.as_str())];
    let inst = Instance::new("net");
    let net_a = format!("berth_{}_agent_a", inst.name);
    let net_b = format!("berth_{}_agent_b", inst.name);
    inst.write("a.yaml", &agent("a", "  network: internal\n"));
    inst.write("b.yaml", &agent("b", "  network: isolated\n"));
    inst.write("c.yaml", &agent("c", ""));
    let apply = berth_env(&inst, "apply", &["--wait", "--timeout", "60s"], &env);
    assert_exit(&apply, 0);

    let a = network_json(&net_a).expect("a's network exists");
    assert_eq!(a["Internal"], true);
    assert_eq!(a["Labels"]["berth.instance"], inst.name.as_str());
    assert_eq!(a["Labels"]["berth.name"], "a");
    let b = network_json(&net_b).expect("b's network exists");
    assert_eq!(b["Internal"], false);
    let mode = |name: &str| {
        let c = inst.container(name);
        let o = docker(&["inspect", "--format", "{{.HostConfig.NetworkMode}}", &c.id]);
        stdout(&o).trim().to_string()
    };
    assert_eq!(mode("a"), net_a);
    assert_eq!(mode("b"), net_b);
    assert_eq!(mode("c"), "default");
    // internal → isolated: the container is recreated on a replaced network.
    inst.write("a.yaml", &agent("a", "  network: isolated\n"));
    let diff = berth_env(&inst, "diff", &[], &env);
    assert_eq!(
        stdout(&diff),
        "~ agent/a: recreate: network internal → isolated\n"
    );
    assert_exit(
        &berth_env(&inst, "apply", &["--wait", "--timeout", "60s"], &env),
        0,
    );
    assert_eq!(network_json(&net_a).unwrap()["Internal"], false);

    // The object goes, its network goes; the others stay.
    inst.remove("a.yaml");
    assert_exit(&berth_env(&inst, "apply", &[], &env), 0);
    assert!(
        network_json(&net_a).is_none(),
        "a's network is removed with it"
    );
    assert!(network_json(&net_b).is_some());

    let down = berth_env(&inst, "down", &[], &env);
    assert_exit(&down, 0);
    assert!(network_json(&net_b).is_none());
}

#[test]
fn a_shared_network_is_joined_by_every_object_naming_it_and_goes_with_the_last() {
    let mut flags = MINIMAL.to_vec();
    flags.push("NETWORKS");
    let proxy = Haproxy::socket_proxy(&flags);
    let host = proxy.docker_host();
    let env = [("DOCKER_HOST", host.as_str())];
    let inst = Instance::new("net-shared");
    let net = format!("berth_{}_net_backend", inst.name);
    let shared = "  network: { shared: backend }\n";
    inst.write("a.yaml", &agent("a", shared));
    inst.write(
        "b.yaml",
        &format!(
            "apiVersion: berth/v1\nkind: Agent\nmetadata: {{ name: b }}\nspec:\n  image: {IMAGE}\n  command: [httpd, -f, -p, \"8080\", -h, /www]\n  stopGracePeriod: 1s\n{shared}"
        ),
    );
    inst.write("c.yaml", &agent("c", ""));
    assert_exit(
        &berth_env(&inst, "apply", &["--wait", "--timeout", "60s"], &env),
        0,
    );

    let n = network_json(&net).expect("the shared network exists");
    assert_eq!(n["Internal"], false);
    assert_eq!(n["Labels"]["berth.instance"], inst.name.as_str());
    assert!(
        n["Labels"].get("berth.name").is_none(),
        "a shared network belongs to no one object: {n}"
    );
    let mode = |name: &str| {
        let c = inst.container(name);
        let o = docker(&["inspect", "--format", "{{.HostConfig.NetworkMode}}", &c.id]);
        stdout(&o).trim().to_string()
    };
    assert_eq!(mode("a"), net);
    assert_eq!(mode("b"), net);
    assert_eq!(mode("c"), "default");
    // a reaches b by its container's name, as on any user-defined network.
    let b_name = format!("berth_{}_agent_b", inst.name);
    let a = inst.container("a");
    let fetch = docker(&[
        "exec",
        &a.id,
        "wget",
        "-q",
        "-O",
        "/dev/null",
        &format!("http://{b_name}:8080/"),
    ]);
    let err = String::from_utf8_lossy(&fetch.stderr);
    assert!(
        fetch.status.success() || err.contains("404"),
        "a cannot reach b on the shared network: {err}"
    );

    // Moving c onto it is a recreate the diff names.
    inst.write("c.yaml", &agent("c", shared));
    assert_eq!(
        stdout(&berth_env(&inst, "diff", &[], &env)),
        "~ agent/c: recreate: network default → shared backend\n"
    );
    // One object goes: the network stays for the others; the last goes: so does it.
    inst.write("c.yaml", &agent("c", ""));
    inst.remove("a.yaml");
    assert_exit(&berth_env(&inst, "apply", &[], &env), 0);
    assert!(network_json(&net).is_some(), "b still uses the network");
    inst.remove("b.yaml");
    assert_exit(&berth_env(&inst, "apply", &[], &env), 0);
    assert!(
        network_json(&net).is_none(),
        "the network goes with its last container"
    );
    assert_exit(&berth_env(&inst, "down", &[], &env), 0);
}

#[test]
fn a_shared_network_name_is_checked() {
    let dir = tempfile::tempdir().unwrap();
    for (i, bad) in ["Back_end", "-x", "a_b", "\"\""].iter().enumerate() {
        std::fs::write(
            dir.path().join(format!("a{i}.yaml")),
            agent(
                &format!("a{i}"),
                &format!("  network: {{ shared: {bad} }}\n"),
            ),
        )
        .unwrap();
    }
    let o = berth(&["validate", &dir.path().display().to_string()]);
    assert_exit(&o, 1);
    let out = stdout(&o);
    for bad in ["Back_end", "-x", "a_b", ""] {
        assert!(
            out.contains(&format!("spec.network.shared: {bad:?} is not a shared network name: 1 to 32 lowercase letters, digits and '-'")),
            "{bad}: {out}"
        );
    }
}

#[test]
fn without_networks_on_the_proxy_the_refusal_says_so() {
    let proxy = Haproxy::socket_proxy(MINIMAL);
    let host = proxy.docker_host();
    let env = [("DOCKER_HOST", host.as_str())];
    let inst = Instance::new("net-403");
    inst.write("a.yaml", &agent("a", "  network: isolated\n"));
    let apply = berth_env(&inst, "apply", &[], &env);
    assert_exit(&apply, 1);
    assert!(
        stdout(&apply).contains("FAILED [infrastructure]: GET /networks/{id} was refused by the socket proxy: enable NETWORKS=1"),
        "{}",
        stdout(&apply)
    );
    assert!(inst.containers().is_empty());

    // doctor, given the manifests, requires NETWORKS.
    let doctor = berth_env(&inst, "doctor", &[&inst.path_str()], &env);
    assert_exit(&doctor, 1);
    assert!(
        stdout(&doctor)
            .contains("doctor: missing: GET /networks (enable NETWORKS=1 on the socket proxy)"),
        "{}",
        stdout(&doctor)
    );
    // Without manifests that need it, the minimal set passes.
    assert_exit(&berth_env(&inst, "doctor", &[], &env), 0);
}

#[test]
fn a_network_and_the_host_network_do_not_mix() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("a.yaml"),
        agent(
            "a",
            "  network: isolated\n  hostNamespaces: { network: true }\n",
        ),
    )
    .unwrap();
    let o = berth(&["validate", &dir.path().display().to_string()]);
    assert_exit(&o, 1);
    assert!(
        stdout(&o).contains("spec.network: a container on the host network (hostNamespaces.network) cannot have a network of its own"),
        "{}",
        stdout(&o)
    );
}
