//! Making guest text safe to put in a log or audit line.

use std::borrow::Cow;

use unicode_properties::{GeneralCategory, UnicodeGeneralCategory};

/// True for characters that can forge or disguise a line: controls (newlines included),
/// format characters (bidirectional overrides and isolates, zero-width characters, the soft
/// hyphen, the byte-order mark, ...) and the line and paragraph separators.
fn disguises(c: char) -> bool {
    c.is_control()
        || matches!(
            c.general_category(),
            GeneralCategory::Format
                | GeneralCategory::LineSeparator
                | GeneralCategory::ParagraphSeparator
        )
}

/// Escapes every character that could forge or disguise a line (`\n`, `\u{202e}`, ...), so
/// guest text in a log or audit line reads as what it is. The one escaping function for all
/// guest text that reaches a log or audit line.
pub(crate) fn escape_controls(s: &str) -> Cow<'_, str> {
    if !s.chars().any(disguises) {
        return s.into();
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if disguises(c) {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out.into()
}

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
    fn escapes_controls_format_characters_and_separators() {
        assert_eq!(escape_controls("plain text ü"), "plain text ü");
        assert_eq!(escape_controls("a\nb\r\x1b[31m"), "a\\nb\\r\\u{1b}[31m");
        // Right-to-left override, zero-width space, word joiner, BOM, soft hyphen, isolates.
        assert_eq!(
            escape_controls("x\u{202e}y\u{200b}\u{2060}\u{feff}\u{ad}\u{2066}\u{2069}"),
            "x\\u{202e}y\\u{200b}\\u{2060}\\u{feff}\\u{ad}\\u{2066}\\u{2069}"
        );
        assert_eq!(
            escape_controls("line\u{2028}para\u{2029}"),
            "line\\u{2028}para\\u{2029}"
        );
    }

    #[test]
    fn truncates_on_character_boundaries() {
        assert_eq!(truncate_str("héllo", 2), "h");
        assert_eq!(truncate("héllo".into(), 3), "hé");
        assert_eq!(truncate_str("abc", 10), "abc");
    }
}
