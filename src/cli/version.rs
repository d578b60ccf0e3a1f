//! `berth version`: the version and the git commit the binary was built from (`build.rs`).

use std::process::ExitCode;

use serde::Serialize;

use super::PlanFormat;

/// The package version.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
/// The commit (12 hex digits), or `unknown` when the build had neither git nor
/// `BERTH_GIT_COMMIT`.
pub const COMMIT: &str = env!("BERTH_GIT_COMMIT");
/// What `--version` prints after the name.
pub const LONG: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (commit ",
    env!("BERTH_GIT_COMMIT"),
    ")"
);

#[derive(Debug, Serialize)]
struct Version {
    version: &'static str,
    commit: &'static str,
}

pub fn run(format: PlanFormat) -> ExitCode {
    match format {
        PlanFormat::Text => outln!("berth {LONG}"),
        PlanFormat::Json => outln!(
            "{}",
            serde_json::to_string_pretty(&Version {
                version: VERSION,
                commit: COMMIT,
            })
            .expect("a version serializes")
        ),
    }
    ExitCode::SUCCESS
}
