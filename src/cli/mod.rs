//! The `berth` command line. Parsing what the user typed ([`args`]) is kept apart from doing
//! it; each command lives in its own file, gets a [`Context`] and returns
//! `Result<ExitCode, CliError>`; `main` prints an error once. Output goes through [`out!`]
//! and [`outln!`] ([`output::write_out`]), never `print!`: a closed pipe is no panic.

/// `print!` to stdout through [`output::write_out`].
macro_rules! out {
    ($($t:tt)*) => { $crate::cli::output::write_out(format_args!($($t)*)) };
}

/// `outln!` to stdout through [`output::write_out`].
macro_rules! outln {
    () => { $crate::cli::output::write_out(format_args!("\n")) };
    ($($t:tt)*) => { $crate::cli::output::write_out(format_args!("{}\n", format_args!($($t)*))) };
}

mod apply;
mod args;
mod completion;
mod context;
mod describe;
mod diff;
mod doctor;
mod down;
mod error;
mod events;
mod exec;
mod get;
mod listen;
mod logs;
mod notify;
mod object;
mod once;
mod operator;
mod output;
mod parse;
mod portainer;
mod report;
mod run;
mod sources;
mod terminal;
mod top;
mod validate;
mod version;

use std::process::ExitCode;

use clap::Parser;

pub use args::{Cli, Command, GetFormat, LogFormat, PlanFormat};
pub use context::Context;
pub use error::CliError;

/// Entry point of the binary.
pub fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => return usage(&e),
    };
    let default_log = if matches!(cli.command, Command::Run(_)) {
        "info"
    } else {
        "warn"
    };
    init_logging(cli.log.as_deref().unwrap_or(default_log), cli.log_format);
    match dispatch(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(e.exit_code())
        }
    }
}

/// What the user typed is not a command line berth takes (exit 64, `EX_USAGE` of
/// sysexits.h, so that it is never mistaken for exit 2, "the engine is unreachable"), or
/// asked for `--help` or `--version` (exit 0).
fn usage(e: &clap::Error) -> ExitCode {
    use clap::error::ErrorKind;
    let _ = e.print();
    match e.kind() {
        ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => ExitCode::SUCCESS,
        _ => ExitCode::from(USAGE),
    }
}

/// The exit code of a usage error.
pub const USAGE: u8 = 64;

fn dispatch(cli: Cli) -> Result<ExitCode, CliError> {
    match &cli.command {
        Command::Completion { shell } => return Ok(completion::completion(*shell)),
        Command::Man { dir } => return completion::man(dir.as_deref()),
        Command::Version { output } => return Ok(version::run(*output)),
        _ => {}
    }
    let target = portainer::target(&cli).map_err(CliError::Setup)?;
    let ctx = Context {
        instance: cli.instance,
        cleanup: cli.volume_cleanup,
        target,
        port_pool: cli.host_port_range,
        state_dir: cli
            .state_dir
            .unwrap_or_else(crate::state::Store::default_dir),
    };
    match cli.command {
        Command::Validate { sources, output } => Ok(validate::run(&sources.sources(), output)),
        Command::Schema => {
            out!("{}", crate::manifest::schema::schema_text());
            Ok(ExitCode::SUCCESS)
        }
        command => runtime()
            .map_err(CliError::Runtime)?
            .block_on(async_main(&ctx, command)),
    }
}

async fn async_main(ctx: &Context, command: Command) -> Result<ExitCode, CliError> {
    match command {
        Command::Diff {
            sources,
            allow_empty,
            output,
        } => diff::run(ctx, &sources.sources(), allow_empty, output).await,
        Command::Apply {
            sources,
            wait,
            timeout,
            settle,
            allow_empty,
            concurrency,
            output,
        } => {
            let opts = apply::Options {
                wait: wait.then_some(timeout),
                settle,
                allow_empty,
                concurrency: usize::from(concurrency),
                output,
            };
            apply::run(ctx, &sources.sources(), opts).await
        }
        Command::Get(args) => get::run(ctx, args).await,
        Command::Top(args) => top::run(ctx, args).await,
        Command::Run(args) => run::run(ctx, *args).await,
        Command::Down {
            concurrency,
            volumes,
            output,
        } => down::run(ctx, usize::from(concurrency), volumes, output).await,
        Command::Doctor {
            paths,
            sessions,
            policy,
            router,
            output,
        } => {
            let sources = crate::manifest::Sources {
                trusted: paths,
                sessions,
                policy,
                ..Default::default()
            };
            doctor::run(ctx, &sources, &router, output).await
        }
        Command::Stop { objects } => operator::run(ctx, crate::model::Verb::Stop, &objects).await,
        Command::Start { objects } => operator::run(ctx, crate::model::Verb::Start, &objects).await,
        Command::Restart { objects } => {
            operator::run(ctx, crate::model::Verb::Restart, &objects).await
        }
        Command::Describe { object, output } => describe::run(ctx, &object, output).await,
        Command::Events {
            objects,
            follow,
            output,
        } => events::run(ctx, &objects, follow, output).await,
        Command::Validate { .. } | Command::Schema => unreachable!("handled without a runtime"),
        Command::Logs(args) => logs::run(ctx, args).await,
        Command::Exec(args) => exec::run(ctx, args).await,
        Command::Completion { .. } | Command::Man { .. } | Command::Version { .. } => {
            unreachable!("handled without a runtime")
        }
    }
}

fn runtime() -> std::io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
}

fn init_logging(filter: &str, format: LogFormat) {
    // bollard logs whole response bodies at debug: keep it at info whatever the filter says.
    let filter = tracing_subscriber::EnvFilter::try_new(format!("{filter},bollard=info"))
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn,bollard=info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()) && !no_color())
        .with_target(false);
    let _ = match format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
    };
}

/// `NO_COLOR` set and not empty (no-color.org): berth's own output carries no ANSI escapes.
/// clap's help and errors follow the same variable by themselves (anstream).
fn no_color() -> bool {
    std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty())
}
