//! `hostPort: auto`: ports from the pool, published, stable across recreation and restarts
//! of berth, never two objects on one port.

use crate::util::*;

/// An httpd agent on 8080 with `hostPort: auto`.
fn web(name: &str, extra: &str) -> String {
    format!(
        "apiVersion: berth/v1\nkind: Agent\nmetadata: {{ name: {name} }}\nspec:\n  image: {IMAGE}\n  command: [httpd, -f, -p, \"8080\", -h, /www]\n  stopGracePeriod: 1s\n  ports: [ {{ containerPort: 8080, hostPort: auto, hostIP: 127.0.0.1 }} ]\n{extra}"
    )
}

/// Three consecutive free loopback ports.
fn pool() -> (u16, String) {
    loop {
        let base = free_port();
        if base < 65000
            && (1..3).all(|i| std::net::TcpListener::bind(("127.0.0.1", base + i)).is_ok())
        {
            return (base, format!("{base}-{}", base + 2));
        }
    }
}

fn published(inst: &Instance, name: &str) -> u16 {
    let c = inst.container(name);
    let o = docker(&[
        "inspect",
        "--format",
        "{{(index (index .HostConfig.PortBindings \"8080/tcp\") 0).HostPort}}",
        &c.id,
    ]);
    stdout(&o).trim().parse().unwrap()
}

#[test]
fn auto_ports_are_published_stable_and_exclusive() {
    let (base, range) = pool();
    let inst = Instance::new("ports");
    inst.write("b.yaml", &web("b", ""));
    inst.write("c.yaml", &web("c", ""));
    let flags = [
        "--host-port-range",
        range.as_str(),
        "--wait",
        "--timeout",
        "60s",
    ];
    assert_exit(&inst.run("apply", &flags), 0);
    assert_eq!(published(&inst, "b"), base);
    assert_eq!(published(&inst, "c"), base + 1);
    let body = wait_for("b answers on its port", || {
        http_get(base, "/healthz").ok_or_else(|| "no answer".to_string())
    });
    assert_eq!(body, (200, "ok\n".to_string()));

    // A recreate keeps the port, and a new object does not take it.
    inst.write("b.yaml", &web("b", "  env: { V: \"2\" }\n"));
    inst.write("a.yaml", &web("a", ""));
    let apply = inst.run("apply", &flags);
    assert_exit(&apply, 0);
    assert!(
        stdout(&apply).contains("~ agent/b: recreate: env.V added (2)"),
        "{}",
        stdout(&apply)
    );
    assert_eq!(published(&inst, "b"), base);
    assert_eq!(published(&inst, "c"), base + 1);
    assert_eq!(published(&inst, "a"), base + 2);
    assert_exit(&inst.run("diff", &["--host-port-range", &range]), 0);

    // The pool is full: a fourth object is held with a clear error; the rest is untouched.
    inst.write("d.yaml", &web("d", ""));
    let before = inst.containers();
    let apply = inst.run("apply", &["--host-port-range", &range]);
    assert_exit(&apply, 1);
    assert!(
        stderr(&apply).contains(&format!(
            "error: agent/d: no free host port in the pool {range} for 8080/tcp (hostPort: auto); widen --host-port-range"
        )),
        "{}",
        stderr(&apply)
    );
    assert_eq!(inst.containers(), before);
}

#[test]
fn run_remembers_ports_across_its_restarts() {
    let (base, range) = pool();
    let inst = Instance::new("ports-run");
    inst.write("b.yaml", &web("b", ""));
    let d = Daemon::start(&inst, &["--host-port-range", &range]);
    inst.wait_until("b runs", |cs| cs.iter().any(|c| c.running));
    assert_eq!(published(&inst, "b"), base);
    d.stop();
    let state =
        std::fs::read_to_string(inst.state.path().join(format!("{}.json", inst.name))).unwrap();
    assert!(state.contains("\"8080/tcp\": "), "{state}");

    // While berth is down, b's container disappears and a new object sorts before it.
    let b = inst.container("b");
    assert_exit(&docker(&["rm", "-f", &b.id]), 0);
    inst.write("a.yaml", &web("a", ""));
    let _d = Daemon::start(&inst, &["--host-port-range", &range]);
    inst.wait_until("a and b run", |cs| {
        cs.iter().filter(|c| c.running).count() == 2
    });
    assert_eq!(published(&inst, "b"), base, "b keeps its remembered port");
    assert_eq!(published(&inst, "a"), base + 1);
}
