//! Diagnostics are data: where (file, line, column, field path) and what. They are rendered
//! once, at the edge, as text, JSON or GitHub annotations.

use std::fmt;

use serde::Serialize;

/// How bad a diagnostic is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Error,
    Warning,
}

/// Which kind of failure a diagnostic reports (see docs/architecture.md, "failure classes").
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Class {
    /// Bad input: the manifest is wrong.
    Manifest,
    /// The manifest is well-formed but a policy refuses it.
    Policy,
}

/// One problem found in a manifest file.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Diagnostic {
    /// The file as the user named it (or as found under a directory they named).
    pub file: String,
    /// 1-based; 0 when the diagnostic is about the whole path (it could not be read).
    pub line: usize,
    /// 1-based, in characters; 0 with `line` 0.
    pub column: usize,
    /// Field path inside the document, e.g. `spec.resources.memory`; empty for the whole file.
    pub path: String,
    pub severity: Severity,
    pub class: Class,
    pub message: String,
}

impl Diagnostic {
    pub fn error(file: &str, (line, column): (usize, usize), path: &str, message: String) -> Self {
        Diagnostic {
            file: file.to_string(),
            line,
            column,
            path: path.to_string(),
            severity: Severity::Error,
            class: Class::Manifest,
            message,
        }
    }

    /// An error about a path as a whole (missing, unreadable, not a regular file): it has
    /// no line and column.
    pub fn at_path(file: &str, message: String) -> Self {
        Diagnostic::error(file, (0, 0), "", message)
    }

    /// Whether it points at a place in a file (not at a path as a whole).
    pub fn has_position(&self) -> bool {
        self.line > 0
    }

    pub fn warning(file: &str, pos: (usize, usize), path: &str, message: String) -> Self {
        Diagnostic {
            severity: Severity::Warning,
            ..Diagnostic::error(file, pos, path, message)
        }
    }

    /// The same diagnostic in another failure class.
    pub fn in_class(mut self, class: Class) -> Self {
        self.class = class;
        self
    }

    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

/// `file:line:col: field.path: message` (warnings say so after the path); `file: message`
/// for a path as a whole.
impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.has_position() {
            write!(f, "{}:{}:{}: ", self.file, self.line, self.column)?;
        } else {
            write!(f, "{}: ", self.file)?;
        }
        if !self.path.is_empty() {
            write!(f, "{}: ", self.path)?;
        }
        if self.severity == Severity::Warning {
            f.write_str("warning: ")?;
        }
        f.write_str(&self.message)
    }
}

/// Output formats for diagnostics.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// `file:line:col: field.path: message`, one per line.
    Text,
    /// A JSON array of diagnostic objects.
    Json,
    /// GitHub Actions workflow commands (`::error file=...`).
    Github,
}

/// Renders diagnostics in `format`; text and github end with a newline per diagnostic.
pub fn render(diagnostics: &[Diagnostic], format: Format) -> String {
    match format {
        Format::Text => diagnostics.iter().map(|d| format!("{d}\n")).collect(),
        Format::Json => {
            let mut s = serde_json::to_string_pretty(diagnostics).expect("diagnostics serialize");
            s.push('\n');
            s
        }
        Format::Github => diagnostics
            .iter()
            .map(|d| {
                let level = match d.severity {
                    Severity::Error => "error",
                    Severity::Warning => "warning",
                };
                let msg = if d.path.is_empty() {
                    d.message.clone()
                } else {
                    format!("{}: {}", d.path, d.message)
                };
                let at = if d.has_position() {
                    format!(",line={},col={}", d.line, d.column)
                } else {
                    String::new()
                };
                format!(
                    "::{level} file={}{at}::{}\n",
                    d.file,
                    msg.replace('%', "%25")
                        .replace('\r', "%0D")
                        .replace('\n', "%0A")
                )
            })
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_format_is_file_line_col_path_message() {
        let d = Diagnostic::error("m/a.yaml", (3, 5), "spec.resources.memory", "bad".into());
        assert_eq!(d.to_string(), "m/a.yaml:3:5: spec.resources.memory: bad");
        let w = Diagnostic::warning("m/a.yaml", (1, 1), "kind", "later".into());
        assert_eq!(w.to_string(), "m/a.yaml:1:1: kind: warning: later");
    }

    #[test]
    fn a_path_error_has_no_line_and_column() {
        let d = Diagnostic::at_path("m/private", "permission denied".into());
        assert_eq!(d.to_string(), "m/private: permission denied");
        assert_eq!(
            render(&[d], Format::Github),
            "::error file=m/private::permission denied\n"
        );
    }

    #[test]
    fn github_format_escapes_newlines() {
        let d = Diagnostic::error("a.yaml", (1, 2), "", "two\nlines".into());
        assert_eq!(
            render(&[d], Format::Github),
            "::error file=a.yaml,line=1,col=2::two%0Alines\n"
        );
    }
}
