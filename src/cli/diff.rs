use std::path::PathBuf;

use super::PlanFormat;
use crate::manifest::{self, diagnostic, Format, Loaded};
use crate::plan::{self, Plan};

/// Loads manifests and prints their diagnostics to stderr.
pub(super) fn load(paths: &[PathBuf]) -> Loaded {
    let loaded = manifest::load(paths);
    eprint!("{}", diagnostic::render(&loaded.diagnostics, Format::Text));
    loaded
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
pub async fn run(instance: &str, paths: &[PathBuf], allow_empty: bool, format: PlanFormat) -> u8 {
    let mut loaded = load(paths);
    let Some(engine) = super::connect().await else {
        return 2;
    };
    let observed = match engine.list(instance).await {
        Ok(o) => o,
        Err(e) => {
            eprintln!("error: {e}");
            return 2;
        }
    };
    let ports_ok = super::assign_ports(instance, &mut loaded, &observed);
    let p = plan::plan(
        &loaded.desired,
        &observed,
        &Default::default(),
        std::time::SystemTime::now(),
        plan::Options { allow_empty },
    );
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
