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
//!
//! A deserializer's message about outside input (a JSON body, a TOML
//! config) is put in the words of the input's format by [`plain_serde`]:
//! serde names what it expected by Rust's types (`struct SpfRequest`,
//! `u32`), which mean nothing to the one who wrote the input and show
//! the program's insides.

use std::borrow::Cow;
use std::fmt::Write;

/// The most characters of a file an error message quotes.
pub const EXCERPT_CHARS: usize = 40;

/// Whether `c` may not be shown raw: C0 and C1 controls and DEL (Unicode
/// category Cc), the bidirectional formatting characters (U+061C, U+200E,
/// U+200F, U+202A–U+202E, U+2066–U+2069), the line and paragraph
/// separators U+2028 and U+2029, and U+FEFF (a byte-order mark, invisible
/// where it stands).
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
                | '\u{FEFF}'
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

/// What a format calls a map of keys to values: JSON's `an object`,
/// TOML's `a table`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Json,
    Toml,
}

/// Serde's `message` about a value of the wrong type or out of range, in
/// [`Format`]'s words: what was expected (`expected struct X`, `expected
/// u32`, `expected a map`) as the kind of value the format writes (`an
/// object`, `a whole number from 0 to 4294967295`), a whole number where
/// another whole number is expected as out of range, and a struct read
/// from an array (`invalid length 1, expected struct X with 2 elements`)
/// as an array where an object belongs. Any other message is returned as
/// it is.
pub fn plain_serde(message: &str, format: Format) -> String {
    let Some(at) = message.rfind(", expected ") else {
        return message.to_owned();
    };
    let (head, expected) = (&message[..at], &message[at + ", expected ".len()..]);
    let object = match format {
        Format::Json => "an object",
        Format::Toml => "a table",
    };
    // A struct read from an array of its values: the array is refused.
    if head.starts_with("invalid length ") && expected.starts_with("struct ") {
        return format!("invalid type: an array, expected {object}");
    }
    let Some((kind, got)) = head.split_once(": ") else {
        return message.to_owned();
    };
    if !matches!(kind, "invalid type" | "invalid value") {
        return message.to_owned();
    }
    let got = got.strip_suffix(" as i128").unwrap_or(got);
    let got = got.strip_suffix(" as u128").unwrap_or(got);
    if let Some(range) = whole_number(expected)
        && let Some(number) = got.strip_prefix("integer ")
    {
        return format!("the value {number} is out of range: {range} is expected");
    }
    let got = match got {
        "sequence" => "an array",
        "map" => object,
        "unit value" if format == Format::Json => "null",
        other => other,
    };
    let expected = if let Some(range) = whole_number(expected) {
        range
    } else if expected.starts_with("struct ") || expected == "a map" {
        object.to_owned()
    } else if expected.starts_with("tuple") || expected == "a sequence" {
        "an array".to_owned()
    } else if expected.starts_with("enum ") {
        "one of the words this field takes".to_owned()
    } else if matches!(expected, "f32" | "f64") {
        "a number".to_owned()
    } else {
        expected.to_owned()
    };
    format!("{kind}: {got}, expected {expected}")
}

/// The whole numbers a Rust integer type `name` holds, in words.
fn whole_number(name: &str) -> Option<String> {
    let (low, high) = match name {
        "u8" => (0, u128::from(u8::MAX)),
        "u16" => (0, u128::from(u16::MAX)),
        "u32" => (0, u128::from(u32::MAX)),
        "u64" | "usize" => (0, u128::from(u64::MAX)),
        "i8" => (i128::from(i8::MIN), u128::from(i8::MAX.unsigned_abs())),
        "i16" => (i128::from(i16::MIN), u128::from(i16::MAX.unsigned_abs())),
        "i32" => (i128::from(i32::MIN), u128::from(i32::MAX.unsigned_abs())),
        "i64" | "isize" => (i128::from(i64::MIN), u128::from(i64::MAX.unsigned_abs())),
        _ => return None,
    };
    Some(format!("a whole number from {low} to {high}"))
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
    fn serde_messages_name_no_rust_type() {
        let json = |m| plain_serde(m, Format::Json);
        assert_eq!(
            json("invalid type: integer `5`, expected struct IdentifierResult"),
            "invalid type: integer `5`, expected an object"
        );
        assert_eq!(
            json("invalid type: sequence, expected struct SpfRequest with 3 elements"),
            "invalid type: an array, expected an object"
        );
        assert_eq!(
            json("invalid length 1, expected struct IdentifierResult with 2 elements"),
            "invalid type: an array, expected an object"
        );
        assert_eq!(
            json("invalid type: unit value, expected a sequence"),
            "invalid type: null, expected an array"
        );
        assert_eq!(
            plain_serde(
                "invalid type: integer `99999999999999999999` as i128, expected u32",
                Format::Toml
            ),
            "the value `99999999999999999999` is out of range: a whole number from 0 to \
             4294967295 is expected"
        );
        assert_eq!(
            plain_serde("invalid type: map, expected a boolean", Format::Toml),
            "invalid type: a table, expected a boolean"
        );
        assert_eq!(
            json("invalid value: integer `200`, expected i8"),
            "the value `200` is out of range: a whole number from -128 to 127 is expected"
        );
        assert_eq!(json("missing field `ip`"), "missing field `ip`");
        assert_eq!(
            json("unknown field `x, expected y`, expected one of `ip`"),
            "unknown field `x, expected y`, expected one of `ip`"
        );
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
