//! The SMTP transcript a report carries: the commands and replies of the
//! session, without the message itself.
//!
//! This module decides what of a session is kept: at most
//! [`MAX_ENTRIES`] lines, each at most [`MAX_LINE_CHARS`] characters with
//! control characters escaped (they are the client's bytes). Lines past
//! the cap are counted, not kept, so a chatty client cannot make a large
//! report.

use crate::untrusted::escape_controls;
use serde::Serialize;

pub const MAX_ENTRIES: usize = 100;
pub const MAX_LINE_CHARS: usize = 512;

/// Who wrote a line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Side {
    Client,
    Server,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Entry {
    pub side: Side,
    pub line: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Transcript {
    pub lines: Vec<Entry>,
    /// Lines left out past [`MAX_ENTRIES`].
    pub omitted: usize,
}

impl Transcript {
    pub fn push(&mut self, side: Side, text: &str) {
        if self.lines.len() >= MAX_ENTRIES {
            self.omitted += 1;
            return;
        }
        let text = text.trim_end_matches(['\r', '\n']);
        let mut line: String = escape_controls(text).chars().take(MAX_LINE_CHARS).collect();
        if line.len() < text.len() && text.chars().count() > MAX_LINE_CHARS {
            line.push('…');
        }
        self.lines.push(Entry { side, line });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_escaped_cut_and_counted() {
        let mut transcript = Transcript::default();
        transcript.push(Side::Client, "MAIL FROM:<a@b>\x1b[2J\r\n");
        assert_eq!(transcript.lines[0].line, "MAIL FROM:<a@b>\\u{1b}[2J");
        transcript.push(Side::Client, &"x".repeat(2000));
        assert_eq!(transcript.lines[1].line.chars().count(), MAX_LINE_CHARS + 1);
        for _ in 0..MAX_ENTRIES {
            transcript.push(Side::Server, "250 OK");
        }
        assert_eq!(transcript.lines.len(), MAX_ENTRIES);
        assert_eq!(transcript.omitted, 2);
    }
}
