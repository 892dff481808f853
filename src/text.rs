//! Untrusted text made safe to print: the one escaper for everything shown that came from a
//! certificate, a bundle, a server or git (identities, issuers, DNs, media types, server
//! error text, commit subjects), on the terminal, in `remote:` lines and on git's status fd.
//!
//! A certificate's SAN is attacker-chosen bytes: raw, `ESC[2K CR ESC[32m gitsign: Good
//! signature …` repaints the line and `\n[GNUPG:] GOODSIG …` adds a status line git believes.
//! Escaped, every control character (C0, DEL, C1 — CSI is U+009B), line and paragraph
//! separator and invisible format character (bidi overrides and isolates, zero-width
//! characters, BOM) is written visibly as `\n`, `\x1b`, `\u{202e}`, so the result is one line
//! whose every character is what it shows. Backslashes are kept as they are (DNs use RFC 4514
//! `\,`): the goal is no spoofing, not a reversible encoding. Pure.

use std::borrow::Cow;
use std::fmt::Write as _;

/// True for characters that move the cursor, change the terminal's state, break the line or
/// reorder or hide text.
pub fn is_unsafe(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{00ad}'
                | '\u{061c}'
                | '\u{180e}'
                | '\u{200b}'..='\u{200f}'
                | '\u{2028}'..='\u{202e}'
                | '\u{2060}'..='\u{2064}'
                | '\u{2066}'..='\u{206f}'
                | '\u{feff}'
                | '\u{fff9}'..='\u{fffb}'
        )
}

fn push_escaped(out: &mut String, c: char) {
    match c {
        '\n' => out.push_str("\\n"),
        '\r' => out.push_str("\\r"),
        '\t' => out.push_str("\\t"),
        c if (c as u32) < 0x80 => {
            let _ = write!(out, "\\x{:02x}", c as u32);
        }
        c => {
            let _ = write!(out, "\\u{{{:x}}}", c as u32);
        }
    }
}

/// `s` as one line of printable text; borrowed when nothing needed escaping.
pub fn escape(s: &str) -> Cow<'_, str> {
    // Printable ASCII is never unsafe: most text is checked a byte at a time, not a
    // character against Unicode's tables.
    if s.bytes().all(|b| matches!(b, b' '..=b'~')) || !s.chars().any(is_unsafe) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if is_unsafe(c) {
            push_escaped(&mut out, c);
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// An error and its causes on one line, `error: cause: cause`, as they read (not escaped: the
/// text may come from a server, so it goes through [`escape`] where it is shown).
pub fn one_line(e: &dyn std::error::Error) -> String {
    let mut msg = e.to_string();
    let mut src = e.source();
    while let Some(s) = src {
        let _ = write!(msg, ": {s}");
        src = s.source();
    }
    msg
}

/// Bytes of unknown encoding as one line: valid UTF-8 escaped as [`escape`] does, every byte
/// of an invalid sequence as `\xNN`.
pub fn escape_bytes(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len());
    for chunk in bytes.utf8_chunks() {
        out.push_str(&escape(chunk.valid()));
        for b in chunk.invalid() {
            let _ = write!(out, "\\x{b:02x}");
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_line_joins_an_error_and_its_causes() {
        #[derive(Debug, thiserror::Error)]
        #[error("outer")]
        struct Outer(#[source] std::io::Error);
        let e = Outer(std::io::Error::other("inner\nline"));
        assert_eq!(
            one_line(&e),
            "outer: inner\nline",
            "causes in order, text as it reads"
        );
        assert_eq!(
            escape(&one_line(&e)),
            "outer: inner\\nline",
            "escaped where shown"
        );
    }

    #[test]
    fn plain_text_is_borrowed_unchanged() {
        for s in [
            "alice@example.com",
            "CN=sigstore-intermediate,O=sigstore.dev",
            "é ü 日本",
            "",
        ] {
            assert!(
                matches!(escape(s), Cow::Borrowed(b) if b == s),
                "{s} needs no escaping"
            );
        }
    }

    #[test]
    fn terminal_controls_and_bidi_are_shown_visibly() {
        assert_eq!(
            escape("\x1b[2K\r\x1b[32mgitsign: Good\x1b[8m"),
            "\\x1b[2K\\r\\x1b[32mgitsign: Good\\x1b[8m"
        );
        assert_eq!(escape("a\n[GNUPG:] GOODSIG x"), "a\\n[GNUPG:] GOODSIG x");
        assert_eq!(
            escape("moc.elpmaxe@\u{202e}eve"),
            "moc.elpmaxe@\\u{202e}eve"
        );
        assert_eq!(escape("\u{9b}31m\u{7f}\t\0"), "\\u{9b}31m\\x7f\\t\\x00");
        assert_eq!(
            escape("a\u{2028}b\u{200b}c\u{feff}"),
            "a\\u{2028}b\\u{200b}c\\u{feff}"
        );
    }

    #[test]
    fn invalid_utf8_bytes_are_shown_as_hex() {
        assert_eq!(escape_bytes(b"ok\xff\xfe\x1b!"), "ok\\xff\\xfe\\x1b!");
        assert_eq!(escape_bytes("é".as_bytes()), "é");
    }
}
