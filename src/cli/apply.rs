use std::process::ExitCode;
use std::time::Duration;

use super::{once, CliError, Context};
use crate::manifest::Sources;
use crate::plan::Verb;
use crate::reconcile::{self, Outcome};

#[derive(Debug, Clone, Copy)]
pub struct Options {
    pub wait: Option<Duration>,
    pub allow_empty: bool,
    pub concurrency: usize,
}

/// `berth apply`: converge once, print each action and its result, optionally wait.
/// Exit 0 when converged, 1 when anything failed or was invalid, 2 when the engine is out of
/// reach.
pub async fn run(ctx: &Context, sources: &Sources, opts: Options) -> Result<ExitCode, CliError> {
    let instance = ctx.instance.as_str();
    let mut loaded = once::load(sources);
    let engine = ctx.connect().await?;
    let (p, ports_ok) = once::plan(ctx, &engine, &mut loaded, opts.allow_empty).await?;
    for n in &p.notes {
        println!("= {}: {}", n.subject, n.message);
    }
    if p.is_empty() {
        println!(
            "nothing to do: {} object(s) up to date",
            loaded.desired.objects.len()
        );
    }
    let outcomes = reconcile::execute(
        &engine,
        instance,
        p.actions,
        opts.concurrency,
        print_outcome,
    )
    .await;
    let failed = outcomes.iter().filter(|o| o.result.is_err()).count();
    if !outcomes.is_empty() {
        println!("{} action(s), {failed} failed", outcomes.len());
    }
    let mut ok = failed == 0 && !loaded.has_errors() && ports_ok;

    if let Some(timeout) = opts.wait {
        let poll = Duration::from_millis(500);
        let failed_keys = outcomes
            .iter()
            .filter(|o| o.result.is_err())
            .map(|o| o.action.key.clone())
            .collect();
        match reconcile::wait_ready(
            &engine,
            instance,
            &loaded.desired,
            &failed_keys,
            timeout,
            poll,
        )
        .await
        {
            Ok(pending) if pending.is_empty() => println!(
                "ready: {} object(s) running{}",
                loaded.desired.objects.len(),
                if loaded
                    .desired
                    .objects
                    .values()
                    .any(|d| d.spec.health.is_some())
                {
                    " and healthy"
                } else {
                    ""
                }
            ),
            Ok(pending) => {
                ok = false;
                let gave_up = pending.iter().any(|p| p.failed);
                println!(
                    "not ready{}:",
                    if gave_up {
                        String::new()
                    } else {
                        format!(" after {}", humantime::format_duration(timeout))
                    }
                );
                for p in pending {
                    println!("  {}: {}", p.key, p.reason);
                }
            }
            Err(e) => return Err(e.into()),
        }
    }
    if loaded.has_errors() {
        eprintln!("some manifests have errors: what they declare was left as it was");
    }
    Ok(ExitCode::from(u8::from(!ok)))
}

fn print_outcome(o: &Outcome) {
    let a = &o.action;
    match &o.result {
        Ok(id) => {
            let done = match a.verb() {
                Verb::Create => "created",
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
            println!("{} {}: {a} ... {done}{id}", a.verb().symbol(), a.key);
        }
        Err(e) => println!(
            "{} {}: {a} ... FAILED [{}]: {e}",
            a.verb().symbol(),
            a.key,
            e.class()
        ),
    }
}
