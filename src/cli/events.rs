//! `berth events`: the instance's history (the actions berth took, by which command, how
//! they ended, and the failures seen on the engine) as lines or JSON Lines; `-f` keeps
//! printing new records as they are written to the state file.

use std::process::ExitCode;
use std::time::Duration;

use super::{CliError, Context, PlanFormat};
use crate::model::{Happening, ObjectKey, Record};

/// How often `-f` looks at the state file.
const FOLLOW_POLL: Duration = Duration::from_millis(500);

/// One record as a line: time, object (with `with_object`), what and by whom, why, and how
/// it ended: `2026-12-01T11:30:20Z  agent/web  stop (by run): stopped by berth stop -> ok`.
pub fn line(r: &Record, with_object: bool) -> String {
    let time = humantime::format_rfc3339_seconds(r.at);
    let object = if with_object {
        format!("{}  ", r.object)
    } else {
        String::new()
    };
    match &r.what {
        Happening::Action {
            verb,
            reason,
            error,
            ..
        } => {
            let result = match error {
                None => "ok".to_string(),
                Some(e) => format!("FAILED [{}]: {}", e.class.as_str(), e.message),
            };
            format!(
                "{time}  {object}{verb} (by {}): {reason} -> {result}",
                r.by.as_str()
            )
        }
        Happening::Failure { class, message } => {
            format!("{time}  {object}failure [{}]: {message}", class.as_str())
        }
    }
}

fn print(r: &Record, format: PlanFormat) {
    match format {
        PlanFormat::Text => outln!("{}", line(r, true)),
        PlanFormat::Json => outln!("{}", serde_json::to_string(r).expect("records serialize")),
    }
}

/// Exit 0; 2 when the state file cannot be read.
pub async fn run(
    ctx: &Context,
    objects: &[ObjectKey],
    follow: bool,
    format: PlanFormat,
) -> Result<ExitCode, CliError> {
    let store = ctx.store();
    let wanted = |r: &Record| objects.is_empty() || objects.contains(&r.object);
    let file = store.peek()?;
    for r in file.history.records().filter(|r| wanted(r)) {
        print(r, format);
    }
    let mut last = file.history.last_seq();
    if file.history.is_empty() && !follow && format == PlanFormat::Text {
        eprintln!(
            "no events for instance {:?} in {}",
            ctx.instance,
            store.path().display()
        );
    }
    if !follow {
        return Ok(ExitCode::SUCCESS);
    }
    loop {
        tokio::time::sleep(FOLLOW_POLL).await;
        let Ok(file) = store.peek() else { continue }; // mid-replace: look again
        if file.history.last_seq() < last {
            last = 0; // a new state file: its history starts over
        }
        for r in file.history.after(last).filter(|r| wanted(r)) {
            print(r, format);
        }
        last = last.max(file.history.last_seq());
    }
}
