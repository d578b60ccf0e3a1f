//! nginx through include files (checked against nginx 1.22): one `<route id>.conf` per route
//! in a folder that nginx's configuration includes inside a `server` block
//! (`include DIR/*.conf;`). Each file is one `location PREFIX { ... }` that proxies to the
//! container (with `proxy_pass http://ADDR/;` replacing the prefix when it is stripped) or,
//! for an idle object, to berth's wake endpoint with `X-Berth-Wake: kind/name`.
//!
//! The `http` block must define the map the WebSocket headers use:
//!
//! ```nginx
//! map $http_upgrade $connection_upgrade { default upgrade; '' close; }
//! ```
//!
//! Path prefixes only: a location cannot tell hosts apart, so a route with a host is not
//! written. The sync applies every other route and then fails with
//! [`RouteError::Unsupported`] naming the refused ones (a route that had a file and gains a
//! host loses its file), so one such route neither blocks the others nor goes unnoticed.
//!
//! Only regular files named `berth_<instance>_….conf` are berth's (others, and other
//! instances', are never read or touched); at most [`FILE_CAP`] of each is read. A write is
//! a temporary file renamed into place. After a change the reload command runs; when it
//! fails, the previous files are put back (nginx keeps serving its old configuration: its
//! `-s reload` parses everything before it signals) and the error is returned.

mod files;

use std::collections::BTreeMap;
use std::fs;
use std::path::PathBuf;
use std::time::Duration;

use files::Files;

use super::{changes, owned, Change, RouteError, Synced};
use crate::model::{Route, Upstream};

/// The most of a route file berth reads; a larger one counts as different and is rewritten.
pub const FILE_CAP: u64 = 64 * 1024;
/// The longest the reload command may run.
pub const RELOAD_TIMEOUT: Duration = Duration::from_secs(30);

/// A folder of route files and the command that makes nginx read them.
#[derive(Debug, Clone)]
pub struct Nginx {
    dir: PathBuf,
    reload: String,
}

impl Nginx {
    pub fn new(dir: PathBuf, reload: String) -> Nginx {
        Nginx { dir, reload }
    }

    pub fn describe(&self) -> String {
        format!("nginx files in {}", self.dir.display())
    }

    pub async fn sync(&self, instance: &str, want: &[Route]) -> Result<Synced, RouteError> {
        let mut refused = Vec::new();
        let mut wanted = BTreeMap::new();
        for r in want {
            let text = if owned(instance, &r.id.0) {
                render(r)
            } else {
                Err(format!("not a route id of instance {instance}"))
            };
            match text {
                Ok(t) => drop(wanted.insert(r.id.clone(), t)),
                Err(why) => refused.push((r.id.clone(), why)),
            }
        }
        let files = Files {
            router: self.describe(),
            dir: self.dir.clone(),
        };
        let instance = instance.to_string();
        let (undo, synced) = files
            .blocking(move |f| {
                let have = f.read(&instance)?;
                let todo = changes(&wanted, &have);
                let put = todo.iter().filter(|c| matches!(c, Change::Put(..))).count();
                let synced = Synced {
                    put,
                    deleted: todo.len() - put,
                };
                let undo = if todo.is_empty() {
                    None
                } else {
                    Some(f.apply(&todo, &have)?)
                };
                Ok((undo, synced))
            })
            .await?;
        if let Some(undo) = undo {
            if let Err((status, stderr)) = self.run_reload().await {
                let failed = format!("restore (after the reload command failed: {status})");
                files
                    .blocking(move |f| f.rollback(undo))
                    .await
                    .map_err(|e| match e {
                        RouteError::Io {
                            router,
                            path,
                            error,
                            ..
                        } => RouteError::Io {
                            router,
                            call: failed,
                            path,
                            error,
                        },
                        other => other,
                    })?;
                return Err(RouteError::Reload {
                    router: self.describe(),
                    command: self.reload.clone(),
                    status,
                    stderr,
                });
            }
            files
                .blocking(move |_| {
                    undo.commit();
                    Ok(())
                })
                .await?;
        }
        super::outcome(self.describe(), refused, synced)
    }

    pub async fn check(&self) -> Result<String, RouteError> {
        let files = Files {
            router: self.describe(),
            dir: self.dir.clone(),
        };
        files
            .blocking(|f| {
                let meta = fs::metadata(&f.dir).map_err(|e| f.io("look at", &f.dir, e))?;
                if !meta.is_dir() {
                    return Err(RouteError::NotConfigured {
                        router: f.router.clone(),
                        message: format!("{} is not a folder", f.dir.display()),
                    });
                }
                tempfile::Builder::new()
                    .prefix(".berth-check-")
                    .tempfile_in(&f.dir)
                    .map_err(|e| f.io("write into", &f.dir, e))?;
                Ok(())
            })
            .await?;
        Ok(format!(
            "{} is a writable folder; reload command: {}",
            self.dir.display(),
            self.reload
        ))
    }

    /// Runs the reload command; on failure how it ended and the end of its stderr.
    async fn run_reload(&self) -> Result<(), (String, String)> {
        let child = tokio::process::Command::new("sh")
            .arg("-c")
            .arg(&self.reload)
            .stdin(std::process::Stdio::null())
            .kill_on_drop(true)
            .output();
        match tokio::time::timeout(RELOAD_TIMEOUT, child).await {
            Err(_) => Err((
                format!("timed out after {}s", RELOAD_TIMEOUT.as_secs()),
                String::new(),
            )),
            Ok(Err(e)) => Err((format!("could not start sh: {e}"), String::new())),
            Ok(Ok(out)) if out.status.success() => Ok(()),
            Ok(Ok(out)) => Err((out.status.to_string(), stderr_tail(&out.stderr))),
        }
    }
}

/// The route as an nginx location, or why nginx mode cannot hold it.
pub fn render(route: &Route) -> Result<String, String> {
    let e = &route.exposure;
    if let Some(h) = &e.host {
        return Err(format!(
            "host {h}: nginx mode supports path prefixes only (Caddy matches hosts)"
        ));
    }
    let path = e.path.as_deref().unwrap_or("/");
    let path_ok = path.starts_with('/')
        && path.ends_with('/')
        && !path.contains("//")
        && path
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_' | '~' | '/'));
    if !path_ok {
        return Err(format!("path {path:?}: not a plain path prefix"));
    }
    let address = route.upstream.address();
    let address_ok = !address.is_empty()
        && address
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | ':' | '-' | '[' | ']'));
    if !address_ok {
        return Err(format!("address {address:?}: not HOST:PORT"));
    }
    if !plain(&route.id.0) || !plain(&route.key.name) {
        return Err("the id is not a plain file name".into());
    }
    let prefix = path.trim_end_matches('/');
    let (pass, extra) = match &route.upstream {
        Upstream::Container { .. } if e.strip_prefix && !prefix.is_empty() => (
            format!("http://{address}/"),
            format!("    proxy_set_header X-Forwarded-Prefix {prefix};\n"),
        ),
        Upstream::Container { .. } => (format!("http://{address}"), String::new()),
        Upstream::Wake { .. } => (
            format!("http://{address}"),
            format!("    proxy_set_header X-Berth-Wake {};\n", route.key),
        ),
    };
    Ok(format!(
        "# berth route {id} ({key}); berth rewrites or removes this file.\n\
         # $connection_upgrade needs, in the http block:\n\
         #   map $http_upgrade $connection_upgrade {{ default upgrade; '' close; }}\n\
         location {path} {{\n    \
             proxy_pass {pass};\n    \
             proxy_http_version 1.1;\n    \
             proxy_set_header Upgrade $http_upgrade;\n    \
             proxy_set_header Connection $connection_upgrade;\n    \
             proxy_set_header Host $http_host;\n    \
             proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;\n    \
             proxy_set_header X-Forwarded-Proto $scheme;\n\
         {extra}    \
             proxy_read_timeout 1h;\n\
         }}\n",
        id = route.id,
        key = route.key,
    ))
}

fn plain(s: &str) -> bool {
    !s.is_empty()
        && !s.starts_with('.')
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_'))
}

fn stderr_tail(stderr: &[u8]) -> String {
    let text = String::from_utf8_lossy(stderr);
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    let tail = lines[lines.len().saturating_sub(5)..].join(" / ");
    match tail.char_indices().rev().nth(1000) {
        Some((i, _)) => format!("…{}", &tail[i..]),
        None => tail,
    }
}
