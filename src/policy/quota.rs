//! Session quotas: how many Sessions the Policy lets run at once, in total, per value of a
//! label (`maxSessionsPer: { user: 3 }`) and per template. Pure: the loop and the session
//! API count the same way, with this code.
//!
//! A quota only ever decides whether a Session that has nothing yet may get a container.
//! Sessions that already have one (or are being created, or sleep idle) are counted first
//! and always kept: lowering a quota reaps nothing by itself.

use std::collections::BTreeMap;

/// The quotas of a Policy; empty means no limit.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Quotas {
    pub max_sessions: Option<u32>,
    /// Label key → at most this many Sessions per value of it.
    pub per_label: BTreeMap<String, u32>,
    /// Template name → at most this many Sessions made from it.
    pub per_template: BTreeMap<String, u32>,
}

impl Quotas {
    pub fn is_empty(&self) -> bool {
        self.max_sessions.is_none() && self.per_label.is_empty() && self.per_template.is_empty()
    }
}

/// What a quota looks at in one Session.
#[derive(Debug, Clone, Copy)]
pub struct Counted<'a> {
    pub labels: &'a BTreeMap<String, String>,
    pub template: Option<&'a str>,
}

/// The Sessions counted so far.
#[derive(Debug, Clone, Default)]
pub struct Usage {
    total: u32,
    per_label: BTreeMap<(String, String), u32>,
    per_template: BTreeMap<String, u32>,
}

/// Why a Session does not fit, as a sentence that names the quota.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct OverQuota(pub String);

impl Usage {
    /// Counts one Session.
    pub fn add(&mut self, quotas: &Quotas, s: Counted<'_>) {
        self.total += 1;
        for key in quotas.per_label.keys() {
            if let Some(v) = s.labels.get(key) {
                *self.per_label.entry((key.clone(), v.clone())).or_default() += 1;
            }
        }
        if let Some(t) = s.template.filter(|t| quotas.per_template.contains_key(*t)) {
            *self.per_template.entry(t.to_string()).or_default() += 1;
        }
    }

    /// Whether one more Session `s` fits; the first quota it breaks otherwise.
    pub fn check(&self, quotas: &Quotas, s: Counted<'_>) -> Result<(), OverQuota> {
        if let Some(max) = quotas.max_sessions.filter(|m| self.total >= *m) {
            return Err(OverQuota(format!(
                "the Policy allows {max} session{} at once (maxSessions) and {} exist",
                plural(max),
                self.total
            )));
        }
        for (key, max) in &quotas.per_label {
            let Some(v) = s.labels.get(key) else { continue };
            let n = self
                .per_label
                .get(&(key.clone(), v.clone()))
                .copied()
                .unwrap_or(0);
            if n >= *max {
                return Err(OverQuota(format!(
                    "the Policy allows {max} session{} per {key} (maxSessionsPer) and {key}={v} has {n}",
                    plural(*max)
                )));
            }
        }
        if let Some(t) = s.template {
            if let Some(max) = quotas.per_template.get(t) {
                let n = self.per_template.get(t).copied().unwrap_or(0);
                if n >= *max {
                    return Err(OverQuota(format!(
                        "the Policy allows {max} session{} of template {t:?} (maxSessionsPerTemplate) and {n} exist",
                        plural(*max)
                    )));
                }
            }
        }
        Ok(())
    }
}

fn plural(n: u32) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

/// Sessions that already run (or must be kept) are counted first; then each candidate,
/// in the order given, gets a place while one is left. Returns, per refused candidate
/// (its index in `candidates`), the reason.
pub fn admit<'a>(
    quotas: &Quotas,
    kept: impl IntoIterator<Item = Counted<'a>>,
    candidates: &[Counted<'a>],
) -> Vec<(usize, OverQuota)> {
    let mut usage = Usage::default();
    for s in kept {
        usage.add(quotas, s);
    }
    let mut refused = Vec::new();
    for (i, s) in candidates.iter().enumerate() {
        match usage.check(quotas, *s) {
            Ok(()) => usage.add(quotas, *s),
            Err(e) => refused.push((i, e)),
        }
    }
    refused
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn quotas_admit_in_order_and_name_the_rule_they_apply() {
        let q = Quotas {
            max_sessions: Some(4),
            per_label: BTreeMap::from([("user".into(), 2)]),
            per_template: BTreeMap::from([("big".into(), 1)]),
        };
        let u1 = labels(&[("user", "u1")]);
        let u2 = labels(&[("user", "u2")]);
        let none = labels(&[]);
        let c = |l, t| Counted {
            labels: l,
            template: t,
        };
        // u1 already has one running; two more asked for: one fits.
        let refused = admit(
            &q,
            [c(&u1, Some("small"))],
            &[
                c(&u1, Some("small")),
                c(&u1, Some("small")),
                c(&u2, Some("big")),
                c(&u2, Some("big")),
                c(&none, None),
                c(&none, None),
            ],
        );
        let why: Vec<(usize, String)> = refused.into_iter().map(|(i, e)| (i, e.0)).collect();
        assert_eq!(
            why,
            vec![
                (
                    1,
                    "the Policy allows 2 sessions per user (maxSessionsPer) and user=u1 has 2"
                        .into()
                ),
                (
                    3,
                    "the Policy allows 1 session of template \"big\" (maxSessionsPerTemplate) and 1 exist"
                        .into()
                ),
                (
                    5,
                    "the Policy allows 4 sessions at once (maxSessions) and 4 exist".into()
                ),
            ]
        );
    }

    #[test]
    fn a_lowered_quota_refuses_new_ones_only() {
        let q = Quotas {
            max_sessions: Some(1),
            ..Quotas::default()
        };
        let l = labels(&[]);
        let c = Counted {
            labels: &l,
            template: None,
        };
        // Three kept (they have containers): nothing of them is refused; the new one is.
        assert_eq!(admit(&q, [c, c, c], &[c]).len(), 1);
        assert!(admit(&Quotas::default(), [c, c, c], &[c, c]).is_empty());
    }
}
