//! Security: the restricted defaults every container gets unless its manifest relaxes them,
//! and admission — `kind: Policy` — which decides whether a relaxed container may run at
//! all. Everything here is pure: no I/O, no engine types, and no manifest types either: a
//! Policy is plain rules (`resolve::policy_compile` makes one of a document), a
//! request is a normalized spec and the host paths it reaches.
//!
//! - [`restricted`]: the defaults applied to a manifest that says nothing.
//! - [`rules`]: the rules of a Policy; the built-in `restricted` profile.
//! - [`admit`](mod@admit): one container spec against one Policy → the rules it breaks.
//! - [`image`], [`paths`], [`glob`]: how images, host paths and patterns are compared.
//! - [`capabilities`]: the Linux capability names.
//! - [`seccomp`]: a custom seccomp profile judged by its content.
//! - [`quota`]: how many Sessions may run at once (total, per label value, per template).

pub mod admit;
pub mod capabilities;
pub mod glob;
pub mod image;
pub mod paths;
pub mod quota;
pub mod restricted;
pub mod rules;
pub mod seccomp;
#[cfg(test)]
pub(crate) mod tests;

pub use admit::{admit, check_host_paths, check_seccomp_content, Request, Violation};
pub use quota::Quotas;
pub use rules::{Policy, Rule};
