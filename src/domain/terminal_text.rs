//! Text that came from a device, made safe to print on a terminal or in a log
//! line: a router (or someone who controls one) must not be able to clear the
//! operator's screen, retitle the window, rewrite earlier lines (`\r`) or forge
//! new ones (`\n`). Reports meant for programs (JSON, JUnit) keep the exact
//! text; only the human renderings go through here.

use std::borrow::Cow;
use std::fmt::Write;

/// `text` with every control character shown escaped: C0 and DEL as `\x1b`,
/// C1 and the Unicode direction overrides as `\u{9b}`. Borrowed (no copy)
/// when there is nothing to escape, which is the common case.
pub fn escape_controls(text: &str) -> Cow<'_, str> {
    if !text.chars().any(needs_escape) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if !needs_escape(c) {
            out.push(c);
        } else if (c as u32) < 0x80 {
            let _ = write!(out, "\\x{:02x}", c as u32);
        } else {
            let _ = write!(out, "\\u{{{:x}}}", c as u32);
        }
    }
    Cow::Owned(out)
}

fn needs_escape(c: char) -> bool {
    // Bidirectional overrides and isolates reorder what the operator reads
    // (U+202A..U+202E, U+2066..U+2069).
    c.is_control() || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_text_is_borrowed_unchanged() {
        let text = "% Invalid input detected at '^' marker. é ü";
        assert!(matches!(escape_controls(text), Cow::Borrowed(t) if t == text));
    }

    #[test]
    fn escapes_c0_del_c1_and_bidi_controls() {
        assert_eq!(
            escape_controls("a\x1b[2J\x1b]0;owned\x07b"),
            "a\\x1b[2J\\x1b]0;owned\\x07b"
        );
        assert_eq!(escape_controls("x\r\ny\tz\x7f"), "x\\x0d\\x0ay\\x09z\\x7f");
        assert_eq!(escape_controls("\u{9b}31m"), "\\u{9b}31m");
        assert_eq!(
            escape_controls("a\u{202e}b\u{2066}"),
            "a\\u{202e}b\\u{2066}"
        );
        assert_eq!(escape_controls("\0"), "\\x00");
    }
}
