//! Reads a systemd unit file as far as the tests need: the `[Service]` section's
//! `ExecStart=` and `Environment=` lines, after the install paths have been swapped for
//! the test's own (as a host would install them, see docs/operations.md).

use std::path::Path;

/// One unit file.
#[derive(Debug, Clone)]
pub struct Unit {
    pub text: String,
}

impl Unit {
    pub fn read(path: &Path) -> Unit {
        Unit {
            text: std::fs::read_to_string(path)
                .unwrap_or_else(|e| panic!("{}: {e}", path.display())),
        }
    }

    /// The unit with each `from` replaced by `to` (install paths, `%S`).
    pub fn substituted(&self, subs: &[(&str, &str)]) -> Unit {
        let mut text = self.text.clone();
        for (from, to) in subs {
            assert!(text.contains(from), "the unit does not contain {from:?}");
            text = text.replace(from, to);
        }
        Unit { text }
    }

    /// The `[Service]` assignments of `key`, in order (continuation lines joined).
    pub fn values(&self, key: &str) -> Vec<String> {
        let mut section = String::new();
        let mut out = Vec::new();
        let mut pending = String::new();
        for line in self.text.lines() {
            let line = line.trim();
            if let Some(head) = line.strip_suffix('\\') {
                pending.push_str(head);
                pending.push(' ');
                continue;
            }
            let line = std::mem::take(&mut pending) + line;
            if line.starts_with('#') || line.starts_with(';') || line.is_empty() {
                continue;
            }
            if line.starts_with('[') {
                section = line;
                continue;
            }
            if section != "[Service]" {
                continue;
            }
            if let Some((k, v)) = line.split_once('=') {
                if k.trim() == key {
                    out.push(v.trim().to_string());
                }
            }
        }
        out
    }

    /// `ExecStart=` as words; every specifier and variable must have been substituted.
    pub fn exec_start(&self) -> Vec<String> {
        let lines = self.values("ExecStart");
        assert_eq!(lines.len(), 1, "one ExecStart= line: {lines:?}");
        let line = lines[0].trim_start_matches(['-', '@', ':', '+', '!']);
        assert!(
            !line.contains('%') && !line.contains('$'),
            "a specifier or variable left in ExecStart: {line}"
        );
        words(line)
    }

    /// Every `Environment=` assignment, in order.
    pub fn environment(&self) -> Vec<(String, String)> {
        self.values("Environment")
            .iter()
            .flat_map(|v| words(v))
            .map(|w| {
                let (k, v) = w.split_once('=').expect("KEY=VALUE");
                (k.to_string(), v.to_string())
            })
            .collect()
    }
}

/// Splits at whitespace; double quotes group a word (systemd's rules, without escapes).
fn words(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut word = String::new();
    let mut quoted = false;
    let mut any = false;
    for c in line.chars() {
        match c {
            '"' => {
                quoted = !quoted;
                any = true;
            }
            c if c.is_whitespace() && !quoted => {
                if any {
                    out.push(std::mem::take(&mut word));
                    any = false;
                }
            }
            c => {
                word.push(c);
                any = true;
            }
        }
    }
    assert!(!quoted, "unbalanced quotes: {line}");
    if any {
        out.push(word);
    }
    out
}

#[test]
fn words_and_environment_follow_systemds_quoting() {
    let u = Unit {
        text: "[Unit]\nExecStart=/no\n[Service]\nEnvironment=A=1 \"B=two words\"\nEnvironment=C=3\nExecStart=-/bin/x --a \\\n  \"b c\" d\n".into(),
    };
    assert_eq!(u.exec_start(), ["/bin/x", "--a", "b c", "d"]);
    assert_eq!(
        u.environment(),
        [("A", "1"), ("B", "two words"), ("C", "3")].map(|(k, v)| (k.to_string(), v.to_string()))
    );
}
