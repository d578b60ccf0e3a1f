//! The flags that say what one load reads: manifest paths, drop-in directories, the Policy
//! source and the read limits. Shared by validate, diff, apply, run and doctor.

use std::path::PathBuf;

use crate::manifest::{Limits, Sources};

/// What to read.
#[derive(Debug, Clone, clap::Args)]
pub struct SourceArgs {
    /// Manifest files or directories (directories recursively, *.yaml and *.yml): trusted,
    /// they may hold Templates, Agents and Sessions.
    #[arg(required = true)]
    pub paths: Vec<PathBuf>,
    /// A drop-in directory written by another program (repeatable): its files may hold only
    /// Sessions that name a template from the manifest paths and set ttl, labels, env and
    /// (lower) resources. See docs/security.md.
    #[arg(long = "sessions", value_name = "DIR")]
    pub sessions: Vec<PathBuf>,
    /// The Policy (a file or directory holding one `kind: Policy`), read only from here.
    /// Without it the built-in `restricted` profile applies. A Policy that cannot be read
    /// or parsed admits nothing and removes nothing.
    #[arg(long, env = "BERTH_POLICY", value_name = "PATH")]
    pub policy: Option<PathBuf>,
    /// The largest file berth reads (manifest, Policy, seccomp profile), as a quantity.
    #[arg(long, default_value = "1Mi", value_parser = super::parse::parse_size, value_name = "SIZE")]
    pub max_file_size: u64,
    /// All files of one load together, as a quantity.
    #[arg(long, default_value = "8Mi", value_parser = super::parse::parse_size, value_name = "SIZE")]
    pub max_total_size: u64,
    /// The most manifest files one load reads.
    #[arg(long, default_value_t = 10_000, value_name = "N")]
    pub max_files: usize,
    /// The most values (YAML mappings, lists and scalars) all files of one load hold: what
    /// bounds berth's memory (a typical Agent is 20 to 40).
    #[arg(long, default_value_t = 150_000, value_name = "N")]
    pub max_values: usize,
    /// Where exposed objects' routes live: `caddy=URL` (Caddy's admin API, routes in server
    /// `srv0`, or `caddy=URL#SERVER`), `nginx=DIR` (one include file per route, then
    /// `--nginx-reload`) or `traefik` (labels on the containers, which `apply` and `diff`
    /// need too). Repeatable. See docs/exposure.md.
    #[arg(long, value_name = "ROUTER")]
    pub router: Vec<crate::route::RouterSpec>,
}

impl SourceArgs {
    pub fn sources(&self) -> Sources {
        Sources {
            trusted: self.paths.clone(),
            sessions: self.sessions.clone(),
            policy: self.policy.clone(),
            limits: Limits {
                max_file_bytes: self.max_file_size,
                max_total_bytes: self.max_total_size,
                max_files: self.max_files,
                max_values: self.max_values,
            },
            traefik: self.router.contains(&crate::route::RouterSpec::Traefik),
        }
    }
}
