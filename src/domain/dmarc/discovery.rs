//! Discovery (RFC 9989 §4.10): the record at `_dmarc.<domain>`, else the
//! DNS tree walk up the parents, and what each name holds.

use super::section::DmarcSection;
use crate::dns::{DnsError, Resolver};
use crate::records::dmarc::{
    DmarcRecord, Psd, StepOutcome, SyntaxProblem, TxtSet, WalkStep, fetch_txt, is_dmarc1,
    looks_like_dmarc, organizational_domain, parse, walk_parents,
};

/// Where discovery ended.
pub(super) enum Discovery {
    /// A valid record applies.
    Found {
        found_at: String,
        text: String,
        record: Box<DmarcRecord>,
        evidence: Vec<String>,
    },
    Invalid {
        found_at: String,
        text: String,
        problems: Vec<SyntaxProblem>,
        evidence: Vec<String>,
    },
    Multiple {
        found_at: String,
        texts: Vec<String>,
        evidence: Vec<String>,
    },
    Missing {
        evidence: Vec<String>,
    },
    Failed {
        name: String,
        error: DnsError,
    },
}

/// What one `_dmarc` name holds.
#[derive(Debug, Clone)]
pub(super) enum Holding {
    /// No record that is or looks like DMARC.
    Nothing,
    /// Exactly one `v=DMARC1` record, parsed.
    Record(Box<DmarcRecord>, String),
    /// Exactly one `v=DMARC1` record that does not parse, or (with none
    /// starting with `v=DMARC1`) records that look meant as DMARC.
    Invalid(String, Vec<SyntaxProblem>),
    /// Two or more `v=DMARC1` records: receivers discard them all.
    Multiple(Vec<String>),
}

pub(super) fn classify(set: &TxtSet) -> Holding {
    let dmarc: Vec<&String> = set.texts.iter().filter(|t| is_dmarc1(t)).collect();
    match dmarc.as_slice() {
        [] => match set.texts.iter().find(|t| looks_like_dmarc(t)) {
            Some(text) => {
                let problems = parse(text).err().unwrap_or_else(|| {
                    vec![SyntaxProblem {
                        tag: Some("v".into()),
                        segment: None,
                        message: "the record must start with v=DMARC1, with nothing before it"
                            .into(),
                    }]
                });
                Holding::Invalid(text.clone(), problems)
            }
            None => Holding::Nothing,
        },
        [one] => match parse(one) {
            Ok(record) => Holding::Record(Box::new(record), (*one).clone()),
            Err(problems) => Holding::Invalid((*one).clone(), problems),
        },
        many => Holding::Multiple(many.iter().map(|t| (*t).clone()).collect()),
    }
}

/// Records where the record (or the offending set) was found.
pub(super) fn locate(section: &mut DmarcSection, domain: &str, found_at: &str) {
    section.record_name = Some(format!("_dmarc.{found_at}"));
    section.found_at = Some(found_at.to_string());
    section.inherited = found_at != domain;
}

/// Finds the record that applies: the domain's own, else by the tree walk.
pub(super) async fn discover(
    resolver: &Resolver,
    domain: &str,
    own: Result<TxtSet, DnsError>,
    section: &mut DmarcSection,
) -> Discovery {
    let own = match own {
        Ok(set) => set,
        Err(error) => {
            let name = format!("_dmarc.{domain}");
            section
                .walk
                .push(step(&name, StepOutcome::DnsError, Vec::new()));
            return Discovery::Failed { name, error };
        }
    };
    let holding = classify(&own);
    section.walk.push(step_of(&own, &holding));
    // The domain's own set decides on the first query (RFC 9989 §4.10.1).
    match holding {
        Holding::Record(record, text) => {
            return Discovery::Found {
                found_at: domain.to_string(),
                evidence: own.evidence(is_dmarc1),
                text,
                record,
            };
        }
        Holding::Invalid(text, problems) => {
            return Discovery::Invalid {
                found_at: domain.to_string(),
                evidence: own.evidence(|t| t == text),
                text,
                problems,
            };
        }
        Holding::Multiple(texts) => {
            return Discovery::Multiple {
                found_at: domain.to_string(),
                evidence: own.evidence(is_dmarc1),
                texts,
            };
        }
        Holding::Nothing => {}
    }

    // The walk: each step depends on the last (it may stop at psd=y/n), so
    // the queries go one after another.
    let mut evidence = own.evidence(|_| false);
    // Valid records found: (name, record, text), longest name first.
    let mut collected: Vec<(String, DmarcRecord, String)> = Vec::new();
    // The first set receivers discard (two records, or one that does not
    // parse): reported when no valid record applies.
    let mut discarded: Option<(String, Holding)> = None;
    for parent in walk_parents(domain) {
        let name = format!("_dmarc.{parent}");
        let set = match fetch_txt(resolver, &name).await {
            Ok(set) => set,
            Err(error) => {
                section
                    .walk
                    .push(step(&name, StepOutcome::DnsError, Vec::new()));
                return Discovery::Failed { name, error };
            }
        };
        let holding = classify(&set);
        section.walk.push(step_of(&set, &holding));
        evidence.extend(set.evidence(|t| is_dmarc1(t) || looks_like_dmarc(t)));
        match holding {
            Holding::Record(record, text) => {
                let stop = record.psd_flag() != Psd::Unspecified;
                collected.push((parent, *record, text));
                if stop {
                    break;
                }
            }
            Holding::Nothing => {}
            other => {
                section.notes.push(match &other {
                    Holding::Multiple(_) => format!(
                        "{name} holds more than one v=DMARC1 record; receivers discard them \
                         and continue the walk."
                    ),
                    _ => format!(
                        "{name} holds a DMARC record that does not parse; receivers discard \
                         it and continue the walk."
                    ),
                });
                discarded.get_or_insert((parent, other));
            }
        }
    }

    let flags: Vec<(String, Psd)> = collected
        .iter()
        .map(|(name, record, ..)| (name.clone(), record.psd_flag()))
        .collect();
    let org = organizational_domain(&flags, domain);
    section.organizational_domain = Some(org.clone());
    // The Organizational Domain's record, else (under a public suffix
    // operator's psd=y) the highest one found.
    let chosen = collected
        .iter()
        .position(|(name, ..)| *name == org)
        .or_else(|| collected.len().checked_sub(1));
    if let Some(index) = chosen {
        let (found_at, record, text) = collected.swap_remove(index);
        if record.psd_flag() == Psd::Yes && found_at != org {
            section.notes.push(format!(
                "{org} has no DMARC record of its own, so the public suffix operator's record \
                 at _dmarc.{found_at} (psd=y) applies."
            ));
        }
        return Discovery::Found {
            found_at,
            text,
            record: Box::new(record),
            evidence,
        };
    }
    // Nothing usable along the walk: a discarded set is the closest thing
    // to a record the owner published, and the real problem to report.
    if let Some((found_at, holding)) = discarded {
        return match holding {
            Holding::Multiple(texts) => Discovery::Multiple {
                found_at,
                texts,
                evidence,
            },
            Holding::Invalid(text, problems) => Discovery::Invalid {
                found_at,
                text,
                problems,
                evidence,
            },
            _ => Discovery::Missing { evidence },
        };
    }
    Discovery::Missing { evidence }
}

pub(super) fn step(query: &str, outcome: StepOutcome, records: Vec<String>) -> WalkStep {
    WalkStep {
        query: query.to_string(),
        outcome,
        records,
    }
}

pub(super) fn step_of(set: &TxtSet, holding: &Holding) -> WalkStep {
    let (outcome, records) = match holding {
        Holding::Record(_, text) => (StepOutcome::Record, vec![text.clone()]),
        Holding::Invalid(text, _) => (StepOutcome::Invalid, vec![text.clone()]),
        Holding::Multiple(texts) => (StepOutcome::MultipleRecords, texts.clone()),
        Holding::Nothing if set.nxdomain => (StepOutcome::Nxdomain, Vec::new()),
        Holding::Nothing => (StepOutcome::NoRecord, Vec::new()),
    };
    step(&set.name, outcome, records)
}
