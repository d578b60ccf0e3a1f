//! Resolution: what [`crate::manifest`] read → the desired set. One pipeline, run the same way
//! by every command and by the daemon. Imports only `manifest`, `policy` and `model`.
//!
//! ```text
//!  manifest::load::Read                    --policy
//!    │ check, dropin (per document)           │ policy_source, policy_compile
//!    │ unique names, template references      ▼
//!    │ merge, normalize (per object) ──▶ admission ──▶ model::DesiredSet, held files, diagnostics
//! ```
//!
//! - [`pipeline`]: the pipeline itself: cross-document checks (unique names, template
//!   references, host ports), each object resolved and admitted; a file with any error is
//!   held whole.
//! - `check`: per-document checks and value bounds.
//! - `dropin`: what a document may say given its source's trust.
//! - `expose`: `expose` placeholders filled in and checked, `idle`, routes unique across
//!   objects.
//! - `merge`: a template merged under an object's own fields.
//! - `normalize`: merged spec → the normalized [`crate::model::Spec`], restricted defaults
//!   applied.
//! - `privileges`: checks and normal form of privileged mode, host namespaces, devices,
//!   sysctls and AppArmor.
//! - [`policy_source`]: the Policy from `--policy`, failing closed.
//! - [`policy_compile`]: a Policy document → the rules of a [`crate::policy::Policy`].
//! - `admission`: the host paths a container reaches, and the rules each object breaks
//!   (class Policy), at the field that sets them.
//! - `pool`: a Template's warm pool → its members, and whether each Session fits it.
//! - [`cache`]: skips re-reading on a resync when no input changed.

mod admission;
mod alerts;
pub mod cache;
mod check;
mod dropin;
mod expose;
mod merge;
mod normalize;
pub mod pipeline;
pub mod policy_compile;
pub mod policy_source;
mod pool;
mod privileges;

pub use pipeline::Loaded;

use crate::manifest::{discover, files, load, Limits, Sources};

/// Reads, checks and resolves everything `sources` names.
pub fn load(sources: &Sources) -> Loaded {
    let mut reader = files::Reader::new(sources.limits);
    let policy = policy_source::load(sources.policy.as_deref(), &mut reader);
    let read = load::read_discovered(discover::discover(sources), &mut reader);
    let mut loaded = pipeline::resolve(read, policy, &mut reader);
    if sources.traefik {
        traefik(&mut loaded.desired);
    }
    loaded
}

/// Like [`load`], with more files whose text is at hand (each as if read from its
/// [`discover::SourceFile`]): what the session API validates a request with, the trusted
/// manifests and the Policy read from disk.
pub fn load_with(sources: &Sources, extra: &[(discover::SourceFile, String)]) -> Loaded {
    let mut reader = files::Reader::new(sources.limits);
    let policy = policy_source::load(sources.policy.as_deref(), &mut reader);
    let mut read = load::read_discovered(discover::discover(sources), &mut reader);
    for (f, text) in extra {
        read.files.push(load::read_text(
            std::sync::Arc::new(f.clone()),
            text,
            &mut reader.values,
        ));
    }
    let mut loaded = pipeline::resolve(read, policy, &mut reader);
    if sources.traefik {
        traefik(&mut loaded.desired);
    }
    loaded
}

/// `--router traefik`: each exposed object's spec carries its exposure, which the engine
/// adapter turns into Traefik's labels; the hash follows.
pub fn traefik(desired: &mut crate::model::DesiredSet) {
    for want in desired.objects.values_mut() {
        if want.expose.is_some() && want.spec.traefik != want.expose {
            want.spec.traefik = want.expose.clone();
            want.hash = want.spec.hash();
        }
    }
}

/// Reads, checks and resolves documents whose text is at hand, as if read from files named
/// by the first element of each pair (a Policy too, when given): the whole pipeline without
/// the file system, for tests and the fuzz target.
pub fn load_texts(
    texts: &[(discover::SourceFile, String)],
    policy: Option<(&str, &str)>,
    limits: Limits,
) -> Loaded {
    let mut reader = files::Reader::new(limits);
    let policy = match policy {
        Some((name, text)) => policy_source::from_text(name, text, &mut reader),
        None => policy_source::PolicyLoad::builtin(),
    };
    let read = load::Read {
        files: texts
            .iter()
            .map(|(f, t)| load::read_text(std::sync::Arc::new(f.clone()), t, &mut reader.values))
            .collect(),
        ..load::Read::default()
    };
    pipeline::resolve(read, policy, &mut reader)
}
