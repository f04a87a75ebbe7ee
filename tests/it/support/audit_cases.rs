//! One runner for the fixture audits: each protocol's
//! `fixtures/audit/<protocol>.cases.json` lists domains of its zone with
//! the finding codes each must produce, and [`run_cases`] audits them one
//! by one against the test DNS server.
//!
//! A case gives the `domain` to audit, `expect` (exactly its codes, in any
//! order, each as often as it is produced) and optional `faults` (names
//! that misbehave for every type: `no_answer`, `servfail`,
//! `authentic_data`, `bogus`); `about` names it in failures. Whatever else
//! a protocol's cases carry lands in [`Case::more`]. Every case must also
//! keep the promises of every finding: a healthy case (nothing expected)
//! has no warning or error, each finding has its title, why, detail and
//! fix, and (under [`Rules::STRICT`]) its evidence and a fix with no
//! `<domain>` left in it.

use super::{FaultKind, FaultTypes, TestDns};
use mailvet::findings::{Finding, Severity};
use serde::Deserialize;
use serde::de::DeserializeOwned;

/// One case of a `*.cases.json` file.
#[derive(Debug, Deserialize)]
pub struct Case<More = Plain> {
    /// What the case is about, when the file says.
    #[serde(default)]
    pub about: Option<String>,
    pub domain: String,
    pub expect: Vec<String>,
    #[serde(default)]
    pub faults: Vec<FaultSpec>,
    /// The protocol's own fields.
    #[serde(flatten)]
    pub more: More,
}

/// The cases of a protocol with no fields of its own.
#[derive(Debug, Deserialize)]
pub struct Plain {}

/// A name that misbehaves, for every query type, while its case runs.
#[derive(Debug, Deserialize)]
pub struct FaultSpec {
    pub name: String,
    pub kind: String,
}

impl FaultSpec {
    /// Sets this fault on `server`.
    pub fn apply(&self, server: &TestDns) {
        server.add_fault(
            &self.name,
            FaultTypes::All,
            FaultKind::from_case_word(&self.kind),
        );
    }
}

/// How strictly the runner compares.
#[derive(Debug, Clone, Copy)]
pub struct Rules {
    /// A code produced twice (for two hosts, say) must be expected twice.
    pub count_repeats: bool,
    /// Each finding carries evidence, and a fix with no `<domain>` left.
    pub evidence: bool,
}

impl Rules {
    /// Every rule.
    pub const STRICT: Rules = Rules {
        count_repeats: true,
        evidence: true,
    };
}

/// Whether the zone file at `path` holds what no DNS server could serve
/// (a character-string over 255 bytes), so it is read only as a case's
/// overlay (`*-overlay.zone`), never loaded into the test DNS server.
pub fn is_overlay_only(path: &std::path::Path) -> bool {
    path.file_name()
        .is_some_and(|name| name.to_string_lossy().ends_with("-overlay.zone"))
}

/// The zone a case lays over the server's answers (its `overlay` file,
/// relative to the package root), or none.
pub fn overlay(path: Option<&str>) -> Vec<mailvet::dns::zone::Zone> {
    path.map(|p| {
        let zone = mailvet::dns::zone::Zone::load(std::path::Path::new(p));
        vec![zone.unwrap_or_else(|e| panic!("{p}: {e}"))]
    })
    .unwrap_or_default()
}

/// Reads a cases file (a JSON array), relative to the package root.
pub fn read<More: DeserializeOwned>(path: &str) -> Vec<Case<More>> {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// Runs every case of the file at `path`: clears the server's faults and
/// query log, sets the case's faults, and asks `audit` for the case's
/// findings. `audit` runs the protocol's check and pushes to its second
/// argument whatever else the case gets wrong (a section field, a query
/// asked twice); the runner adds what every case must keep under `rules`
/// (see the module documentation). All failing cases are reported
/// together.
pub async fn run_cases<More: DeserializeOwned>(
    server: &TestDns,
    path: &str,
    rules: Rules,
    mut audit: impl AsyncFnMut(&Case<More>, &mut Vec<String>) -> Vec<Finding>,
) {
    let cases: Vec<Case<More>> = read(path);
    let mut failures = Vec::new();
    for case in &cases {
        server.clear_faults();
        server.clear_log();
        for fault in &case.faults {
            fault.apply(server);
        }
        let mut errors = Vec::new();
        let findings = audit(case, &mut errors).await;
        errors.extend(broken_promises(case, &findings, rules));
        if !errors.is_empty() {
            let name = case.about.as_deref().unwrap_or(&case.domain);
            failures.push(format!(
                "{name} ({}):\n    {}\n    findings: {findings:#?}",
                case.domain,
                errors.join("\n    ")
            ));
        }
    }
    server.clear_faults();
    assert!(
        failures.is_empty(),
        "{} of {} cases of {path} failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
    println!("{path}: {} cases pass", cases.len());
}

/// What `findings` break of the promises every case keeps.
fn broken_promises<More>(case: &Case<More>, findings: &[Finding], rules: Rules) -> Vec<String> {
    let mut errors = Vec::new();
    let mut got: Vec<&str> = findings.iter().map(|f| f.code).collect();
    let mut want: Vec<&str> = case.expect.iter().map(String::as_str).collect();
    got.sort_unstable();
    want.sort_unstable();
    if !rules.count_repeats {
        got.dedup();
    }
    if got != want {
        errors.push(format!("codes: got {got:?}, expected {want:?}"));
    }
    if want.is_empty() {
        for f in findings.iter().filter(|f| f.severity >= Severity::Warning) {
            errors.push(format!("healthy, yet {} ({:?})", f.code, f.severity));
        }
    }
    for f in findings {
        if f.title.is_empty() || f.why.is_empty() || f.detail.is_empty() || f.fix.is_empty() {
            errors.push(format!("{}: incomplete finding", f.code));
        }
        if rules.evidence && f.fix.contains("<domain>") {
            errors.push(format!("{}: fix not computed: {}", f.code, f.fix));
        }
        if rules.evidence && f.evidence.is_empty() {
            errors.push(format!("{}: no evidence", f.code));
        }
    }
    errors
}
