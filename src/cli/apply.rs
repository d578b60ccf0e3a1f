use std::process::ExitCode;
use std::time::{Duration, SystemTime};

use serde::Serialize;

use super::report::{print_json, ActionReport};
use super::{once, CliError, Context, PlanFormat};
use crate::manifest::Sources;
use crate::model::Actor;
use crate::plan::Verb;
use crate::reconcile::{self, record, Outcome};
use crate::state::StateError;

#[derive(Debug, Clone, Copy)]
pub struct Options {
    pub wait: Option<Duration>,
    /// With `--wait`: how long a container must run without exiting to count as running.
    pub settle: Duration,
    pub allow_empty: bool,
    pub concurrency: usize,
    pub output: PlanFormat,
}

/// `berth apply -o json`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct Report {
    actions: Vec<ActionReport>,
    failed: usize,
    notes: Vec<crate::plan::Note>,
    /// Objects held before planning, and why.
    held: Vec<Held>,
    /// Some manifests have errors: what they declare was left as it was.
    invalid_manifests: bool,
    /// With `--wait`: what is not ready (empty: everything is).
    #[serde(skip_serializing_if = "Option::is_none")]
    not_ready: Option<Vec<Held>>,
}

#[derive(Debug, Serialize)]
struct Held {
    object: String,
    message: String,
}

/// `berth apply`: converge once, print each action and its result, optionally wait; record
/// what it did in the state file (unless a `berth run` holds it). Exit 0 when converged, 1
/// when anything failed or was invalid, 2 when the engine is out of reach.
pub async fn run(ctx: &Context, sources: &Sources, opts: Options) -> Result<ExitCode, CliError> {
    let instance = ctx.instance.as_str();
    let text = opts.output == PlanFormat::Text;
    let began = SystemTime::now();
    let mut loaded = once::load(sources);
    let engine = ctx.connect().await?;
    let planned = once::plan(ctx, &engine, &mut loaded, opts.allow_empty).await?;
    let p = &planned.plan;
    if text {
        for n in &p.notes {
            outln!("= {}: {}", n.subject, n.message);
        }
        if p.is_empty() {
            outln!(
                "nothing to do: {} object(s) up to date",
                loaded.desired.objects.len()
            );
        }
    }
    let report = |o: &Outcome| {
        if text {
            print_outcome(o)
        }
    };
    let mut outcomes = reconcile::execute(
        &engine,
        instance,
        p.actions.clone(),
        opts.concurrency,
        report,
    )
    .await;
    // A claim frees its member's slot: fill it now, as the next pass of `berth run` would.
    let claimed: Vec<_> = outcomes
        .iter()
        .filter(|o| o.result.is_ok())
        .filter_map(|o| o.action.also_holds())
        .cloned()
        .collect();
    if !claimed.is_empty() {
        let refill = crate::plan::pools::refill(&loaded.desired, &claimed);
        outcomes
            .extend(reconcile::execute(&engine, instance, refill, opts.concurrency, report).await);
    }
    let failed = outcomes.iter().filter(|o| o.result.is_err()).count();
    if text && !outcomes.is_empty() {
        outln!("{} action(s), {failed} failed", outcomes.len());
    }
    remember(ctx, &loaded.desired, &planned, &outcomes);
    let mut ok = failed == 0 && !loaded.has_errors() && planned.held.is_empty();

    let mut not_ready = None;
    if let Some(timeout) = opts.wait {
        let failed_keys = outcomes
            .iter()
            .filter(|o| o.result.is_err())
            .map(|o| o.action.key.clone())
            .collect();
        let pending = reconcile::wait_ready(
            &engine,
            instance,
            &loaded.desired,
            &failed_keys,
            reconcile::Readiness {
                timeout,
                settle: opts.settle,
                began,
            },
        )
        .await?;
        ok &= pending.is_empty();
        if text {
            print_wait(&loaded.desired, &pending, timeout);
        }
        not_ready = Some(
            pending
                .into_iter()
                .map(|p| Held {
                    object: p.key.to_string(),
                    message: p.reason,
                })
                .collect(),
        );
    }
    if text && loaded.has_errors() {
        eprintln!("some manifests have errors: what they declare was left as it was");
    }
    if !text {
        print_json(&Report {
            actions: outcomes.iter().map(ActionReport::from).collect(),
            failed,
            notes: p.notes.clone(),
            held: planned
                .held
                .iter()
                .map(|h| Held {
                    object: h.key.to_string(),
                    message: h.message.clone(),
                })
                .collect(),
            invalid_manifests: loaded.has_errors(),
            not_ready,
        });
    }
    Ok(ExitCode::from(u8::from(!ok)))
}

/// Records the actions, the declared objects, the ports and orphan clocks in the state
/// file; while a `berth run` holds it, the daemon's memory is its own and this says so.
fn remember(
    ctx: &Context,
    desired: &crate::model::DesiredSet,
    planned: &once::OncePlan,
    outcomes: &[Outcome],
) {
    let result = ctx.store().update(|file| {
        file.instance = ctx.instance.clone();
        record::outcomes(file, outcomes, Actor::Apply, SystemTime::now());
        record::applied(file, desired, &planned.held, outcomes, &planned.memory);
    });
    match result {
        Ok(()) => {}
        Err(StateError::Locked { .. }) => eprintln!(
            "note: a berth run holds instance {:?}: it keeps the state; these actions are in \
             this output only",
            ctx.instance
        ),
        Err(e) => eprintln!("warning: {e}; this apply is not remembered"),
    }
}

fn print_wait(desired: &crate::model::DesiredSet, pending: &[reconcile::NotReady], t: Duration) {
    if pending.is_empty() {
        let healthy = desired.objects.values().any(|d| d.spec.health.is_some());
        outln!(
            "ready: {} object(s) running{}",
            desired.objects.len(),
            if healthy { " and healthy" } else { "" }
        );
        return;
    }
    let gave_up = pending.iter().any(|p| p.failed);
    outln!(
        "not ready{}:",
        if gave_up {
            String::new()
        } else {
            format!(" after {}", humantime::format_duration(t))
        }
    );
    for p in pending {
        outln!("  {}: {}", p.key, p.reason);
    }
}

fn print_outcome(o: &Outcome) {
    let a = &o.action;
    match &o.result {
        Ok(id) => {
            let done = match a.verb() {
                Verb::Create => "created",
                Verb::Claim => "claimed",
                Verb::Recreate => "recreated",
                Verb::Start => "started",
                Verb::Remove => "removed",
                Verb::Stop => "stopped",
                Verb::Restart => "restarted",
            };
            let id = id
                .as_deref()
                .map(|i| format!(" ({})", &i[..i.len().min(12)]))
                .unwrap_or_default();
            outln!("{} {}: {a} ... {done}{id}", a.verb().symbol(), a.key);
        }
        Err(e) => outln!(
            "{} {}: {a} ... FAILED [{}]: {e}",
            a.verb().symbol(),
            a.key,
            e.class().as_str()
        ),
    }
}
