use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;
use tracing::{info, warn};

use super::{CliError, Context};
use crate::model::Backoff;
use crate::reconcile::daemon::{self, Config, Files, Inputs, WallClock};
use crate::status::http::{self, Shared};

/// Flags of `berth run`.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub sources: super::sources::SourceArgs,
    /// Serve /healthz, /readyz, /metrics, /status and the dashboard /ui on this address:
    /// `127.0.0.1:9325`, `localhost:9325`, `[::1]:9325`, or `:9325` for every interface.
    #[arg(long, value_name = "ADDR")]
    pub listen: Option<super::listen::ListenAddr>,
    /// Full resync period: re-read every manifest and relist, whatever the events said.
    #[arg(long, default_value = "30s", value_parser = super::parse::parse_duration)]
    pub resync: Duration,
    /// Gather file events for this long into one reconcile.
    #[arg(long, default_value = "100ms", value_parser = super::parse::parse_duration)]
    pub debounce: Duration,
    /// Poll period when the engine refuses the event stream.
    #[arg(long, default_value = "2s", value_parser = super::parse::parse_duration)]
    pub poll_interval: Duration,
    /// Allow removing everything when the manifests declare nothing.
    #[arg(long)]
    pub allow_empty: bool,
    /// At most this many orphaned volumes with a RetainFor policy; the oldest go first.
    #[arg(long)]
    pub max_orphaned_volumes: Option<usize>,
    /// At most this much data in orphaned RetainFor volumes (a quantity such as 10Gi), where
    /// the engine reports sizes; the oldest go first.
    #[arg(long, value_parser = super::parse::parse_size)]
    pub max_orphaned_volume_size: Option<u64>,
    /// The command (run with `sh -c`) that makes nginx read its route files again.
    #[arg(long, value_name = "CMD", default_value = crate::route::DEFAULT_NGINX_RELOAD)]
    pub nginx_reload: String,
    /// Where the routers reach berth's wake endpoint (`HOST:PORT`), so that a request for
    /// an idle object starts it. Default: the `--listen` address (`127.0.0.1` for a
    /// wildcard address); without either, idle objects have no route.
    #[arg(long, value_name = "HOST:PORT")]
    pub wake_address: Option<String>,
    /// Serve the session API (docs/api.md) on this address: `unix:/run/berth/api.sock`
    /// (mode 0660) or `HOST:PORT`. It writes Sessions into the first `--sessions`
    /// directory.
    #[arg(long, value_name = "ADDR", requires = "api_tokens")]
    pub api: Option<super::listen::ApiAddr>,
    /// The API's bearer tokens: one `NAME SCOPE TOKEN` per line (docs/api.md).
    #[arg(long, value_name = "FILE", requires = "api")]
    pub api_tokens: Option<PathBuf>,
    /// How often each running container's CPU, memory, network and pids are read (one
    /// stats call each) for `/metrics`, `/status`, the dashboard and the alerts; `0s` turns
    /// it off. Cost: docs/monitoring.md.
    #[arg(long, default_value = "30s", value_parser = super::parse::parse_duration)]
    pub stats_interval: Duration,
    /// Object labels exported with each per-object metric (as `label_<key>`), e.g.
    /// `user,team`.
    #[arg(long, value_name = "KEYS", value_delimiter = ',')]
    pub metric_labels: Vec<String>,
    /// POST firing and resolved alerts here, as Alertmanager's webhook payload
    /// (`http://HOST:PORT/PATH`).
    #[arg(long, value_name = "URL")]
    pub alert_webhook: Option<String>,
    /// Engine operations in flight at once.
    #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u16).range(1..=64))]
    pub concurrency: u16,
}

/// While the engine is not there yet: half a second doubling to 30 s.
const CONNECT_RETRY: Backoff = Backoff::new(Duration::from_millis(500), Duration::from_secs(30));

/// `berth run`: connects (retrying while the engine is away), serves the status endpoints,
/// runs the loop until SIGTERM or SIGINT.
pub async fn run(ctx: &Context, args: Args) -> Result<ExitCode, CliError> {
    let instance = ctx.instance.as_str();
    let (stop_tx, stop_rx) = watch::channel(false);
    tokio::spawn(async move {
        wait_for_signal().await;
        let _ = stop_tx.send(true);
    });
    let stopped = |mut rx: watch::Receiver<bool>| async move {
        let _ = rx.wait_for(|s| *s).await;
    };

    // What cannot work is refused before anything starts: a path that does not exist, a
    // state directory that is a file.
    let sources = args.sources.sources();
    check_paths(&sources)?;
    ctx.store().check_dir()?;
    let webhook = args
        .alert_webhook
        .as_deref()
        .map(crate::webhook::Webhook::start)
        .transpose()
        .map_err(|e| CliError::Setup(e.to_string()))?;

    let shared = Arc::new(Shared::new(instance));
    let notifier = super::notify::Notifier::from_env();
    notifier.status("connecting to the engine");
    let mut wake_address = args.wake_address.clone();
    let routers: Vec<crate::route::Router> = args
        .sources
        .router
        .iter()
        .cloned()
        .map(|spec| {
            crate::route::Router::new(match spec {
                crate::route::RouterSpec::Nginx { dir, .. } => crate::route::RouterSpec::Nginx {
                    dir,
                    reload: args.nginx_reload.clone(),
                },
                other => other,
            })
        })
        .collect();
    if let Some(listen) = &args.listen {
        let failed = |source| CliError::Listen {
            address: listen.to_string(),
            source,
        };
        let mut last = None;
        for addr in listen.resolve().await.map_err(failed)? {
            match http::serve(addr, shared.clone(), stopped(stop_rx.clone())).await {
                Ok((bound, _)) => {
                    info!(address = %bound, "serving /healthz /readyz /metrics /status /ui");
                    if wake_address.is_none() {
                        wake_address = Some(reachable(bound));
                    }
                    last = None;
                    break;
                }
                Err(e) => last = Some(e),
            }
        }
        if let Some(e) = last {
            return Err(failed(e));
        }
    }

    let (file_tx, file_rx) = tokio::sync::mpsc::channel(1);
    if let Some(api) = &args.api {
        serve_api(
            ctx,
            &args,
            api,
            &sources,
            &shared,
            file_tx.clone(),
            stopped(stop_rx.clone()),
        )
        .await?;
    }

    let mut delay = CONNECT_RETRY.initial;
    let mut attempt = 0u32;
    let engine = loop {
        match crate::engine::Client::connect_to(&ctx.target).await {
            Ok(e) => break e,
            Err(e) => {
                let wait = Backoff::jittered(delay, attempt);
                let wait_text = humantime::format_duration(wait);
                warn!(class = "infrastructure", error = %e, "engine not reachable; retrying in {wait_text}");
                notifier.status(&format!(
                    "engine not reachable ({e}); retrying in {wait_text}"
                ));
                tokio::select! {
                    _ = tokio::time::sleep(wait) => {}
                    _ = stopped(stop_rx.clone()) => return Ok(ExitCode::SUCCESS),
                }
                delay = CONNECT_RETRY.next(delay);
                attempt += 1;
            }
        }
    };
    let engine = {
        let shared = shared.clone();
        engine.observed_by(move |operation| shared.metrics.request(operation))
    };
    let watched: Vec<PathBuf> = sources
        .manifest_paths()
        .chain(&sources.policy)
        .cloned()
        .collect();
    let _watcher = crate::source::watch(&watched, &sources.sessions, args.debounce, file_tx)?;
    let state_dir = ctx.state_dir.clone();
    // `berth stop`, `start` and `restart` write the overrides file: wake the loop at once.
    let (override_tx, override_rx) = tokio::sync::mpsc::channel(1);
    let overrides = crate::state::OverrideStore::new(&state_dir, instance);
    let _override_watcher =
        crate::source::watch_file(overrides.path(), args.debounce, override_tx)?;
    let config = Config {
        instance: instance.to_string(),
        state_dir,
        resync: args.resync,
        allow_empty: args.allow_empty,
        concurrency: usize::from(args.concurrency),
        poll_interval: args.poll_interval,
        default_cleanup: ctx.cleanup,
        max_orphans: args.max_orphaned_volumes,
        max_orphan_bytes: args.max_orphaned_volume_size,
        port_pool: ctx.port_pool,
        heartbeat: notifier.heartbeat(),
        routers: Arc::new(routers),
        wake_address,
        usage: daemon::UsageSettings {
            instance: instance.to_string(),
            interval: args.stats_interval,
            metric_labels: args.metric_labels.clone(),
            webhook,
        },
    };
    let _notifying = notifier.follow(shared.clone(), stopped(stop_rx.clone()));
    let inputs = Inputs {
        manifests: Files::new(sources),
        file_changes: file_rx,
        override_changes: override_rx,
        clock: Arc::new(WallClock),
    };
    daemon::run(engine, config, inputs, shared, stopped(stop_rx)).await?;
    Ok(ExitCode::SUCCESS)
}

/// Starts the session API, before the engine is reached (it answers from the report).
async fn serve_api(
    ctx: &Context,
    args: &Args,
    addr: &super::listen::ApiAddr,
    sources: &crate::manifest::Sources,
    shared: &Arc<Shared>,
    nudge: tokio::sync::mpsc::Sender<()>,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> Result<(), CliError> {
    let setup = |m: String| CliError::Setup(format!("--api {addr}: {m}"));
    let Some(dir) = sources.sessions.first() else {
        return Err(setup(
            "the API writes Sessions into a --sessions directory; name one".into(),
        ));
    };
    let path = args.api_tokens.as_deref().expect("clap requires it");
    let tokens =
        crate::api::tokens::Tokens::load(path).map_err(|e| CliError::Setup(e.to_string()))?;
    let callers = tokens.len();
    let overrides = crate::state::OverrideStore::new(&ctx.state_dir, &ctx.instance);
    let api = crate::api::Api::new(shared.clone(), sources, dir, tokens, nudge, overrides)
        .map_err(|e| setup(e.to_string()))?;
    let listen = match addr {
        super::listen::ApiAddr::Unix(p) => crate::api::Listen::Unix(p.clone()),
        super::listen::ApiAddr::Net(a) => {
            let found = a.resolve().await.map_err(|e| setup(e.to_string()))?;
            crate::api::Listen::Tcp(found[0])
        }
    };
    let bound = crate::api::serve(&listen, Arc::new(api), shutdown)
        .await
        .map_err(|e| setup(e.to_string()))?;
    info!(address = %bound, sessions = %dir.display(), callers, "serving the session API");
    Ok(())
}

/// The address a router on this host reaches a bound address at: a wildcard becomes the
/// loopback address of its family.
fn reachable(bound: std::net::SocketAddr) -> String {
    let ip = match bound.ip() {
        std::net::IpAddr::V4(v4) if v4.is_unspecified() => std::net::Ipv4Addr::LOCALHOST.into(),
        std::net::IpAddr::V6(v6) if v6.is_unspecified() => std::net::Ipv6Addr::LOCALHOST.into(),
        ip => ip,
    };
    std::net::SocketAddr::new(ip, bound.port()).to_string()
}

/// Every manifest path, `--sessions` directory and the `--policy` source must exist when
/// `berth run` starts: a typing error is exit 2, not a daemon that waits for a path nobody
/// will create. One that disappears later is doubt, as always: nothing is removed.
fn check_paths(sources: &crate::manifest::Sources) -> Result<(), CliError> {
    let named = sources
        .trusted
        .iter()
        .map(|p| ("manifest path", p))
        .chain(sources.sessions.iter().map(|p| ("--sessions directory", p)))
        .chain(sources.policy.iter().map(|p| ("--policy source", p)));
    for (what, path) in named {
        if let Err(e) = std::fs::metadata(path) {
            return Err(CliError::Setup(format!(
                "{what} {} cannot be read: {}",
                path.display(),
                crate::manifest::files::io_message(&e)
            )));
        }
    }
    Ok(())
}

/// The first SIGTERM or SIGINT starts a graceful shutdown; a second one exits at once
/// (containers keep running either way).
async fn wait_for_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    let mut term = signal(SignalKind::terminate()).expect("install SIGTERM handler");
    let mut int = signal(SignalKind::interrupt()).expect("install SIGINT handler");
    tokio::select! {
        _ = term.recv() => info!("SIGTERM received: finishing actions in flight (signal again to exit now)"),
        _ = int.recv() => info!("SIGINT received: finishing actions in flight (signal again to exit now)"),
    }
    tokio::spawn(async move {
        tokio::select! {
            _ = term.recv() => {}
            _ = int.recv() => {}
        }
        warn!("second signal: exiting now");
        std::process::exit(130);
    });
}
