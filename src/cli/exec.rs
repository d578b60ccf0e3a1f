//! `berth exec KIND/NAME [-i] [-t] -- CMD...`: runs a command in the object's running
//! container and exits with its exit code, as `docker exec` does. berth's own failures exit
//! 125 (the `docker run` and `podman exec` convention), so that they cannot be mistaken for
//! the command's; the engine reports 126 for a command that cannot be started (not
//! executable, or on Docker also not found) and Podman 127 for one that is not found.

use std::io::Write;
use std::process::ExitCode;

use futures_util::StreamExt;
use tokio::io::AsyncWriteExt;
use tokio::signal::unix::{signal, SignalKind};

use super::object::{container_of, no_container};
use super::parse::parse_object_ref;
use super::{terminal, CliError, Context};
use crate::engine::{Engine, ExecOptions, OutputStream};
use crate::model::{ObjectKey, RunState};

/// berth could not run the command (the engine, the proxy, no running container).
const FAILED: u8 = 125;

/// Flags of `berth exec`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The object: agent/NAME or session/NAME (plural kinds work too: agents/NAME).
    #[arg(value_name = "KIND/NAME", value_parser = parse_object_ref)]
    pub object: ObjectKey,
    /// Pass berth's stdin to the command (until it ends).
    #[arg(long, short = 'i')]
    pub interactive: bool,
    /// Give the command a pseudo-terminal; with -i and a terminal on stdin, berth's terminal
    /// is put in raw mode until the command ends.
    #[arg(long, short = 't')]
    pub tty: bool,
    /// The command and its arguments, after `--` (run without a shell).
    #[arg(
        value_name = "CMD",
        required = true,
        trailing_var_arg = true,
        allow_hyphen_values = true
    )]
    pub command: Vec<String>,
}

/// The command's exit code; 125 when berth could not run it.
pub async fn run(ctx: &Context, args: Args) -> Result<ExitCode, CliError> {
    match session(ctx, &args).await {
        Ok(code) => Ok(ExitCode::from(code)),
        Err(e) => Err(CliError::Coded {
            code: FAILED,
            error: Box::new(e),
        }),
    }
}

async fn session(ctx: &Context, args: &Args) -> Result<u8, CliError> {
    let raw_wanted = args.interactive && args.tty;
    if raw_wanted && !terminal::stdin_is_terminal() {
        return Err(CliError::Setup(
            "-it needs a terminal on stdin: drop -t to pipe input to the command".into(),
        ));
    }
    let engine = ctx.connect().await?;
    let container = match container_of(&engine, &ctx.instance, &args.object).await? {
        Some(c) if c.state == RunState::Running => c,
        Some(c) => {
            return Err(CliError::Setup(format!(
                "{} is not running ({}): berth exec needs a running container",
                args.object, c.state
            )))
        }
        None => return Err(CliError::Setup(no_container(&args.object, &ctx.instance))),
    };
    let opts = ExecOptions {
        cmd: args.command.clone(),
        stdin: args.interactive,
        tty: args.tty,
    };
    // Before raw mode, so that no signal can end berth with the terminal left raw.
    let watch = |kind: SignalKind| {
        signal(kind).map_err(|e| CliError::Setup(format!("cannot watch signals: {e}")))
    };
    let (mut winch, mut term, mut hup) = (
        watch(SignalKind::window_change())?,
        watch(SignalKind::terminate())?,
        watch(SignalKind::hangup())?,
    );
    let mut exec = engine.exec(&container.id, &opts).await?;
    // From here on every way out restores the terminal: the guard is dropped.
    let _raw =
        if raw_wanted {
            Some(terminal::RawMode::enter().map_err(|e| {
                CliError::Setup(format!("cannot put the terminal in raw mode: {e}"))
            })?)
        } else {
            None
        };
    if args.tty {
        if let Some((w, h)) = terminal::size() {
            // A failed resize leaves the engine's default size: not worth failing for.
            let _ = engine.resize_exec(&exec.id, w, h).await;
        }
    }
    let mut input = args.interactive.then(read_stdin);
    let mut out = std::io::stdout();
    let mut err = std::io::stderr();
    loop {
        tokio::select! {
            chunk = exec.output.next() => {
                let Some(chunk) = chunk else { break };
                let chunk = chunk?;
                let written = match chunk.stream {
                    OutputStream::Stdout | OutputStream::Terminal => {
                        out.write_all(&chunk.bytes).and_then(|()| out.flush())
                    }
                    OutputStream::Stderr => err.write_all(&chunk.bytes).and_then(|()| err.flush()),
                };
                if let Err(e) = written {
                    if e.kind() != std::io::ErrorKind::BrokenPipe {
                        return Err(CliError::Output(e));
                    }
                }
            }
            data = recv(&mut input) => match data {
                Some(bytes) => {
                    // The command may have closed its stdin; its output says the rest.
                    if exec.input.write_all(&bytes).await.is_err() || exec.input.flush().await.is_err() {
                        input = None;
                    }
                }
                None => {
                    // End of berth's stdin: close the command's, so it sees the end too.
                    let _ = exec.input.shutdown().await;
                    input = None;
                }
            },
            _ = winch.recv() => {
                if let Some((w, h)) = terminal::size() {
                    let _ = engine.resize_exec(&exec.id, w, h).await;
                }
            }
            _ = term.recv() => return Ok(128 + 15),
            _ = hup.recv() => return Ok(128 + 1),
        }
    }
    match engine.exec_exit_code(&exec.id).await? {
        Some(code) => Ok(u8::try_from(code).unwrap_or(FAILED)),
        None => Err(CliError::Setup(
            "the engine did not report the command's exit code".into(),
        )),
    }
}

/// The next piece of stdin; pending forever once stdin is not read any more.
async fn recv(input: &mut Option<tokio::sync::mpsc::Receiver<Vec<u8>>>) -> Option<Vec<u8>> {
    match input {
        Some(rx) => rx.recv().await,
        None => std::future::pending().await,
    }
}

/// Reads stdin on a thread of its own (a blocking read there keeps no runtime task from
/// finishing); the channel closes at the end of stdin.
fn read_stdin() -> tokio::sync::mpsc::Receiver<Vec<u8>> {
    let (tx, rx) = tokio::sync::mpsc::channel(16);
    std::thread::spawn(move || {
        use std::io::Read;
        let mut stdin = std::io::stdin();
        let mut buf = vec![0u8; 8192];
        loop {
            match stdin.read(&mut buf) {
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    if tx.blocking_send(buf[..n].to_vec()).is_err() {
                        break;
                    }
                }
            }
        }
    });
    rx
}
