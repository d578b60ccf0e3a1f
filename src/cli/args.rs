//! What the user can type: the command line as clap types, and the parsers of its values.
//! Doing it is the business of the command files; nothing here reads the engine.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Parser, Subcommand};

use super::parse::{parse_duration, parse_instance, parse_object_ref};
use super::{exec, logs, run, sources};
use crate::manifest::Format;
use crate::model::ObjectKey;
use crate::plan::ports::PortPool;

/// berth keeps agent and session containers on a Docker-compatible engine exactly as YAML
/// manifests declare them.
#[derive(Debug, Parser)]
#[command(name = "berth", version = super::version::LONG, about, long_about = None, after_long_help = EXIT_STATUS)]
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

    /// Directory of the instance's state (`<instance>.json`: session clocks, restart counts,
    /// history; `<instance>.overrides.json`: `berth stop`/`start`). Default:
    /// $BERTH_STATE_DIR, /var/lib/berth for root, else ~/.local/state/berth.
    #[arg(long, global = true, env = "BERTH_STATE_DIR", value_name = "DIR")]
    pub state_dir: Option<PathBuf>,

    #[command(subcommand)]
    pub command: Command,
}

/// The exit codes every command shares (each command's own are in its help).
const EXIT_STATUS: &str = "Exit status: 0 success; 1 the command's own negative answer \
(invalid manifests, changes found, an action failed, no container); 2 berth could not do its \
job (the engine unreachable or refusing, a setup error); 64 a usage error; berth exec: the \
command's exit code, 125 when berth could not run it.";

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
        /// With `--wait`: how long a container must run without exiting to count as
        /// running, counted from its start as the engine recorded it.
        #[arg(long, default_value = "100ms", value_parser = parse_duration)]
        settle: Duration,
        /// Allow removing everything when the manifests declare nothing.
        #[arg(long)]
        allow_empty: bool,
        /// Engine operations in flight at once.
        #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u16).range(1..=64))]
        concurrency: u16,
        /// `text` or `json` (the actions and their results as one document).
        #[arg(long, short = 'o', value_enum, default_value = "text")]
        output: PlanFormat,
    },
    /// Keep the engine converged to the manifests: watch files and engine events, restart
    /// with backoff, reap sessions at their TTL. Stops on SIGTERM or SIGINT; containers keep
    /// running.
    Run(Box<run::Args>),
    /// List the instance's objects (NAME KIND STATE HEALTH RESTARTS AGE IMAGE), those
    /// without a container too, or its volumes. Exit 0, 1 a named object does not exist,
    /// 2 error.
    Get(super::get::Args),
    /// What each running container uses now: CPU (of one core), memory working set against
    /// its limit, network bytes, pids (one stats call per container, two readings a second
    /// apart).
    Top(super::top::Args),
    /// Remove every container the instance owns (volumes are kept unless --volumes).
    Down {
        #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u16).range(1..=64))]
        concurrency: u16,
        /// Remove the instance's volumes too, whatever their cleanup policy.
        #[arg(long)]
        volumes: bool,
        /// `text` or `json` (what was removed, as one document).
        #[arg(long, short = 'o', value_enum, default_value = "text")]
        output: PlanFormat,
    },
    /// Stop objects and keep them stopped (an override in the state directory that a
    /// running `berth run` honours at once, kept across its restarts) until `berth start`.
    /// Exit 0 stopped, 1 not (unknown object, or berth run did not act in time), 2 error.
    Stop {
        /// `KIND/NAME`, e.g. `agent/web` or `session/s1`.
        #[arg(required = true, value_parser = parse_object_ref, value_name = "KIND/NAME")]
        objects: Vec<ObjectKey>,
    },
    /// Clear `berth stop`: the object runs again (unless its manifest says `state: Stopped`).
    /// Exit 0 running, 1 not, 2 error.
    Start {
        #[arg(required = true, value_parser = parse_object_ref, value_name = "KIND/NAME")]
        objects: Vec<ObjectKey>,
    },
    /// Stop and start objects' containers in place, as an operator's action: not counted
    /// as a crash, no backoff. Exit 0 restarted, 1 not, 2 error.
    Restart {
        #[arg(required = true, value_parser = parse_object_ref, value_name = "KIND/NAME")]
        objects: Vec<ObjectKey>,
    },
    /// Show one object in full: declared against running, phase and reason, override,
    /// restarts and last error, ports, volumes and its last actions. Exit 0, 1 no such
    /// object, 2 error.
    Describe {
        #[arg(value_parser = parse_object_ref, value_name = "KIND/NAME")]
        object: ObjectKey,
        /// `text` or `json`.
        #[arg(long, short = 'o', value_enum, default_value = "text")]
        output: PlanFormat,
    },
    /// The instance's history: each action berth took (by run, apply, down or an
    /// operator), how it ended, and the failures seen on the engine. Exit 0, 2 error.
    Events {
        /// Only these objects (`KIND/NAME`).
        #[arg(value_parser = parse_object_ref, value_name = "KIND/NAME")]
        objects: Vec<ObjectKey>,
        /// Keep printing new records as they come (until interrupted).
        #[arg(short = 'f', long)]
        follow: bool,
        /// `text` or `json` (one JSON object per line).
        #[arg(long, short = 'o', value_enum, default_value = "text")]
        output: PlanFormat,
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
        /// A router to check (as for `run`): its admin API answers, or its directory is
        /// writable. Repeatable.
        #[arg(long, value_name = "ROUTER")]
        router: Vec<crate::route::RouterSpec>,
        /// `text` or `json`.
        #[arg(long, short = 'o', value_enum, default_value = "text")]
        output: PlanFormat,
    },
    /// Print the logs (stdout and stderr) of an object's container. Exit 0, 1 the object
    /// has no container, 2 error.
    Logs(logs::Args),
    /// Run a command in an object's running container and exit with its exit code (125:
    /// berth could not run it). Through a socket proxy it needs EXEC=1 and POST=1.
    Exec(exec::Args),
    /// Print a shell completion script, e.g. `berth completion bash > /etc/bash_completion.d/berth`.
    Completion {
        /// bash, zsh or fish (elvish and powershell work too).
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the man page berth(1) as roff, e.g. `berth man | man -l -`.
    Man {
        /// Write berth.1 and a page per command (berth-logs.1, ...) into this directory.
        #[arg(long, value_name = "DIR")]
        dir: Option<PathBuf>,
    },
    /// Print berth's version and the git commit it was built from.
    Version {
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
pub enum GetFormat {
    Table,
    Wide,
    Json,
    Yaml,
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::{Cli, Command};

    /// The flag's default is written as text for clap; it must be the one the docs and the
    /// API use.
    #[test]
    fn the_settle_default_is_the_models() {
        let cli = Cli::try_parse_from(["berth", "apply", "m/"]).unwrap();
        match cli.command {
            Command::Apply { settle, .. } => assert_eq!(settle, crate::model::DEFAULT_SETTLE),
            _ => unreachable!("parsed as apply"),
        }
    }
}
