//! `network: isolated | internal`: a network of the object's own, created with its container
//! under the instance's labels, replaced when the setting changes, removed with it. Through
//! the socket proxy only NETWORKS is added to the minimal flags.

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
