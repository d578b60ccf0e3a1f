//! A custom seccomp profile judged by what it does, not by its name: a profile whose
//! default action lets system calls through (`{}`, `SCMP_ACT_ALLOW`, `SCMP_ACT_LOG`), or
//! that hands decisions to a program outside the container (`SCMP_ACT_NOTIFY`, a
//! `listenerPath`), confines nothing; it counts as `unconfined`.

use serde_json::Value;

/// Default actions that stop a system call the profile does not list.
const CONFINING: &[&str] = &[
    "SCMP_ACT_ERRNO",
    "SCMP_ACT_KILL",
    "SCMP_ACT_KILL_PROCESS",
    "SCMP_ACT_KILL_THREAD",
    "SCMP_ACT_TRAP",
    "SCMP_ACT_TRACE",
];

/// Why a profile is no confinement at all, or `None` when it confines.
pub fn permissive(profile: &Value) -> Option<String> {
    let Some(obj) = profile.as_object() else {
        return Some("it is not a JSON object".into());
    };
    let default = obj.get("defaultAction").and_then(Value::as_str);
    match default {
        None => {
            return Some(
                "it has no defaultAction, so every system call it does not list is allowed".into(),
            )
        }
        Some(a) if !CONFINING.contains(&a) => {
            return Some(format!(
                "its defaultAction {} lets every system call it does not list through",
                crate::model::quoted(a)
            ))
        }
        Some(_) => {}
    }
    if obj.contains_key("listenerPath") {
        return Some(
            "it names a listenerPath: a program outside the container decides its system calls"
                .into(),
        );
    }
    let notifies = obj
        .get("syscalls")
        .and_then(Value::as_array)
        .is_some_and(|rules| {
            rules
                .iter()
                .any(|r| r.get("action").and_then(Value::as_str) == Some("SCMP_ACT_NOTIFY"))
        });
    notifies.then(|| {
        "a rule uses SCMP_ACT_NOTIFY: a program outside the container decides those system calls"
            .into()
    })
}

#[cfg(test)]
mod tests {
    use super::permissive;
    use serde_json::json;

    #[test]
    fn profiles_are_judged_by_their_content() {
        for (profile, confining) in [
            (json!({}), false),
            (json!([]), false),
            (json!({ "defaultAction": "SCMP_ACT_ALLOW" }), false),
            (json!({ "defaultAction": "SCMP_ACT_LOG" }), false),
            (json!({ "defaultAction": "SCMP_ACT_NOTIFY" }), false),
            (json!({ "defaultAction": "scmp_act_errno" }), false),
            (json!({ "defaultAction": 1 }), false),
            (
                json!({ "defaultAction": "SCMP_ACT_ERRNO", "listenerPath": "/run/x.sock" }),
                false,
            ),
            (
                json!({ "defaultAction": "SCMP_ACT_ERRNO", "syscalls": [ { "names": ["mount"], "action": "SCMP_ACT_NOTIFY" } ] }),
                false,
            ),
            (json!({ "defaultAction": "SCMP_ACT_ERRNO" }), true),
            (json!({ "defaultAction": "SCMP_ACT_KILL_PROCESS" }), true),
            (
                json!({ "defaultAction": "SCMP_ACT_ERRNO", "syscalls": [ { "names": ["read"], "action": "SCMP_ACT_ALLOW" } ] }),
                true,
            ),
        ] {
            assert_eq!(permissive(&profile).is_none(), confining, "{profile}");
        }
    }
}
