//! The finding catalog as a document for people: `docs/findings.md` is
//! this module's output, and a test fails when the file and the catalog
//! differ, so the published list can never drift from the code. The same
//! test refuses to write a document that drops a published code or
//! changes its severity: that breaks the public contract, and takes
//! editing the published file by hand.
//!
//! This module decides the document's layout only: one section per code
//! family (in catalog order), domain codes before the codes only a message
//! check produces, and per code its severity, title, why, fix and refs.

use super::catalog::{DOMAIN_CODES, MESSAGE_CODES};
use super::{CatalogEntry, Severity};
use std::fmt::Write;

/// The whole document, Markdown.
pub fn markdown() -> String {
    let mut out = String::from(
        "# Finding codes\n\n\
         Generated from the catalog in `src/findings/catalog.toml`; do not edit by hand \
         (`MAILVET_WRITE_DOCS=1 cargo test --ignore-rust-version --lib findings::document` \
         rewrites it).\n\n\
         Every finding mailvet reports carries one of these codes. A code never changes \
         meaning once shipped: CI pipelines may match on it. Placeholders such as \
         `<domain>` stand for what a check fills in; a report's `fix` is computed for the \
         case where it can be.\n",
    );
    for (part, entries) in [
        ("Domain audit (DNS)", DOMAIN_CODES),
        ("Message checks", MESSAGE_CODES),
    ] {
        let _ = write!(out, "\n## {part}\n");
        let mut family = "";
        for &entry in entries {
            let this = entry.code.split('.').next().unwrap_or(entry.code);
            if this != family {
                family = this;
                let _ = write!(out, "\n### {family}\n");
            }
            entry_section(&mut out, entry);
        }
    }
    out
}

fn entry_section(out: &mut String, entry: &CatalogEntry) {
    let severity = match entry.severity {
        Severity::Error => "error",
        Severity::Warning => "warning",
        Severity::Info => "info",
    };
    let _ = write!(
        out,
        "\n#### `{}` ({severity})\n\n**{}**\n\n- Why it matters: {}\n- Fix: {}\n- References: {}\n",
        entry.code,
        text(entry.title),
        text(entry.why),
        text(entry.fix),
        text(&entry.refs.join("; ")),
    );
}

/// Catalog prose as Markdown text: a placeholder such as `<domain>` must
/// show, not be read as an HTML tag.
fn text(prose: &str) -> String {
    prose
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

#[cfg(test)]
pub(in crate::findings) mod tests {
    /// Fails unless the file at `path` holds `generated`; with
    /// `MAILVET_WRITE_DOCS=1` writes it first. `tests` is the test filter
    /// that rewrites it.
    pub(in crate::findings) fn is_as_generated(path: &str, generated: &str, tests: &str) {
        if std::env::var_os("MAILVET_WRITE_DOCS").is_some() {
            std::fs::write(path, generated).expect("write the generated document");
        }
        let published = std::fs::read_to_string(path).unwrap_or_default();
        assert!(
            published == generated,
            "{path} is stale: run MAILVET_WRITE_DOCS=1 cargo test --ignore-rust-version --lib {tests}"
        );
    }

    use super::*;
    use crate::findings::catalog::CATALOG;

    const PATH: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/docs/findings.md");

    /// The `(code, severity)` of each code a document lists.
    fn codes(doc: &str) -> Vec<(&str, &str)> {
        doc.lines()
            .filter_map(|line| line.strip_prefix("#### `")?.split_once("` ("))
            .map(|(code, rest)| (code, rest.trim_end_matches(')')))
            .collect()
    }

    /// docs/findings.md is the catalog, as generated; with
    /// `MAILVET_WRITE_DOCS=1` the test writes it instead of failing, unless
    /// the catalog dropped a published code or changed its severity.
    #[test]
    fn docs_findings_md_is_the_catalog() {
        let generated = markdown();
        let kept = codes(&generated);
        let before = std::fs::read_to_string(PATH).unwrap_or_default();
        for code in codes(&before) {
            assert!(
                kept.contains(&code),
                "{} ({}) is published and no longer in the catalog with that severity: \
                 a code never changes once shipped",
                code.0,
                code.1
            );
        }
        is_as_generated(PATH, &generated, "findings::document");
    }

    #[test]
    fn every_code_has_a_heading() {
        let doc = markdown();
        for entry in CATALOG {
            assert!(
                doc.contains(&format!("#### `{}` (", entry.code)),
                "{} has no heading",
                entry.code
            );
        }
    }
}
