//! Trust boundaries on the real engine: the Policy comes only from `--policy`, a drop-in
//! directory can never grant more than its template, and a broken Policy freezes
//! everything (nothing created, changed or removed) until it is fixed.

use crate::util::*;

/// A trusted template the drop-in sessions name.
fn template() -> String {
    format!(
        "apiVersion: berth/v1\nkind: Template\nmetadata: {{ name: t }}\nspec:\n  image: {IMAGE}\n  command: [sleep, \"3600\"]\n  stopGracePeriod: 1s\n  resources: {{ memory: 64Mi }}\n"
    )
}

fn session(name: &str, extra: &str) -> String {
    format!(
        "apiVersion: berth/v1\nkind: Session\nmetadata: {{ name: {name}, labels: {{ user: u1 }} }}\nspec:\n  template: t\n  ttl: 1h\n{extra}"
    )
}

#[test]
fn a_policy_in_a_sessions_directory_grants_nothing_and_holds_only_its_file() {
    let inst = Instance::new("trust-dropin");
    inst.write("t.yaml", &template());
    inst.write_session("good.yaml", &session("good", "  env: { GREETING: hi }\n"));
    // The platform's program tries to grant itself the host.
    inst.write_session(
        "evil.yaml",
        &format!(
            "{}---\n{}",
            policy_doc("  allowPrivileged: true\n  allowHostNamespaces: true\n  allowedHostPaths: [\"/\"]\n"),
            session("evil", "  env: { X: y }\n")
        ),
    );
    let sessions = inst.sessions_str();
    let d = Daemon::start(&inst, &["--sessions", &sessions]);
    inst.wait_until("the good session runs", |cs| {
        cs.iter().any(|c| c.object == "good" && c.running)
    });
    let held = d.wait_object("the evil file held", "session", "evil", |o| {
        o["phase"] == "Invalid"
    });
    assert!(held["phase"] == "Invalid", "{held:#}");
    let status = d.status();
    let diags = status["diagnostics"].to_string();
    assert!(
        diags.contains(
            "evil.yaml:2:7: kind: a Policy is read only from the trusted source named by --policy"
        ),
        "{diags}"
    );
    assert_eq!(inst.containers().len(), 1, "{:#?}", inst.containers());
    let good = inst.container("good");
    assert!(good.env.contains(&"GREETING=hi".to_string()));
}

#[test]
fn a_drop_in_session_that_sets_image_or_host_mounts_is_refused() {
    let inst = Instance::new("trust-fields");
    inst.write("t.yaml", &template());
    inst.write_session("img.yaml", &session("img", "  image: berth-runtime:2\n"));
    inst.write_session(
        "mnt.yaml",
        &session(
            "mnt",
            "  hostMounts: [ { hostPath: /etc, mountPath: /host } ]\n",
        ),
    );
    inst.write_session(
        "big.yaml",
        &session("big", "  resources: { memory: 128Mi }\n"),
    );
    inst.write_session(
        "priv.yaml",
        &session("priv", "  security: { privileged: true }\n"),
    );
    inst.write_session("ok.yaml", &session("ok", "  resources: { memory: 32Mi }\n"));
    let sessions = inst.sessions_str();
    let apply = inst.run(
        "apply",
        &["--sessions", &sessions, "--wait", "--timeout", "60s"],
    );
    assert_exit(&apply, 1);
    let err = stderr(&apply);
    for want in [
        "img.yaml:7:10: spec.image: a --sessions file may set only template, ttl, env, resources: \"image\" comes from the template",
        "mnt.yaml:7:15: spec.hostMounts: a --sessions file may set only",
        "big.yaml:7:24: spec.resources.memory: memory 128Mi is over the 64Mi of template \"t\"",
        "priv.yaml:7:13: spec.security: a --sessions file may set only",
    ] {
        assert!(err.contains(want), "want {want:?} in\n{err}");
    }
    let cs = inst.containers();
    assert_eq!(cs.len(), 1, "only the session within bounds runs: {cs:#?}");
    assert_eq!(inst.container("ok").memory, 32 << 20);
}

#[test]
fn a_broken_policy_freezes_everything_until_it_is_fixed() {
    let inst = Instance::new("trust-frozen");
    let policy = inst.write_policy("  allowedImages: [\"berth-runtime:*\"]\n");
    inst.write("a.yaml", &agent("a", ""));
    inst.write("b.yaml", &agent("b", ""));
    let d = Daemon::start(&inst, &["--policy", &policy]);
    inst.wait_until("a and b run", |cs| {
        cs.iter().filter(|c| c.running).count() == 2
    });
    let a = inst.container("a");
    let b = inst.container("b");

    // The Policy file is cut short; once the daemon has seen it, everything else changes.
    // (A pass that read the old Policy just before the write may still act on files
    // changed after it, so the changes wait for the broken Policy to be seen.)
    std::fs::write(
        &policy,
        "apiVersion: berth/v1\nkind: Policy\nmetadata: { name: p\n",
    )
    .unwrap();
    wait_for("the broken Policy is seen", || {
        let diags = d.status()["diagnostics"].to_string();
        match diags.contains("policy: not admitted") {
            true => Ok(()),
            false => Err(diags),
        }
    });
    inst.write("a.yaml", &agent("a", "  env: { CHANGED: \"1\" }\n"));
    inst.remove("b.yaml");
    inst.write("c.yaml", &agent("c", ""));
    d.wait_object("c held", "agent", "c", |o| o["phase"] == "Invalid");
    let a_status = d.wait_object("a held", "agent", "a", |o| o["phase"] == "Invalid");
    let b_status = d.wait_object("b kept", "agent", "b", |o| o["phase"] != "Running");
    assert_eq!(
        b_status["phase"], "Orphaned",
        "b is kept, not removed: {b_status:#}"
    );
    assert_eq!(a_status["phase"], "Invalid");
    let diags = d.status()["diagnostics"].to_string();
    assert!(
        diags.contains("policy: not admitted: the Policy source --policy")
            && diags.contains("nothing is created, changed or removed until it is fixed"),
        "{diags}"
    );
    assert_eq!(inst.container("a"), a, "a is not recreated");
    assert_eq!(inst.container("b"), b, "b is not removed");
    assert!(
        inst.containers().iter().all(|c| c.object != "c"),
        "c is not created"
    );

    // Fixed: everything converges.
    inst.write_policy("  allowedImages: [\"berth-runtime:*\"]\n");
    inst.wait_until("converged", |cs| {
        cs.len() == 2
            && cs.iter().any(|c| c.object == "c" && c.running)
            && cs
                .iter()
                .any(|c| c.object == "a" && c.running && c.id != a.id)
    });
}

#[test]
fn hostile_files_are_refused_without_hanging_and_hold_only_themselves() {
    let dir = tempfile::tempdir().unwrap();
    let m = dir.path();
    std::fs::write(m.join("ok.yaml"), agent("ok", "")).unwrap();
    let fifo = m.join("fifo.yaml");
    assert!(std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap()
        .success());
    std::fs::write(m.join("big.yaml"), "# x\n".repeat(300_000)).unwrap();
    let mut laughs = String::from("apiVersion: berth/v1\nkind: Agent\nmetadata: { name: lol }\nspec:\n  image: berth-runtime:1\n  x0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]\n");
    for i in 1..12 {
        let p = i - 1;
        laughs.push_str(&format!("  x{i}: &a{i} [*a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}]\n"));
    }
    std::fs::write(m.join("laughs.yaml"), laughs).unwrap();
    let deep = format!("a: {}{}\n", "[".repeat(5000), "]".repeat(5000));
    std::fs::write(m.join("deep.yaml"), deep).unwrap();
    let mut utf8 = b"apiVersion: berth/v1\nkind: Agent\nmetadata: { name: \xff }\n".to_vec();
    utf8.extend_from_slice(b"spec: {}\n");
    std::fs::write(m.join("utf8.yaml"), utf8).unwrap();
    let huge_value = format!(
        "apiVersion: berth/v1\nkind: Agent\nmetadata: {{ name: v }}\nspec:\n  image: berth-runtime:1\n  stopGracePeriod: \"{}\"\n",
        "9".repeat(200_000)
    );
    std::fs::write(m.join("value.yaml"), huge_value).unwrap();
    std::os::unix::fs::symlink(m.join("nothing"), m.join("dangling.txt")).unwrap();

    let o = berth(&["validate", &m.display().to_string()]);
    assert_exit(&o, 1);
    let out = stdout(&o);
    let line = |file: &str| {
        out.lines()
            .filter(|l| l.contains(file))
            .collect::<Vec<_>>()
            .join("\n")
    };
    assert!(
        line("fifo.yaml").contains("not a regular file but a FIFO"),
        "{out}"
    );
    assert!(
        line("big.yaml").contains("over the limit of 1048576 bytes for one file"),
        "{out}"
    );
    assert!(
        line("laughs.yaml").contains("YAML aliases expand into more than 10000 values"),
        "{out}"
    );
    assert!(
        line("deep.yaml").contains("invalid YAML") || line("deep.yaml").contains("nested deeper"),
        "{out}"
    );
    assert!(
        line("utf8.yaml").contains("utf8.yaml:3:19: invalid UTF-8 at line 3, column 19"),
        "{out}"
    );
    let v = line("value.yaml");
    assert!(
        v.contains("spec.stopGracePeriod") && v.len() < 400,
        "a short prefix of the value only: {v}"
    );
    assert!(
        !out.contains("dangling"),
        "a dangling non-manifest is no problem: {out}"
    );
    assert!(
        !out.contains("ok.yaml"),
        "the good file is not affected: {out}"
    );
    assert!(stderr(&o).contains("in 7 file(s)"), "{}", stderr(&o));
}

#[test]
fn validate_stays_within_72_mb_on_hostile_input() {
    let dir = tempfile::tempdir().unwrap();
    let m = dir.path();
    // As much as the default caps let through, in the shapes that cost the most memory once
    // parsed: objects with as many env entries as the schema allows, each file at the
    // per-file cap, more files than the total cap reads; one object far over the schema's
    // bound; a flat list of half a million numbers.
    let agent = |name: String| {
        let mut s = format!(
            "apiVersion: berth/v1\nkind: Agent\nmetadata: {{ name: {name} }}\nspec:\n  image: berth-runtime:1\n  env:\n"
        );
        for k in 0..1000 {
            s.push_str(&format!("    K{k}: v\n"));
        }
        s
    };
    for i in 0..12 {
        let mut docs = Vec::new();
        let mut size = 0;
        while size < 1_000_000 {
            let d = agent(format!("a{i}-{}", docs.len()));
            size += d.len() + 4;
            docs.push(d);
        }
        std::fs::write(m.join(format!("{i}.yaml")), docs.join("---\n")).unwrap();
    }
    let mut big = agent("big".into());
    while big.len() < 1_000_000 {
        big.push_str(&format!("    X{}: v\n", big.len()));
    }
    std::fs::write(m.join("big.yaml"), big).unwrap();
    let flat = "[".to_string() + &"1,".repeat(499_000) + "1]\n";
    std::fs::write(m.join("flat.yaml"), format!("a: {flat}")).unwrap();
    let (o, peak_kb) = berth_with_peak_rss(&["validate", &m.display().to_string()]);
    assert_exit(&o, 1);
    assert!(
        stdout(&o).contains("more values than one load reads (--max-values)"),
        "the values budget was reached: {}",
        stdout(&o)
    );
    assert!(
        peak_kb <= 72 * 1024,
        "peak RSS {peak_kb} kB\n{}",
        stdout(&o)
    );
}
