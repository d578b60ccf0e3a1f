//! berth — a declarative reconciler for agent and session containers.
//!
//! The folders follow the data flow of one reconcile:
//!
//! ```text
//!  manifest files ─▶ manifest (read) ─▶ resolve (check, merge, admit) ─▶ model::DesiredSet ─┐
//!                                                                                        ├─▶ plan (pure) ─▶ reconcile (execute) ─▶ engine
//!  engine (list) ─────────────────────────────────────────────────────▶ model::Observed ───┘
//! ```
//!
//! - [`manifest`]: YAML files → typed documents with positions → diagnostics (reading only).
//! - [`resolve`]: the one pipeline from read documents to the desired set: per-document and
//!   cross-document checks, trust levels, templates merged, defaults applied, the Policy
//!   source compiled and every object admitted.
//! - [`model`]: the project's own vocabulary shared by every stage (object keys, the
//!   normalized container spec and its hash, observed containers, ownership labels).
//! - [`plan`]: the pure planner: desired + observed → actions with readable reasons.
//! - [`engine`]: the only module that knows bollard.
//! - [`reconcile`]: runs a plan against the engine with bounded concurrency.
//! - [`policy`]: the restricted defaults and admission: a [`policy::Policy`] (plain rules)
//!   against a normalized spec → the rules it breaks. Pure, knows no manifest types.
//! - [`route`]: the router adapters (Caddy's admin API, nginx include files): keep the
//!   instance's routes in the reverse proxy, touching no one else's.
//! - [`source`]: watches manifest paths and signals changes.
//! - [`state`]: the atomically written state file (clocks that labels cannot hold).
//! - [`status`]: phases, `/status`, `/metrics` and the HTTP endpoints of `berth run`.
//! - [`webhook`]: alerts delivered to `--alert-webhook` as Alertmanager's payload.
//! - [`api`]: the session API of `berth run --api`: validates a request, writes (or
//!   removes) a manifest in the sessions directory, answers from `/status`.
//! - [`cli`]: the `berth` command line.
#![forbid(unsafe_code)]
#![warn(missing_debug_implementations)]

pub mod api;
pub mod cli;
pub mod engine;
pub mod manifest;
pub mod model;
pub mod plan;
pub mod policy;
pub mod reconcile;
pub mod resolve;
pub mod route;
pub mod source;
pub mod state;
pub mod status;
pub mod webhook;
