//! One overall grade for a report, 0 to 10 with one decimal, computed from
//! its findings: a summary for people, never a replacement for the
//! findings, which every report still lists in full.
//!
//! This module decides the weights. A finding takes off the weight of its
//! severity (the catalog's, [`super::catalog`]), each code once however
//! many findings carry it, and the grade does not go below 0. Adding a
//! finding therefore never raises the grade. `docs/grade.md` is this
//! module's [`markdown`], checked by a test, so the documented weights are
//! the ones used.

use super::{Finding, Severity, catalog};
use serde::Serialize;
use std::fmt::Write;

/// Tenths of a point each severity takes off.
pub const WEIGHTS: &[(Severity, u32)] = &[
    (Severity::Error, 30),
    (Severity::Warning, 10),
    (Severity::Info, 0),
];

/// The best grade, in tenths.
const FULL: u32 = 100;

/// A grade out of 10, in tenths of a point (serialized as `8.5`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Grade(u32);

impl Grade {
    pub fn tenths(self) -> u32 {
        self.0
    }
}

impl std::fmt::Display for Grade {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}", self.0 / 10, self.0 % 10)
    }
}

impl Serialize for Grade {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_f64(f64::from(self.0) / 10.0)
    }
}

fn weight(severity: Severity) -> u32 {
    WEIGHTS
        .iter()
        .find(|(s, _)| *s == severity)
        .map_or(0, |(_, w)| *w)
}

/// The grade of a report with these findings.
pub fn grade(findings: &[Finding]) -> Grade {
    let mut counted: Vec<&str> = Vec::new();
    let mut lost: u32 = 0;
    for f in findings {
        if !counted.contains(&f.code) {
            counted.push(f.code);
            lost = lost.saturating_add(weight(f.severity));
        }
    }
    Grade(FULL.saturating_sub(lost))
}

/// `docs/grade.md`.
pub fn markdown() -> String {
    let mut out = String::from(
        "# The grade\n\n\
         Generated from `src/findings/grade.rs`; do not edit by hand \
         (`MAILVET_WRITE_DOCS=1 cargo test --ignore-rust-version --lib findings::grade` \
         rewrites it).\n\n\
         A message report carries a `grade` from 0 to 10, with one decimal: a summary \
         of its findings for people. It never replaces them: the report lists every \
         finding, and CI gates on findings and `--fail-on`, not on the grade.\n\n\
         The grade starts at 10. Each finding code present in the report takes off the \
         weight of its severity, once however many findings carry that code; the grade \
         does not go below 0. Severities are the catalog's (`docs/findings.md`), so a \
         finding never weighs more or less than its published severity says.\n\n\
         | severity | points taken off |\n|---|---|\n",
    );
    for (severity, tenths) in WEIGHTS {
        let name = match severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Info => "info",
        };
        let _ = writeln!(out, "| {name} | {}.{} |", tenths / 10, tenths % 10);
    }
    let _ = write!(
        out,
        "\nSo a message with two warnings and one error (of three different codes) \
         grades {}; one with only info findings grades {}. Adding a finding never \
         raises the grade.\n",
        grade(&example(&[
            catalog::CONTENT_URL_SHORTENER,
            catalog::CONTENT_IMAGE_ONLY,
            catalog::DNSBL_LISTED,
        ])),
        grade(&example(&[
            catalog::ENVELOPE_INFERRED,
            catalog::DNSBL_UNCHECKED
        ])),
    );
    out
}

fn example(codes: &[super::Code]) -> Vec<Finding> {
    codes.iter().map(|c| Finding::new(c, "example")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const PATH: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/docs/grade.md");

    /// docs/grade.md is [`markdown`]; with `MAILVET_WRITE_DOCS=1` the test
    /// writes it instead of failing.
    #[test]
    fn docs_grade_md_is_the_weights_used() {
        let generated = markdown();
        crate::findings::document::tests::is_as_generated(PATH, &generated, "findings::grade");
        for (tenths, row) in [
            (30, "| error | 3.0 |"),
            (10, "| warning | 1.0 |"),
            (0, "| info | 0.0 |"),
        ] {
            assert!(generated.contains(row), "{row}");
            assert!(WEIGHTS.iter().any(|(_, w)| *w == tenths));
        }
    }

    #[test]
    fn every_severity_has_a_weight_and_worse_weighs_more() {
        for s in [Severity::Info, Severity::Warning, Severity::Error] {
            assert!(WEIGHTS.iter().any(|(w, _)| *w == s), "{s:?}");
        }
        assert!(weight(Severity::Error) > weight(Severity::Warning));
        assert!(weight(Severity::Warning) > weight(Severity::Info));
    }

    /// More findings, or a worse one in place of a lesser one, never raise
    /// the grade: checked over every catalog code added to every prefix
    /// of the catalog.
    #[test]
    fn the_grade_is_monotonic() {
        let all: Vec<Finding> = catalog::CATALOG
            .iter()
            .map(|c| Finding::new(c, "seen"))
            .collect();
        assert_eq!(grade(&[]).to_string(), "10.0");
        for end in 0..=all.len() {
            let before = grade(&all[..end]);
            for extra in &all {
                let mut more = all[..end].to_vec();
                more.push(extra.clone());
                assert!(
                    grade(&more) <= before,
                    "adding {} raised the grade",
                    extra.code
                );
                more.push(extra.clone());
                assert_eq!(
                    grade(&more),
                    grade(&more[..more.len() - 1]),
                    "a repeat counted"
                );
            }
        }
        assert_eq!(grade(&all).to_string(), "0.0");
        let warn = [Finding::new(catalog::CONTENT_IMAGE_ONLY, "")];
        let error = [Finding::new(catalog::DNSBL_LISTED, "")];
        assert!(grade(&error) < grade(&warn));
        assert_eq!(
            serde_json::to_string(&grade(&warn)).unwrap(),
            "9.0",
            "JSON carries the grade as a number with one decimal"
        );
    }
}
