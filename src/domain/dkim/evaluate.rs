//! Reading what each selector answered into the section: which selectors
//! hold key records, which lookups failed, and what that says about DKIM.

use super::fetch::{FetchError, Fetched};
use super::findings::{key_findings, no_selector_found};
use super::{DkimSection, DkimStatus, SelectorReport, SelectorSource, SelectorStatus};
use crate::findings::Checked;
use crate::records::dkim_key::{is_key_record, read_key_record};
use crate::records::name::DomainName;

// Evaluation

/// Turns the fetched records into the section and its findings.
pub(super) fn evaluate(domain: &DomainName, fetched: Vec<Fetched>) -> Checked<DkimSection> {
    let selectors_checked: Vec<String> = fetched
        .iter()
        .filter(|f| !matches!(f.answer, Err(FetchError::BadSelector(_))))
        .map(|f| f.selector.clone())
        .collect();
    let mut findings = Vec::new();
    let mut reports = Vec::new();
    let mut lookups_seen = Vec::new();
    for f in fetched {
        lookups_seen.push(lookup_evidence(&f));
        let report = read_selector(f);
        findings.extend(key_findings(&report));
        reports.push(report);
    }

    let with_keys: Vec<&str> = reports
        .iter()
        .filter(|r| r.status == SelectorStatus::KeyFound)
        .map(|r| r.selector.as_str())
        .collect();
    let failed: Vec<&SelectorReport> = reports
        .iter()
        .filter(|r| r.status == SelectorStatus::Unknown)
        .collect();
    let given: Vec<&str> = named(&reports, SelectorSource::Given);
    let learned: Vec<&str> = named(&reports, SelectorSource::Learned);
    let probed = reports
        .iter()
        .filter(|r| r.source == SelectorSource::Probed)
        .count();

    let (status, summary) = if !with_keys.is_empty() {
        let mut summary = format!(
            "DKIM key records found at {} selector(s): {}",
            with_keys.len(),
            with_keys.join(", ")
        );
        if !failed.is_empty() {
            summary.push_str(&format!(
                "; {} selector lookup(s) failed, so keys there are unknown",
                failed.len()
            ));
        }
        (DkimStatus::Found, summary)
    } else if !failed.is_empty() && failed.len() == selectors_checked.len() {
        let error = failed
            .first()
            .and_then(|r| r.error.clone())
            .unwrap_or_default();
        (
            DkimStatus::Unknown,
            format!(
                "DKIM could not be checked: every selector lookup failed ({error}); \
                 run the audit again"
            ),
        )
    } else if !failed.is_empty() {
        let names: Vec<&str> = failed.iter().map(|r| r.selector.as_str()).collect();
        (
            DkimStatus::Unknown,
            format!(
                "unknown: no DKIM key found, but the lookups of {} failed, so a key may \
                 be published there",
                names.join(", ")
            ),
        )
    } else if !learned.is_empty() {
        (
            DkimStatus::NotFound,
            format!(
                "not found at the selectors its DMARC aggregate reports name ({}){}{}",
                learned.join(", "),
                if given.is_empty() {
                    String::new()
                } else {
                    format!(" nor at the given ones ({})", given.join(", "))
                },
                if probed == 0 {
                    String::new()
                } else {
                    format!(" nor at the {probed} common selectors probed")
                }
            ),
        )
    } else if !given.is_empty() {
        (
            DkimStatus::NotFound,
            format!(
                "not found at the given selectors ({}) nor at the {probed} common selectors \
                 probed",
                given.join(", ")
            ),
        )
    } else {
        (
            DkimStatus::Unknown,
            format!(
                "unknown: no DKIM key at the {probed} common selectors probed; your mail may \
                 still be signed with a selector of your provider's choosing (give it to \
                 check it: it is the s= tag of a DKIM-Signature header)"
            ),
        )
    };

    // A failed lookup may hide the key, so "not found" needs every answer.
    if with_keys.is_empty() && failed.is_empty() {
        findings.push(no_selector_found(
            domain,
            &given,
            &learned,
            probed,
            lookups_seen,
        ));
    }

    let selectors = reports
        .into_iter()
        .filter(|r| r.source != SelectorSource::Probed || r.status != SelectorStatus::NotFound)
        .collect();
    Checked {
        section: DkimSection {
            status,
            summary,
            selectors_checked,
            selectors,
        },
        findings,
    }
}

/// The selectors of `source` that could be asked.
fn named(reports: &[SelectorReport], source: SelectorSource) -> Vec<&str> {
    reports
        .iter()
        .filter(|r| r.source == source && r.status != SelectorStatus::InvalidName)
        .map(|r| r.selector.as_str())
        .collect()
}

pub(super) fn lookup_evidence(f: &Fetched) -> String {
    match &f.answer {
        Ok(a) if a.below_nxdomain => format!(
            "{} TXT: not asked, NXDOMAIN for the domain means no name below it exists \
             (RFC 8020)",
            f.name
        ),
        Ok(a) if a.records.is_empty() && a.nxdomain => format!("{} TXT: NXDOMAIN", f.name),
        Ok(a) if a.records.is_empty() => format!("{} TXT: no record", f.name),
        Ok(a) => {
            let texts: Vec<String> = a
                .records
                .iter()
                .map(|r| format!("\"{}\"", String::from_utf8_lossy(r)))
                .collect();
            format!("{} TXT: {}", f.name, texts.join(" "))
        }
        Err(FetchError::Dns(e)) => format!("{} TXT: {}", f.name, e.rcode_word()),
        Err(FetchError::BadSelector(reason)) => format!("{}: not asked ({reason})", f.name),
    }
}

pub(super) fn read_selector(f: Fetched) -> SelectorReport {
    let mut report = SelectorReport {
        selector: f.selector,
        name: f.name,
        source: f.source,
        status: SelectorStatus::NotFound,
        error: None,
        cname_chain: Vec::new(),
        keys: Vec::new(),
        other_txt: Vec::new(),
        long_string: None,
    };
    match f.answer {
        Err(FetchError::Dns(e)) => {
            report.status = SelectorStatus::Unknown;
            report.error = Some(e.to_string());
        }
        Err(FetchError::BadSelector(reason)) => {
            report.status = SelectorStatus::InvalidName;
            report.error = Some(reason);
        }
        Ok(answer) => {
            report.cname_chain = answer.cname_chain;
            report.long_string = answer.long_string;
            for raw in &answer.records {
                let text = String::from_utf8_lossy(raw).into_owned();
                if is_key_record(&text) {
                    report.keys.push(read_key_record(&text));
                } else {
                    report.other_txt.push(text);
                }
            }
            if !report.keys.is_empty() {
                report.status = SelectorStatus::KeyFound;
            }
        }
    }
    report
}
