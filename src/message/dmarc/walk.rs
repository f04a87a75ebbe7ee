//! The DNS tree walk of RFC 9989 §4.10, read as mail-auth reads it: at each
//! name the first TXT record that parses counts, a record that starts with
//! `v=DMARC1` but does not parse stops the walk with `permerror`, a failed
//! query with `temperror`; the walk stops at `psd=y` or `psd=n`. The order
//! and the Organizational Domain rule (§4.10.2) are the domain audit's.

use crate::dns::{DnsError, Rcode, Resolver};
use crate::records::dmarc::{self as audit, Psd, StepOutcome, WalkStep};
use hickory_proto::rr::{Name, RecordType};
use mail_auth::dns::TxtRecordParser;

/// A record the walk accepted.
#[derive(Debug, Clone)]
pub(super) struct Found {
    /// The domain it is published for (without `_dmarc.`).
    pub(super) domain: String,
    pub(super) text: String,
    pub(super) record: mail_auth::dmarc::DmarcRecord,
    /// TXT records at the name that start with `v=DMARC1`.
    pub(super) dmarc1_count: usize,
}

/// Why a walk stopped without an answer.
#[derive(Debug, Clone)]
pub(super) enum WalkStop {
    Dns {
        query: String,
        error: DnsError,
    },
    /// A record that starts like DMARC but does not parse.
    Unparsable {
        query: String,
        text: String,
    },
}

#[derive(Debug, Clone, Default)]
pub(super) struct Walk {
    pub(super) steps: Vec<WalkStep>,
    /// Longest name first.
    pub(super) found: Vec<Found>,
    pub(super) stop: Option<WalkStop>,
}

impl Walk {
    /// RFC 9989 §4.10.2, by the domain audit's rule.
    pub(super) fn organizational_domain(&self, start: &str) -> String {
        let flags: Vec<(String, Psd)> = self
            .found
            .iter()
            .map(|f| (f.domain.clone(), psd_of(&f.record)))
            .collect();
        audit::organizational_domain(&flags, start)
    }
}

pub(super) fn psd_of(record: &mail_auth::dmarc::DmarcRecord) -> Psd {
    match record.psd {
        mail_auth::dmarc::Psd::Yes => Psd::Yes,
        mail_auth::dmarc::Psd::No => Psd::No,
        mail_auth::dmarc::Psd::Default => Psd::Unspecified,
    }
}

/// What one `_dmarc` TXT set holds for mail-auth: its parser is handed the
/// records in order and the first that parses wins; without one, the last
/// record's error decides (not DMARC → nothing, DMARC that does not parse
/// → an error).
pub(super) enum Judged {
    Nothing,
    Record(Box<mail_auth::dmarc::DmarcRecord>, String),
    Unparsable(String),
}

pub(super) fn judge(texts: &[String]) -> Judged {
    let mut last = Judged::Nothing;
    for text in texts {
        match mail_auth::dmarc::DmarcRecord::parse(text.as_bytes()) {
            Ok(record) => return Judged::Record(Box::new(record), text.clone()),
            Err(mail_auth::Error::Dns(mail_auth::DnsError::InvalidRecordType)) => {
                last = Judged::Nothing
            }
            Err(_) => last = Judged::Unparsable(text.clone()),
        }
    }
    last
}

/// The DNS tree walk from `start` (RFC 9989 §4.10): its own name, then the
/// parents the domain audit's walk asks, one query at a time because each
/// may stop the walk. A single-label name is not walked, as in mail-auth.
pub(super) async fn tree_walk(resolver: &Resolver, start: &str) -> Walk {
    let mut walk = Walk::default();
    if start.split('.').filter(|l| !l.is_empty()).count() < 2 {
        return walk;
    }
    let names = std::iter::once(start.to_string()).chain(audit::walk_parents(start));
    for domain in names {
        let query = format!("_dmarc.{domain}");
        let set = match audit::fetch_txt(resolver, &query).await {
            Ok(set) => set,
            Err(error) => {
                walk.steps
                    .push(step(&query, StepOutcome::DnsError, Vec::new()));
                walk.stop = Some(WalkStop::Dns { query, error });
                return walk;
            }
        };
        let dmarc1: Vec<String> = set
            .texts
            .iter()
            .filter(|t| audit::is_dmarc1(t))
            .cloned()
            .collect();
        match judge(&set.texts) {
            Judged::Record(record, text) => {
                // All v=DMARC1 records at the name are shown, so a report
                // can tell when there were several.
                let shown = if dmarc1.is_empty() {
                    vec![text.clone()]
                } else {
                    dmarc1.clone()
                };
                walk.steps.push(step(&query, StepOutcome::Record, shown));
                let stop = psd_of(&record) != Psd::Unspecified;
                walk.found.push(Found {
                    domain,
                    text,
                    record: *record,
                    dmarc1_count: dmarc1.len(),
                });
                if stop {
                    return walk;
                }
            }
            Judged::Unparsable(text) => {
                walk.steps
                    .push(step(&query, StepOutcome::Invalid, vec![text.clone()]));
                walk.stop = Some(WalkStop::Unparsable { query, text });
                return walk;
            }
            Judged::Nothing => {
                let outcome = if set.nxdomain {
                    StepOutcome::Nxdomain
                } else {
                    StepOutcome::NoRecord
                };
                walk.steps.push(step(&query, outcome, dmarc1));
            }
        }
    }
    walk
}

pub(super) fn step(query: &str, outcome: StepOutcome, records: Vec<String>) -> WalkStep {
    WalkStep {
        query: query.to_string(),
        outcome,
        records,
    }
}

/// An identifier's Organizational Domain. A DNS failure leaves it unknown;
/// an unparsable record on the way makes the domain its own, as in
/// mail-auth.
pub(super) fn org_from_walk(walk: &Walk, domain: &str) -> Result<String, String> {
    match &walk.stop {
        Some(WalkStop::Dns { query, error }) => Err(format!(
            "the TXT query for {query} failed ({error}), so the organizational domain of \
             {domain} is unknown"
        )),
        Some(WalkStop::Unparsable { .. }) => Ok(domain.to_string()),
        None => Ok(walk.organizational_domain(domain)),
    }
}

/// Whether the author domain exists (RFC 9989 §4.10.1 with RFC 8020): an A
/// query that answers NXDOMAIN says no; any other answer says yes; a
/// failure leaves it unknown. The same question mail-auth asks.
pub(super) async fn domain_exists(resolver: &Resolver, domain: &str) -> Option<bool> {
    let name = Name::from_ascii(format!("{domain}.")).ok()?;
    match resolver.lookup(&name, RecordType::A).await {
        Ok(answer) => Some(answer.rcode != Rcode::NXDomain),
        Err(_) => None,
    }
}
