//! `berth logs KIND/NAME`: the container's stdout and stderr, passed on to berth's own.

use std::io::Write;
use std::process::ExitCode;

use futures_util::StreamExt;

use super::object::{container_of, no_container};
use super::parse::{parse_object_ref, parse_since, Since};
use super::{CliError, Context};
use crate::engine::{Engine, LogOptions, OutputStream};
use crate::model::ObjectKey;

/// Flags of `berth logs`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The object: agent/NAME or session/NAME (plural kinds work too: agents/NAME).
    #[arg(value_name = "KIND/NAME", value_parser = parse_object_ref)]
    pub object: ObjectKey,
    /// Keep printing new output until the container stops (or Ctrl-C).
    #[arg(long, short = 'f')]
    pub follow: bool,
    /// Only output since then: a duration back from now (`10m`, `2h`) or an RFC 3339 time
    /// (`2026-12-01T10:00:00Z`). The engine counts in whole seconds.
    #[arg(long, value_parser = parse_since, value_name = "WHEN")]
    pub since: Option<Since>,
    /// Only the last N lines (of each stream) before following.
    #[arg(long, short = 'n', value_name = "N")]
    pub tail: Option<u64>,
    /// Start each line with the engine's RFC 3339 timestamp.
    #[arg(long, short = 't')]
    pub timestamps: bool,
}

/// Exit 0 when the logs were printed (with `-f`: until the container stopped), 1 when the
/// object has no container, 2 when the engine cannot be asked.
pub async fn run(ctx: &Context, args: Args) -> Result<ExitCode, CliError> {
    let engine = ctx.connect().await?;
    let Some(container) = container_of(&engine, &ctx.instance, &args.object).await? else {
        eprintln!("{}", no_container(&args.object, &ctx.instance));
        return Ok(ExitCode::from(1));
    };
    let opts = LogOptions {
        follow: args.follow,
        since: args
            .since
            .map(|s| s.unix_secs(std::time::SystemTime::now())),
        tail: args.tail,
        timestamps: args.timestamps,
    };
    let mut stream = engine.logs(&container.id, &opts);
    let mut out = std::io::stdout();
    let mut err = std::io::stderr();
    let interrupted = tokio::signal::ctrl_c();
    tokio::pin!(interrupted);
    loop {
        let chunk = tokio::select! {
            c = stream.next() => c,
            _ = &mut interrupted => return Ok(ExitCode::from(130)),
        };
        let Some(chunk) = chunk else { break };
        let chunk = chunk?;
        let written = match chunk.stream {
            OutputStream::Stdout | OutputStream::Terminal => {
                out.write_all(&chunk.bytes).and_then(|()| out.flush())
            }
            OutputStream::Stderr => err.write_all(&chunk.bytes).and_then(|()| err.flush()),
        };
        match written {
            Ok(()) => {}
            // The reader went away (`berth logs ... | head`): nothing more to do.
            Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => break,
            Err(e) => return Err(CliError::Output(e)),
        }
    }
    Ok(ExitCode::SUCCESS)
}
