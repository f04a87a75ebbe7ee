//! GitHub Actions annotations: `::error` and `::warning` workflow commands
//! that GitHub shows on the run's summary and, with `file` and `line`, on
//! the pull request's diff.
//!
//! This module decides which cases are annotated and how: every case that
//! fails the run is an `::error`; a finding that does not fail it but is a
//! warning is a `::warning`; info findings and met expectations are not
//! annotated. They are written only when `GITHUB_ACTIONS=true` (the runner
//! sets it). Values are escaped as the runner's command parser expects:
//! `%`, CR and LF in the message; also `:` and `,` in properties.

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
            let command = match (case.outcome, case.severity) {
                (Outcome::Fail | Outcome::Error, _) => "error",
                (Outcome::Pass, Severity::Warning) if case.kind == super::CaseKind::Finding => {
                    "warning"
                }
                _ => continue,
            };
            let mut properties = Vec::new();
            if let Some(location) = &case.location {
                properties.push(format!("file={}", property(&location.file)));
                if let Some(line) = location.line {
                    properties.push(format!("line={line}"));
                }
            }
            properties.push(format!(
                "title={}",
                property(&format!("{} {}", suite.name, case.rule.code))
            ));
            let message = format!("{} — {}\nfix: {}", case.name, case.detail, case.fix);
            out.push_str(&format!(
                "::{command} {}::{}\n",
                properties.join(","),
                data(&message)
            ));
        }
    }
    out
}

fn data(text: &str) -> String {
    text.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

fn property(text: &str) -> String {
    data(text).replace(':', "%3A").replace(',', "%2C")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_as_the_runner_reads_commands() {
        assert_eq!(data("50% of\nmail"), "50%25 of%0Amail");
        assert_eq!(property("a:b,c"), "a%3Ab%2Cc");
    }
}
