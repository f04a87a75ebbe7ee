//! Text that came from outside — DNS records, messages, configs, zone
//! files, file names — made safe to show.
//!
//! This module decides which characters may never reach a terminal, a log
//! or a CI system raw, and how they are shown instead. A raw line break in
//! a TXT record would start a new line that a CI runner reads as a command
//! of its own (GitHub's `::error …`); an escape sequence (ESC `[2J`, an OSC
//! title) would act on the terminal; a bidirectional override (Unicode
//! Technical Standard #9's embedding, override and isolate controls) or a
//! line separator would make the text read differently from what it is.
//! Every such character is shown as a visible escape: `\n`, `\r`, `\t`, or
//! `\u{1b}` for the others. Each output format applies [`escape_controls`]
//! where outside text enters it, then its own encoding (XML entities,
//! JSON, GitHub's `%0A`).
//!
//! Error messages about a file that could not be parsed quote at most an
//! [`excerpt`] of it: [`EXCERPT_CHARS`] characters, escaped, so a file that
//! is not what it was said to be (a secret, a device) is not copied into a
//! CI log.

use std::borrow::Cow;
use std::fmt::Write;

/// The most characters of a file an error message quotes.
pub const EXCERPT_CHARS: usize = 40;

/// Whether `c` may not be shown raw: C0 and C1 controls and DEL (Unicode
/// category Cc), the bidirectional formatting characters (U+061C, U+200E,
/// U+200F, U+202A–U+202E, U+2066–U+2069) and the line and paragraph
/// separators U+2028 and U+2029.
pub fn is_unsafe(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{061C}'
                | '\u{200E}'
                | '\u{200F}'
                | '\u{202A}'..='\u{202E}'
                | '\u{2028}'
                | '\u{2029}'
                | '\u{2066}'..='\u{2069}'
        )
}

/// `text` with every [unsafe](is_unsafe) character replaced by a visible
/// escape; borrowed when there is none.
pub fn escape_controls(text: &str) -> Cow<'_, str> {
    if !text.chars().any(is_unsafe) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        push_escaped(&mut out, c);
    }
    Cow::Owned(out)
}

fn push_escaped(out: &mut String, c: char) {
    match c {
        '\n' => out.push_str("\\n"),
        '\r' => out.push_str("\\r"),
        '\t' => out.push_str("\\t"),
        c if is_unsafe(c) => {
            let _ = write!(out, "\\u{{{:x}}}", u32::from(c));
        }
        c => out.push(c),
    }
}

/// At most [`EXCERPT_CHARS`] characters of `text`, escaped, with `…` when
/// cut: what an error message may quote of a file it could not read.
pub fn excerpt(text: &str) -> String {
    cut(text, EXCERPT_CHARS)
}

/// At most `most` characters of `text`, escaped, with `…` when cut.
fn cut(text: &str, most: usize) -> String {
    let mut out = String::new();
    let mut chars = text.chars();
    for c in chars.by_ref().take(most) {
        push_escaped(&mut out, c);
    }
    if chars.next().is_some() {
        out.push('…');
    }
    out
}

/// An [`excerpt`] in backquotes, the way error messages quote input.
pub fn quoted(text: &str) -> String {
    format!("`{}`", excerpt(text))
}

/// The most characters of a request's own input that an answer repeats
/// (a problem's detail, a page's message or form): room for any name
/// or value a client means to send, never a whole hostile body.
pub const ECHO_CHARS: usize = 100;

/// At most [`ECHO_CHARS`] characters of what a client sent, escaped,
/// with `…` when cut: a refused form's field as shown again.
pub fn shortened(text: &str) -> String {
    cut(text, ECHO_CHARS)
}

/// A client's input as an answer quotes it: [`shortened`], in backquotes.
pub fn echoed(text: &str) -> String {
    format!("`{}`", shortened(text))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn controls_bidi_and_separators_become_visible() {
        assert_eq!(
            escape_controls("a\nb\r\t\x1b[2J\x7f\u{9b}\u{202e}x\u{2028}\u{2066}"),
            "a\\nb\\r\\t\\u{1b}[2J\\u{7f}\\u{9b}\\u{202e}x\\u{2028}\\u{2066}"
        );
        assert!(matches!(
            escape_controls("v=spf1 -all ünïcode"),
            Cow::Borrowed(_)
        ));
    }

    #[test]
    fn echoed_input_is_cut_at_a_hundred_characters() {
        let long = "a".repeat(15_000);
        assert_eq!(echoed(&long), format!("`{}…`", "a".repeat(ECHO_CHARS)));
        assert_eq!(echoed("web.test"), "`web.test`");
        assert_eq!(shortened("a\u{202e}b"), "a\\u{202e}b");
    }

    #[test]
    fn excerpts_are_short_and_escaped() {
        let long = "PATH=/usr/bin\0HOME=/root\0SECRET=".repeat(10);
        let e = excerpt(&long);
        assert!(e.ends_with('…'));
        assert!(!e.contains('\0'));
        assert_eq!(e.matches("\\u{0}").count(), 2);
        assert!(e.starts_with("PATH=/usr/bin\\u{0}HOME=/root\\u{0}SECRET="));
        assert_eq!(excerpt("short"), "short");
        assert_eq!(quoted("a\nb"), "`a\\nb`");
        assert_eq!(
            excerpt(&"x".repeat(EXCERPT_CHARS)),
            "x".repeat(EXCERPT_CHARS)
        );
    }
}
