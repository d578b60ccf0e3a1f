//! Text generated from the command line's own definition, so it cannot drift from it:
//! shell completions (`berth completion SHELL`, clap_complete) and the man page
//! (`berth man`, clap_mangen).

use std::io::Write;
use std::process::ExitCode;

use clap::CommandFactory;

use super::{Cli, CliError};

/// Prints the completion script for `shell`.
pub fn completion(shell: clap_complete::Shell) -> ExitCode {
    let mut out = std::io::stdout().lock();
    clap_complete::generate(shell, &mut Cli::command(), "berth", &mut out);
    let _ = out.flush();
    ExitCode::SUCCESS
}

/// Prints the man page `berth(1)` as roff; with `dir`, writes it and one page per command
/// (`berth-logs.1`, ...) into that directory instead.
pub fn man(dir: Option<&std::path::Path>) -> Result<ExitCode, CliError> {
    if let Some(dir) = dir {
        std::fs::create_dir_all(dir)
            .and_then(|()| clap_mangen::generate_to(Cli::command(), dir))
            .map_err(|e| {
                CliError::Setup(format!("cannot write man pages to {}: {e}", dir.display()))
            })?;
        return Ok(ExitCode::SUCCESS);
    }
    let mut page = Vec::new();
    clap_mangen::Man::new(Cli::command())
        .render(&mut page)
        .map_err(CliError::Output)?;
    let mut out = std::io::stdout().lock();
    match out.write_all(&page).and_then(|()| out.flush()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(CliError::Output(e)),
        _ => Ok(ExitCode::SUCCESS),
    }
}
