//! "Did you mean": the known field closest to a misspelt one. The known fields are every
//! property name of the published schema, so the list cannot fall behind the types.

use std::collections::BTreeSet;
use std::sync::OnceLock;

use serde_json::Value;

/// ` (did you mean "readOnlyRootFilesystem"?)` for `readOnlyRootFileSystem`, or nothing.
///
/// Names compare without case, `_` and `-`; the closest known name within two edits
/// (Damerau-Levenshtein: a swap of two neighbours is one) wins, the first in alphabetical
/// order on a tie. A short name gets fewer edits (one up to five characters), so that
/// nearly every name is not a near miss of every short one.
pub fn did_you_mean(field: &str) -> String {
    let asked = fold(field);
    let allowed = (asked.chars().count().max(3) / 3).min(2);
    known_fields()
        .iter()
        .filter(|(name, _)| name != field)
        .map(|(name, folded)| (strsim::damerau_levenshtein(&asked, folded), name))
        .filter(|(distance, _)| *distance <= allowed)
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, name)| format!(" (did you mean {name:?}?)"))
        .unwrap_or_default()
}

fn fold(name: &str) -> String {
    name.to_ascii_lowercase().replace(['_', '-'], "")
}

/// Every property name in the schema, with its folded form, sorted by name; computed once.
fn known_fields() -> &'static [(String, String)] {
    static FIELDS: OnceLock<Vec<(String, String)>> = OnceLock::new();
    FIELDS.get_or_init(|| {
        let mut names = BTreeSet::new();
        collect(&super::schema::schema(), &mut names);
        names
            .into_iter()
            .map(|n| (fold(&n), n))
            .map(|(f, n)| (n, f))
            .collect()
    })
}

fn collect(schema: &Value, out: &mut BTreeSet<String>) {
    match schema {
        Value::Object(map) => {
            if let Some(Value::Object(properties)) = map.get("properties") {
                out.extend(properties.keys().cloned());
            }
            map.values().for_each(|v| collect(v, out));
        }
        Value::Array(items) => items.iter().for_each(|v| collect(v, out)),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::{did_you_mean, known_fields};

    #[test]
    fn near_misses_get_the_closest_known_field() {
        for (written, want) in [
            ("readOnlyRootFileSystem", "readOnlyRootFilesystem"),
            ("read_only_root_filesystem", "readOnlyRootFilesystem"),
            ("resourcez", "resources"),
            ("imgae", "image"),
            ("cpu", "cpus"),
            ("hostIp", "hostIP"),
            ("allowPriviledged", "allowPrivileged"),
            ("sessionEnvs", "sessionEnv"),
            ("maxTTL", "maxTtl"),
        ] {
            assert_eq!(
                did_you_mean(written),
                format!(" (did you mean {want:?}?)"),
                "{written}"
            );
        }
    }

    #[test]
    fn far_misses_and_short_names_get_none() {
        // `memory` is known (under resources): a name in the wrong place gets no other name.
        for written in ["x", "ab", "replicas", "volumeMountz", "memory", ""] {
            assert_eq!(did_you_mean(written), "", "{written}");
        }
    }

    #[test]
    fn the_known_fields_come_from_the_schema() {
        let names: Vec<&str> = known_fields().iter().map(|(n, _)| n.as_str()).collect();
        for field in [
            "apiVersion",
            "metadata",
            "readOnlyRootFilesystem",
            "sessionEnv",
            "restartWindow",
            "maxStopGracePeriod",
            "hostIP",
        ] {
            assert!(names.contains(&field), "{field}");
        }
    }
}
