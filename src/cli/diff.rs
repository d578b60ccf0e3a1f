use super::PlanFormat;
use crate::engine::{Engine, EngineError};
use crate::manifest::{diagnostic, Format, Sources};
use crate::model::CleanupRule;
use crate::plan::volumes::VolumeOptions;
use crate::plan::{self, Plan};
use crate::resolve::{self, Loaded};

/// Loads manifests and prints their diagnostics to stderr.
pub(super) fn load(sources: &Sources) -> Loaded {
    let loaded = resolve::load(sources);
    eprint!("{}", diagnostic::render(&loaded.diagnostics, Format::Text));
    loaded
}

/// Lists the instance's containers and volumes (two calls) and plans against them, as a
/// one-shot command does: without berth run's memory, so no backoff, no TTL, and no
/// `RetainFor` clock (only `Delete` orphans are removed).
/// `hostPort: auto` is filled in first (false when the pool ran out for some object, which
/// is then held).
pub(super) async fn observe_and_plan(
    engine: &Engine,
    instance: &str,
    loaded: &mut Loaded,
    allow_empty: bool,
    cleanup: CleanupRule,
) -> Result<(Plan, bool), EngineError> {
    let observed = engine.list(instance).await?;
    let mut ports_ok = super::assign_ports(instance, loaded, &observed);
    let facts = engine.host_facts().await;
    for m in plan::host::check(&mut loaded.desired, &facts) {
        eprintln!(
            "error: {}: {}; nothing is sent to the engine for it",
            m.key, m.message
        );
        ports_ok = false;
    }
    let volumes = engine.list_volumes(instance).await?;
    let (p, _) = plan::plan_all(
        &loaded.desired,
        &observed,
        &volumes,
        &Default::default(),
        &Default::default(),
        std::time::SystemTime::now(),
        plan::Options { allow_empty },
        &VolumeOptions {
            instance: instance.to_string(),
            default_cleanup: cleanup,
            max_orphans: None,
            max_orphan_bytes: None,
            allow_removal: true,
        },
    );
    Ok((p, ports_ok))
}

/// The plan as `berth diff` shows it: one line per action and per note.
pub(super) fn render(p: &Plan) -> String {
    let mut out = String::new();
    for a in &p.actions {
        out.push_str(&format!("{} {}: {a}\n", a.verb.symbol(), a.key));
    }
    for n in &p.notes {
        out.push_str(&format!("= {}: {}\n", n.subject, n.message));
    }
    out
}

/// `berth diff`: exit 0 no changes, 1 changes, 2 error (as `kubectl diff`).
pub async fn run(
    instance: &str,
    sources: &Sources,
    allow_empty: bool,
    cleanup: CleanupRule,
    format: PlanFormat,
) -> u8 {
    let mut loaded = load(sources);
    let Some(engine) = super::connect().await else {
        return 2;
    };
    let (p, ports_ok) =
        match observe_and_plan(&engine, instance, &mut loaded, allow_empty, cleanup).await {
            Ok(p) => p,
            Err(e) => {
                eprintln!("error: {e}");
                return 2;
            }
        };
    match format {
        PlanFormat::Text => {
            print!("{}", render(&p));
            if p.is_empty() {
                eprintln!(
                    "no changes ({} object(s) up to date)",
                    loaded.desired.objects.len()
                );
            } else {
                eprintln!("{} change(s)", p.actions.len());
            }
        }
        PlanFormat::Json => println!(
            "{}",
            serde_json::to_string_pretty(&p).expect("a plan serializes")
        ),
    }
    if loaded.has_errors() || !ports_ok {
        2
    } else {
        u8::from(!p.is_empty())
    }
}
