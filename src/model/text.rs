//! Text as berth shows it in messages.

/// At most `max` characters of `s`, with `…` where it was cut: diagnostics show a prefix of
/// a value, never a whole (possibly huge) one.
pub fn shorten(s: &str, max: usize) -> String {
    match s.char_indices().nth(max) {
        None => s.to_string(),
        Some((i, _)) => format!("{}…", &s[..i]),
    }
}

/// `s` quoted for a message, shortened to a prefix when long.
pub fn quoted(s: &str) -> String {
    format!("{:?}", shorten(s, 60))
}

#[cfg(test)]
mod tests {
    #[test]
    fn long_text_is_cut() {
        assert_eq!(super::shorten("abcdef", 3), "abc…");
        assert_eq!(super::shorten("abc", 3), "abc");
        assert_eq!(super::shorten("ééé", 2), "éé…");
        assert_eq!(super::quoted("a\"b"), "\"a\\\"b\"");
    }
}
