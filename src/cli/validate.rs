use std::process::ExitCode;

use crate::manifest::{diagnostic, Format, Sources};
use crate::resolve;

/// `berth validate`: every problem in every file, then a one-line verdict on stderr.
pub fn run(sources: &Sources, format: Format) -> ExitCode {
    let loaded = resolve::load(sources);
    out!("{}", diagnostic::render(&loaded.diagnostics, format));
    let errors = loaded.diagnostics.iter().filter(|d| d.is_error()).count();
    if format == Format::Text {
        if errors == 0 {
            eprintln!(
                "valid: {} file(s), {} document(s), {} container object(s)",
                loaded.files,
                loaded.documents,
                loaded.desired.objects.len()
            );
        } else {
            eprintln!("invalid: {errors} error(s) in {} file(s)", loaded.files);
        }
    }
    ExitCode::from(u8::from(errors > 0))
}
