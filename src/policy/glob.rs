//! Glob patterns: `*` matches any run of characters (within one `/`-separated segment when
//! `segments` is set, where `**` crosses segments), `?` one character. Nothing else is special.

/// Whether `text` matches `pattern`.
pub fn matches(pattern: &str, text: &str, segments: bool) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = text.chars().collect();
    go(&p, &t, segments)
}

fn go(p: &[char], t: &[char], segments: bool) -> bool {
    match p.first() {
        None => t.is_empty(),
        Some('*') => {
            let double = segments && p.get(1) == Some(&'*');
            let rest = if double { &p[2..] } else { &p[1..] };
            // Try every split point; stop at a '/' for a single '*' in segment mode.
            for i in 0..=t.len() {
                if go(rest, &t[i..], segments) {
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
            Some(_) => go(&p[1..], &t[1..], segments),
            None => false,
        },
        Some(c) => t.first() == Some(c) && go(&p[1..], &t[1..], segments),
    }
}

/// Whether `pattern` contains a wildcard.
pub fn is_pattern(pattern: &str) -> bool {
    pattern.contains(['*', '?'])
}

#[cfg(test)]
mod tests {
    use super::matches;

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
}
