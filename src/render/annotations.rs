//! GitHub Actions annotations: `::error` and `::warning` workflow commands
//! that GitHub shows on the run's summary and, with `file` and `line`, on
//! the pull request's diff.
//!
//! This module decides which cases are annotated and how: every case that
//! fails the run, and every error finding, is an `::error`; any other
//! warning finding is a `::warning`, whatever `--fail-on` says (with
//! `--fail-on never` nothing fails the run, and every error and warning
//! is still annotated); info findings and met expectations are not
//! annotated. They are written only when `GITHUB_ACTIONS=true` (the runner
//! sets it). Outside text goes through [`data`] (and [`property`]): its
//! control characters become visible escapes first, so a line break in a
//! TXT record can never end the command and start one of its own; then
//! the runner's own encoding, `%`, CR and LF as `%25`, `%0D`, `%0A`, and
//! in properties also `:` and `,`. The message's own line break, before
//! the fix, is written encoded.

use super::{Outcome, Suite};
use crate::findings::Severity;

/// Whether this process runs as a GitHub Actions step.
pub fn in_github_actions() -> bool {
    std::env::var("GITHUB_ACTIONS").is_ok_and(|v| v == "true")
}

/// One workflow command per line, each ending in a newline.
pub fn render(suites: &[Suite]) -> String {
    let mut out = String::new();
    for suite in suites {
        for case in &suite.cases {
            let finding = case.kind == super::CaseKind::Finding;
            let command = match (case.outcome, case.severity) {
                (Outcome::Fail | Outcome::Error, _) => "error",
                (Outcome::Pass, Severity::Error) if finding => "error",
                (Outcome::Pass, Severity::Warning) if finding => "warning",
                _ => continue,
            };
            let mut properties = Vec::new();
            if let Some(location) = &case.location {
                properties.push(format!("file={}", property(&location.file)));
                properties.push(format!("line={}", location.line));
            }
            properties.push(format!(
                "title={}",
                property(&format!("{} {}", suite.name, case.rule.code))
            ));
            out.push_str(&format!(
                "::{command} {}::{} — {}%0Afix: {}\n",
                properties.join(","),
                data(&case.name),
                data(&case.detail),
                data(&case.fix)
            ));
        }
    }
    out
}

/// Outside text as a command's data.
fn data(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in crate::untrusted::escape_controls(text).chars() {
        match c {
            '%' => out.push_str("%25"),
            '\r' => out.push_str("%0D"),
            '\n' => out.push_str("%0A"),
            c => out.push(c),
        }
    }
    out
}

/// Outside text as a command's property value.
fn property(text: &str) -> String {
    data(text).replace(':', "%3A").replace(',', "%2C")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_as_the_runner_reads_commands() {
        assert_eq!(data("50% of mail"), "50%25 of mail");
        assert_eq!(property("a:b,c"), "a%3Ab%2Cc");
        // A line break from outside is shown, never decoded into a new line.
        assert_eq!(
            data("v=spf1\r\n::error ::owned\u{2028}\x1b[2J"),
            "v=spf1\\r\\n::error ::owned\\u{2028}\\u{1b}[2J"
        );
        assert_eq!(property("zones/a\n::error b"), "zones/a\\n%3A%3Aerror b");
    }
}
