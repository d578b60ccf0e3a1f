//! Warm pools: a Template's `pool` becomes its members (desired objects
//! `pool/<template>-<slot>`, resolved and admitted like an Agent of the template), and each
//! Session of a pooled template is told whether it fits the pool (docs/pools.md).
//!
//! A Session fits when its container would be the pool's exactly, its labels aside: labels
//! cannot be put on a running container, so a claimed Session's own labels live in berth
//! (selectors, quotas, metrics) and not on the engine.

use std::collections::{BTreeMap, HashMap};

use crate::manifest::diagnostic::Diagnostic;
use crate::manifest::load::{Body, Document};
use crate::manifest::types::{AgentSpec, NetworkName, TemplateSpec, MAX_POOL_SIZE};
use crate::model::{member_key, DesiredContainer, Kind, ObjectKey, PoolFit, Spec};

/// What a Template's `pool` may not be combined with, each at its field.
pub(super) fn check_template(out: &mut Vec<Diagnostic>, d: &Document, t: &TemplateSpec) {
    let Some(pool) = t.pool else { return };
    if pool.size > MAX_POOL_SIZE {
        out.push(d.error_at(
            "/spec/pool/size",
            format!("at most {MAX_POOL_SIZE} members per pool"),
        ));
    }
    if pool.size == 0 {
        return;
    }
    let c = &t.container;
    if c.ports.as_ref().is_some_and(|p| !p.is_empty()) {
        out.push(
            d.error_at(
                "/spec/pool",
                "a pooled template cannot publish ports: every member would need the same host \
             port; reach a Session through `expose` instead"
                    .into(),
            ),
        );
    }
    match &c.network {
        None | Some(NetworkName::Default) => {}
        Some(NetworkName::Shared(_)) => out.push(
            d.error_at(
                "/spec/pool",
                "a pooled template cannot name a shared network (pools keep to the default bridge)"
                    .into(),
            ),
        ),
        Some(_) => out.push(
            d.error_at(
                "/spec/pool",
                "a pooled template cannot have a network of its own: a member's network is named \
             after the member, not after the Session that claims it"
                    .into(),
            ),
        ),
    }
    if c.volumes.iter().flatten().any(|v| v.shared != Some(true)) {
        out.push(
            d.error_at(
                "/spec/pool",
                "a pooled template's volumes must be `shared: true`: a per-object volume would \
             belong to the member, not to the Session that claims it"
                    .into(),
            ),
        );
    }
}

/// A pooled template: its size and the spec its members run.
pub(super) struct Pool {
    pub size: u32,
    pub member: DesiredContainer,
}

/// Every template of `templates` (trusted templates) resolved by `resolve` as an Agent of
/// the template alone would be (so the Policy admits pool members like any container), and
/// the pools among them. A pool whose members are refused makes a diagnostic at the
/// template's `pool` and its members are held; any other template that does not resolve
/// alone is simply left out.
pub(super) fn pools(
    templates: &HashMap<&str, &Document>,
    mut resolve: impl FnMut(&Document) -> Result<Option<DesiredContainer>, Vec<Diagnostic>>,
    diagnostics: &mut Vec<Diagnostic>,
    held: &mut std::collections::BTreeSet<ObjectKey>,
) -> (BTreeMap<String, DesiredContainer>, BTreeMap<String, Pool>) {
    let mut bases = BTreeMap::new();
    let mut out = BTreeMap::new();
    for (name, t) in templates {
        let Body::Template(spec) = &t.body else {
            continue;
        };
        let pool = spec.pool.filter(|p| p.size > 0);
        let mut as_agent = (*t).clone();
        as_agent.body = Body::Agent(AgentSpec {
            template: Some(name.to_string()),
            ..AgentSpec::default()
        });
        as_agent.spec_fields = vec!["template".into()];
        match resolve(&as_agent) {
            Ok(Some(mut member)) => {
                member.key = ObjectKey::new(Kind::Pool, name.to_string());
                member.expose = None;
                member.idle = None;
                member.alerts = Default::default();
                bases.insert(name.to_string(), member.clone());
                if let Some(pool) = pool {
                    let size = pool.size;
                    out.insert(name.to_string(), Pool { size, member });
                }
            }
            Ok(None) => {}
            Err(errors) if pool.is_some() => {
                for e in errors {
                    diagnostics.push(t.error_at(
                        "/spec/pool",
                        format!("the pool's members are not admitted: {}", e.message),
                    ));
                }
                // Held like any refused object: members made before are kept, not reaped,
                // and never claimed (only a declared member is).
                let size = pool.map_or(0, |p| p.size as usize);
                held.extend((0..size).map(|slot| member_key(name, slot)));
            }
            Err(_) => {}
        }
    }
    (bases, out)
}

/// The members of every pool, as desired objects.
pub(super) fn members(pools: &BTreeMap<String, Pool>) -> Vec<DesiredContainer> {
    let mut out = Vec::new();
    for (template, pool) in pools {
        for slot in 0..pool.size as usize {
            let mut m = pool.member.clone();
            m.key = member_key(template, slot);
            m.template = Some(template.clone());
            out.push(m);
        }
    }
    out
}

/// Whether `session` (of a pooled template) fits its pool, and if not, why.
pub(super) fn fit(session: &DesiredContainer, pools: &BTreeMap<String, Pool>) -> PoolFit {
    let Some((template, pool)) = session
        .template
        .as_ref()
        .and_then(|t| pools.get_key_value(t))
    else {
        return PoolFit::NoPool;
    };
    let cold = |reason: String| PoolFit::Cold {
        template: template.clone(),
        reason,
    };
    let member = &pool.member.spec;
    let mut own = session.spec.clone();
    own.labels.clone_from(&member.labels);
    if own != *member {
        let changes = differences(member, &own);
        return cold(format!(
            "it sets what a running container cannot be given: {changes}"
        ));
    }
    if session.volumes.iter().any(|v| !v.source.shared) {
        return cold("it mounts a volume of its own".into());
    }
    PoolFit::Fits {
        template: template.clone(),
    }
}

/// The hash `session`'s spec has with its template's labels in place of its own (see
/// [`DesiredContainer::claimed_hash`]).
pub(super) fn claimed_hash(
    session: &DesiredContainer,
    bases: &BTreeMap<String, DesiredContainer>,
) -> Option<String> {
    let base = bases.get(session.template.as_deref()?)?;
    let mut own = session.spec.clone();
    own.labels.clone_from(&base.spec.labels);
    Some(own.hash())
}

/// The fields that differ, without their values (an env value may be a secret).
fn differences(member: &Spec, own: &Spec) -> String {
    let mut fields: Vec<&str> = Vec::new();
    let changes = own.changes_from(member);
    for c in &changes {
        let field = c.split_once(' ').map_or(c.as_str(), |(f, _)| f);
        if !fields.contains(&field) {
            fields.push(field);
        }
    }
    if fields.is_empty() {
        "its spec differs".into()
    } else {
        fields.join(", ")
    }
}
