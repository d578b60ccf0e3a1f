//! What the session API reads and answers, as JSON (and in `/v1/openapi.json`).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::status::ObjectStatus;

/// `POST /v1/sessions`: a Session made from a template, as a `--sessions` file would
/// declare it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreateSession {
    /// The Template it is made from (one of the trusted manifests).
    pub template: String,
    /// A DNS label; left out, berth makes one: `<template>-<8 hex digits>`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Its lifetime from the first start, e.g. `2h` (at most the Policy's `maxTtl`).
    pub ttl: String,
    /// Labels, e.g. `{"user": "u1"}`: what quotas and token scopes look at.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    /// Environment values (only the keys the template's `sessionEnv` allows).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub env: BTreeMap<String, String>,
}

/// `POST /v1/sessions/{name}/renew`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Renew {
    /// How long it may live from now on, e.g. `1h`.
    pub ttl: String,
}

/// Query of `POST /v1/sessions`.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CreateQuery {
    /// `ready`: answer once the session runs (and is healthy, where it is checked).
    pub wait: Option<String>,
    /// How long to wait, e.g. `30s` (default `30s`, at most `5m`).
    pub timeout: Option<String>,
}

/// Query of `DELETE /v1/sessions/{name}`.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DeleteQuery {
    /// `gone`: answer once its container is removed.
    pub wait: Option<String>,
    /// How long to wait (default `30s`, at most `5m`).
    pub timeout: Option<String>,
}

/// Query of `GET /v1/sessions`.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(rename_all = "camelCase")]
pub struct ListQuery {
    /// A label selector as kubectl writes it, e.g. `user=u1`.
    pub label_selector: Option<String>,
}

/// A published port.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Port {
    pub container_port: u16,
    pub protocol: String,
    pub host_port: u16,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host_ip: Option<String>,
}

/// One Session as berth sees it now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Session {
    pub name: String,
    /// `Pending`, `Starting`, `Running`, `Unhealthy`, `CrashLoopBackOff`, `Idle`,
    /// `Expired`, `Failed`, `Invalid`, `OverQuota`, `Terminating` (see docs/operations.md).
    pub phase: String,
    /// Runs, and is healthy where that is checked.
    pub ready: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub template: Option<String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    /// The TTL its manifest declares.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ttl: Option<String>,
    /// When it is reaped, Unix milliseconds (known from its first start).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at_ms: Option<u64>,
    /// Where its HTTP port is routed (`expose`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ports: Vec<Port>,
    pub restarts: u32,
    /// Why it is in its phase, when the phase alone does not say.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// Its manifest is a file in the API's sessions directory (so the API may change it).
    pub managed: bool,
}

impl Session {
    /// From its line in `/status`.
    pub fn of(s: &ObjectStatus, managed: bool) -> Session {
        Session {
            name: s.name.clone(),
            phase: s.phase.to_string(),
            ready: s.phase.is_ready(),
            template: s.template.clone(),
            labels: s.labels.clone(),
            ttl: s.desired.as_ref().and_then(|d| d.ttl.clone()),
            expires_at_ms: s.expires_at_ms,
            url: s.url.clone(),
            ports: s
                .ports
                .iter()
                .map(|p| Port {
                    container_port: p.container_port,
                    protocol: p.protocol.clone(),
                    host_port: p.host_port,
                    host_ip: p.host_ip.clone(),
                })
                .collect(),
            restarts: s.restarts,
            message: s.message(),
            managed,
        }
    }
}

/// `GET /v1/sessions`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct SessionList {
    pub items: Vec<Session>,
}

/// An Agent after `stop` or `start`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Agent {
    pub name: String,
    pub phase: String,
    /// Stopped by the operator (`berth stop`, or this API) until started again.
    pub stopped: bool,
}
