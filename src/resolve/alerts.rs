//! `alerts` as written → [`AlertRules`], each value checked at its field.

use std::time::Duration;

use crate::manifest::types::{AlertsSpec, ThresholdSpec};
use crate::model::{AlertRules, RestartRule, Threshold};

/// The rules of an `alerts` block; an error names its field (a JSON pointer under `at`).
pub(super) fn rules_of(
    spec: Option<&AlertsSpec>,
    at: &str,
) -> Result<AlertRules, (String, String)> {
    let Some(a) = spec else {
        return Ok(AlertRules::default());
    };
    let threshold =
        |t: &Option<ThresholdSpec>, name: &str| -> Result<Option<Threshold>, (String, String)> {
            let Some(t) = t else { return Ok(None) };
            let pointer = format!("{at}/{name}");
            let above: f64 = t
                .above
                .strip_suffix('%')
                .and_then(|n| n.parse().ok())
                .filter(|p: &f64| (0.0..=1000.0).contains(p))
                .ok_or_else(|| {
                    (
                        format!("{pointer}/above"),
                        format!("{:?} is not a percentage such as 90%", t.above),
                    )
                })?;
            let for_ = match &t.for_ {
                Some(d) => humantime::parse_duration(d)
                    .map_err(|e| (format!("{pointer}/for"), format!("not a duration: {e}")))?,
                None => Duration::ZERO,
            };
            Ok(Some(Threshold {
                above_percent: above,
                for_,
            }))
        };
    let restarts = match &a.restarts {
        Some(r) => {
            let within = humantime::parse_duration(&r.within).map_err(|e| {
                (
                    format!("{at}/restarts/within"),
                    format!("not a duration: {e}"),
                )
            })?;
            if within.is_zero() {
                return Err((
                    format!("{at}/restarts/within"),
                    "must be longer than zero".into(),
                ));
            }
            Some(RestartRule {
                above: r.above,
                within,
            })
        }
        None => None,
    };
    Ok(AlertRules {
        memory: threshold(&a.memory, "memory")?,
        cpu: threshold(&a.cpu, "cpu")?,
        restarts,
    })
}
