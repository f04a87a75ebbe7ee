//! SARIF 2.1.0 (OASIS Static Analysis Results Interchange Format), the
//! format GitHub code scanning and other CI dashboards read.
//!
//! This module decides how suites map onto one SARIF run: the tool's
//! `rules` are the catalog entries the results refer to (id = the finding
//! code, shortDescription = title, fullDescription = why, help = the
//! generic fix, the references and severity as properties), or the rule
//! of an expectation of `mailvet check`. Every finding is a result, its
//! `level` from its severity (error, warning, note); an expectation is a
//! result only when unmet (`error`). The message names the domain or
//! message and the detail, and the fix goes into the result's properties.
//! When the case concerns a record written in a `--zone` file (or a line of
//! the check config), the result's physical location is that file and line
//! (SARIF §3.28, §3.30).
//!
//! JSON escaping keeps the log well-formed whatever the text holds, but a
//! viewer shows message texts as they are: outside text goes through
//! [`text`], which shows control characters as visible escapes.

use super::{CaseKind, Location, Outcome, Suite};
use crate::findings::{CatalogEntry, Severity};
use crate::untrusted::escape_controls;
use serde_json::{Value, json};

/// The schema the output declares (SARIF 2.1.0 errata 01).
const SCHEMA: &str =
    "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json";

/// The whole log.
pub fn render(suites: &[Suite]) -> String {
    let mut rules: Vec<CatalogEntry> = Vec::new();
    let mut results = Vec::new();
    for suite in suites {
        for case in &suite.cases {
            if case.kind == CaseKind::Expectation && case.outcome == Outcome::Pass {
                continue;
            }
            let index = match rules.iter().position(|r| r.code == case.rule.code) {
                Some(i) => i,
                None => {
                    rules.push(case.rule);
                    rules.len() - 1
                }
            };
            let mut result = json!({
                "ruleId": case.rule.code,
                "ruleIndex": index,
                "level": level(case.severity),
                "message": { "text": format!(
                    "{}: {} — {}",
                    text(&suite.name),
                    text(&case.name),
                    text(&case.detail)
                ) },
                "properties": {
                    "subject": text(&suite.name),
                    "fix": text(&case.fix),
                    "failsRun": case.outcome != Outcome::Pass,
                },
            });
            if let Some(location) = &case.location {
                result["locations"] = json!([physical_location(location)]);
            }
            results.push(result);
        }
    }
    let log = json!({
        "$schema": SCHEMA,
        "version": "2.1.0",
        "runs": [{
            "tool": { "driver": {
                "name": "mailvet",
                "version": env!("CARGO_PKG_VERSION"),
                "rules": rules.iter().map(rule).collect::<Vec<_>>(),
            }},
            "results": results,
        }],
    });
    super::json(&log)
}

/// Outside text as a SARIF message or property text.
fn text(outside: &str) -> String {
    escape_controls(outside).into_owned()
}

/// SARIF's result level for a severity.
fn level(severity: Severity) -> &'static str {
    match severity {
        Severity::Error => "error",
        Severity::Warning => "warning",
        Severity::Info => "note",
    }
}

fn rule(entry: &CatalogEntry) -> Value {
    json!({
        "id": entry.code,
        "shortDescription": { "text": entry.title },
        "fullDescription": { "text": entry.why },
        "help": { "text": entry.fix },
        "defaultConfiguration": { "level": level(entry.severity) },
        "properties": {
            "severity": entry.severity,
            "references": entry.refs,
        },
    })
}

fn physical_location(location: &Location) -> Value {
    json!({ "physicalLocation": {
        "artifactLocation": { "uri": uri_reference(&location.file) },
        "region": { "startLine": location.line },
    }})
}

/// A file path as a relative (or absolute-path) URI reference: `/` as the
/// separator, everything outside RFC 3986 unreserved characters and `/`
/// percent-encoded.
fn uri_reference(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    for byte in path.replace('\\', "/").bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~/".contains(&byte) {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_become_uri_references() {
        assert_eq!(uri_reference("zones/ex.test.zone"), "zones/ex.test.zone");
        assert_eq!(uri_reference("my zones\\a#b.zone"), "my%20zones/a%23b.zone");
    }
}
