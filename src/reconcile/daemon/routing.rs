//! Keeping the routers in step: each pass hands over the routes the planner wants
//! ([`crate::plan::routes`]); a task syncs every router when they change and again every
//! resync (so a router restarted empty is repaired within one resync), each sync bounded in
//! time. A router that is down or refuses is an Infrastructure failure: logged once per
//! distinct message, retried after [`RETRY`], and never a reason for a container action.
//! Once every router holds the wanted routes, [`Shared::routed`] says which objects'
//! traffic reaches their container (what the wake endpoint waits for).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;
use tracing::{info, warn};

use crate::model::{Route, Upstream};
use crate::route::Router;
use crate::status::http::Shared;

/// How long one router's sync may take.
const SYNC_TIMEOUT: Duration = Duration::from_secs(10);
/// After a failed sync, the next try.
const RETRY: Duration = Duration::from_secs(2);

/// The loop's side of the route task.
#[derive(Debug)]
pub(super) struct Driver {
    want: watch::Sender<Vec<Route>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Driver {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Driver {
    pub(super) fn start(
        routers: Arc<Vec<Router>>,
        instance: String,
        resync: Duration,
        shared: Arc<Shared>,
    ) -> Driver {
        let (want, rx) = watch::channel(Vec::new());
        let task = tokio::spawn(run(routers, instance, resync, shared, rx));
        Driver { want, task }
    }

    /// The routes wanted now; the task syncs when they differ from the last ones.
    pub(super) fn want(&self, routes: Vec<Route>) {
        self.want.send_if_modified(|w| {
            let changed = *w != routes;
            if changed {
                *w = routes;
            }
            changed
        });
    }
}

async fn run(
    routers: Arc<Vec<Router>>,
    instance: String,
    resync: Duration,
    shared: Arc<Shared>,
    mut rx: watch::Receiver<Vec<Route>>,
) {
    let mut errors: Vec<Option<String>> = vec![None; routers.len()];
    // Nothing is synced before the first pass has said what it wants.
    if rx.changed().await.is_err() {
        return;
    }
    loop {
        let want = rx.borrow_and_update().clone();
        let mut all_ok = true;
        for (i, r) in routers.iter().enumerate() {
            let result = tokio::time::timeout(SYNC_TIMEOUT, r.sync(&instance, &want)).await;
            let outcome = match result {
                Ok(Ok(s)) => Ok(s),
                Ok(Err(e)) => Err(e.to_string()),
                Err(_) => Err(format!(
                    "{}: no answer within {}s",
                    r.describe(),
                    SYNC_TIMEOUT.as_secs()
                )),
            };
            match outcome {
                Ok(s) => {
                    if errors[i].take().is_some() {
                        info!(router = %r.describe(), "router answers again");
                    }
                    if s.put > 0 || s.deleted > 0 {
                        info!(
                            router = %r.describe(),
                            put = s.put,
                            deleted = s.deleted,
                            "routes synced"
                        );
                    }
                }
                Err(msg) => {
                    all_ok = false;
                    shared.metrics.error("infrastructure");
                    if errors[i].as_deref() != Some(msg.as_str()) {
                        warn!(
                            class = "infrastructure",
                            "{msg}; containers are left as they are"
                        );
                    }
                    errors[i] = Some(msg);
                }
            }
        }
        if all_ok {
            let routed: BTreeMap<_, _> = want
                .iter()
                .map(|r| {
                    let to = match &r.upstream {
                        Upstream::Container { address } => Some(address.clone()),
                        Upstream::Wake { .. } => None,
                    };
                    (r.key.clone(), to)
                })
                .collect();
            *shared.routed.write().expect("not poisoned") = routed;
        }
        let wait = if all_ok { resync } else { RETRY.min(resync) };
        tokio::select! {
            changed = rx.changed() => if changed.is_err() { return },
            _ = tokio::time::sleep(wait) => {}
        }
    }
}
