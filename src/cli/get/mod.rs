//! `berth get`: the instance's objects (every declared one, with or without a container),
//! or its volumes. Targets as kubectl takes them (`agents`, `session/s1`), `-l` selectors,
//! `--show-labels`, and `-w` to keep printing what changes.

mod rows;
mod volumes;

use std::collections::BTreeMap;
use std::process::ExitCode;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use futures_util::StreamExt;
use serde::Serialize;

use super::output::{age, table};
use super::{CliError, Context, GetFormat};
use crate::engine::{Client, Engine};
use crate::model::{Kind, Selector};
use crate::state::OverrideStore;
use rows::{Filter, Row};

pub use volumes::volumes;

/// Flags of `berth get`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// What to list: nothing or `objects` (everything), `agents`, `sessions`, one or more
    /// `KIND/NAME`, or `volumes` (NAME OWNER STATE AGE EXPIRES).
    #[arg(value_name = "TARGET")]
    pub targets: Vec<String>,
    /// Only objects whose labels match, as kubectl writes selectors:
    /// `key=value,key!=value,key,!key,key in (a,b)`.
    #[arg(short = 'l', long, value_name = "SELECTOR")]
    pub selector: Option<Selector>,
    /// After the list, print each object again when it changes (until interrupted).
    #[arg(short = 'w', long)]
    pub watch: bool,
    /// A LABELS column (the manifests' labels).
    #[arg(long)]
    pub show_labels: bool,
    /// `table` (default), `wide`, `json` or `yaml`.
    #[arg(long, short = 'o', value_enum, default_value = "table")]
    pub output: GetFormat,
}

/// What the targets ask for: objects through a filter, or the volumes.
fn parse_targets(args: &Args) -> Result<Option<Filter>, CliError> {
    let mut filter = Filter {
        selector: args.selector.clone().unwrap_or_default(),
        ..Default::default()
    };
    let mut volumes = false;
    for t in &args.targets {
        match t.to_ascii_lowercase().as_str() {
            "objects" | "all" => {}
            "volumes" | "volume" => volumes = true,
            "agents" | "agent" => {
                filter.kinds.insert(Kind::Agent);
            }
            "sessions" | "session" => {
                filter.kinds.insert(Kind::Session);
            }
            "pools" | "pool" => {
                filter.kinds.insert(Kind::Pool);
            }
            _ => {
                let key = super::parse::parse_object_ref(t).map_err(CliError::Setup)?;
                filter.objects.insert(key);
            }
        }
    }
    if volumes && args.targets.len() > 1 {
        return Err(CliError::Setup(
            "`berth get volumes` takes no other target".into(),
        ));
    }
    Ok((!volumes).then_some(filter))
}

/// `berth get`. Exit 0; 1 when a named object does not exist; 2 error.
pub async fn run(ctx: &Context, args: Args) -> Result<ExitCode, CliError> {
    let Some(filter) = parse_targets(&args)? else {
        return volumes(ctx, args.output).await;
    };
    let engine = ctx.connect().await?;
    let mut shown = current(ctx, &engine, &filter).await?;
    if matches!(args.output, GetFormat::Table | GetFormat::Wide) {
        let info = engine.info();
        eprintln!(
            "engine: {} {} (API {}) at {}",
            info.kind,
            info.version,
            engine.api_version(),
            engine.endpoint()
        );
    }
    let missing: Vec<String> = filter
        .objects
        .iter()
        .filter(|k| !shown.iter().any(|r| r.key() == k.to_string()))
        .map(ToString::to_string)
        .collect();
    for m in &missing {
        eprintln!("error: {m}: no such object in instance {:?}", ctx.instance);
    }
    match args.output {
        GetFormat::Json | GetFormat::Yaml if !args.watch => {
            let code = print_data(&shown, args.output);
            return Ok(ExitCode::from(code.max(u8::from(!missing.is_empty()))));
        }
        GetFormat::Json | GetFormat::Yaml => {
            for r in &shown {
                print_data(std::slice::from_ref(r), args.output);
            }
        }
        GetFormat::Table | GetFormat::Wide => {
            if shown.is_empty() && missing.is_empty() {
                eprintln!("no objects for instance {:?}", ctx.instance);
            } else {
                out!("{}", render(&shown, &args, true));
            }
        }
    }
    if !args.watch {
        return Ok(ExitCode::from(u8::from(!missing.is_empty())));
    }
    // -w: wake on the instance's engine events, and every two seconds for what only the
    // state file says (phases, restart counts); print the rows that changed.
    let mut events = engine.events(&ctx.instance, None, None);
    loop {
        tokio::select! {
            _ = events.next() => {}
            _ = tokio::time::sleep(Duration::from_secs(2)) => {}
        }
        let now = current(ctx, &engine, &filter).await?;
        let changed: Vec<Row> = now.iter().filter(|r| !shown.contains(r)).cloned().collect();
        if !changed.is_empty() {
            match args.output {
                GetFormat::Json | GetFormat::Yaml => {
                    for r in &changed {
                        print_data(std::slice::from_ref(r), args.output);
                    }
                }
                _ => out!("{}", render(&changed, &args, false)),
            }
        }
        shown = now;
    }
}

/// The rows as they are now.
async fn current(ctx: &Context, engine: &Client, filter: &Filter) -> Result<Vec<Row>, CliError> {
    let mut observed = engine.list(&ctx.instance).await?;
    engine.fill_health(&mut observed).await;
    let state = ctx.store().peek().unwrap_or_else(|e| {
        eprintln!("warning: {e}");
        Default::default()
    });
    let overrides = OverrideStore::new(&ctx.state_dir, &ctx.instance)
        .read()
        .unwrap_or_else(|e| {
            eprintln!("warning: {e}");
            Default::default()
        });
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    Ok(rows::rows(&observed, &state, &overrides, filter, now))
}

/// The table (with its header when `header`): NAME KIND STATE HEALTH RESTARTS AGE IMAGE,
/// CONTAINER ID STATUS with `-o wide`, URL and REASON when any row has one, LABELS on request.
fn render(rows: &[Row], args: &Args, header: bool) -> String {
    let wide = args.output == GetFormat::Wide;
    let reasons = rows.iter().any(|r| r.message.is_some());
    let urls = rows.iter().any(|r| r.url.is_some());
    let mut head = vec![
        "NAME", "KIND", "STATE", "HEALTH", "RESTARTS", "AGE", "IMAGE",
    ];
    if wide {
        head.extend(["CONTAINER", "ID", "STATUS"]);
    }
    if urls {
        head.push("URL");
    }
    if reasons {
        head.push("REASON");
    }
    if args.show_labels {
        head.push("LABELS");
    }
    let dash = |s: &Option<String>| s.clone().unwrap_or_else(|| "-".into());
    let body: Vec<Vec<String>> = rows
        .iter()
        .map(|r| {
            let mut cells = vec![
                r.name.clone(),
                r.kind.clone(),
                r.state_text(),
                dash(&r.health),
                r.restarts.to_string(),
                r.age_seconds.map_or("-".into(), age),
                r.image.clone(),
            ];
            if wide {
                cells.extend([dash(&r.container), dash(&r.id), dash(&r.status)]);
            }
            if urls {
                cells.push(dash(&r.url));
            }
            if reasons {
                cells.push(dash(&r.message));
            }
            if args.show_labels {
                cells.push(labels_text(&r.labels));
            }
            cells
        })
        .collect();
    let text = table(&head, &body);
    if header {
        text
    } else {
        text.lines().skip(1).map(|l| format!("{l}\n")).collect()
    }
}

fn labels_text(labels: &BTreeMap<String, String>) -> String {
    if labels.is_empty() {
        return "<none>".into();
    }
    labels
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(",")
}

/// Prints rows as JSON or YAML; the exit code.
fn print_data<T: Serialize>(rows: &[T], format: GetFormat) -> u8 {
    if format == GetFormat::Json {
        outln!(
            "{}",
            serde_json::to_string_pretty(rows).expect("rows serialize")
        );
        return 0;
    }
    let value = serde_json::to_value(rows).expect("rows serialize");
    match crate::manifest::yaml::to_text(&value) {
        Ok(s) => {
            out!("{s}");
            0
        }
        Err(e) => {
            eprintln!("error: {e}");
            1
        }
    }
}
