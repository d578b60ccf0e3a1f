//! The safety invariants: ownership, no prune on doubt.

use crate::util::*;

#[test]
fn foreign_containers_and_other_instances_are_untouched() {
    let mut a = Instance::new("own-a");
    let b = Instance::new("own-b");
    // A container berth did not create, with a berth-looking name but no instance label.
    let foreign_name = format!("berth-foreign-{}", a.name);
    let run = docker(&["run", "-d", "--name", &foreign_name, IMAGE, "sleep", "3600"]);
    assert_exit(&run, 0);
    a.foreign.push(foreign_name.clone());

    for inst in [&a, &b] {
        inst.write("x.yaml", &agent("same-name", ""));
        assert_exit(&inst.run("apply", &["--wait", "--timeout", "60s"]), 0);
    }
    let b_before = b.containers();
    let foreign_before = inspect(&foreign_name).unwrap();

    // Instance a: change, then remove everything it declared.
    a.write("x.yaml", &agent("same-name", "  env: { CHANGED: \"1\" }\n"));
    assert_exit(&a.run("apply", &[]), 0);
    a.remove("x.yaml");
    assert_exit(&a.run("apply", &["--allow-empty"]), 0);
    assert!(a.containers().is_empty());
    assert_exit(&a.berth("down", &[]), 0);

    assert_eq!(b.containers(), b_before, "the other instance is untouched");
    assert_eq!(
        inspect(&foreign_name).unwrap(),
        foreign_before,
        "the foreign container is untouched"
    );
}

#[test]
fn an_invalid_file_keeps_what_it_declared_and_the_rest_converges() {
    let inst = Instance::new("invalid");
    inst.write("good.yaml", &agent("good", ""));
    inst.write(
        "bad.yaml",
        &format!("{}---\n{}", agent("bad-one", ""), agent("bad-two", "")),
    );
    assert_exit(&inst.run("apply", &["--wait", "--timeout", "60s"]), 0);
    let bad_one = inst.container("bad-one");
    let bad_two = inst.container("bad-two");

    // Break bad.yaml (a YAML syntax error) and change good.yaml in the same round.
    inst.write(
        "bad.yaml",
        "apiVersion: berth/v1\nkind: Agent\nmetadata: { name: bad-one\n",
    );
    inst.write("good.yaml", &agent("good", "  env: { V: \"2\" }\n"));
    let apply = inst.run("apply", &[]);
    assert_exit(&apply, 1);
    let err = stderr(&apply);
    assert!(err.contains("bad.yaml:"), "{err}");
    assert!(err.contains("invalid YAML"), "{err}");
    assert!(
        stdout(&apply).contains("~ agent/good: recreate: env.V added (2) ... recreated"),
        "{}",
        stdout(&apply)
    );
    assert!(stdout(&apply).contains("= agent/bad-one: kept: its manifest has errors"));
    assert_eq!(inst.container("bad-one"), bad_one, "untouched");
    assert_eq!(inst.container("bad-two"), bad_two, "untouched");

    // A schema error in one document holds the whole file too.
    inst.write(
        "bad.yaml",
        &format!(
            "{}---\n{}",
            agent("bad-one", "  resources: { memory: lots }\n"),
            agent("bad-two", "  env: { NEW: \"1\" }\n")
        ),
    );
    let apply = inst.run("apply", &[]);
    assert_exit(&apply, 1);
    assert!(
        stderr(&apply).contains("spec.resources.memory: must be a quantity"),
        "{}",
        stderr(&apply)
    );
    assert_eq!(inst.container("bad-one"), bad_one);
    assert_eq!(inst.container("bad-two"), bad_two);

    let diff = inst.run("diff", &[]);
    assert_exit(&diff, 2);
}

#[test]
fn an_empty_or_missing_directory_removes_nothing_without_the_flag() {
    let inst = Instance::new("empty");
    inst.write("a.yaml", &agent("stay", ""));
    assert_exit(&inst.run("apply", &["--wait", "--timeout", "60s"]), 0);
    let before = inst.containers();

    inst.remove("a.yaml");
    let apply = inst.run("apply", &[]);
    assert_exit(&apply, 0);
    assert!(
        stdout(&apply).contains("refusing to remove 1 container(s) (pass --allow-empty"),
        "{}",
        stdout(&apply)
    );
    assert_eq!(inst.containers(), before);

    let missing = inst.berth("apply", &["--allow-empty", "/nonexistent/berth-manifests"]);
    assert_exit(&missing, 1);
    assert!(stderr(&missing).contains("/nonexistent/berth-manifests: no such file or directory"));
    assert_eq!(
        inst.containers(),
        before,
        "a missing path is doubt, not an empty set"
    );

    let diff = inst.run("diff", &["--allow-empty"]);
    assert_exit(&diff, 1);
    assert_eq!(stdout(&diff), "- agent/stay: remove: manifest gone\n");
    assert_exit(&inst.run("apply", &["--allow-empty"]), 0);
    assert!(inst.containers().is_empty());
}

#[test]
fn a_deleted_manifest_is_reaped_while_others_stay() {
    let inst = Instance::new("reap");
    inst.write("a.yaml", &agent("a", ""));
    inst.write("b.yaml", &agent("b", ""));
    assert_exit(&inst.run("apply", &["--wait", "--timeout", "60s"]), 0);
    let a = inst.container("a");
    inst.remove("b.yaml");
    let apply = inst.run("apply", &[]);
    assert_exit(&apply, 0);
    assert!(stdout(&apply).contains("- agent/b: remove: manifest gone ... removed"));
    assert_eq!(inst.containers(), vec![a]);
}
