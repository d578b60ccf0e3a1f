//! The published JSON Schema, generated from the manifest types, and the compiled validator.

use std::sync::OnceLock;

use schemars::generate::SchemaSettings;
use serde_json::{json, Map, Value};

use super::types::{
    AgentSpec, DocumentKind, Metadata, PolicySpec, SessionSpec, TemplateSpec, API_VERSION,
};

/// The `$id` under which the schema is published in the repository.
pub const SCHEMA_ID: &str = "https://berth.dev/schemas/berth-v1.json";

/// The JSON Schema (draft 2020-12) of one manifest document.
///
/// The envelope (`apiVersion`, `kind`, `metadata`, `spec`) is checked first; an `if`/`then`
/// per kind then checks `spec`, so errors point at the field, not at a `oneOf`.
pub fn schema() -> Value {
    let mut generator = SchemaSettings::draft2020_12().into_generator();
    let mut specs = Map::new();
    specs.insert(
        "Template".into(),
        generator.subschema_for::<TemplateSpec>().to_value(),
    );
    specs.insert(
        "Agent".into(),
        generator.subschema_for::<AgentSpec>().to_value(),
    );
    specs.insert(
        "Session".into(),
        generator.subschema_for::<SessionSpec>().to_value(),
    );
    specs.insert(
        "Policy".into(),
        generator.subschema_for::<PolicySpec>().to_value(),
    );
    let metadata = generator.subschema_for::<Metadata>().to_value();
    let defs: Map<String, Value> = generator.take_definitions(true).into_iter().collect();

    let kinds: Vec<&str> = DocumentKind::ALL.iter().map(|k| k.as_str()).collect();
    let per_kind: Vec<Value> = DocumentKind::ALL
        .iter()
        .map(|k| {
            json!({
                "if": { "properties": { "kind": { "const": k.as_str() } }, "required": ["kind"] },
                "then": { "properties": { "spec": specs[k.as_str()] } }
            })
        })
        .collect();

    let mut root = json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        "title": "berth manifest",
        "description": "One document of a berth manifest file (several may share a file, separated by ---).",
        "type": "object",
        "required": ["apiVersion", "kind", "metadata", "spec"],
        "additionalProperties": false,
        "properties": {
            "apiVersion": { "description": "Always `berth/v1`.", "const": API_VERSION },
            "kind": { "description": "What the document declares.", "enum": kinds },
            "metadata": metadata,
            "spec": { "type": "object" }
        },
        "allOf": per_kind,
        "$defs": defs,
    });
    strip_nullable(&mut root);
    root
}

/// Optional fields are written by leaving them out; an explicit `null` is not a value berth
/// accepts, so the `null` alternatives schemars adds for `Option` are removed.
fn strip_nullable(v: &mut Value) {
    match v {
        Value::Object(map) => {
            if let Some(Value::Array(types)) = map.get_mut("type") {
                types.retain(|t| t != "null");
                if types.len() == 1 {
                    let only = types.remove(0);
                    map.insert("type".into(), only);
                }
            }
            if let Some(Value::Array(any)) = map.get("anyOf") {
                let rest: Vec<Value> = any
                    .iter()
                    .filter(|s| s.get("type") != Some(&json!("null")))
                    .cloned()
                    .collect();
                if rest.len() == 1 {
                    map.remove("anyOf");
                    if let Value::Object(inner) = &rest[0] {
                        for (k, val) in inner {
                            map.entry(k.clone()).or_insert_with(|| val.clone());
                        }
                    }
                }
            }
            if let Some(Value::Array(options)) = map.get_mut("enum") {
                options.retain(|o| !o.is_null());
            }
            for child in map.values_mut() {
                strip_nullable(child);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(strip_nullable),
        _ => {}
    }
}

/// The compiled validator, built once.
pub(crate) fn validator() -> &'static jsonschema::Validator {
    static VALIDATOR: OnceLock<jsonschema::Validator> = OnceLock::new();
    VALIDATOR.get_or_init(|| {
        jsonschema::options()
            .build(&schema())
            .expect("the generated schema compiles")
    })
}

/// The schema as pretty JSON with a trailing newline, as checked in under `schemas/`.
pub fn schema_text() -> String {
    let mut s = serde_json::to_string_pretty(&schema()).expect("schema serializes");
    s.push('\n');
    s
}
