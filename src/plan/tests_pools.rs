//! Warm pools in the planner: who claims what, what is never claimed, and that a claimed
//! container is its Session's own from then on.

use super::tests_runtime::{at, seen, want};
use super::*;
use crate::model::{member_key, Kind, PoolFit};

/// A pool of `size` members of template `web`, and Sessions that fit it.
fn pooled(size: usize, sessions: &[&str]) -> (DesiredSet, String) {
    let mut objects = Vec::new();
    let member = want(Kind::Pool, "web-0");
    let hash = member.hash.clone();
    for slot in 0..size {
        let mut m = member.clone();
        m.key = member_key("web", slot);
        m.template = Some("web".into());
        objects.push(m);
    }
    for s in sessions {
        let mut w = want(Kind::Session, s);
        w.spec.labels.insert("user".into(), format!("u-{s}"));
        w.hash = w.spec.hash();
        w.template = Some("web".into());
        w.pool = PoolFit::Fits {
            template: "web".into(),
        };
        w.claimed_hash = Some(hash.clone());
        objects.push(w);
    }
    let set = DesiredSet {
        objects: objects.into_iter().map(|d| (d.key.clone(), d)).collect(),
        ..Default::default()
    };
    (set, hash)
}

/// A running member of slot `slot`, as the engine lists it.
fn member(set: &DesiredSet, slot: usize, created: i64) -> Observed {
    let w = &set.objects[&member_key("web", slot)];
    let mut o = seen(w, RunState::Running, None);
    o.pool = Some("web".into());
    o.created = created;
    o
}

fn lines(p: &Plan) -> Vec<String> {
    p.actions
        .iter()
        .map(|a| format!("{} {} {a}", a.verb().symbol(), a.key))
        .collect()
}

fn plan_of(set: &DesiredSet, observed: &[Observed]) -> Plan {
    plan(set, observed, &Runtime::new(), at(0), Options::default())
}

#[test]
fn sessions_claim_ready_members_oldest_first_and_each_once() {
    let (set, _) = pooled(2, &["a", "b", "c"]);
    let observed = vec![member(&set, 0, 20), member(&set, 1, 10)];
    assert_eq!(
        lines(&plan_of(&set, &observed)),
        [
            "+ session/c create: not on the engine",
            "* session/a claim: not on the engine: claims berth_t_pool_web-1 from the pool",
            "* session/b claim: not on the engine: claims berth_t_pool_web-0 from the pool",
        ]
    );
}

#[test]
fn a_member_that_is_not_ready_or_not_current_is_never_claimed() {
    let (set, _) = pooled(3, &["a"]);
    let mut starting = member(&set, 0, 1);
    starting.health = Some(Health::Starting);
    let mut exited = member(&set, 1, 2);
    exited.state = RunState::Exited { code: Some(1) };
    let mut stale = member(&set, 2, 3);
    stale.spec_hash = Some("old".into());
    let p = plan_of(&set, &[starting, exited, stale]);
    let l = lines(&p);
    assert!(
        l.contains(&"+ session/a create: not on the engine".to_string()),
        "{l:#?}"
    );
    assert!(
        l.iter().any(|l| l.starts_with("~ pool/web-2 recreate")),
        "{l:#?}"
    );
    assert!(
        l.iter().any(|l| l.starts_with("> pool/web-1 start")),
        "{l:#?}"
    );
}

#[test]
fn a_claimed_container_is_the_sessions_own_and_current() {
    let (set, hash) = pooled(1, &["a"]);
    // Renamed to the Session's name: listed under its key, with the pool's hash.
    let mut claimed = member(&set, 0, 5);
    claimed.key = Some(ObjectKey::new(Kind::Session, "a"));
    claimed.name = "berth_t_session_a".into();
    assert_eq!(claimed.spec_hash.as_deref(), Some(hash.as_str()));
    let p = plan_of(&set, &[claimed]);
    // Nothing for the Session; the emptied slot is refilled.
    assert_eq!(lines(&p), ["+ pool/web-0 create: not on the engine"]);
}

#[test]
fn a_session_that_does_not_fit_or_is_kept_stopped_is_made_cold() {
    let (mut set, _) = pooled(1, &["a", "b"]);
    let a = set
        .objects
        .get_mut(&ObjectKey::new(Kind::Session, "a"))
        .unwrap();
    a.pool = PoolFit::Cold {
        template: "web".into(),
        reason: "it sets env".into(),
    };
    let b = set
        .objects
        .get_mut(&ObjectKey::new(Kind::Session, "b"))
        .unwrap();
    b.operator.stopped = true;
    let observed = vec![member(&set, 0, 1)];
    assert_eq!(
        lines(&plan_of(&set, &observed)),
        [
            "+ session/a create: not on the engine",
            "+ session/b create: not on the engine",
        ]
    );
}

#[test]
fn a_member_past_the_pool_size_goes() {
    let (set, _) = pooled(1, &[]);
    let extra = {
        let mut o = member(&set, 0, 1);
        o.key = Some(member_key("web", 1));
        o.name = "berth_t_pool_web-1".into();
        o.id = "id-web-1".into();
        o
    };
    let p = plan_of(&set, &[member(&set, 0, 1), extra]);
    assert_eq!(
        lines(&p),
        ["- pool/web-1 remove: beyond its pool: the pool's size, or the quotas, leave no room"]
    );
}
