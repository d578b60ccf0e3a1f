use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;
use tracing::{error, info, warn};

use crate::model::CleanupRule;
use crate::reconcile::controller::{self, Config};
use crate::state::Store;
use crate::status::http::{self, Shared};

/// Flags of `berth run`.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub sources: super::sources::SourceArgs,
    /// Directory for the state file `<instance>.json` (session clocks, restart counts).
    /// Default: $BERTH_STATE_DIR, /var/lib/berth for root, else ~/.local/state/berth.
    #[arg(long, env = "BERTH_STATE_DIR")]
    pub state_dir: Option<PathBuf>,
    /// Serve /healthz, /readyz, /metrics and /status on this address, e.g. 127.0.0.1:9325.
    #[arg(long)]
    pub listen: Option<SocketAddr>,
    /// Full resync period: re-read every manifest and relist, whatever the events said.
    #[arg(long, default_value = "30s", value_parser = super::parse_duration)]
    pub resync: Duration,
    /// Gather file events for this long into one reconcile.
    #[arg(long, default_value = "100ms", value_parser = super::parse_duration)]
    pub debounce: Duration,
    /// Poll period when the engine refuses the event stream.
    #[arg(long, default_value = "2s", value_parser = super::parse_duration)]
    pub poll_interval: Duration,
    /// Allow removing everything when the manifests declare nothing.
    #[arg(long)]
    pub allow_empty: bool,
    /// At most this many orphaned volumes with a RetainFor policy; the oldest go first.
    #[arg(long)]
    pub max_orphaned_volumes: Option<usize>,
    /// At most this much data in orphaned RetainFor volumes (a quantity such as 10Gi), where
    /// the engine reports sizes; the oldest go first.
    #[arg(long, value_parser = parse_size)]
    pub max_orphaned_volume_size: Option<u64>,
    /// Engine operations in flight at once.
    #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u16).range(1..=64))]
    pub concurrency: u16,
}

/// `berth run`: connects (retrying while the engine is away), serves the status endpoints,
/// runs the loop until SIGTERM or SIGINT.
pub async fn run(instance: &str, cleanup: CleanupRule, args: Args) -> u8 {
    let (stop_tx, stop_rx) = watch::channel(false);
    tokio::spawn(async move {
        wait_for_signal().await;
        let _ = stop_tx.send(true);
    });
    let stopped = |mut rx: watch::Receiver<bool>| async move {
        let _ = rx.wait_for(|s| *s).await;
    };

    let shared = Arc::new(Shared::new(instance));
    if let Some(addr) = args.listen {
        match http::serve(addr, shared.clone(), stopped(stop_rx.clone())).await {
            Ok((bound, _)) => info!(address = %bound, "serving /healthz /readyz /metrics /status"),
            Err(e) => {
                error!(address = %addr, error = %e, "cannot listen");
                return 2;
            }
        }
    }

    let mut delay = Duration::from_millis(500);
    let engine = loop {
        match crate::engine::Engine::connect_to(super::engine_target()).await {
            Ok(e) => break e,
            Err(e) => {
                warn!(class = "infrastructure", error = %e, "engine not reachable; retrying in {}", humantime::format_duration(delay));
                tokio::select! {
                    _ = tokio::time::sleep(delay) => {}
                    _ = stopped(stop_rx.clone()) => return 0,
                }
                delay = (delay * 2).min(Duration::from_secs(30));
            }
        }
    };
    let state_dir = args.state_dir.unwrap_or_else(Store::default_dir);
    let config = Config {
        instance: instance.to_string(),
        sources: args.sources.sources(),
        state_dir,
        resync: args.resync,
        allow_empty: args.allow_empty,
        concurrency: usize::from(args.concurrency),
        debounce: args.debounce,
        poll_interval: args.poll_interval,
        default_cleanup: cleanup,
        max_orphans: args.max_orphaned_volumes,
        max_orphan_bytes: args.max_orphaned_volume_size,
        port_pool: super::port_pool(),
    };
    match controller::run(engine, config, shared, stopped(stop_rx)).await {
        Ok(()) => 0,
        Err(e) => {
            error!(error = %e, "berth run failed");
            2
        }
    }
}

fn parse_size(s: &str) -> Result<u64, String> {
    crate::model::parse_quantity(s).map_err(|e| e.to_string())
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
