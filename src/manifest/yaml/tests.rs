//! The YAML reader: positions, aliases, budgets, YAML 1.2 scalars, errors.

use super::*;

#[test]
fn positions_of_keys_and_values() {
    let docs = parse("a: 1\nb:\n  c: [x, y]\n---\n# only a comment\n---\nd: true\n").unwrap();
    assert_eq!(docs.len(), 2, "the comment-only document is skipped");
    assert_eq!(
        docs[0].value,
        serde_json::json!({"a": 1, "b": {"c": ["x", "y"]}})
    );
    let d = &docs[0].doc;
    assert_eq!(d.value_pos("/b/c/1"), (3, 10));
    assert_eq!(d.key_pos("/b/c"), (3, 3));
    assert_eq!(d.value_pos("/b/missing/deeper"), d.value_pos("/b"));
    assert!(d.contains("/b/c/0") && !d.contains("/b/c/2"));
    assert_eq!(docs[1].value, serde_json::json!({"d": true}));
    assert_eq!(docs[1].doc.key_pos("/d"), (7, 1));
}

#[test]
fn aliases_expand_with_their_positions() {
    let docs = parse("a: &x { b: [1, 2] }\nc: *x\n").unwrap();
    assert_eq!(
        docs[0].value,
        serde_json::json!({"a": {"b": [1, 2]}, "c": {"b": [1, 2]}})
    );
    let d = &docs[0].doc;
    assert_eq!(d.value_pos("/c"), (2, 4));
    assert_eq!(d.value_pos("/c/b/1"), d.value_pos("/a/b/1"));
    let mut laughs = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
    for i in 1..8 {
        let p = i - 1;
        laughs.push_str(&format!(
            "a{i}: &a{i} [*a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}]\n"
        ));
    }
    let e = parse(&laughs).unwrap_err();
    assert!(e.message.contains("aliases expand into more than"), "{e:?}");
}

#[test]
fn budgets_bound_values_and_nesting() {
    let mut b = Budget::with_nodes(5);
    let e = parse_within("[1, 2, 3, 4, 5, 6]", &mut b).unwrap_err();
    assert!(e.message.contains("--max-values"), "{e:?}");
    let deep = format!("a: {}{}\n", "[".repeat(100), "]".repeat(100));
    let e = parse(&deep).unwrap_err();
    assert!(e.message.contains("nested deeper than 64 levels"), "{e:?}");
}

#[test]
fn yaml_1_2_keeps_norway() {
    let docs = parse("country: no\nflag: yes\nport: 8080\n").unwrap();
    assert_eq!(
        docs[0].value,
        serde_json::json!({"country": "no", "flag": "yes", "port": 8080})
    );
}

#[test]
fn syntax_errors_have_a_position() {
    let e = parse("a: 1\nb: [1, 2\n").unwrap_err();
    assert!(e.message.starts_with("invalid YAML"), "{e:?}");
    assert!(e.pos.0 >= 2, "{e:?}");
    let dup = parse("a: 1\na: 2\n").unwrap_err();
    assert!(dup.message.contains("duplicated key"), "{dup:?}");
    let key = parse("[a]: 1\n").unwrap_err();
    assert!(key.message.contains("plain scalars"), "{key:?}");
}

#[test]
fn pointers_become_field_paths() {
    assert_eq!(
        pointer_to_path("/spec/ports/0/containerPort"),
        "spec.ports[0].containerPort"
    );
    assert_eq!(pointer_to_path("/spec/env/A~1B"), "spec.env.A/B");
    assert_eq!(pointer_to_path(""), "");
}
