//! The data forms of what `apply` and `down` did (`-o json`): one entry per action with its
//! result, objects named as `kind/name` as everywhere in berth's JSON.

use serde::Serialize;

use crate::model::{Cause, FailureClass, Verb};
use crate::reconcile::Outcome;

/// An action and how it ended.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ActionReport {
    pub object: String,
    pub verb: Verb,
    pub cause: Cause,
    pub reason: String,
    /// `ok` or `failed`.
    pub result: &'static str,
    /// The container the action left behind (short id).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub container: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<ErrorReport>,
}

#[derive(Debug, Serialize)]
pub struct ErrorReport {
    pub class: FailureClass,
    pub message: String,
}

impl From<&Outcome> for ActionReport {
    fn from(o: &Outcome) -> Self {
        let a = &o.action;
        ActionReport {
            object: a.key.to_string(),
            verb: a.verb(),
            cause: a.cause,
            reason: a.reason.clone(),
            result: if o.result.is_ok() { "ok" } else { "failed" },
            container: o
                .result
                .as_ref()
                .ok()
                .and_then(|id| id.as_deref())
                .map(|i| i.chars().take(12).collect()),
            error: o.result.as_ref().err().map(|e| ErrorReport {
                class: e.class(),
                message: e.to_string(),
            }),
        }
    }
}

/// Prints `value` as pretty JSON on stdout.
pub fn print_json<T: Serialize>(value: &T) {
    outln!(
        "{}",
        serde_json::to_string_pretty(value).expect("reports serialize")
    );
}
