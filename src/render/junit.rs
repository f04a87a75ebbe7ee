//! JUnit XML, the test report format GitHub, GitLab and Jenkins render.
//!
//! This module decides how suites map onto the de-facto JUnit schema (the
//! one Ant and Surefire write): one `<testsuite>` per domain or message,
//! one `<testcase>` per expectation and per finding. A case that fails the
//! run carries `<failure>` (an unmet expectation, a finding at or above
//! `--fail-on`) or `<error>` (undecided: a DNS lookup failed) whose
//! `message` is the detail and whose text adds the fix; passing findings
//! keep their detail in `<system-out>`. The XML is written by hand: the
//! five predefined entities are escaped, and characters XML 1.0 cannot
//! carry at all are replaced.

use super::{Outcome, Suite};
use std::fmt::Write;

/// The whole document.
pub fn render(suites: &[Suite]) -> String {
    let tests: usize = suites.iter().map(|s| s.cases.len()).sum();
    let count = |outcome| {
        suites
            .iter()
            .flat_map(|s| &s.cases)
            .filter(|c| c.outcome == outcome)
            .count()
    };
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        out,
        "<testsuites name=\"mailvet\" tests=\"{tests}\" failures=\"{}\" errors=\"{}\">",
        count(Outcome::Fail),
        count(Outcome::Error)
    );
    for suite in suites {
        let failures = suite
            .cases
            .iter()
            .filter(|c| c.outcome == Outcome::Fail)
            .count();
        let errors = suite
            .cases
            .iter()
            .filter(|c| c.outcome == Outcome::Error)
            .count();
        let _ = writeln!(
            out,
            "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{failures}\" errors=\"{errors}\" skipped=\"0\">",
            escape(&suite.name),
            suite.cases.len()
        );
        for case in &suite.cases {
            let classname = format!("{}.{}", suite.name, case.rule.code);
            let _ = write!(
                out,
                "    <testcase name=\"{}\" classname=\"{}\"",
                escape(&case.name),
                escape(&classname)
            );
            if let Some(location) = &case.location {
                let _ = write!(out, " file=\"{}\"", escape(&location.file));
                if let Some(line) = location.line {
                    let _ = write!(out, " line=\"{line}\"");
                }
            }
            let body = format!("{}\n\nfix: {}", case.detail, case.fix);
            let element = match case.outcome {
                Outcome::Pass => {
                    let _ = writeln!(
                        out,
                        ">\n      <system-out>{}</system-out>\n    </testcase>",
                        escape(&case.detail)
                    );
                    continue;
                }
                Outcome::Fail => "failure",
                Outcome::Error => "error",
            };
            let _ = writeln!(
                out,
                ">\n      <{element} message=\"{}\" type=\"{}\">{}</{element}>\n    </testcase>",
                escape(&case.detail),
                escape(case.rule.code),
                escape(&body)
            );
        }
        out.push_str("  </testsuite>\n");
    }
    out.push_str("</testsuites>\n");
    out
}

/// Text as XML character data or attribute value.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            // Line breaks stay readable in text and survive in attributes.
            '\n' => out.push_str("&#10;"),
            '\t' | '\r' => {
                let _ = write!(out, "&#{};", u32::from(c));
            }
            // XML 1.0 §2.2: other C0 controls and U+FFFE/U+FFFF are not characters.
            c if (c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup_and_replaces_what_xml_cannot_carry() {
        assert_eq!(
            escape("a<b & \"c\" 'd'>\u{1}\n"),
            "a&lt;b &amp; &quot;c&quot; &apos;d&apos;&gt;\u{FFFD}&#10;"
        );
    }
}
