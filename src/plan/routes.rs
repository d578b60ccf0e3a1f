//! Which routes a router should hold: pure, like the rest of the planner. An exposed object
//! has a route to its container while the container runs (and is healthy, when it has a
//! health check), a route to berth's wake endpoint while berth keeps it idle (when a wake
//! address is set), and none otherwise: not while it starts, crashes or is stopped, never
//! once a session expired.

use crate::model::{
    by_key, DesiredSet, Health, Observed, Route, RouteId, RunState, Runtime, Upstream,
};

/// The routes of `instance`, sorted by id.
pub fn routes(
    instance: &str,
    desired: &DesiredSet,
    observed: &[Observed],
    runtime: &Runtime,
    wake: Option<&str>,
) -> Vec<Route> {
    let containers = by_key(observed);
    let mut out = Vec::new();
    for (key, want) in &desired.objects {
        let Some(exposure) = &want.expose else {
            continue;
        };
        if runtime.get(key).is_some_and(|r| r.expired) {
            continue;
        }
        let upstream = if want.operator.idle && !want.stopped && !want.operator.stopped {
            wake.map(|w| Upstream::Wake {
                address: w.to_string(),
            })
        } else {
            containers
                .get(key)
                .and_then(|cs| {
                    cs.iter().find(|c| {
                        c.state == RunState::Running
                            && want.is_current(c)
                            && (want.spec.health.is_none() || c.health == Some(Health::Healthy))
                    })
                })
                .and_then(|c| c.address.as_deref())
                .map(|ip| Upstream::Container {
                    address: socket(ip, exposure.port),
                })
        };
        if let Some(upstream) = upstream {
            out.push(Route {
                id: RouteId::of(instance, key),
                key: key.clone(),
                exposure: exposure.clone(),
                upstream,
            });
        }
    }
    out.sort_by(|a, b| a.id.cmp(&b.id));
    out
}

/// `IP:PORT`, with brackets for IPv6.
fn socket(ip: &str, port: u16) -> String {
    if ip.contains(':') {
        format!("[{ip}]:{port}")
    } else {
        format!("{ip}:{port}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Exposure, Kind, ObjectKey};
    use crate::plan::tests_runtime::{seen, set, want};

    fn exposed() -> crate::model::DesiredContainer {
        let mut w = want(Kind::Session, "s1");
        w.expose = Some(Exposure {
            port: 8080,
            path: Some("/s/s1/".into()),
            host: None,
            strip_prefix: true,
        });
        w
    }

    fn with_address(mut o: Observed, ip: &str) -> Observed {
        o.address = Some(ip.into());
        o
    }

    /// A name, the object, the listing, berth's memory, the wake address, the upstream.
    type Case<'a> = (
        &'a str,
        &'a crate::model::DesiredContainer,
        Vec<Observed>,
        &'a Runtime,
        Option<&'a str>,
        Option<String>,
    );

    #[test]
    fn a_route_exists_only_while_its_object_is_up_idle_or_healthy() {
        let w = exposed();
        let healthy = {
            let mut w = exposed();
            w.spec.health = Some(crate::model::HealthCheck {
                command: vec!["true".into()],
                interval_ms: 1000,
                timeout_ms: 1000,
                retries: 1,
                start_period_ms: 0,
            });
            w.hash = w.spec.hash();
            w
        };
        let idle = {
            let mut w = exposed();
            w.operator.idle = true;
            w
        };
        let expired = Runtime::from([(
            ObjectKey::new(Kind::Session, "s1"),
            crate::model::ObjectRuntime {
                expired: true,
                ..Default::default()
            },
        )]);
        let none = Runtime::new();
        let ip = "172.17.0.5";
        let to = |a: &str| Some(a.to_string());
        let cases: Vec<Case> = vec![
            (
                "running",
                &w,
                vec![with_address(seen(&w, RunState::Running, None), ip)],
                &none,
                None,
                to("172.17.0.5:8080"),
            ),
            ("no container", &w, vec![], &none, None, None),
            (
                "exited",
                &w,
                vec![with_address(
                    seen(&w, RunState::Exited { code: Some(1) }, None),
                    ip,
                )],
                &none,
                None,
                None,
            ),
            (
                "no address",
                &w,
                vec![seen(&w, RunState::Running, None)],
                &none,
                None,
                None,
            ),
            (
                "checked, starting",
                &healthy,
                vec![with_address(
                    seen(&healthy, RunState::Running, Some(Health::Starting)),
                    ip,
                )],
                &none,
                None,
                None,
            ),
            (
                "checked, healthy",
                &healthy,
                vec![with_address(
                    seen(&healthy, RunState::Running, Some(Health::Healthy)),
                    ip,
                )],
                &none,
                None,
                to("172.17.0.5:8080"),
            ),
            (
                "idle, wake set",
                &idle,
                vec![],
                &none,
                Some("127.0.0.1:9325"),
                to("127.0.0.1:9325"),
            ),
            ("idle, no wake", &idle, vec![], &none, None, None),
            (
                "expired",
                &w,
                vec![with_address(seen(&w, RunState::Running, None), ip)],
                &expired,
                Some("127.0.0.1:9325"),
                None,
            ),
        ];
        for (name, want, observed, rt, wake, expect) in cases {
            let got = routes("t", &set(want), &observed, rt, wake);
            assert_eq!(
                got.first().map(|r| r.upstream.address().to_string()),
                expect,
                "{name}"
            );
            if let Some(r) = got.first() {
                assert_eq!(r.id.0, "berth_t_session_s1", "{name}");
                assert_eq!(
                    matches!(r.upstream, Upstream::Wake { .. }),
                    want.operator.idle,
                    "{name}"
                );
            }
        }
    }

    #[test]
    fn ipv6_addresses_are_bracketed() {
        assert_eq!(socket("fd00::5", 80), "[fd00::5]:80");
    }
}
