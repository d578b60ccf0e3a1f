use std::process::ExitCode;

use super::{once, CliError, Context, PlanFormat};
use crate::manifest::Sources;
use crate::plan::Plan;

/// The plan as `berth diff` shows it: one line per action and per note.
fn render(p: &Plan) -> String {
    let mut out = String::new();
    for a in &p.actions {
        out.push_str(&format!("{} {}: {a}\n", a.verb().symbol(), a.key));
    }
    for n in &p.notes {
        out.push_str(&format!("= {}: {}\n", n.subject, n.message));
    }
    out
}

/// `berth diff`: exit 0 no changes, 1 changes, 2 error (as `kubectl diff`).
pub async fn run(
    ctx: &Context,
    sources: &Sources,
    allow_empty: bool,
    format: PlanFormat,
) -> Result<ExitCode, CliError> {
    let mut loaded = once::load(sources);
    let engine = ctx.connect().await?;
    let planned = once::plan(ctx, &engine, &mut loaded, allow_empty).await?;
    let (p, none_held) = (planned.plan, planned.held.is_empty());
    match format {
        PlanFormat::Text => {
            out!("{}", render(&p));
            if p.is_empty() {
                eprintln!(
                    "no changes ({} object(s) up to date)",
                    loaded.desired.objects.len()
                );
            } else {
                eprintln!("{} change(s)", p.actions.len());
            }
        }
        PlanFormat::Json => outln!(
            "{}",
            serde_json::to_string_pretty(&p).expect("a plan serializes")
        ),
    }
    Ok(ExitCode::from(if loaded.has_errors() || !none_held {
        2
    } else {
        u8::from(!p.is_empty())
    }))
}

#[cfg(test)]
mod tests {
    use crate::model::{Kind, ObjectKey};

    /// `diff -o json` once said `"Agent"` where `get` says `"agent"`.
    #[test]
    fn kinds_are_lower_case_in_json_and_old_forms_still_read() {
        let key = ObjectKey::new(Kind::Agent, "web");
        assert_eq!(
            serde_json::to_string(&key).unwrap(),
            r#"{"kind":"agent","name":"web"}"#
        );
        let old: ObjectKey = serde_json::from_str(r#"{"kind":"Session","name":"s"}"#).unwrap();
        assert_eq!(old, ObjectKey::new(Kind::Session, "s"));
    }
}
