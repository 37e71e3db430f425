//! Cutting guest text to a size before it reaches a log line. Escaping it is
//! [`airssys_contract::escape_controls`], shared with the SDK's test host.

/// The longest prefix of `s` of at most `max` bytes that ends on a character boundary.
pub(crate) fn truncate_str(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

/// [`truncate_str`] in place.
pub(crate) fn truncate(mut s: String, max: usize) -> String {
    let len = truncate_str(&s, max).len();
    s.truncate(len);
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn truncates_on_character_boundaries() {
        assert_eq!(truncate_str("héllo", 2), "h");
        assert_eq!(truncate("héllo".into(), 3), "hé");
        assert_eq!(truncate_str("abc", 10), "abc");
    }
}
