//! Findings: every problem or notable fact mailvet reports, with a stable
//! code from one catalog ([`catalog`]), and the verdict they add up to.
//!
//! This module decides what a finding carries (code, severity, title,
//! detail, why, fix, refs, evidence) and how findings become a report's
//! `verdict`. The catalog holds the fixed text per code; a check supplies
//! the detail (what exactly was seen), the evidence, and a concrete fix
//! when one can be computed. Renderers never invent finding text.

pub mod catalog;
pub mod document;
pub mod grade;
pub mod requirements;
pub mod undecided;

use serde::Serialize;

/// How bad a finding is. Ordered: `Info < Warning < Error`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Advice or a fact worth knowing.
    Info,
    /// A real risk, or a provider requirement unmet.
    Warning,
    /// Mail will fail authentication or be rejected, or the record is unusable.
    Error,
}

/// The fixed text of one finding code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct CatalogEntry {
    /// Stable code, e.g. `spf.too_many_lookups`. Never changes meaning.
    pub code: &'static str,
    pub severity: Severity,
    /// One line.
    pub title: &'static str,
    /// The deliverability or security consequence, for an email marketer.
    pub why: &'static str,
    /// The generic fix; checks replace it with a computed one when they can.
    pub fix: &'static str,
    /// RFC sections or provider guidelines.
    pub refs: &'static [&'static str],
}

/// A finding code: its catalog entry, named by a constant of [`catalog`]
/// (`catalog::SPF_MISSING`), so a code that is not in the catalog does not
/// compile.
pub type Code = &'static CatalogEntry;

/// One finding in a report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    pub code: &'static str,
    pub severity: Severity,
    pub title: &'static str,
    /// What exactly was seen, naming the record, host or header.
    pub detail: String,
    pub why: &'static str,
    /// The change to make; computed where possible, else the catalog's.
    pub fix: String,
    pub refs: &'static [&'static str],
    /// The DNS answers or header values the finding rests on.
    pub evidence: Vec<String>,
    /// The DNS record the finding is about, where a domain audit knows
    /// it: what a fix changes, and what CI formats point at in a `--zone`
    /// file.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub record: Option<RecordAt>,
    /// The DNS records the fix asks for, exactly as to publish them, where
    /// the check can compute them; the pages show each as a block to copy.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub publish: Vec<DnsRecord>,
}

/// A DNS record to publish: owner name, type and value (a TXT record's
/// text as one string; the DNS provider splits it into strings).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DnsRecord {
    /// The owner name, without the final dot.
    pub name: String,
    #[serde(rename = "type")]
    pub rtype: &'static str,
    pub value: String,
}

/// A DNS record's place: owner name and type.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RecordAt {
    /// The owner name, without the final dot.
    pub name: String,
    /// The record type, e.g. `TXT`.
    #[serde(rename = "type")]
    pub rtype: &'static str,
}

impl Finding {
    /// A finding of a catalog code with what was seen.
    pub fn new(code: Code, detail: impl Into<String>) -> Finding {
        Finding {
            code: code.code,
            severity: code.severity,
            title: code.title,
            detail: detail.into(),
            why: code.why,
            fix: code.fix.to_string(),
            refs: code.refs,
            evidence: Vec::new(),
            record: None,
            publish: Vec::new(),
        }
    }

    /// Says which DNS record the finding is about.
    pub fn about(mut self, name: impl Into<String>, rtype: &'static str) -> Finding {
        self.record = Some(RecordAt {
            name: name.into(),
            rtype,
        });
        self
    }

    /// Replaces the generic fix with one computed for this case.
    pub fn with_fix(mut self, fix: impl Into<String>) -> Finding {
        self.fix = fix.into();
        self
    }

    /// Adds a record the fix asks to publish.
    pub fn publishing(
        mut self,
        name: impl Into<String>,
        rtype: &'static str,
        value: impl Into<String>,
    ) -> Finding {
        self.publish.push(DnsRecord {
            name: name.into(),
            rtype,
            value: value.into(),
        });
        self
    }

    pub fn with_evidence(mut self, evidence: impl IntoIterator<Item = String>) -> Finding {
        self.evidence.extend(evidence);
        self
    }
}

/// A report's overall judgement.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    Pass,
    Warn,
    Fail,
    /// Could not be checked: a DNS lookup failed and left a check
    /// undecided, with no error found among what was decided. Only a
    /// domain audit (and `mailvet check`) says this; run it again.
    Unknown,
}

/// `fail` with any error, `warn` with any warning, else `pass`.
pub fn verdict(findings: &[Finding]) -> Verdict {
    match findings.iter().map(|f| f.severity).max() {
        Some(Severity::Error) => Verdict::Fail,
        Some(Severity::Warning) => Verdict::Warn,
        _ => Verdict::Pass,
    }
}

/// The `--fail-on` threshold of the CLI.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailOn {
    Error,
    Warning,
    Never,
}

impl FailOn {
    /// Whether these findings should fail the run.
    pub fn is_exceeded(self, findings: &[Finding]) -> bool {
        let threshold = match self {
            FailOn::Error => Severity::Error,
            FailOn::Warning => Severity::Warning,
            FailOn::Never => return false,
        };
        findings.iter().any(|f| f.severity >= threshold)
    }
}

/// A check's outcome: its section of the report and its findings.
#[derive(Debug, Clone)]
pub struct Checked<S> {
    pub section: S,
    pub findings: Vec<Finding>,
}
