//! JSON values → YAML text, for output (`berth get -o yaml`), with the same YAML stack that
//! reads manifests.

use std::borrow::Cow;

use saphyr::{Mapping, Scalar, Yaml, YamlEmitter};
use serde_json::Value;

/// `value` as a YAML document: block style, strings quoted wherever they would read as
/// something else, a trailing newline and no `---` header.
pub fn to_text(value: &Value) -> Result<String, std::fmt::Error> {
    let mut out = String::new();
    YamlEmitter::new(&mut out)
        .dump(&to_yaml(value))
        .map_err(|_| std::fmt::Error)?;
    let mut text = match out.strip_prefix("---\n") {
        Some(body) => body.to_string(),
        None => out
            .strip_prefix("---")
            .unwrap_or(&out)
            .trim_start()
            .to_string(),
    };
    text.push('\n');
    Ok(text)
}

fn to_yaml(value: &Value) -> Yaml<'_> {
    match value {
        // `null` rather than the emitter's `~`, as JSON readers expect.
        Value::Null => plain("null"),
        Value::Bool(b) => Yaml::Value(Scalar::Boolean(*b)),
        Value::Number(n) => match (n.as_i64(), n.as_f64()) {
            (Some(i), _) => Yaml::Value(Scalar::Integer(i)),
            // Beyond i64 (a u64), written as the digits.
            _ if n.is_u64() => plain(n.to_string()),
            (None, Some(f)) => Yaml::Value(Scalar::FloatingPoint(f.into())),
            (None, None) => plain("null"),
        },
        Value::String(s) => Yaml::Value(Scalar::String(Cow::Borrowed(s))),
        Value::Array(items) => Yaml::Sequence(items.iter().map(to_yaml).collect()),
        Value::Object(map) => {
            let mut m = Mapping::new();
            for (k, v) in map {
                m.insert(Yaml::Value(Scalar::String(Cow::Borrowed(k))), to_yaml(v));
            }
            Yaml::Mapping(m)
        }
    }
}

/// A scalar written as `text`, unquoted.
fn plain<'a>(text: impl Into<Cow<'a, str>>) -> Yaml<'a> {
    Yaml::Representation(text.into(), saphyr_parser::ScalarStyle::Plain, None)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::to_text;
    use crate::manifest::yaml::parse;

    fn round_trip(value: serde_json::Value) {
        let text = to_text(&value).unwrap();
        let back = parse(&text).unwrap_or_else(|e| panic!("{e:?} in\n{text}"));
        assert_eq!(back.len(), 1, "{text}");
        assert_eq!(back[0].value, value, "{text}");
    }

    #[test]
    fn rows_read_back_as_the_same_json() {
        round_trip(json!([
            {
                "name": "reviewer",
                "kind": "Agent",
                "state": "Running",
                "health": "-",
                "restarts": 0,
                "ageSeconds": 12,
                "ports": ["127.0.0.1:20000->8080/tcp"],
                "source": "/srv/manifests/agents.yaml",
            },
            {
                "name": "sess-7f3a",
                "kind": "Session",
                "state": "Expired",
                "health": "unhealthy",
                "restarts": 3,
                "ageSeconds": -1,
                "ports": [],
                "source": "",
                "volume": { "cleanup": "RetainFor 7d", "orphanedSeconds": null },
            },
        ]));
    }

    #[test]
    fn strings_that_would_read_as_something_else_stay_strings() {
        let tricky = [
            "",
            " lead",
            "trail ",
            "no",
            "yes",
            "true",
            "null",
            "~",
            "0",
            "-1",
            "1e3",
            "0x1F",
            "0o17",
            ".inf",
            "-.inf",
            ".nan",
            "1.5",
            "a: b",
            "#x",
            "- x",
            "[x]",
            "{x}",
            "x, y",
            "it's",
            "say \"hi\"",
            "back\\slash",
            "tab\there",
            "line\nbreak",
            "*ref",
            "&anchor",
            "!tag",
            "%dir",
            "@at",
            "`tick",
            "é",
            "2h",
            "512Mi",
            "1_000",
            "+1",
            "=",
        ];
        round_trip(json!(tricky.to_vec()));
        let keyed: serde_json::Map<String, serde_json::Value> =
            tricky.iter().map(|s| (s.to_string(), json!(s))).collect();
        round_trip(serde_json::Value::Object(keyed));
    }

    #[test]
    fn numbers_and_nesting() {
        round_trip(json!({
            "int": 42, "neg": -7, "float": 1.5, "whole": 2.0,
            "bool": false, "none": null, "empty": {}, "list": [[], [1, [2]], {"a": {"b": [3]}}],
        }));
        assert_eq!(to_text(&json!([])).unwrap(), "[]\n");
        // Beyond i64 the digits are written as they are (berth's reader takes them as a float).
        assert_eq!(to_text(&json!(u64::MAX)).unwrap(), "18446744073709551615\n");
    }
}
