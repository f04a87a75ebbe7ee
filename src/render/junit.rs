//! JUnit XML, the test report format GitHub, GitLab and Jenkins render.
//!
//! This module decides how suites map onto the de-facto JUnit schema (the
//! one Ant and Surefire write): one `<testsuite>` per domain or message,
//! one `<testcase>` per expectation and per finding, named uniquely in its
//! suite ([`testcase_names`]). A case that fails the run carries
//! `<failure>` (an unmet expectation, a finding at or above `--fail-on`)
//! or `<error>` (undecided: a DNS lookup failed) whose
//! `message` is the detail and whose text adds the fix; passing findings
//! keep their detail in `<system-out>`. The XML is written by hand, and
//! every outside text goes through [`escape`]: control characters become
//! visible escapes (XML 1.0 §2.2 cannot carry most C0 controls at all, and
//! a raw line break in a record must not become a line of the log a CI
//! system shows), then the five predefined entities are escaped.

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
        let names = testcase_names(suite);
        for (case, name) in suite.cases.iter().zip(&names) {
            let classname = format!("{}.{}", suite.name, case.rule.code);
            let _ = write!(
                out,
                "    <testcase name=\"{}\" classname=\"{}\"",
                escape(name),
                escape(&classname)
            );
            if let Some(location) = &case.location {
                let _ = write!(
                    out,
                    " file=\"{}\" line=\"{}\"",
                    escape(&location.file),
                    location.line
                );
            }
            let body = format!("{}\n\nfix: {}", escape(&case.detail), escape(&case.fix));
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
                body
            );
        }
        out.push_str("  </testsuite>\n");
    }
    out.push_str("</testsuites>\n");
    out
}

/// The testcase names of a suite, each unique in it (CI tools merge cases
/// of the same name and class): a case's name, and when several cases
/// share it (two findings of one code) the detail that tells them apart
/// after it; cases alike in detail too are counted, `(n of m)`.
fn testcase_names(suite: &Suite) -> Vec<String> {
    let shared = |name: &str| suite.cases.iter().filter(|c| c.name == name).count() > 1;
    let named: Vec<String> = suite
        .cases
        .iter()
        .map(|case| match shared(&case.name) {
            true => format!("{} — {}", case.name, case.detail),
            false => case.name.clone(),
        })
        .collect();
    named
        .iter()
        .enumerate()
        .map(|(i, name)| {
            let of = named.iter().filter(|n| *n == name).count();
            if of < 2 {
                return name.clone();
            }
            let n = named[..=i].iter().filter(|n| *n == name).count();
            format!("{name} ({n} of {of})")
        })
        .collect()
}

/// Outside text as XML character data or attribute value: control
/// characters as visible escapes ([`crate::untrusted::escape_controls`]),
/// markup as entities.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in crate::untrusted::escape_controls(text).chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            // XML 1.0 §2.2: U+FFFE and U+FFFF are not characters.
            '\u{FFFE}' | '\u{FFFF}' => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::findings::{FailOn, Finding, catalog};

    #[test]
    fn cases_of_one_code_get_names_of_their_own() {
        let findings = [
            Finding::new(catalog::MSG_MISSING_HEADER, "no Date"),
            Finding::new(catalog::SPF_PLUS_ALL, "+all"),
            Finding::new(catalog::MSG_MISSING_HEADER, "no Message-ID"),
            Finding::new(catalog::SPF_PLUS_ALL, "+all"),
        ];
        let suite = Suite::of_findings("m.eml", &findings, FailOn::Error, |_| None);
        let (missing, plus_all) = (&suite.cases[0].name, &suite.cases[1].name);
        assert_eq!(
            testcase_names(&suite),
            [
                format!("{missing} — no Date"),
                format!("{plus_all} — +all (1 of 2)"),
                format!("{missing} — no Message-ID"),
                format!("{plus_all} — +all (2 of 2)"),
            ]
        );
        let one = Suite::of_findings("m.eml", &findings[..2], FailOn::Error, |_| None);
        assert_eq!(testcase_names(&one), [missing.clone(), plus_all.clone()]);
    }

    #[test]
    fn escapes_markup_and_shows_controls_visibly() {
        assert_eq!(
            escape("a<b & \"c\" 'd'>\u{1}\n\u{FFFF}"),
            "a&lt;b &amp; &quot;c&quot; &apos;d&apos;&gt;\\u{1}\\n\u{FFFD}"
        );
        assert_eq!(
            escape("v=spf1\n::error ::owned\x1b[2J\x1b]0;t\x07"),
            "v=spf1\\n::error ::owned\\u{1b}[2J\\u{1b}]0;t\\u{7}"
        );
    }
}
