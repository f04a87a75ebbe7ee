//! The DNS tree walk of RFC 9989 §4.10: at each name only records that
//! start with `v=DMARC1` exactly (§4.7: the value is case-sensitive) are
//! DMARC records; one that does not parse stops the walk with `permerror`,
//! a failed query with `temperror`; the walk stops at `psd=y` or `psd=n`.
//! Two or more `v=DMARC1` records at a name are discarded (§4.10 step 2):
//! at the author's own name that ends discovery with no policy, as the
//! domain audit reads it, and at a parent the walk goes on. The order and
//! the Organizational Domain rule (§4.10.2) are the domain audit's.
//!
//! mail-auth reads two things otherwise: it applies the first of several
//! records, and it accepts `v=dmarc1` in any case. Where its reading
//! differs from this one at a name the walk asked, the walk records why
//! ([`Walk::deviations`]), and the evaluation follows RFC 9989, not
//! mail-auth.

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
    /// Several `v=DMARC1` records at the author's own name: receivers
    /// discard them, and no policy applies (RFC 9989 §4.10 step 2).
    Multiple {
        query: String,
        texts: Vec<String>,
    },
}

#[derive(Debug, Clone, Default)]
pub(super) struct Walk {
    pub(super) steps: Vec<WalkStep>,
    /// Longest name first.
    pub(super) found: Vec<Found>,
    pub(super) stop: Option<WalkStop>,
    /// Where mail-auth would read the records of a name asked otherwise,
    /// one sentence each.
    pub(super) deviations: Vec<String>,
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

/// What one `_dmarc` TXT set holds (RFC 9989 §4.10 step 2): the records
/// that start with `v=DMARC1` exactly; one is parsed (by mail-auth's
/// parser, whose record the evaluation uses), several are discarded.
pub(super) enum Judged {
    Nothing,
    Record(Box<mail_auth::dmarc::DmarcRecord>, String),
    Unparsable(String),
    Multiple(Vec<String>),
}

pub(super) fn judge(texts: &[String]) -> Judged {
    let dmarc1: Vec<&String> = texts.iter().filter(|t| audit::is_dmarc1(t)).collect();
    match dmarc1.as_slice() {
        [] => Judged::Nothing,
        [one] => match mail_auth::dmarc::DmarcRecord::parse(one.as_bytes()) {
            Ok(record) => Judged::Record(Box::new(record), (*one).clone()),
            Err(_) => Judged::Unparsable((*one).clone()),
        },
        many => Judged::Multiple(many.iter().map(|t| (*t).clone()).collect()),
    }
}

/// The records of a set that are not DMARC records by RFC 9989 §4.7 but
/// that mail-auth reads as DMARC (`v=dmarc1`, say).
fn read_only_by_mail_auth(texts: &[String]) -> Vec<String> {
    texts
        .iter()
        .filter(|t| !audit::is_dmarc1(t))
        .filter(|t| {
            !matches!(
                mail_auth::dmarc::DmarcRecord::parse(t.as_bytes()),
                Err(mail_auth::Error::Dns(
                    mail_auth::DnsError::InvalidRecordType
                ))
            )
        })
        .cloned()
        .collect()
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
        let ignored = read_only_by_mail_auth(&set.texts);
        if let Some(text) = ignored.first() {
            walk.deviations.push(format!(
                "{query} holds `{text}`, whose version is not exactly v=DMARC1 (RFC 9989 §4.7 \
                 writes the value case-sensitively), so receivers following RFC 9989 ignore \
                 it; mail-auth reads it as DMARC. This evaluation ignores it."
            ));
        }
        let is_start = walk.steps.is_empty();
        match judge(&set.texts) {
            Judged::Record(record, text) => {
                walk.steps
                    .push(step(&query, StepOutcome::Record, vec![text.clone()]));
                let stop = psd_of(&record) != Psd::Unspecified;
                walk.found.push(Found {
                    domain,
                    text,
                    record: *record,
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
            Judged::Multiple(texts) => {
                walk.steps
                    .push(step(&query, StepOutcome::MultipleRecords, texts.clone()));
                walk.deviations.push(format!(
                    "{query} holds {} v=DMARC1 records: RFC 9989 (§4.10 step 2) has receivers \
                     discard them all{}; mail-auth would apply the first. This evaluation \
                     discards them.",
                    texts.len(),
                    if is_start {
                        ", so no DMARC policy applies"
                    } else {
                        " and walk on"
                    }
                ));
                if is_start {
                    walk.stop = Some(WalkStop::Multiple { query, texts });
                    return walk;
                }
            }
            Judged::Nothing => {
                let outcome = if set.nxdomain {
                    StepOutcome::Nxdomain
                } else {
                    StepOutcome::NoRecord
                };
                walk.steps.push(step(&query, outcome, ignored));
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
        Some(WalkStop::Unparsable { .. } | WalkStop::Multiple { .. }) => Ok(domain.to_string()),
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
