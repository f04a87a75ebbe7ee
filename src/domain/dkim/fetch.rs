//! Asking DNS for each selector's key records (RFC 6376 §3.6.2).

use super::{COMMON_SELECTORS, SelectorSource};
use crate::dns::{Answer, DnsError, MAX_CHARACTER_STRING, Rcode, Resolver};
use crate::records::dkim_key::is_key_record;
use crate::records::name::DomainName;
use hickory_proto::rr::{Name, RData, RecordType};

/// The selectors to ask, each once: the caller's first, then those the
/// domain's DMARC reports named, then — only when no report named any —
/// the common ones. Reports list every selector that signed for the
/// domain, so once they have spoken the audit stops guessing, unless
/// what they named holds no key ([`fallback_probes`]).
pub(super) fn plan(
    domain: &DomainName,
    given: &[String],
    learned: &[String],
) -> Vec<(String, SelectorSource)> {
    let mut plan: Vec<(String, SelectorSource)> = Vec::new();
    let given = given
        .iter()
        .map(|s| (normalize_selector(s, domain), SelectorSource::Given));
    let learned_from_reports = learned
        .iter()
        .map(|s| (normalize_selector(s, domain), SelectorSource::Learned));
    let probes = if learned.is_empty() {
        COMMON_SELECTORS
    } else {
        &[]
    };
    let probed = probes
        .iter()
        .map(|s| (s.to_string(), SelectorSource::Probed));
    for (selector, source) in given.chain(learned_from_reports).chain(probed) {
        if !plan.iter().any(|(s, _)| *s == selector) {
            plan.push((selector, source));
        }
    }
    plan
}

/// The common selectors still to ask after a first round at learned
/// selectors that found no key: none when a key was found, when a lookup
/// failed (the answer is unknown either way), or when the first round
/// probed them already.
pub(super) fn fallback_probes(fetched: &[Fetched]) -> Vec<(String, SelectorSource)> {
    let learned = fetched.iter().any(|f| f.source == SelectorSource::Learned);
    let settled_without_key = fetched.iter().all(|f| match &f.answer {
        Ok(answer) => !answer
            .records
            .iter()
            .any(|raw| is_key_record(&String::from_utf8_lossy(raw))),
        Err(FetchError::BadSelector(_)) => true,
        Err(FetchError::Dns(_)) => false,
    });
    if !learned || !settled_without_key {
        return Vec::new();
    }
    COMMON_SELECTORS
        .iter()
        .filter(|common| !fetched.iter().any(|f| f.selector == **common))
        .map(|common| (common.to_string(), SelectorSource::Probed))
        .collect()
}

/// A selector as users paste it: sometimes the whole key name, copied from
/// their DNS panel, with a final dot or capitals.
pub(super) fn normalize_selector(raw: &str, domain: &DomainName) -> String {
    let lower = raw.trim().trim_end_matches('.').to_ascii_lowercase();
    let full_suffix = format!("._domainkey.{}", domain.ascii);
    lower
        .strip_suffix(&full_suffix)
        .or_else(|| lower.strip_suffix("._domainkey"))
        .unwrap_or(&lower)
        .to_string()
}

/// The key name of a selector, if the selector can be part of a DNS name
/// (RFC 6376 §3.1: dot-separated labels).
pub(super) fn key_name(selector: &str, domain: &DomainName) -> Result<(String, Name), String> {
    let text = format!("{selector}._domainkey.{}", domain.ascii);
    if selector.is_empty() {
        return Err("the selector is empty".into());
    }
    for label in selector.split('.') {
        if label.is_empty() || label.len() > 63 {
            return Err(format!(
                "`{selector}` has an empty label or one longer than 63 characters"
            ));
        }
        if let Some(bad) = label
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || *c == '-' || *c == '_'))
        {
            return Err(format!(
                "`{selector}` contains `{bad}`; a selector holds only letters, digits, \
                 hyphens and dots"
            ));
        }
    }
    if text.len() > 253 {
        return Err(format!("{text} is longer than 253 characters"));
    }
    let mut name = Name::from_ascii(&text).map_err(|e| format!("`{text}`: {e}"))?;
    name.set_fqdn(true);
    Ok((text, name))
}

/// What the DNS said at one selector: the input of [`evaluate`].
#[derive(Debug, Clone)]
pub(super) struct Fetched {
    pub(super) selector: String,
    pub(super) source: SelectorSource,
    pub(super) name: String,
    pub(super) answer: Result<TxtAnswer, FetchError>,
}

#[derive(Debug, Clone, PartialEq)]
pub(super) struct TxtAnswer {
    /// Each TXT record, its character-strings joined.
    pub(super) records: Vec<Vec<u8>>,
    pub(super) cname_chain: Vec<String>,
    /// The longest character-string over [`MAX_CHARACTER_STRING`] bytes,
    /// when one was answered (from a zone file).
    pub(super) long_string: Option<usize>,
    pub(super) nxdomain: bool,
    /// Not asked: the domain itself does not exist (RFC 8020 §2).
    pub(super) below_nxdomain: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub(super) enum FetchError {
    Dns(DnsError),
    BadSelector(String),
}

impl From<&Answer> for TxtAnswer {
    fn from(answer: &Answer) -> TxtAnswer {
        TxtAnswer {
            records: answer.txt().into_iter().map(|s| s.concat()).collect(),
            long_string: answer
                .txt()
                .into_iter()
                .flatten()
                .map(<[u8]>::len)
                .filter(|&len| len > MAX_CHARACTER_STRING)
                .max(),
            cname_chain: answer
                .records
                .iter()
                .filter_map(|r| match &r.data {
                    RData::CNAME(c) => Some(c.0.to_ascii()),
                    _ => None,
                })
                .collect(),
            nxdomain: answer.rcode == Rcode::NXDomain,
            below_nxdomain: false,
        }
    }
}

/// The answer at one selector; with `domain_absent`, what the domain's
/// NXDOMAIN already says, without asking.
pub(super) async fn fetch(
    resolver: &Resolver,
    domain: &DomainName,
    selector: String,
    source: SelectorSource,
    domain_absent: bool,
) -> Fetched {
    let (name, answer) = match key_name(&selector, domain) {
        Ok((text, _)) if domain_absent => {
            let nothing = TxtAnswer {
                records: Vec::new(),
                cname_chain: Vec::new(),
                long_string: None,
                nxdomain: true,
                below_nxdomain: true,
            };
            (text, Ok(nothing))
        }
        Ok((text, name)) => {
            let answer = resolver
                .lookup(&name, RecordType::TXT)
                .await
                .map(|a| TxtAnswer::from(&a))
                .map_err(FetchError::Dns);
            (text, answer)
        }
        Err(reason) => (
            format!("{selector}._domainkey.{}", domain.ascii),
            Err(FetchError::BadSelector(reason)),
        ),
    };
    Fetched {
        selector,
        source,
        name,
        answer,
    }
}
