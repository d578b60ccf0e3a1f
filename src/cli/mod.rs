//! The `berth` command line. Parsing what the user typed is kept apart from doing it; each
//! command lives in its own file and returns an exit code.

mod apply;
mod diff;
mod doctor;
mod down;
mod get;
mod output;
mod portainer;
mod run;
mod sources;
mod validate;

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand};

use crate::engine::Target;
use crate::manifest::Format;
use crate::plan::ports::PortPool;

/// berth keeps agent and session containers on a Docker-compatible engine exactly as YAML
/// manifests declare them.
#[derive(Debug, Parser)]
#[command(name = "berth", version, about, long_about = None)]
pub struct Cli {
    /// Instance name: berth only touches containers labelled with it.
    #[arg(long, global = true, env = "BERTH_INSTANCE", default_value = "default", value_parser = parse_instance)]
    pub instance: String,

    /// Log filter (tracing syntax), e.g. `info` or `berth=debug`. Default: `info` for
    /// `run`, `warn` otherwise.
    #[arg(long, global = true, env = "BERTH_LOG")]
    pub log: Option<String>,

    /// Cleanup policy for volumes whose manifest names none: `Delete`, `Retain` or
    /// `RetainFor=<duration>` (e.g. `RetainFor=7d`).
    #[arg(long, global = true, env = "BERTH_VOLUME_CLEANUP", default_value = "Retain", value_parser = crate::model::CleanupRule::parse)]
    pub volume_cleanup: crate::model::CleanupRule,

    /// Log lines as `text` or `json` (one object per line).
    #[arg(long, global = true, value_enum, default_value = "text")]
    pub log_format: LogFormat,

    /// Reach the engine through Portainer at this URL (`https://host:9443` or
    /// `http://host:9000`) instead of DOCKER_HOST. The API key comes from PORTAINER_API_KEY
    /// or --portainer-api-key-file.
    #[arg(
        long,
        global = true,
        env = "BERTH_PORTAINER_URL",
        requires = "portainer_endpoint"
    )]
    pub portainer_url: Option<String>,

    /// The Portainer environment (endpoint) id of the engine.
    #[arg(long, global = true, env = "BERTH_PORTAINER_ENDPOINT")]
    pub portainer_endpoint: Option<String>,

    /// A file holding the Portainer API key (instead of PORTAINER_API_KEY).
    #[arg(long, global = true, env = "BERTH_PORTAINER_API_KEY_FILE")]
    pub portainer_api_key_file: Option<PathBuf>,

    /// Verify an `https://` Portainer's certificate against the CA certificate(s) in this
    /// PEM file instead of the system's roots.
    #[arg(long, global = true, env = "BERTH_PORTAINER_CA", value_name = "FILE")]
    pub portainer_ca: Option<PathBuf>,

    /// Do not verify an `https://` Portainer's certificate (a self-signed lab setup only):
    /// anyone on the network path can then intercept the connection and the API key.
    /// Warned about every time berth connects.
    #[arg(
        long,
        global = true,
        env = "BERTH_PORTAINER_INSECURE_SKIP_VERIFY",
        action = clap::ArgAction::SetTrue,
        value_parser = clap::builder::BoolishValueParser::new()
    )]
    pub portainer_insecure_skip_verify: bool,

    /// The pool of host ports for `hostPort: auto`, e.g. `20000-29999`.
    #[arg(
        long,
        global = true,
        env = "BERTH_HOST_PORT_RANGE",
        default_value = "20000-29999"
    )]
    pub host_port_range: PortPool,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check manifests without touching the engine. Exit 0 valid, 1 invalid.
    Validate {
        #[command(flatten)]
        sources: sources::SourceArgs,
        /// How to print diagnostics.
        #[arg(long, short = 'o', value_enum, default_value = "text")]
        output: Format,
    },
    /// Show what `apply` would change. Exit 0 no changes, 1 changes, 2 error.
    Diff {
        #[command(flatten)]
        sources: sources::SourceArgs,
        /// Allow removing everything when the manifests declare nothing.
        #[arg(long)]
        allow_empty: bool,
        /// `text` or `json`.
        #[arg(long, short = 'o', value_enum, default_value = "text")]
        output: PlanFormat,
    },
    /// Converge the engine to the manifests once.
    Apply {
        #[command(flatten)]
        sources: sources::SourceArgs,
        /// Wait until every container runs (and is healthy, where it has a health check).
        #[arg(long)]
        wait: bool,
        /// How long `--wait` waits, e.g. `90s`, `5m`.
        #[arg(long, default_value = "2m", value_parser = parse_duration)]
        timeout: Duration,
        /// Allow removing everything when the manifests declare nothing.
        #[arg(long)]
        allow_empty: bool,
        /// Engine operations in flight at once.
        #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u16).range(1..=64))]
        concurrency: u16,
    },
    /// Keep the engine converged to the manifests: watch files and engine events, restart
    /// with backoff, reap sessions at their TTL. Stops on SIGTERM or SIGINT; containers keep
    /// running.
    Run(run::Args),
    /// List the instance's objects: NAME KIND STATE HEALTH RESTARTS AGE IMAGE.
    Get {
        /// `objects` (default) or `volumes` (NAME OWNER STATE AGE EXPIRES).
        #[arg(value_enum, default_value = "objects")]
        what: GetWhat,
        /// `table` (default), `wide`, `json` or `yaml`.
        #[arg(long, short = 'o', value_enum, default_value = "table")]
        output: GetFormat,
        /// Where `berth run` keeps its state (restart counts, phases); see `berth run --help`.
        #[arg(long, env = "BERTH_STATE_DIR")]
        state_dir: Option<PathBuf>,
    },
    /// Remove every container the instance owns (volumes are kept unless --volumes).
    Down {
        #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u16).range(1..=64))]
        concurrency: u16,
        /// Remove the instance's volumes too, whatever their cleanup policy.
        #[arg(long)]
        volumes: bool,
    },
    /// Print the JSON Schema of a manifest document.
    Schema,
    /// Check the connection: engine kind and version, the negotiated API version, and
    /// whether each call berth needs gets through (a verdict per socket-proxy flag). Exit 0
    /// ok, 1 something required is refused, 2 no engine answers.
    Doctor {
        /// Manifests to check the setup against (optional): with an object that declares
        /// an isolated network, NETWORKS becomes required.
        paths: Vec<PathBuf>,
        /// Drop-in directories to include (as for `run`).
        #[arg(long = "sessions", value_name = "DIR")]
        sessions: Vec<PathBuf>,
        /// The Policy source (as for `run`).
        #[arg(long, env = "BERTH_POLICY", value_name = "PATH")]
        policy: Option<PathBuf>,
        /// `text` or `json`.
        #[arg(long, short = 'o', value_enum, default_value = "text")]
        output: PlanFormat,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum PlanFormat {
    Text,
    Json,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum GetWhat {
    Objects,
    Volumes,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum GetFormat {
    Table,
    Wide,
    Json,
    Yaml,
}

fn parse_duration(s: &str) -> Result<Duration, String> {
    humantime::parse_duration(s)
        .map_err(|e| format!("{s:?} is not a duration (try 90s or 5m): {e}"))
}

fn parse_instance(s: &str) -> Result<String, String> {
    let ok = !s.is_empty()
        && s.len() <= 63
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !s.starts_with('-')
        && !s.ends_with('-');
    if ok {
        Ok(s.to_string())
    } else {
        Err(
            "an instance name is a DNS label: lower-case letters, digits and '-', at most 63"
                .into(),
        )
    }
}

/// Entry point of the binary.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let default_log = if matches!(cli.command, Command::Run(_)) {
        "info"
    } else {
        "warn"
    };
    init_logging(cli.log.as_deref().unwrap_or(default_log), cli.log_format);
    let _ = PORT_POOL.set(cli.host_port_range);
    match portainer::target(&cli) {
        Ok(t) => {
            let _ = TARGET.set(t);
        }
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    }
    let code = match cli.command {
        Command::Validate { sources, output } => validate::run(&sources.sources(), output),
        Command::Schema => {
            print!("{}", crate::manifest::schema::schema_text());
            0
        }
        command => match runtime() {
            Ok(rt) => rt.block_on(async_main(cli.instance, cli.volume_cleanup, command)),
            Err(e) => {
                eprintln!("error: cannot start the async runtime: {e}");
                2
            }
        },
    };
    ExitCode::from(code)
}

async fn async_main(instance: String, cleanup: crate::model::CleanupRule, command: Command) -> u8 {
    match command {
        Command::Diff {
            sources,
            allow_empty,
            output,
        } => diff::run(&instance, &sources.sources(), allow_empty, cleanup, output).await,
        Command::Apply {
            sources,
            wait,
            timeout,
            allow_empty,
            concurrency,
        } => {
            let opts = apply::Options {
                wait: wait.then_some(timeout),
                allow_empty,
                concurrency: usize::from(concurrency),
                cleanup,
            };
            apply::run(&instance, &sources.sources(), opts).await
        }
        Command::Get {
            what: GetWhat::Objects,
            output,
            state_dir,
        } => get::run(&instance, output, state_dir).await,
        Command::Get {
            what: GetWhat::Volumes,
            output,
            state_dir,
        } => get::volumes(&instance, output, state_dir).await,
        Command::Run(args) => run::run(&instance, cleanup, args).await,
        Command::Down {
            concurrency,
            volumes,
        } => down::run(&instance, usize::from(concurrency), volumes).await,
        Command::Doctor {
            paths,
            sessions,
            policy,
            output,
        } => {
            let sources = crate::manifest::Sources {
                trusted: paths,
                sessions,
                policy,
                ..Default::default()
            };
            doctor::run(&instance, &sources, output).await
        }
        Command::Validate { .. } | Command::Schema => unreachable!("handled without a runtime"),
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
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_target(false);
    let _ = match format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
    };
}

/// The `hostPort: auto` pool, as the command line says (set once in [`main`]).
static PORT_POOL: std::sync::OnceLock<PortPool> = std::sync::OnceLock::new();

fn port_pool() -> PortPool {
    PORT_POOL.get().copied().unwrap_or_default()
}

/// Fills `hostPort: auto` for a one-shot command: what the instance's containers publish
/// and what `berth run` remembers (its state file, read only) keep their ports. Objects
/// that get none are held and reported.
fn assign_ports(
    instance: &str,
    loaded: &mut crate::resolve::Loaded,
    observed: &[crate::model::Observed],
) -> bool {
    let mut memory = crate::state::Store::new(&crate::state::Store::default_dir(), instance)
        .peek()
        .map(|f| f.port_allocations())
        .unwrap_or_default();
    let exhausted =
        crate::plan::ports::assign(&mut loaded.desired, observed, &mut memory, port_pool());
    for e in &exhausted {
        eprintln!(
            "error: {}: {}; its container is left as it is",
            e.key, e.message
        );
    }
    exhausted.is_empty()
}

/// Where the engine is, as the command line says (set once in [`main`]).
static TARGET: std::sync::OnceLock<Target> = std::sync::OnceLock::new();

/// The engine target chosen on the command line.
fn engine_target() -> &'static Target {
    TARGET.get_or_init(Target::default)
}

/// Connects to the engine or prints why not.
async fn connect() -> Option<crate::engine::Engine> {
    match crate::engine::Engine::connect_to(engine_target()).await {
        Ok(e) => Some(e),
        Err(e) => {
            eprintln!("error: {e}");
            None
        }
    }
}
