//! Making guest text safe to put in a log, audit line or error message.

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
/// guest text that reaches a log line, an audit line or a refusal.
///
/// ```
/// assert_eq!(airssys_contract::escape_controls("a\nb"), "a\\nb");
/// ```
pub fn escape_controls(s: &str) -> Cow<'_, str> {
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

/// Lexically normalizes an absolute path: drops empty and `.` segments, resolves `..` (never
/// above `/`); `None` for a relative path. No symlink is consulted: the host's walk does that,
/// component by component, on what this returns.
///
/// ```
/// use airssys_contract::normalize_path;
/// assert_eq!(normalize_path("/data/./a/../b").as_deref(), Some("/data/b"));
/// assert_eq!(normalize_path("data/x"), None);
/// ```
pub fn normalize_path(path: &str) -> Option<String> {
    if !path.starts_with('/') {
        return None;
    }
    let mut names: Vec<&str> = Vec::new();
    for segment in path.split('/') {
        match segment {
            "" | "." => {}
            ".." => {
                names.pop();
            }
            name => names.push(name),
        }
    }
    Some(format!("/{}", names.join("/")))
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
    fn normalizes_lexically() {
        assert_eq!(normalize_path("/data/./a/../b").as_deref(), Some("/data/b"));
        assert_eq!(normalize_path("/../../etc").as_deref(), Some("/etc"));
        assert_eq!(normalize_path("//a//b/").as_deref(), Some("/a/b"));
        assert_eq!(normalize_path("/").as_deref(), Some("/"));
        assert_eq!(normalize_path("data/x"), None);
    }
}
