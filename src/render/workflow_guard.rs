//! The guard between mailvet's output and a GitHub Actions runner, which
//! reads every line a step writes, on standard output and standard error,
//! for workflow commands.
//!
//! This module decides which text a runner could take for a command and
//! how it is written instead. The runner reads a line as a command in two
//! ways: a line whose text after leading whitespace starts with `::`
//! (`::error::…`, `::stop-commands::TOKEN`, which silences every later
//! annotation), and, in its older syntax, `##[` anywhere in a line
//! (`##[error]…`). Its comparisons are .NET's culture-sensitive ones,
//! which skip characters Unicode makes default-ignorable (a soft hyphen,
//! a zero-width joiner), so `:`+U+00AD+`:` counts as `::` here too, as
//! does any control character between them. Lines end at LF or CR, as
//! the runner splits them.
//!
//! Where such a command start is found, it is broken in the syntax of the
//! output ([`Syntax`]), losslessly where the syntax allows:
//!
//! - JSON (`json`, `jsonl`, `sarif`): `##[` can only be inside a string
//!   (a JSON line never starts with `:`, and no string holds a line
//!   break), so its `[` is written `\u005b`, the same string once parsed.
//! - XML (`junit`): the `[` as `&#91;`, and the first `:` of a line that
//!   starts with `::` as `&#58;`, the same text once parsed.
//! - Text: visibly, a backslash before the `[` (`##\[`) and before the
//!   first `:` of a line that starts with `::` (`\::`).
//!
//! The guard applies only when `GITHUB_ACTIONS=true` ([`for_runner`],
//! and [`RunnerWriter`] for the log, whose lines quote outside text too:
//! a DNS name, a fetch's error).
//! mailvet's own annotations ([`super::annotations`]), which are commands
//! on purpose, are written past it, never through it.

use std::borrow::Cow;
use std::io::{self, Write};

/// The syntax of an output, which decides how a command start is broken.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Syntax {
    /// For people: broken visibly with a backslash.
    Text,
    /// JSON, one document or a line of `jsonl`: `[` as `\u005b`.
    Json,
    /// XML character data and attribute values: numeric references.
    Xml,
}

/// `text` as it may be written where a GitHub Actions runner reads it:
/// [`neutralise`]d when this process runs as a step
/// (`GITHUB_ACTIONS=true`), else as it is.
pub fn for_runner(text: &str, syntax: Syntax) -> Cow<'_, str> {
    if super::annotations::in_github_actions() {
        neutralise(text, syntax)
    } else {
        Cow::Borrowed(text)
    }
}

/// `text` with every command start broken in `syntax`; borrowed when
/// there is none.
pub fn neutralise(text: &str, syntax: Syntax) -> Cow<'_, str> {
    if !text.contains(['#', ':']) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    let mut changed = false;
    let mut line_start = true;
    // The line starts with `::`: its first `:` is still to be broken.
    let mut colon_to_break = false;
    // `#` seen in a row, not counting ignorable characters.
    let mut hashes = 0;
    for (at, c) in text.char_indices() {
        if c == '\n' || c == '\r' {
            line_start = true;
            hashes = 0;
            out.push(c);
            continue;
        }
        if line_start && !c.is_whitespace() {
            line_start = false;
            colon_to_break = starts_with_colons(&text[at..]);
        }
        if c == ':' && colon_to_break {
            colon_to_break = false;
            hashes = 0;
            changed |= push_broken_colon(&mut out, syntax);
            continue;
        }
        if ignorable(c) {
            out.push(c);
            continue;
        }
        if c == '[' && hashes >= 2 {
            changed = true;
            out.push_str(match syntax {
                Syntax::Text => "\\[",
                Syntax::Json => "\\u005b",
                Syntax::Xml => "&#91;",
            });
        } else {
            out.push(c);
        }
        hashes = if c == '#' { hashes + 1 } else { 0 };
    }
    if changed {
        Cow::Owned(out)
    } else {
        Cow::Borrowed(text)
    }
}

/// A writer of whole lines, such as the log's events, that writes each
/// [`neutralise`]d in its syntax when this process runs as a GitHub
/// Actions step, and passes it on untouched otherwise.
pub struct RunnerWriter<W> {
    inner: W,
    /// The syntax to break command starts in; `None` off a runner.
    guarding: Option<Syntax>,
}

impl<W: Write> RunnerWriter<W> {
    pub fn new(inner: W, syntax: Syntax) -> Self {
        Self {
            inner,
            guarding: super::annotations::in_github_actions().then_some(syntax),
        }
    }
}

impl<W: Write> Write for RunnerWriter<W> {
    /// Takes `buf` whole: a line cut in two could hide a command start.
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self.guarding {
            Some(syntax) => {
                let text = String::from_utf8_lossy(buf);
                self.inner.write_all(neutralise(&text, syntax).as_bytes())?;
                Ok(buf.len())
            }
            None => self.inner.write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// Whether a runner reads `line` (or this part of a line from its first
/// non-whitespace character on) as starting a workflow command.
pub fn reads_as_command(line: &str) -> bool {
    let line = line.split(['\n', '\r']).next().unwrap_or("");
    starts_with_colons(line.trim_start()) || contains_command_prefix(line)
}

/// Whether the visible text (ignorable characters skipped) starts `::`,
/// up to the end of the line.
fn starts_with_colons(rest: &str) -> bool {
    let mut visible = rest
        .chars()
        .take_while(|&c| c != '\n' && c != '\r')
        .filter(|&c| !ignorable(c));
    visible.next() == Some(':') && visible.next() == Some(':')
}

/// Whether the visible text holds `##[`.
fn contains_command_prefix(line: &str) -> bool {
    let visible: String = line.chars().filter(|&c| !ignorable(c)).collect();
    visible.contains("##[")
}

/// Writes a line's first `:` so the line no longer starts with `::`.
/// Returns whether anything was written differently.
fn push_broken_colon(out: &mut String, syntax: Syntax) -> bool {
    match syntax {
        Syntax::Text => out.push_str("\\:"),
        Syntax::Xml => out.push_str("&#58;"),
        // A JSON line starts with whitespace and then `{`, `}`, `[`, `]`,
        // `"` or a value, never with `:`: the colon of a member follows
        // its name on the same line.
        Syntax::Json => {
            out.push(':');
            return false;
        }
    }
    true
}

/// Whether the runner's comparison skips `c`: a control character other
/// than a line break, or a character with the Unicode property
/// Default_Ignorable_Code_Point.
fn ignorable(c: char) -> bool {
    (c.is_control() && c != '\n' && c != '\r')
        || matches!(
            c,
            '\u{00AD}'
                | '\u{034F}'
                | '\u{061C}'
                | '\u{115F}'..='\u{1160}'
                | '\u{17B4}'..='\u{17B5}'
                | '\u{180B}'..='\u{180F}'
                | '\u{200B}'..='\u{200F}'
                | '\u{202A}'..='\u{202E}'
                | '\u{2060}'..='\u{206F}'
                | '\u{3164}'
                | '\u{FE00}'..='\u{FE0F}'
                | '\u{FEFF}'
                | '\u{FFA0}'
                | '\u{FFF0}'..='\u{FFF8}'
                | '\u{1BCA0}'..='\u{1BCA3}'
                | '\u{1D173}'..='\u{1D17A}'
                | '\u{E0000}'..='\u{E0FFF}'
        )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_log_line_is_written_guarded_on_a_runner_and_untouched_elsewhere() {
        let line = "2026-12-04T05:00:00Z  INFO mailvet: not a report error=bad <x>\n\
                    ::stop-commands::pwn at ##[error]x\n";
        let written = |guarding| {
            let mut writer = RunnerWriter {
                inner: Vec::new(),
                guarding,
            };
            writer.write_all(line.as_bytes()).unwrap();
            writer.flush().unwrap();
            String::from_utf8(writer.inner).unwrap()
        };
        let guarded = written(Some(Syntax::Text));
        assert!(!guarded.lines().any(reads_as_command), "{guarded}");
        assert!(guarded.ends_with("\\::stop-commands::pwn at ##\\[error]x\n"));
        assert_eq!(written(None), line);
    }

    #[test]
    fn text_breaks_command_starts_visibly() {
        let text = "  ::stop-commands::pwn.good.check.test: v=spf1 -all\n\
                    v=spf1 x=##[stop-commands]pwn +all\n\
                    a line with :: inside and # [ apart\n";
        let shown = neutralise(text, Syntax::Text);
        assert_eq!(
            shown,
            "  \\::stop-commands::pwn.good.check.test: v=spf1 -all\n\
             v=spf1 x=##\\[stop-commands]pwn +all\n\
             a line with :: inside and # [ apart\n"
        );
        assert!(!shown.lines().any(reads_as_command), "{shown}");
        let plain = "nothing: here\n# [x]\n";
        assert!(matches!(neutralise(plain, Syntax::Text), Cow::Borrowed(_)));
    }

    #[test]
    fn ignorable_characters_and_carriage_returns_do_not_hide_a_command() {
        for hidden in [
            ":\u{AD}:error::x",
            "\u{200D}::error::x",
            "#\u{FEFF}#[error]x",
            "#\u{1}#\u{2060}[error]x",
            "ok\r::error::x",
            "\u{3000}\t::error::x",
        ] {
            assert!(
                hidden.split(['\n', '\r']).any(reads_as_command),
                "{hidden:?}"
            );
            let shown = neutralise(hidden, Syntax::Text);
            assert!(
                !shown.split(['\n', '\r']).any(reads_as_command),
                "{hidden:?} -> {shown:?}"
            );
        }
    }

    #[test]
    fn json_stays_the_same_value() {
        let value = serde_json::json!({
            "record": "v=spf1 x=##[stop-commands]pwn ###[a] ##",
            "list": ["##", "[", "::error::x"],
        });
        for json in [
            serde_json::to_string_pretty(&value).unwrap(),
            serde_json::to_string(&value).unwrap(),
        ] {
            let guarded = neutralise(&json, Syntax::Json);
            assert!(!guarded.lines().any(reads_as_command), "{guarded}");
            assert!(guarded.contains("##\\u005bstop-commands]"), "{guarded}");
            let parsed: serde_json::Value = serde_json::from_str(&guarded).unwrap();
            assert_eq!(parsed, value);
        }
    }

    #[test]
    fn xml_stays_the_same_text() {
        let xml = "<a b=\"##[x]\">\n  ::error::x ##[y]\n</a>\n";
        let guarded = neutralise(xml, Syntax::Xml);
        assert_eq!(
            guarded,
            "<a b=\"##&#91;x]\">\n  &#58;:error::x ##&#91;y]\n</a>\n"
        );
        assert!(!guarded.lines().any(reads_as_command), "{guarded}");
    }
}
