//! The checked-in schema must match the types it is generated from.

use crate::util::repo;

#[test]
fn checked_in_schema_is_current() {
    let checked_in = std::fs::read_to_string(repo("schemas/berth-v1.json"))
        .expect("schemas/berth-v1.json exists");
    assert!(
        checked_in == berth::manifest::schema::schema_text(),
        "schemas/berth-v1.json is stale: run `make schema` and commit the result"
    );
}

#[test]
fn every_example_names_the_schema_and_is_valid() {
    let mut n = 0;
    for entry in walk(&repo("examples")) {
        let text = std::fs::read_to_string(&entry).unwrap();
        assert!(
            text.starts_with("# yaml-language-server: $schema="),
            "{} lacks the schema line",
            entry.display()
        );
        n += 1;
    }
    assert!(n >= 3);
    let o = crate::util::berth(&[
        "validate",
        "--policy",
        &repo("examples/policy.yaml").display().to_string(),
        &repo("examples").display().to_string(),
    ]);
    crate::util::assert_exit(&o, 0);
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else if p.extension().is_some_and(|x| x == "yaml") {
            out.push(p);
        }
    }
    out
}
