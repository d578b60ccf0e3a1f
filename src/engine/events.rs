//! The engine's event stream, reduced to what the controller needs: "this object's
//! container changed". The stream ends when the connection drops; the caller reconnects
//! with `since` set to the last event's time.

use std::collections::HashMap;

use bollard::query_parameters::EventsOptionsBuilder;
use futures_util::{Stream, StreamExt};

use super::{Client, EngineError};
use crate::model::{labels, Health, ObjectKey};

/// Container actions that can change what the planner decides.
pub const ACTIONS: &[&str] = &[
    "create",
    "start",
    "die",
    "oom",
    "kill",
    "stop",
    "destroy",
    "pause",
    "unpause",
    "health_status",
];

/// What happened to a container, as far as berth's decisions go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventKind {
    /// Its process ended (`die`; the exit code comes with it).
    Die,
    /// It started.
    Start,
    /// It was removed.
    Destroy,
    /// Its health check changed (`health_status`; the new status comes with it).
    Health,
    /// Someone asked the engine to stop it (`docker stop`, or berth itself): the `kill`
    /// with SIGTERM that comes before the `die`, and the `stop` after it. A crash, an OOM
    /// kill or a `docker kill` (SIGKILL) has neither.
    Stop,
    /// The kernel killed a process of it for its memory limit (`oom`; the `die` follows).
    Oom,
    /// Anything else of [`ACTIONS`] (create, pause, unpause): worth a look, nothing to
    /// correct.
    Other,
}

impl EventKind {
    fn parse(action: &str, signal: Option<&str>) -> EventKind {
        match action {
            "kill" if signal == Some("15") => EventKind::Stop,
            "die" => EventKind::Die,
            "start" => EventKind::Start,
            "destroy" => EventKind::Destroy,
            "health_status" => EventKind::Health,
            "oom" => EventKind::Oom,
            "stop" => EventKind::Stop,
            _ => EventKind::Other,
        }
    }
}

/// One container event of this instance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EngineEvent {
    pub kind: EventKind,
    pub key: Option<ObjectKey>,
    pub container_id: String,
    /// Nanoseconds since the Unix epoch, as the engine stamped it.
    pub time_nano: i64,
    /// `die`: the exit code.
    pub exit_code: Option<i64>,
    /// `health_status`: the new status.
    pub health: Option<Health>,
}

impl EngineEvent {
    /// The `since` value that resumes the stream right after this event.
    pub fn resume_since(&self) -> String {
        format!(
            "{}.{:09}",
            self.time_nano / 1_000_000_000,
            self.time_nano % 1_000_000_000
        )
    }
}

impl Client {
    /// Container events for `instance` from `since` (a Unix time with optional fraction)
    /// on, up to `until` (then the stream ends; without it, it follows new events). The
    /// stream yields an error and ends when the connection drops or is refused.
    pub(super) fn event_stream(
        &self,
        instance: &str,
        since: Option<String>,
        until: Option<String>,
    ) -> impl Stream<Item = Result<EngineEvent, EngineError>> + Send + 'static {
        let filters = HashMap::from([
            ("type".to_string(), vec!["container".to_string()]),
            (
                "label".to_string(),
                vec![format!("{}={instance}", labels::INSTANCE)],
            ),
            (
                "event".to_string(),
                ACTIONS.iter().map(|a| a.to_string()).collect(),
            ),
        ]);
        let mut opts = EventsOptionsBuilder::new().filters(&filters);
        if let Some(s) = &since {
            opts = opts.since(s);
        }
        if let Some(u) = &until {
            opts = opts.until(u);
        }
        let endpoint = self.endpoint().to_string();
        let instance = instance.to_string();
        self.api("events")
            .events(Some(opts.build()))
            .filter_map(move |item| {
                let out = match item {
                    Err(e) => Some(Err(EngineError::from_bollard("GET /events", &endpoint, e))),
                    Ok(msg) => {
                        let full = msg.action.unwrap_or_default();
                        let (action, detail) = match full.split_once(':') {
                            Some((a, d)) => (a.trim().to_string(), d.trim().to_string()),
                            None => (full.trim().to_string(), String::new()),
                        };
                        let health = match detail.as_str() {
                            "healthy" => Some(Health::Healthy),
                            "unhealthy" => Some(Health::Unhealthy),
                            "starting" => Some(Health::Starting),
                            _ => None,
                        };
                        let actor = msg.actor.unwrap_or_default();
                        let attrs = actor.attributes.unwrap_or_default();
                        let ours = attrs.get(labels::INSTANCE) == Some(&instance);
                        (ours && ACTIONS.contains(&action.as_str())).then(|| {
                            let name = attrs.get("name").map_or("", String::as_str);
                            let key = super::convert::identity(&attrs, name);
                            Ok(EngineEvent {
                                kind: EventKind::parse(
                                    &action,
                                    attrs.get("signal").map(String::as_str),
                                ),
                                key,
                                container_id: actor.id.unwrap_or_default(),
                                time_nano: msg
                                    .time_nano
                                    .or(msg.time.map(|t| t * 1_000_000_000))
                                    .unwrap_or_default(),
                                // Podman names it containerExitCode.
                                exit_code: attrs
                                    .get("exitCode")
                                    .or_else(|| attrs.get("containerExitCode"))
                                    .and_then(|c| c.parse().ok()),
                                health,
                            })
                        })
                    }
                };
                std::future::ready(out)
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stop_request_is_told_from_a_kill() {
        assert_eq!(EventKind::parse("kill", Some("15")), EventKind::Stop);
        assert_eq!(EventKind::parse("stop", None), EventKind::Stop);
        assert_eq!(EventKind::parse("kill", Some("9")), EventKind::Other);
        assert_eq!(EventKind::parse("die", None), EventKind::Die);
    }

    #[test]
    fn resume_point_keeps_nanoseconds() {
        let e = EngineEvent {
            kind: EventKind::Die,
            key: None,
            container_id: String::new(),
            time_nano: 1_700_000_000_000_000_042,
            exit_code: None,
            health: None,
        };
        assert_eq!(e.resume_since(), "1700000000.000000042");
    }
}
