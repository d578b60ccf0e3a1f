//! Glob patterns, compiled once (with `globset`) when a Policy is built. Only `*` and `?` are
//! special; every other character, `[ ] { } \` included, stands for itself.
//!
//! - [`Pattern::plain`] (sysctls, AppArmor names, seccomp profile paths, image tags and
//!   digests): `*` matches any run of characters, `/` included; `?` one character.
//! - [`Pattern::segments`] (image repositories, the engine path tables): `*` and `?` stay within
//!   one `/`-separated segment, and `**` crosses segments: `registry.internal/agents/**`
//!   matches `registry.internal/agents/team/rt`, `a/**/z` matches `a/b/c/z` (not `a/z`).
//!
//! Matching is linear in the text: a pattern such as `a*a*a*a*b` cannot make it backtrack.
//! `?` matches one byte, which is one character in every text berth matches but a seccomp
//! profile path or AppArmor name written with non-ASCII characters.

use std::fmt;

use globset::{GlobBuilder, GlobMatcher};

/// A compiled glob pattern, with the text it was written as.
#[derive(Debug, Clone)]
pub struct Pattern {
    text: String,
    segments: bool,
    matcher: Matcher,
}

#[derive(Debug, Clone)]
enum Matcher {
    /// `*` (or `**`, ...) in plain mode: everything.
    Any,
    Glob(Box<GlobMatcher>),
}

/// A pattern globset cannot compile (it has no syntax errors left once everything but `*`
/// and `?` is escaped, so only a pattern too large to compile gets here).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{pattern:?} cannot be compiled as a pattern: {message}")]
pub struct PatternError {
    pub pattern: String,
    pub message: String,
}

impl Pattern {
    /// `*` matches anything, `/` included.
    pub fn plain(text: &str) -> Result<Pattern, PatternError> {
        Pattern::new(text, false)
    }

    /// `*` and `?` stay within one `/`-separated segment; `**` crosses segments.
    pub fn segments(text: &str) -> Result<Pattern, PatternError> {
        Pattern::new(text, true)
    }

    /// `*` in plain mode: every text.
    pub fn any() -> Pattern {
        Pattern {
            text: "*".into(),
            segments: false,
            matcher: Matcher::Any,
        }
    }

    fn new(text: &str, segments: bool) -> Result<Pattern, PatternError> {
        if !segments && !text.is_empty() && text.chars().all(|c| c == '*') {
            return Ok(Pattern {
                text: text.to_string(),
                segments,
                matcher: Matcher::Any,
            });
        }
        let matcher = GlobBuilder::new(&globset_syntax(text, segments))
            .literal_separator(segments)
            .backslash_escape(true)
            .build()
            .map_err(|e| PatternError {
                pattern: crate::model::shorten(text, 80),
                message: e.kind().to_string(),
            })?
            .compile_matcher();
        Ok(Pattern {
            text: text.to_string(),
            segments,
            matcher: Matcher::Glob(Box::new(matcher)),
        })
    }

    /// The pattern as written.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// Whether `text` matches the whole pattern.
    pub fn matches(&self, text: &str) -> bool {
        match &self.matcher {
            Matcher::Any => true,
            Matcher::Glob(g) => g.is_match(text),
        }
    }
}

/// Two patterns are equal when they are written alike and compiled in the same mode.
impl PartialEq for Pattern {
    fn eq(&self, other: &Pattern) -> bool {
        self.text == other.text && self.segments == other.segments
    }
}

impl Eq for Pattern {}

impl fmt::Display for Pattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

/// Whether `pattern` contains a wildcard.
pub fn is_pattern(pattern: &str) -> bool {
    pattern.contains(['*', '?'])
}

/// berth's pattern in globset's syntax. Everything globset would read as syntax is escaped.
/// A run of stars is one `*` in plain mode; in segment mode (two or more) it is any text,
/// `/` included, which is `{*,*/**/*}` for globset: its own `**` spans only whole segments
/// and also matches none of them (`a/**/z` would match `a/z`).
fn globset_syntax(pattern: &str, segments: bool) -> String {
    let mut out = String::with_capacity(pattern.len() + 8);
    let mut chars = pattern.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '*' => {
                let mut run = 1;
                while chars.next_if_eq(&'*').is_some() {
                    run += 1;
                }
                out.push_str(if segments && run > 1 {
                    "{*,*/**/*}"
                } else {
                    "*"
                });
            }
            '[' | ']' | '{' | '}' | ',' | '\\' => {
                out.push('\\');
                out.push(c);
            }
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    use super::Pattern;

    fn matches(pattern: &str, text: &str, segments: bool) -> bool {
        let p = if segments {
            Pattern::segments(pattern)
        } else {
            Pattern::plain(pattern)
        };
        p.expect("compiles").matches(text)
    }

    #[test]
    fn stars_and_segments() {
        assert!(matches("a*", "abc", false));
        assert!(matches("*", "", false));
        assert!(matches("a?c", "abc", false));
        assert!(!matches("a?c", "ac", false));
        assert!(matches("net.ipv4.*", "net.ipv4.ping_group_range", false));
        assert!(!matches("net.ipv4.*", "net.ipv6.x", false));
        assert!(matches("agents/*", "agents/x", true));
        assert!(!matches("agents/*", "agents/x/y", true));
        assert!(matches("agents/**", "agents/x/y", true));
        assert!(matches("a/**/z", "a/b/c/z", true));
        assert!(!matches("a?b", "a/b", true));
        assert!(matches("a*b", "a/b", false));
        assert!(!matches("abc", "abcd", false));
    }

    /// `**` is any text in segment mode wherever it stands, as before globset: never the
    /// "zero or more whole segments" globset gives it.
    #[test]
    fn double_stars_are_any_text_in_segment_mode() {
        for (pattern, text, want) in [
            ("a/**/z", "a/z", false),
            ("a/**/z", "a//z", true),
            ("a/**/z", "a/b/z", true),
            ("**/x", "x", false),
            ("**/x", "a/b/x", true),
            ("a**b", "a/x/b", true),
            ("a**b", "ab", true),
            ("reg**", "registry.internal/agents/rt", true),
            ("a***", "a/b/c", true),
            ("agents/**", "agents/", true),
            ("**", "", true),
            ("a/**/*.json", "a/b/c.json", true),
            ("a/**/*.json", "a/c.json", false),
        ] {
            assert_eq!(matches(pattern, text, true), want, "{pattern} ~ {text}");
        }
        assert!(matches("a/**/z", "a/z/x/z", false));
        assert!(!matches("a/**/z", "a/z", false), "plain mode: `**` is `*`");
    }

    #[test]
    fn only_star_and_question_mark_are_special() {
        for (pattern, text) in [
            ("[ab]", "[ab]"),
            ("{a,b}", "{a,b}"),
            ("a\\*", "a\\xyz"),
            ("!x", "!x"),
            ("a]b", "a]b"),
            ("a,b", "a,b"),
            ("\\", "\\"),
        ] {
            for segments in [false, true] {
                assert!(matches(pattern, text, segments), "{pattern} ~ {text}");
            }
        }
        assert!(!matches("[ab]", "a", false));
        assert!(!matches("{a,b}", "a", true));
        assert!(!matches("a\\*", "a*", false));
    }

    #[test]
    fn a_pathological_pattern_returns_at_once() {
        let text = "a".repeat(30);
        let started = Instant::now();
        for segments in [false, true] {
            assert!(!matches("a*a*a*a*a*a*a*a*b", &text, segments));
        }
        assert!(
            started.elapsed() < Duration::from_secs(1),
            "{:?}",
            started.elapsed()
        );
    }

    /// The definition berth had before globset (a backtracking matcher), kept as the
    /// specification: both agree on every pattern and text over a small alphabet.
    fn reference(p: &[char], t: &[char], segments: bool) -> bool {
        match p.first() {
            None => t.is_empty(),
            Some('*') => {
                let double = segments && p.get(1) == Some(&'*');
                let rest = if double { &p[2..] } else { &p[1..] };
                for i in 0..=t.len() {
                    if reference(rest, &t[i..], segments) {
                        return true;
                    }
                    if i < t.len() && segments && !double && t[i] == '/' {
                        return false;
                    }
                }
                false
            }
            Some('?') => match t.first() {
                Some('/') if segments => false,
                Some(_) => reference(&p[1..], &t[1..], segments),
                None => false,
            },
            Some(c) => t.first() == Some(c) && reference(&p[1..], &t[1..], segments),
        }
    }

    /// Every string over `alphabet` up to `max` characters long.
    fn strings(alphabet: &[char], max: usize) -> Vec<Vec<char>> {
        let mut out = vec![Vec::new()];
        let mut last = vec![Vec::new()];
        for _ in 0..max {
            last = last
                .iter()
                .flat_map(|s| {
                    alphabet.iter().map(move |c| {
                        let mut n = s.clone();
                        n.push(*c);
                        n
                    })
                })
                .collect();
            out.extend(last.iter().cloned());
        }
        out
    }

    #[test]
    fn globset_agrees_with_the_former_definition() {
        let texts = strings(&['a', '/', '['], 5);
        for p in strings(&['a', '/', '*', '?', '['], 4) {
            let text: String = p.iter().collect();
            for segments in [false, true] {
                let compiled = if segments {
                    Pattern::segments(&text)
                } else {
                    Pattern::plain(&text)
                }
                .unwrap();
                for t in &texts {
                    let s: String = t.iter().collect();
                    assert_eq!(
                        compiled.matches(&s),
                        reference(&p, t, segments),
                        "{text:?} ~ {s:?} (segments: {segments})"
                    );
                }
            }
        }
    }

    #[test]
    fn patterns_compare_by_text_and_mode() {
        assert_eq!(Pattern::plain("*").unwrap(), Pattern::any());
        assert_ne!(Pattern::segments("*").unwrap(), Pattern::any());
        assert_eq!(Pattern::plain("**").unwrap().as_str(), "**");
        assert!(Pattern::plain("**").unwrap().matches("a/b"));
    }
}
