//! `berth validate`: diagnostics are golden files (expected vs got), all errors at once.

use crate::util::{agent, assert_exit, berth, repo, stderr, stdout};

/// The golden run: every fixture directory, the drop-in one under `--sessions`, against the
/// fixture Policy.
const GOLDEN: &[&str] = &[
    "validate",
    "--policy",
    "tests/fixtures/policy",
    "--sessions",
    "tests/fixtures/sessions",
    "tests/fixtures/invalid",
    "tests/fixtures/templates",
];

/// Regenerate with `target/debug/berth validate --policy tests/fixtures/policy --sessions
/// tests/fixtures/sessions tests/fixtures/invalid tests/fixtures/templates >
/// tests/golden/validate.txt` after checking every line by eye.
#[test]
fn every_error_in_every_file_is_reported_with_position_and_path() {
    let o = berth(GOLDEN);
    assert_exit(&o, 1);
    let expected = std::fs::read_to_string(repo("tests/golden/validate.txt")).unwrap();
    let got = stdout(&o);
    assert!(
        got == expected,
        "golden mismatch\n--- expected\n{expected}--- got\n{got}"
    );
    assert_eq!(stderr(&o), "invalid: 40 error(s) in 7 file(s)\n");
}

#[test]
fn json_output_carries_the_same_diagnostics_as_data() {
    let o = berth(&[
        "validate",
        "--output",
        "json",
        "tests/fixtures/invalid/c-syntax.yaml",
    ]);
    assert_exit(&o, 1);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(
        v,
        serde_json::json!([{
            "file": "tests/fixtures/invalid/c-syntax.yaml",
            "line": 4,
            "column": 5,
            "path": "",
            "severity": "error",
            "class": "manifest",
            "message": "invalid YAML: while parsing a flow mapping, did not find expected ',' or '}'"
        }])
    );
}

#[test]
fn github_output_annotates_files() {
    let o = berth(&[
        "validate",
        "-o",
        "github",
        "--policy",
        "tests/fixtures/policy",
        "tests/fixtures/invalid/d-policy.yaml",
    ]);
    assert_exit(&o, 1);
    let out = stdout(&o);
    assert_eq!(
        out.lines().next().unwrap(),
        "::error file=tests/fixtures/invalid/d-policy.yaml,line=7,col=24::spec.resources.memory: policy: maxResources: memory 1Gi is over the maximum of 256Mi [Policy \"default\"]"
    );
    assert_eq!(out.lines().count(), 8);
}

#[test]
fn policy_refusals_are_their_own_class_in_json() {
    let o = berth(&[
        "validate",
        "-o",
        "json",
        "--policy",
        "tests/fixtures/policy/default.yaml",
        "tests/fixtures/invalid/d-policy.yaml",
    ]);
    assert_exit(&o, 1);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let all = v.as_array().unwrap();
    assert_eq!(all.len(), 8);
    assert!(all.iter().all(|d| d["class"] == "policy"), "{v:#}");
    assert_eq!(all[1]["path"], "spec.security.privileged");
    assert_eq!(all[1]["line"], 8);
}

#[test]
fn valid_examples_pass() {
    let o = berth(&[
        "validate",
        "--policy",
        &repo("examples/policy.yaml").display().to_string(),
        &repo("examples").display().to_string(),
    ]);
    assert_exit(&o, 0);
    assert_eq!(stdout(&o), "");
    assert!(
        stderr(&o).starts_with("valid: 9 file(s), 15 document(s), 12 container object(s)"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn a_missing_path_is_an_error_not_an_empty_set() {
    let o = berth(&["validate", "tests/fixtures/does-not-exist"]);
    assert_exit(&o, 1);
    assert_eq!(
        stdout(&o),
        "tests/fixtures/does-not-exist: no such file or directory\n"
    );
}

/// The reference tree a host runs (`make demo`, the systemd unit, deploy/compose.yaml):
/// valid with its Policy and its drop-in directory, and the Policy inside the tree is never
/// read as a manifest when `--policy` names it.
#[test]
fn the_reference_manifests_tree_passes_with_its_policy_and_sessions() {
    let tree = repo("manifests").display().to_string();
    let policy = repo("manifests/policy.yaml").display().to_string();
    let sessions = repo("manifests/sessions").display().to_string();
    let o = berth(&[
        "validate",
        "--policy",
        &policy,
        "--sessions",
        &sessions,
        &tree,
    ]);
    assert_exit(&o, 0);
    assert!(
        stderr(&o).starts_with("valid: 5 file(s), 5 document(s), 3 container object(s)"),
        "{}",
        stderr(&o)
    );
    // Without --policy the same file is a Policy among manifests: held, an error.
    let o = berth(&["validate", "--sessions", &sessions, &tree]);
    assert_exit(&o, 1);
    assert!(
        stdout(&o).contains("policy.yaml:9:7: kind: a Policy is read only from the trusted source named by --policy"),
        "{}",
        stdout(&o)
    );
}

/// An unreadable directory among the manifest paths was reported at `:1:1`, a place in a
/// file that it is not. Root reads every directory, so berth runs as `nobody` here.
#[test]
fn an_unreadable_directory_is_a_path_error_without_line_and_column() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let m = dir.path().join("m");
    std::fs::create_dir_all(m.join("private")).unwrap();
    std::fs::write(m.join("a.yaml"), agent("a", "")).unwrap();
    std::fs::write(m.join("private/b.yaml"), agent("b", "")).unwrap();
    for (p, mode) in [
        (dir.path(), 0o755),
        (&m, 0o755),
        (&m.join("private"), 0o000),
    ] {
        std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode)).unwrap();
    }
    let o = std::process::Command::new("setpriv")
        .args(["--reuid=65534", "--regid=65534", "--clear-groups"])
        .arg(env!("CARGO_BIN_EXE_berth"))
        .args(["validate", &m.display().to_string()])
        .output()
        .expect("setpriv (util-linux)");
    assert_exit(&o, 1);
    assert_eq!(
        stdout(&o),
        format!("{}/private: permission denied\n", m.display())
    );
    std::fs::set_permissions(m.join("private"), std::fs::Permissions::from_mode(0o755)).unwrap();
}
