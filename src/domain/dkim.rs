//! DKIM in the domain audit: which selectors of the domain publish a key
//! record, and whether each key can verify signatures.
//!
//! Keys live at `<selector>._domainkey.<domain>` (RFC 6376 §3.6.2.1) and the
//! signer picks the selector, so DNS cannot list them. The audit asks the
//! selectors the caller names and the [`COMMON_SELECTORS`], all at once, and
//! reads every TXT record there that is a key record:
//!
//! - as an RFC 6376 §3.2 tag-list with the key tags of §3.6.1 (`v`, `h`,
//!   `k`, `n`, `p`, `s`, `t`), its character-strings joined without
//!   separator (§3.6.2.2);
//! - `p=` empty is a revoked key (§3.6.1); otherwise it is base64 (§2.6,
//!   folding whitespace allowed) of an RSA key — a SubjectPublicKeyInfo
//!   (RFC 5280 §4.1.2.7) holding an RSAPublicKey (RFC 8017 §A.1.1), or the
//!   bare RSAPublicKey some publish — whose modulus must have at least 1024
//!   bits (RFC 8301 §3.2), or of an Ed25519 key, exactly its 32 bytes
//!   (RFC 8463 §4.2);
//! - `t=y` marks testing and `h=` restricts the hash (RFC 6376 §3.6.1);
//!   SHA-1 alone is unusable since RFC 8301 §3.1.
//!
//! Finding no key is weak evidence: the probe list cannot name every
//! provider's selector, so without a selector from the caller the result is
//! "unknown", and a lookup that failed is never read as "no key".
//!
//! A domain that does not exist has no keys: NXDOMAIN for a name means no
//! name below it exists either (RFC 8020 §2). So the selectors are asked
//! once the domain's own TXT question has answered — the question the SPF
//! check asks at the same moment, so waiting for it sends nothing more —
//! and not at all when that answer is NXDOMAIN for the domain itself (not
//! for the target of a CNAME there). That keeps an audit of a domain that
//! does not exist from costing a question per selector; it delays the
//! selector answers by one round trip, which the audit's longer chains (MX
//! hosts, SPF includes, the MTA-STS policy) usually take anyway.

use super::AuditContext;
use crate::dns::{Answer, DnsError, Rcode, Resolver};
use crate::findings::Checked;
use crate::findings::catalog;
use crate::findings::{Code, Finding};
use crate::records::name::DomainName;
use futures_util::future::join_all;
use hickory_proto::rr::{Name, RData, RecordType};
use serde::Serialize;

/// Selectors probed on every audit: the fixed defaults of widely used mail
/// services, and generic names many self-hosted signers are set up with.
pub const COMMON_SELECTORS: &[&str] = &[
    "google",        // Google Workspace
    "selector1",     // Microsoft 365 (CNAME to the tenant's key)
    "selector2",     // Microsoft 365, the key rotated to next
    "k1",            // Mailchimp, Mailgun
    "k2",            // Mailchimp
    "k3",            // Mailchimp
    "s1",            // SendGrid and many others
    "s2",            // SendGrid and many others
    "default",       // cPanel, rspamd and many self-hosted setups
    "dkim",          // generic
    "mail",          // generic; Yandex
    "smtp",          // Mailgun
    "mx",            // Mailgun (older domains)
    "mandrill",      // Mandrill (Mailchimp Transactional)
    "mxvault",       // MXVault
    "fm1",           // Fastmail
    "fm2",           // Fastmail
    "fm3",           // Fastmail
    "protonmail",    // Proton Mail
    "protonmail2",   // Proton Mail
    "protonmail3",   // Proton Mail
    "mailjet",       // Mailjet
    "zendesk1",      // Zendesk
    "zendesk2",      // Zendesk
    "cm",            // Campaign Monitor
    "everlytickey1", // Everlytic
    "everlytickey2", // Everlytic
];

/// The audit's DKIM verdict on the domain as a whole.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DkimStatus {
    /// At least one selector holds a key record (usable or not).
    Found,
    /// The caller named selectors; neither they nor the common ones hold a
    /// key record.
    NotFound,
    /// No key at the common selectors and none given, so DKIM may still use
    /// a selector nobody asked about; or lookups failed.
    Unknown,
}

/// Whether the caller named a selector or the audit tried it on its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SelectorSource {
    Given,
    Probed,
}

/// What one selector's lookup showed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SelectorStatus {
    /// At least one key record, usable or not.
    KeyFound,
    /// The name does not exist or holds no key record.
    NotFound,
    /// The lookup failed; a key may well be there.
    Unknown,
    /// The given selector cannot be a DNS name, so it was not asked.
    InvalidName,
}

/// What a key record's `p=` turned out to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum KeyStatus {
    /// A key of the stated type decoded from `p=`.
    Valid,
    /// `p=` is empty: the key was withdrawn.
    Revoked,
    /// The record or its key cannot be used.
    Invalid,
}

/// The key types of RFC 6376 §3.6.1 and RFC 8463 §4.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum KeyAlgorithm {
    Rsa,
    Ed25519,
}

/// The tags of a key record as published (RFC 6376 §3.6.1); tags this
/// version of DKIM does not define are ignored, as the RFC requires.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct KeyTags {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub v: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub h: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub k: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub n: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub p: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub s: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub t: Option<String>,
}

/// One key record at a selector, read and judged.
#[derive(Debug, Clone, Serialize)]
pub struct KeyRecord {
    /// The TXT record, its character-strings joined.
    pub record: String,
    /// The parsed tags; absent when the tag-list does not parse.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tags: Option<KeyTags>,
    pub status: KeyStatus,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub algorithm: Option<KeyAlgorithm>,
    /// RSA modulus length, or 256 for Ed25519.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bits: Option<u32>,
    /// `t=` holds the `y` flag.
    pub testing: bool,
    /// A receiver can verify an rsa-sha256 or ed25519-sha256 signature
    /// with this key.
    pub usable: bool,
    /// Why the key is not usable.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub problem: Option<String>,
    #[serde(skip)]
    tag_list: Vec<Tag>,
    #[serde(skip)]
    invalid: Option<KeyProblem>,
}

/// One selector asked about.
#[derive(Debug, Clone, Serialize)]
pub struct SelectorReport {
    pub selector: String,
    /// `<selector>._domainkey.<domain>`, the name asked.
    pub name: String,
    pub source: SelectorSource,
    pub status: SelectorStatus,
    /// The DNS failure, or why the selector is not a valid name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// CNAME targets followed from `name`, in order; the records came from
    /// the last one.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub cname_chain: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub keys: Vec<KeyRecord>,
    /// TXT records at the name that are not DKIM key records (a wildcard
    /// SPF record, a stray note); they do not count as keys.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub other_txt: Vec<String>,
}

/// The `dkim` section of a domain audit.
#[derive(Debug, Clone, Serialize)]
pub struct DkimSection {
    pub status: DkimStatus,
    /// One sentence for people: what was found, or why it is unknown.
    pub summary: String,
    /// Every selector asked, the caller's first.
    pub selectors_checked: Vec<String>,
    /// Selectors with a key record or a failed lookup, and every selector
    /// the caller gave.
    pub selectors: Vec<SelectorReport>,
}

impl DkimSection {
    /// What a failed lookup left undecided, in a few words; `None` when
    /// every question this check rests on was answered.
    pub fn undecided(&self) -> Option<String> {
        let failed = self
            .selectors
            .iter()
            .find(|s| s.status == SelectorStatus::Unknown)?;
        Some(format!(
            "the TXT lookup for {} failed ({})",
            failed.name,
            failed.error.as_deref().unwrap_or("no answer")
        ))
    }

    /// Keys a receiver can verify a current signature with: valid, not
    /// revoked, RSA of at least 1024 bits or Ed25519, allowing SHA-256 and
    /// the email service.
    pub fn usable_keys(&self) -> impl Iterator<Item = (&SelectorReport, &KeyRecord)> {
        self.selectors
            .iter()
            .flat_map(|s| s.keys.iter().map(move |k| (s, k)))
            .filter(|(_, k)| k.usable)
    }

    /// For the provider checklist: `Some(true)` when a usable key was
    /// found, `Some(false)` when only unusable keys were found or nothing
    /// at the selectors the caller gave, `None` when that cannot be told
    /// (lookups failed, or no selector given and none found).
    pub fn has_usable_key(&self) -> Option<bool> {
        if self.usable_keys().next().is_some() {
            return Some(true);
        }
        if self
            .selectors
            .iter()
            .any(|s| s.status == SelectorStatus::Unknown)
        {
            return None;
        }
        if self.selectors.iter().any(|s| !s.keys.is_empty()) {
            return Some(false);
        }
        match self.status {
            DkimStatus::NotFound => Some(false),
            DkimStatus::Found | DkimStatus::Unknown => None,
        }
    }
}

// ---------------------------------------------------------------------------
// Fetching

/// Looks up every selector concurrently, unless the domain does not
/// exist, and judges what comes back.
pub async fn check(cx: &AuditContext<'_>) -> Checked<DkimSection> {
    let apex = cx.resolver.lookup(&cx.domain.fqdn(), RecordType::TXT).await;
    let absent = apex.is_ok_and(|a| a.rcode == Rcode::NXDomain && a.records.is_empty());
    let lookups = plan(cx.domain, &cx.options.selectors)
        .into_iter()
        .map(|(selector, source)| fetch(cx.resolver, cx.domain, selector, source, absent));
    let fetched = join_all(lookups).await;
    evaluate(cx.domain, fetched)
}

/// The selectors to ask, the caller's first, each once.
fn plan(domain: &DomainName, given: &[String]) -> Vec<(String, SelectorSource)> {
    let mut plan: Vec<(String, SelectorSource)> = Vec::new();
    let given = given
        .iter()
        .map(|s| (normalize_selector(s, domain), SelectorSource::Given));
    let probed = COMMON_SELECTORS
        .iter()
        .map(|s| (s.to_string(), SelectorSource::Probed));
    for (selector, source) in given.chain(probed) {
        if !plan.iter().any(|(s, _)| *s == selector) {
            plan.push((selector, source));
        }
    }
    plan
}

/// A selector as users paste it: sometimes the whole key name, copied from
/// their DNS panel, with a final dot or capitals.
fn normalize_selector(raw: &str, domain: &DomainName) -> String {
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
fn key_name(selector: &str, domain: &DomainName) -> Result<(String, Name), String> {
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
struct Fetched {
    selector: String,
    source: SelectorSource,
    name: String,
    answer: Result<TxtAnswer, FetchError>,
}

#[derive(Debug, Clone, PartialEq)]
struct TxtAnswer {
    /// Each TXT record, its character-strings joined.
    records: Vec<Vec<u8>>,
    cname_chain: Vec<String>,
    nxdomain: bool,
    /// Not asked: the domain itself does not exist (RFC 8020 §2).
    below_nxdomain: bool,
}

#[derive(Debug, Clone, PartialEq)]
enum FetchError {
    Dns(DnsError),
    BadSelector(String),
}

impl From<&Answer> for TxtAnswer {
    fn from(answer: &Answer) -> TxtAnswer {
        TxtAnswer {
            records: answer.txt().into_iter().map(|s| s.concat()).collect(),
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
async fn fetch(
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

// ---------------------------------------------------------------------------
// Evaluation

/// Turns the fetched records into the section and its findings.
fn evaluate(domain: &DomainName, fetched: Vec<Fetched>) -> Checked<DkimSection> {
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
    let given: Vec<&str> = reports
        .iter()
        .filter(|r| r.source == SelectorSource::Given && r.status != SelectorStatus::InvalidName)
        .map(|r| r.selector.as_str())
        .collect();
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
    } else if failed.len() == selectors_checked.len() {
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
        findings.push(no_selector_found(domain, &given, probed, lookups_seen));
    }

    let selectors = reports
        .into_iter()
        .filter(|r| r.source == SelectorSource::Given || r.status != SelectorStatus::NotFound)
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

fn lookup_evidence(f: &Fetched) -> String {
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

fn read_selector(f: Fetched) -> SelectorReport {
    let mut report = SelectorReport {
        selector: f.selector,
        name: f.name,
        source: f.source,
        status: SelectorStatus::NotFound,
        error: None,
        cname_chain: Vec::new(),
        keys: Vec::new(),
        other_txt: Vec::new(),
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

/// Whether a TXT record at a selector name is meant as a DKIM key record.
/// Other records turn up there through wildcards (`*.<domain>` holding
/// SPF) or by mistake; RFC 6376 §3.6.1 discards records whose leading `v=`
/// is not DKIM's, and a record with neither `p=` nor `k=` says nothing
/// about a key.
fn is_key_record(text: &str) -> bool {
    let mut pairs = text
        .split(';')
        .map(|spec| spec.trim_matches(is_fws))
        .filter(|spec| !spec.is_empty())
        .map(|spec| {
            spec.split_once('=')
                .map(|(n, v)| (n.trim_matches(is_fws), v.trim_matches(is_fws)))
        })
        .peekable();
    if let Some(Some(("v", version))) = pairs.peek() {
        return version
            .get(..4)
            .is_some_and(|p| p.eq_ignore_ascii_case("dkim"));
    }
    pairs.any(|pair| matches!(pair, Some(("p" | "k", _))))
}

/// Reads one key record.
pub(crate) fn read_key_record(text: &str) -> KeyRecord {
    let mut key = KeyRecord {
        record: text.to_string(),
        tags: None,
        status: KeyStatus::Invalid,
        algorithm: None,
        bits: None,
        testing: false,
        usable: false,
        problem: None,
        tag_list: Vec::new(),
        invalid: None,
    };
    let tag_list = match parse_tag_list(text) {
        Ok(tags) => tags,
        Err(reason) => {
            key.problem = Some(KeyProblem::TagList(reason.clone()).to_string());
            key.invalid = Some(KeyProblem::TagList(reason));
            return key;
        }
    };
    let tags = KeyTags::from_list(&tag_list);
    key.testing = flag_list(tags.t.as_deref()).any(|f| f.eq_ignore_ascii_case("y"));
    let decoded = decode_key(&tags);
    key.tags = Some(tags);
    key.tag_list = tag_list;
    match decoded {
        Err(problem) => {
            key.problem = Some(problem.to_string());
            key.invalid = Some(problem);
        }
        Ok(None) => {
            key.status = KeyStatus::Revoked;
            key.problem = Some("the key is revoked (empty p=)".into());
        }
        Ok(Some((algorithm, bits))) => {
            key.status = KeyStatus::Valid;
            key.algorithm = Some(algorithm);
            key.bits = Some(bits);
            key.problem = unusable_because(&key);
            key.usable = key.problem.is_none();
        }
    }
    key
}

/// Why a valid key still cannot verify a current signature, if it cannot.
fn unusable_because(key: &KeyRecord) -> Option<String> {
    let tags = key.tags.as_ref()?;
    if key.algorithm == Some(KeyAlgorithm::Rsa) && key.bits.is_some_and(|b| b < 1024) {
        return Some("the RSA key is shorter than 1024 bits (RFC 8301 §3.2)".into());
    }
    // An h= or s= that lists nothing restricts nothing.
    let restricts = |value: &Option<String>| flag_list(value.as_deref()).next().is_some();
    if restricts(&tags.h) && !flag_list(tags.h.as_deref()).any(|h| h.eq_ignore_ascii_case("sha256"))
    {
        return Some(
            "h= does not allow sha256, the only hash receivers accept (RFC 8301 §3.1)".into(),
        );
    }
    if restricts(&tags.s) && !flag_list(tags.s.as_deref()).any(|s| s == "*" || s == "email") {
        return Some("s= does not allow the email service (RFC 6376 §3.6.1)".into());
    }
    None
}

/// A colon-separated tag value (`h=`, `s=`, `t=`) as its items.
fn flag_list(value: Option<&str>) -> impl Iterator<Item = &str> {
    value
        .into_iter()
        .flat_map(|v| v.split(':'))
        .map(|item| item.trim_matches(is_fws))
        .filter(|item| !item.is_empty())
}

/// Decodes `p=` as the type `k=` names: `None` for a revoked key, else the
/// algorithm and the key size in bits.
fn decode_key(tags: &KeyTags) -> Result<Option<(KeyAlgorithm, u32)>, KeyProblem> {
    // String comparison, as RFC 6376 §3.6.1 requires for v=.
    if let Some(v) = &tags.v
        && v != "DKIM1"
    {
        return Err(KeyProblem::Version(v.clone()));
    }
    let p = tags.p.as_deref().ok_or(KeyProblem::NoPublicKey)?;
    if p.chars().all(is_fws) {
        return Ok(None);
    }
    let algorithm = match tags.k.as_deref() {
        None => KeyAlgorithm::Rsa,
        Some(k) if k.eq_ignore_ascii_case("rsa") => KeyAlgorithm::Rsa,
        Some(k) if k.eq_ignore_ascii_case("ed25519") => KeyAlgorithm::Ed25519,
        Some(k) => return Err(KeyProblem::KeyType(k.to_string())),
    };
    let bytes = decode_base64(p).map_err(KeyProblem::Base64)?;
    match algorithm {
        KeyAlgorithm::Rsa => match rsa_modulus_bits(&bytes) {
            Ok(bits) => Ok(Some((KeyAlgorithm::Rsa, bits))),
            Err(_) if bytes.len() == ED25519_KEY_LEN => Err(KeyProblem::RsaLooksEd25519),
            Err(e) => Err(KeyProblem::Rsa(e)),
        },
        KeyAlgorithm::Ed25519 => {
            if bytes.len() == ED25519_KEY_LEN {
                Ok(Some((KeyAlgorithm::Ed25519, 256)))
            } else if let Some(raw) = bytes.strip_prefix(ED25519_SPKI_PREFIX)
                && raw.len() == ED25519_KEY_LEN
            {
                Err(KeyProblem::Ed25519Spki(raw.to_vec()))
            } else {
                Err(KeyProblem::Ed25519Length(bytes.len()))
            }
        }
    }
}

const ED25519_KEY_LEN: usize = 32;

/// The DER header of an Ed25519 SubjectPublicKeyInfo (RFC 8410 §4): what
/// people paste when they publish `openssl pkey -pubout` output as is.
const ED25519_SPKI_PREFIX: &[u8] = &[
    0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00,
];

/// Why a key record cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
enum KeyProblem {
    #[error("the tag list does not parse: {0}")]
    TagList(String),
    #[error("v={0}: the version must be exactly DKIM1 (RFC 6376 §3.6.1)")]
    Version(String),
    #[error("the record has no p= tag, which every key record needs (RFC 6376 §3.6.1)")]
    NoPublicKey,
    #[error("k={0} is not a DKIM key type (rsa or ed25519)")]
    KeyType(String),
    #[error("p= is not valid base64: {0}")]
    Base64(Base64Error),
    #[error("p= does not hold an RSA public key: {0}")]
    Rsa(DerError),
    #[error(
        "p= decodes to 32 bytes, the size of an Ed25519 key, not an RSA key: k=ed25519 seems \
         to be missing"
    )]
    RsaLooksEd25519,
    #[error("p= decodes to {0} bytes; an Ed25519 key is exactly 32 bytes (RFC 8463 §4.2)")]
    Ed25519Length(usize),
    #[error(
        "p= holds the Ed25519 key wrapped in a SubjectPublicKeyInfo (44 bytes); RFC 8463 §4.2 \
         wants only the 32-byte key"
    )]
    Ed25519Spki(Vec<u8>),
}

// ---------------------------------------------------------------------------
// Findings

fn key_findings(selector: &SelectorReport) -> Vec<Finding> {
    let mut findings = Vec::new();
    let name = &selector.name;
    for key in &selector.keys {
        let mut evidence: Vec<String> = Vec::new();
        let mut owner = name.as_str();
        for target in &selector.cname_chain {
            evidence.push(format!("{owner} CNAME {target}"));
            owner = target;
        }
        evidence.push(format!("{owner} TXT \"{}\"", key.record));
        let finding = |code: Code, detail: String, fix: String| {
            Finding::new(code, detail)
                .with_fix(fix)
                .with_evidence(evidence.clone())
        };
        match key.status {
            KeyStatus::Revoked => findings.push(finding(
                catalog::DKIM_KEY_REVOKED,
                format!(
                    "{name} publishes an empty p=, so its key is revoked: \"{}\"",
                    key.record
                ),
                format!(
                    "No change is needed if selector {} is retired. If a service still signs \
                     with it, publish that service's current public key at {name}, or move the \
                     service to a selector that has one.",
                    selector.selector
                ),
            )),
            KeyStatus::Invalid => {
                let problem = key.problem.clone().unwrap_or_default();
                findings.push(finding(
                    catalog::DKIM_KEY_INVALID,
                    format!("the key record at {name} is unusable: {problem}"),
                    invalid_key_fix(selector, key),
                ));
            }
            KeyStatus::Valid => {
                let rsa_bits = key
                    .bits
                    .filter(|_| key.algorithm == Some(KeyAlgorithm::Rsa));
                if let Some(bits) = rsa_bits
                    && bits <= 1024
                {
                    let (code, detail) = if bits < 1024 {
                        (
                            catalog::DKIM_KEY_TOO_SHORT,
                            format!(
                                "the RSA key at {name} is {bits} bits; receivers must not accept \
                                 keys shorter than 1024 bits (RFC 8301 §3.2)"
                            ),
                        )
                    } else {
                        (
                            catalog::DKIM_KEY_1024,
                            format!(
                                "the RSA key at {name} is 1024 bits, the minimum; 2048 is \
                                 recommended"
                            ),
                        )
                    };
                    findings.push(finding(code, detail, rotate_fix(selector)));
                }
                let tags = key.tags.clone().unwrap_or_default();
                if key.testing {
                    let rest: Vec<&str> = flag_list(tags.t.as_deref())
                        .filter(|f| !f.eq_ignore_ascii_case("y"))
                        .collect();
                    let record = rewrite(
                        &key.tag_list,
                        "t",
                        (!rest.is_empty()).then(|| rest.join(":")),
                    );
                    findings.push(finding(
                        catalog::DKIM_TESTING_MODE,
                        format!(
                            "the key at {name} has t={}: the y flag says DKIM is only being \
                             tested",
                            tags.t.clone().unwrap_or_default()
                        ),
                        format!(
                            "Once signing works, publish the record without the y flag: {}",
                            zone_line(name, &record)
                        ),
                    ));
                }
                let hashes: Vec<&str> = flag_list(tags.h.as_deref()).collect();
                let lists = |want: &str| hashes.iter().any(|h| h.eq_ignore_ascii_case(want));
                if lists("sha1") && !lists("sha256") {
                    let record = rewrite(&key.tag_list, "h", None);
                    findings.push(finding(
                        catalog::DKIM_SHA1_ONLY,
                        format!(
                            "the key at {name} has h={}: it allows SHA-1 signatures and not \
                             SHA-256",
                            tags.h.clone().unwrap_or_default()
                        ),
                        format!(
                            "Publish the record without h= (any hash is then allowed) and make \
                             sure the service signs with rsa-sha256: {}",
                            zone_line(name, &record)
                        ),
                    ));
                }
            }
        }
    }
    findings
}

fn rotate_fix(selector: &SelectorReport) -> String {
    let domain = selector
        .name
        .split_once("._domainkey.")
        .map_or(selector.name.as_str(), |(_, d)| d);
    format!(
        "Generate a 2048-bit RSA key pair and publish its public key at a new selector: \
         <new selector>._domainkey.{domain}. IN TXT \"v=DKIM1; k=rsa; p=<2048-bit public key>\" \
         (split into quoted strings of at most 255 characters). Switch signing to the new \
         selector; once mail signed with the old key has been delivered, revoke it: {}",
        zone_line(&selector.name, "v=DKIM1; p=")
    )
}

fn invalid_key_fix(selector: &SelectorReport, key: &KeyRecord) -> String {
    let name = &selector.name;
    let publish = |record: String| format!("Publish: {}", zone_line(name, &record));
    match &key.invalid {
        Some(KeyProblem::Ed25519Spki(raw)) => {
            publish(rewrite(&key.tag_list, "p", Some(encode_base64(raw))))
        }
        // When v= swallowed the next tags (a `;` missing), setting it right
        // would drop them; the generic advice below fits that case.
        Some(KeyProblem::Version(_)) if key.tags.as_ref().is_some_and(|t| t.p.is_some()) => {
            publish(rewrite(&key.tag_list, "v", Some("DKIM1".to_string())))
        }
        Some(KeyProblem::RsaLooksEd25519) => {
            publish(rewrite(&key.tag_list, "k", Some("ed25519".to_string())))
        }
        Some(KeyProblem::KeyType(_)) => format!(
            "Set k= to the type of the key: k=rsa (or leave k= out) for an RSA key, \
             k=ed25519 for an Ed25519 key, e.g. {}",
            zone_line(name, "v=DKIM1; k=rsa; p=<base64 public key>")
        ),
        _ => {
            let k = key
                .tags
                .as_ref()
                .and_then(|t| t.k.clone())
                .unwrap_or_else(|| "rsa".into());
            format!(
                "Copy the public key again from the service that signs with selector {} and \
                 publish it in full: {}. Split a long key into several quoted strings inside \
                 one TXT record rather than shortening it.",
                selector.selector,
                zone_line(name, &format!("v=DKIM1; k={k}; p=<base64 public key>"))
            )
        }
    }
}

fn no_selector_found(
    domain: &DomainName,
    given: &[&str],
    probed: usize,
    evidence: Vec<String>,
) -> Finding {
    let detail = if given.is_empty() {
        format!(
            "no DKIM key record at the {probed} common selectors of {domain} ({}); no selector \
             was given, so DKIM is unknown rather than missing",
            COMMON_SELECTORS.join(", ")
        )
    } else {
        format!(
            "no DKIM key record at the given selector(s) {} of {domain}, nor at the {probed} \
             common selectors",
            given.join(", ")
        )
    };
    Finding::new(catalog::DKIM_NO_SELECTOR_FOUND, detail)
        .with_fix(format!(
            "Find the selector in the s= tag of the DKIM-Signature header of a message you \
             sent (or in your provider's settings) and check again with it. If your mail is \
             not signed yet, enable DKIM at each sending service and publish the record it \
             gives you: <selector>._domainkey.{domain}. IN TXT \"v=DKIM1; k=rsa; p=<public key>\""
        ))
        .with_evidence(evidence)
}

/// The record with one tag set to a new value (added after `v=` when
/// absent) or removed, the other tags as published.
fn rewrite(tags: &[Tag], name: &str, value: Option<String>) -> String {
    let mut out: Vec<(String, String)> = Vec::new();
    let mut placed = false;
    for tag in tags {
        if tag.name == name {
            if let Some(v) = &value {
                out.push((tag.name.clone(), v.clone()));
            }
            placed = true;
        } else if tag.name == "p" {
            // Folding whitespace inside the key is legal but needless.
            out.push((tag.name.clone(), tag.value.split(is_fws).collect()));
        } else {
            out.push((tag.name.clone(), tag.value.clone()));
        }
    }
    if !placed && let Some(v) = value {
        let at = usize::from(out.first().is_some_and(|(n, _)| n == "v"));
        out.insert(at, (name.to_string(), v));
    }
    out.iter()
        .map(|(n, v)| format!("{n}={v}"))
        .collect::<Vec<_>>()
        .join("; ")
}

/// A TXT record as a zone-file line, its text cut into quoted strings of at
/// most 255 bytes (RFC 1035 §3.3.14), the way it must be published.
fn zone_line(owner: &str, text: &str) -> String {
    let mut strings: Vec<String> = Vec::new();
    let mut current = String::new();
    for c in text.chars() {
        if current.len() + c.len_utf8() > 255 {
            strings.push(std::mem::take(&mut current));
        }
        current.push(c);
    }
    strings.push(current);
    let quoted: Vec<String> = strings
        .iter()
        .map(|s| format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\"")))
        .collect();
    format!("{owner}. IN TXT {}", quoted.join(" "))
}

// ---------------------------------------------------------------------------
// Tag-list (RFC 6376 §3.2)

/// One `tag=value` of a tag-list, in record order.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Tag {
    name: String,
    value: String,
}

impl KeyTags {
    fn from_list(tags: &[Tag]) -> KeyTags {
        let get = |name: &str| {
            tags.iter()
                .find(|t| t.name == name)
                .map(|t| t.value.clone())
        };
        KeyTags {
            v: get("v"),
            h: get("h"),
            k: get("k"),
            n: get("n"),
            p: get("p"),
            s: get("s"),
            t: get("t"),
        }
    }
}

/// WSP and the CR LF of FWS (RFC 6376 §2.8).
fn is_fws(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\r' | '\n')
}

/// Splits a tag-list into its tags. Empty tag-specs (`;;`, a trailing `;`
/// with space after it) are passed over, as verifiers do; a spec without
/// `=`, a malformed tag name, or a tag named twice (which §3.2 says
/// invalidates the whole list) is an error.
fn parse_tag_list(text: &str) -> Result<Vec<Tag>, String> {
    let mut tags: Vec<Tag> = Vec::new();
    for spec in text.split(';') {
        let spec = spec.trim_matches(is_fws);
        if spec.is_empty() {
            continue;
        }
        let Some((name, value)) = spec.split_once('=') else {
            return Err(format!(
                "`{spec}` is not a tag=value pair (a `;` or `=` missing?)"
            ));
        };
        let name = name.trim_matches(is_fws);
        let mut chars = name.chars();
        let well_formed = chars.next().is_some_and(|c| c.is_ascii_alphabetic())
            && chars.all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !well_formed {
            return Err(format!(
                "`{name}` is not a tag name (letters, digits and _)"
            ));
        }
        if tags.iter().any(|t| t.name == name) {
            return Err(format!(
                "the tag {name}= appears twice, which makes the whole record invalid \
                 (RFC 6376 §3.2)"
            ));
        }
        tags.push(Tag {
            name: name.to_string(),
            value: value.trim_matches(is_fws).to_string(),
        });
    }
    Ok(tags)
}

// ---------------------------------------------------------------------------
// Base64 (RFC 4648 §4, with the folding whitespace RFC 6376 §2.6 allows)

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum Base64Error {
    #[error("`{character}` (character {position}) is not a base64 character")]
    BadCharacter { character: char, position: usize },
    #[error("`=` padding is followed by more data")]
    DataAfterPadding,
    #[error("{0} base64 characters cannot encode whole bytes (the key was cut short?)")]
    Length(usize),
}

pub(crate) fn decode_base64(text: &str) -> Result<Vec<u8>, Base64Error> {
    let mut sextets: Vec<u8> = Vec::with_capacity(text.len());
    let mut padding = 0usize;
    for (index, c) in text.chars().enumerate() {
        if is_fws(c) {
            continue;
        }
        if c == '=' {
            padding += 1;
            continue;
        }
        if padding > 0 {
            return Err(Base64Error::DataAfterPadding);
        }
        let sextet = match c {
            'A'..='Z' => c as u8 - b'A',
            'a'..='z' => c as u8 - b'a' + 26,
            '0'..='9' => c as u8 - b'0' + 52,
            '+' => 62,
            '/' => 63,
            _ => {
                return Err(Base64Error::BadCharacter {
                    character: c,
                    position: index + 1,
                });
            }
        };
        sextets.push(sextet);
    }
    // Padding may be left out, as many encoders do, but when present it
    // must complete the last group.
    let padded_wrong = padding > 2 || (padding > 0 && !(sextets.len() + padding).is_multiple_of(4));
    if padded_wrong || sextets.len() % 4 == 1 {
        return Err(Base64Error::Length(sextets.len() + padding));
    }
    let mut out = Vec::with_capacity(sextets.len() / 4 * 3 + 2);
    for group in sextets.chunks(4) {
        let bits = group
            .iter()
            .enumerate()
            .fold(0u32, |acc, (i, &s)| acc | (u32::from(s) << (18 - 6 * i)));
        let bytes = bits.to_be_bytes();
        out.extend_from_slice(bytes.get(1..group.len()).unwrap_or_default());
    }
    Ok(out)
}

fn encode_base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for group in bytes.chunks(3) {
        let bits = group
            .iter()
            .enumerate()
            .fold(0u32, |acc, (i, &b)| acc | (u32::from(b) << (16 - 8 * i)));
        for i in 0..4 {
            if i <= group.len() {
                let sextet = (bits >> (18 - 6 * i)) & 63;
                out.push(char::from(ALPHABET[sextet as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

// ---------------------------------------------------------------------------
// DER (X.690 §10), only as far as an RSA public key needs

const TAG_INTEGER: u8 = 0x02;
const TAG_BIT_STRING: u8 = 0x03;
const TAG_OID: u8 = 0x06;
const TAG_SEQUENCE: u8 = 0x30;

/// rsaEncryption, 1.2.840.113549.1.1.1 (RFC 8017 §A.1).
const OID_RSA_ENCRYPTION: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01];
/// id-Ed25519, 1.3.101.112 (RFC 8410 §3).
const OID_ED25519: &[u8] = &[0x2b, 0x65, 0x70];
/// id-ecPublicKey, 1.2.840.10045.2.1 (RFC 5480 §2.1.1).
const OID_EC_PUBLIC_KEY: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01];

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
enum DerError {
    #[error("the key data ends early (was it cut short?)")]
    Truncated,
    #[error("expected {expected}, found DER tag 0x{found:02x}")]
    UnexpectedTag { expected: &'static str, found: u8 },
    #[error("a DER length is malformed")]
    BadLength,
    #[error("{0} stray bytes follow the key")]
    TrailingData(usize),
    #[error("the key is {0}, not RSA")]
    NotRsa(String),
    #[error("the BIT STRING holding the key declares unused bits")]
    UnusedBits,
    #[error("the RSA {0} is not a positive integer")]
    NotPositive(&'static str),
}

/// Reads DER elements off the front of a byte string.
struct DerReader<'a> {
    rest: &'a [u8],
}

impl<'a> DerReader<'a> {
    fn new(input: &'a [u8]) -> DerReader<'a> {
        DerReader { rest: input }
    }

    fn peek_tag(&self) -> Option<u8> {
        self.rest.first().copied()
    }

    /// The contents of the next element, which must carry `tag`.
    fn read(&mut self, tag: u8, expected: &'static str) -> Result<&'a [u8], DerError> {
        let (&found, after_tag) = self.rest.split_first().ok_or(DerError::Truncated)?;
        if found != tag {
            return Err(DerError::UnexpectedTag { expected, found });
        }
        let (&first, after_first) = after_tag.split_first().ok_or(DerError::Truncated)?;
        let (len, body) = if first < 0x80 {
            (usize::from(first), after_first)
        } else {
            // 0x80 is BER's indefinite length, which DER forbids; more than
            // four length octets would describe a key of gigabytes.
            let count = usize::from(first & 0x7f);
            if count == 0 || count > 4 {
                return Err(DerError::BadLength);
            }
            let (octets, body) = after_first
                .split_at_checked(count)
                .ok_or(DerError::Truncated)?;
            let len = octets
                .iter()
                .fold(0usize, |acc, &b| (acc << 8) | usize::from(b));
            (len, body)
        };
        let (content, rest) = body.split_at_checked(len).ok_or(DerError::Truncated)?;
        self.rest = rest;
        Ok(content)
    }

    fn finish(&self) -> Result<(), DerError> {
        match self.rest.len() {
            0 => Ok(()),
            n => Err(DerError::TrailingData(n)),
        }
    }
}

/// The modulus length of an RSA public key given as a SubjectPublicKeyInfo
/// with algorithm rsaEncryption, or as a bare RSAPublicKey.
fn rsa_modulus_bits(der: &[u8]) -> Result<u32, DerError> {
    let mut outer = DerReader::new(der);
    let body = outer.read(TAG_SEQUENCE, "a SEQUENCE")?;
    outer.finish()?;
    let mut fields = DerReader::new(body);
    if fields.peek_tag() == Some(TAG_INTEGER) {
        return rsa_public_key_bits(fields);
    }
    let algorithm = fields.read(TAG_SEQUENCE, "an AlgorithmIdentifier SEQUENCE")?;
    let key = fields.read(TAG_BIT_STRING, "the subjectPublicKey BIT STRING")?;
    fields.finish()?;
    let oid = DerReader::new(algorithm).read(TAG_OID, "an algorithm OID")?;
    if oid != OID_RSA_ENCRYPTION {
        return Err(DerError::NotRsa(algorithm_name(oid)));
    }
    let (&unused_bits, key) = key.split_first().ok_or(DerError::Truncated)?;
    if unused_bits != 0 {
        return Err(DerError::UnusedBits);
    }
    let mut key = DerReader::new(key);
    let rsa = key.read(TAG_SEQUENCE, "the RSAPublicKey SEQUENCE")?;
    key.finish()?;
    rsa_public_key_bits(DerReader::new(rsa))
}

/// `RSAPublicKey ::= SEQUENCE { modulus INTEGER, publicExponent INTEGER }`,
/// from inside the SEQUENCE.
fn rsa_public_key_bits(mut fields: DerReader<'_>) -> Result<u32, DerError> {
    let modulus = fields.read(TAG_INTEGER, "the modulus INTEGER")?;
    let exponent = fields.read(TAG_INTEGER, "the public exponent INTEGER")?;
    fields.finish()?;
    positive_bits(exponent).ok_or(DerError::NotPositive("public exponent"))?;
    positive_bits(modulus).ok_or(DerError::NotPositive("modulus"))
}

/// The bit length of a DER INTEGER, `None` unless it is above zero. DER
/// integers are two's complement, so a positive one whose top bit is set
/// carries a leading zero byte, which is not part of its length.
fn positive_bits(integer: &[u8]) -> Option<u32> {
    if integer.first()? & 0x80 != 0 {
        return None;
    }
    let start = integer.iter().position(|&b| b != 0)?;
    let significant = integer.get(start..)?;
    let top = significant.first()?;
    let whole_bytes = u32::try_from(significant.len() - 1).ok()?;
    whole_bytes
        .checked_mul(8)?
        .checked_add(8 - top.leading_zeros())
}

fn algorithm_name(oid: &[u8]) -> String {
    if oid == OID_ED25519 {
        "an Ed25519 key (then set k=ed25519 and publish only its 32 bytes)".into()
    } else if oid == OID_EC_PUBLIC_KEY {
        "an elliptic-curve (ECDSA) key, which DKIM does not use".into()
    } else {
        format!("a key of algorithm {}", dotted_oid(oid))
    }
}

/// An OID's contents in dotted form (X.690 §8.19).
fn dotted_oid(oid: &[u8]) -> String {
    let mut arcs: Vec<u64> = Vec::new();
    let mut value: u64 = 0;
    for &b in oid {
        value = (value << 7) | u64::from(b & 0x7f);
        if b & 0x80 == 0 {
            if arcs.is_empty() {
                let first = (value / 40).min(2);
                arcs.push(first);
                arcs.push(value - first * 40);
            } else {
                arcs.push(value);
            }
            value = 0;
        }
    }
    arcs.iter()
        .map(u64::to_string)
        .collect::<Vec<_>>()
        .join(".")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::findings::Severity;

    // Real keys, made with openssl for these tests and the fixtures.
    const RSA_512: &str = "MFwwDQYJKoZIhvcNAQEBBQADSwAwSAJBAM6JfKjFmMMkc9qHaX/IWaGzKT24kXzuRubbjcOIcNoAUvisWqzU3bT0nQBcdBhbNgloUmeFs9J1DLEhFSVJWP8CAwEAAQ==";
    const RSA_1024: &str = "MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQDPxG1LzyOA1r/bX09wBtJRs4HkG8/xEiNyEilmD/tGPhU28yAm1wl7PeVRcfhH0TJexFOamji/93GFp+mooa9/JSZ1uo5VReJqADxQt0wj0gDPi2PkaHJhJaYho+fxF4sIq/8eqtatkXxuVlkIoLXO1rE5WfUhGfGkTf7CockyNQIDAQAB";
    const RSA_2048: &str = "MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAnuj17Vt09V1vL5fWe5S4aFq3XpS4TAD8Pa2mJ6YDp8H0Z/tBYM5OTD/TDQ/U36e1WOWDGjH6MOMaibh/igXZkU+eyplPE3BqFsO5hsc4eizLwYYhNU0vEqUQ6P9SJT6/siL9Nbv0caPHAg9lgp3EMzSNbJ5+saZGdJYGnyWNvKRms0ob9bzP9279D1cXFssCSyqRr8NvuHcE9tLugK7/s8ag/fupTIJXR6vVN5DT+7ZZ7N6jEivEvJisLEs1EG8ncpUDwtTpZ+iT+hJVOhwaDxQnJtXOfgEPDZ0kz7N0im6ctcu4iCDPAm22s1ZTXh/M2bil1V3HgJXBlSyjiGRNXwIDAQAB";
    const RSA_1024_PKCS1: &str = "MIGJAoGBAM/EbUvPI4DWv9tfT3AG0lGzgeQbz/ESI3ISKWYP+0Y+FTbzICbXCXs95VFx+EfRMl7EU5qaOL/3cYWn6aihr38lJnW6jlVF4moAPFC3TCPSAM+LY+RocmElpiGj5/EXiwir/x6q1q2RfG5WWQigtc7WsTlZ9SEZ8aRN/sKhyTI1AgMBAAE=";
    const RSA_2048_PKCS1: &str = "MIIBCgKCAQEAnuj17Vt09V1vL5fWe5S4aFq3XpS4TAD8Pa2mJ6YDp8H0Z/tBYM5OTD/TDQ/U36e1WOWDGjH6MOMaibh/igXZkU+eyplPE3BqFsO5hsc4eizLwYYhNU0vEqUQ6P9SJT6/siL9Nbv0caPHAg9lgp3EMzSNbJ5+saZGdJYGnyWNvKRms0ob9bzP9279D1cXFssCSyqRr8NvuHcE9tLugK7/s8ag/fupTIJXR6vVN5DT+7ZZ7N6jEivEvJisLEs1EG8ncpUDwtTpZ+iT+hJVOhwaDxQnJtXOfgEPDZ0kz7N0im6ctcu4iCDPAm22s1ZTXh/M2bil1V3HgJXBlSyjiGRNXwIDAQAB";
    const ED25519_RAW: &str = "IHXU33laJ2zpPzLtcBGHyFC+v6x+slB0NPFYq0SsCl4=";
    const ED25519_SPKI: &str = "MCowBQYDK2VwAyEAIHXU33laJ2zpPzLtcBGHyFC+v6x+slB0NPFYq0SsCl4=";

    fn domain() -> DomainName {
        DomainName::parse("example.com").unwrap()
    }

    fn key(record: &str) -> KeyRecord {
        read_key_record(record)
    }

    fn der(b64: &str) -> Vec<u8> {
        decode_base64(b64).unwrap()
    }

    /// A lookup that answered with these TXT records.
    fn answered(selector: &str, source: SelectorSource, records: &[&str]) -> Fetched {
        Fetched {
            selector: selector.into(),
            source,
            name: format!("{selector}._domainkey.example.com"),
            answer: Ok(TxtAnswer {
                records: records.iter().map(|r| r.as_bytes().to_vec()).collect(),
                cname_chain: Vec::new(),
                nxdomain: records.is_empty(),
                below_nxdomain: false,
            }),
        }
    }

    fn failed(selector: &str, source: SelectorSource) -> Fetched {
        Fetched {
            answer: Err(FetchError::Dns(DnsError::ServFail)),
            ..answered(selector, source, &[])
        }
    }

    /// Every planned selector answered: `hits` with records, the rest
    /// NXDOMAIN.
    fn audit(given: &[&str], hits: &[(&str, &[&str])]) -> Checked<DkimSection> {
        let given: Vec<String> = given.iter().map(|s| s.to_string()).collect();
        let fetched = plan(&domain(), &given)
            .into_iter()
            .map(|(selector, source)| {
                let records = hits
                    .iter()
                    .find(|(s, _)| *s == selector)
                    .map_or(&[][..], |(_, r)| *r);
                answered(&selector, source, records)
            })
            .collect();
        evaluate(&domain(), fetched)
    }

    fn codes(checked: &Checked<DkimSection>) -> Vec<&'static str> {
        checked.findings.iter().map(|f| f.code).collect()
    }

    fn rsa_record(extra: &str, b64: &str) -> String {
        format!("v=DKIM1; k=rsa; {extra}p={b64}")
    }

    // --- base64 -------------------------------------------------------

    #[test]
    fn base64_decodes_padded_unpadded_and_folded_text() {
        assert_eq!(decode_base64("").unwrap(), b"");
        assert_eq!(decode_base64("Zg==").unwrap(), b"f");
        assert_eq!(decode_base64("Zm8=").unwrap(), b"fo");
        assert_eq!(decode_base64("Zm9v").unwrap(), b"foo");
        assert_eq!(decode_base64("Zm9vYg").unwrap(), b"foob");
        assert_eq!(decode_base64("Zm9v\r\n YmFy").unwrap(), b"foobar");
        assert_eq!(decode_base64("Zm9vYg =\t=").unwrap(), b"foob");
    }

    #[test]
    fn base64_rejects_what_no_encoder_writes() {
        assert_eq!(
            decode_base64("Zm9v!"),
            Err(Base64Error::BadCharacter {
                character: '!',
                position: 5
            })
        );
        assert_eq!(
            decode_base64("Zg==Zg=="),
            Err(Base64Error::DataAfterPadding)
        );
        assert_eq!(decode_base64("Zm9vY"), Err(Base64Error::Length(5)));
        assert_eq!(decode_base64("Zg="), Err(Base64Error::Length(3)));
        assert_eq!(decode_base64("Zg==="), Err(Base64Error::Length(5)));
        assert!(
            decode_base64("Zm9v-_").is_err(),
            "base64url is not DKIM's alphabet"
        );
    }

    #[test]
    fn base64_encoding_round_trips() {
        for input in [&b""[..], b"f", b"fo", b"foo", b"foob", b"\xff\x00\xfe"] {
            assert_eq!(decode_base64(&encode_base64(input)).unwrap(), input);
        }
        assert_eq!(encode_base64(b"fo"), "Zm8=");
        assert_eq!(encode_base64(&der(ED25519_RAW)), ED25519_RAW);
    }

    // --- DER ----------------------------------------------------------

    #[test]
    fn rsa_key_sizes_from_subject_public_key_info() {
        assert_eq!(rsa_modulus_bits(&der(RSA_512)), Ok(512));
        assert_eq!(rsa_modulus_bits(&der(RSA_1024)), Ok(1024));
        assert_eq!(rsa_modulus_bits(&der(RSA_2048)), Ok(2048));
    }

    #[test]
    fn rsa_key_sizes_from_bare_pkcs1() {
        assert_eq!(rsa_modulus_bits(&der(RSA_1024_PKCS1)), Ok(1024));
        assert_eq!(rsa_modulus_bits(&der(RSA_2048_PKCS1)), Ok(2048));
    }

    #[test]
    fn modulus_length_ignores_the_sign_byte_only() {
        // The leading zero of 00 80 01 is the sign; 80 01 is 16 bits.
        let bare = [0x30, 0x08, 0x02, 0x03, 0x00, 0x80, 0x01, 0x02, 0x01, 0x03];
        assert_eq!(rsa_modulus_bits(&bare), Ok(16));
        let small_top = [0x30, 0x07, 0x02, 0x02, 0x01, 0x01, 0x02, 0x01, 0x03];
        assert_eq!(rsa_modulus_bits(&small_top), Ok(9));
    }

    #[test]
    fn malformed_rsa_keys_are_errors_not_panics() {
        let full = der(RSA_2048);
        for cut in [0, 1, 2, 4, 30, 100, full.len() - 1] {
            assert!(rsa_modulus_bits(&full[..cut]).is_err(), "cut at {cut}");
        }
        let mut trailing = full.clone();
        trailing.push(0);
        assert_eq!(rsa_modulus_bits(&trailing), Err(DerError::TrailingData(1)));
        let negative = [0x30, 0x06, 0x02, 0x01, 0x80, 0x02, 0x01, 0x03];
        assert_eq!(
            rsa_modulus_bits(&negative),
            Err(DerError::NotPositive("modulus"))
        );
        let zero = [0x30, 0x06, 0x02, 0x01, 0x00, 0x02, 0x01, 0x03];
        assert_eq!(
            rsa_modulus_bits(&zero),
            Err(DerError::NotPositive("modulus"))
        );
        let zero_exponent = [0x30, 0x06, 0x02, 0x01, 0x05, 0x02, 0x01, 0x00];
        assert_eq!(
            rsa_modulus_bits(&zero_exponent),
            Err(DerError::NotPositive("public exponent"))
        );
        let indefinite = [0x30, 0x80, 0x02, 0x01, 0x05, 0x02, 0x01, 0x03, 0x00, 0x00];
        assert_eq!(rsa_modulus_bits(&indefinite), Err(DerError::BadLength));
        let huge_length = [0x30, 0x85, 0x01, 0x00, 0x00, 0x00, 0x00];
        assert_eq!(rsa_modulus_bits(&huge_length), Err(DerError::BadLength));
        assert!(matches!(
            rsa_modulus_bits(&[0x04, 0x00]),
            Err(DerError::UnexpectedTag { found: 0x04, .. })
        ));
        let mut unused = full.clone();
        unused[23] = 1; // the BIT STRING's unused-bits octet
        assert_eq!(rsa_modulus_bits(&unused), Err(DerError::UnusedBits));
    }

    #[test]
    fn spki_of_another_algorithm_is_named() {
        let err = rsa_modulus_bits(&der(ED25519_SPKI)).unwrap_err();
        assert!(err.to_string().contains("Ed25519"), "{err}");
        // An EC P-256 SPKI header (the point does not matter here).
        let mut ec = vec![
            0x30, 0x11, 0x30, 0x0b, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, 0x05,
            0x00, 0x03, 0x02, 0x00, 0x04,
        ];
        assert!(matches!(rsa_modulus_bits(&ec), Err(DerError::NotRsa(n)) if n.contains("ECDSA")));
        ec[12] = 0x02; // 1.2.840.10045.2.2, no algorithm we name
        assert!(
            matches!(rsa_modulus_bits(&ec), Err(DerError::NotRsa(n)) if n.contains("1.2.840.10045.2.2"))
        );
    }

    // --- tag-list -----------------------------------------------------

    #[test]
    fn tag_lists_parse_with_folding_whitespace_and_empty_specs() {
        let tags = parse_tag_list(" v = DKIM1 ;\r\n\tk=rsa;; p=ab cd ; ").unwrap();
        let pairs: Vec<(&str, &str)> = tags
            .iter()
            .map(|t| (t.name.as_str(), t.value.as_str()))
            .collect();
        assert_eq!(pairs, [("v", "DKIM1"), ("k", "rsa"), ("p", "ab cd")]);
        assert_eq!(parse_tag_list("").unwrap(), []);
        let unknown = parse_tag_list("x_1=anything; p=").unwrap();
        assert_eq!(unknown.len(), 2);
    }

    #[test]
    fn malformed_tag_lists_are_errors() {
        for (record, says) in [
            ("v=DKIM1; k=rsa; p", "not a tag=value"),
            ("v=DKIM1; rsa", "not a tag=value"),
            ("v=DKIM1; 1k=rsa; p=", "not a tag name"),
            ("v=DKIM1; k-x=rsa; p=", "not a tag name"),
            ("v=DKIM1; =rsa; p=", "not a tag name"),
            ("v=DKIM1; p=; p=abc", "appears twice"),
        ] {
            let err = parse_tag_list(record).unwrap_err();
            assert!(err.contains(says), "{record}: {err}");
        }
    }

    #[test]
    fn only_key_records_count_as_keys() {
        for yes in [
            "v=DKIM1; p=",
            "v=DKIM2; p=abc",
            "v=dkim1 p=abc",
            "p=abc",
            "k=rsa; t=y",
            "x=1; p=",
        ] {
            assert!(is_key_record(yes), "{yes}");
        }
        for no in [
            "v=spf1 include:_spf.google.com ~all",
            "v=DMARC1; p=reject",
            "google-site-verification=abc",
            "hello world",
            "",
        ] {
            assert!(!is_key_record(no), "{no}");
        }
    }

    // --- key records --------------------------------------------------

    #[test]
    fn valid_rsa_and_ed25519_keys() {
        let rsa = key(&rsa_record("", RSA_2048));
        assert_eq!(
            (rsa.status, rsa.algorithm, rsa.bits, rsa.usable),
            (KeyStatus::Valid, Some(KeyAlgorithm::Rsa), Some(2048), true)
        );
        assert_eq!(rsa.tags.as_ref().unwrap().k.as_deref(), Some("rsa"));
        assert_eq!(rsa.tags.as_ref().unwrap().p.as_deref(), Some(RSA_2048));
        assert_eq!(rsa.problem, None);

        let no_k_no_v = key(&format!("p={RSA_2048_PKCS1}"));
        assert_eq!(
            (no_k_no_v.status, no_k_no_v.bits),
            (KeyStatus::Valid, Some(2048))
        );

        let upper_k = key(&format!("v=DKIM1; k=RSA; p={RSA_1024}"));
        assert_eq!(upper_k.bits, Some(1024));

        let ed = key(&format!("v=DKIM1; k=ed25519; p={ED25519_RAW}"));
        assert_eq!(
            (ed.status, ed.algorithm, ed.bits, ed.usable),
            (
                KeyStatus::Valid,
                Some(KeyAlgorithm::Ed25519),
                Some(256),
                true
            )
        );

        let (head, tail) = RSA_2048.split_at(150);
        let folded = key(&format!("v=DKIM1; k=rsa; p={head}\r\n {tail}"));
        assert_eq!(folded.bits, Some(2048));
    }

    #[test]
    fn revoked_keys() {
        for record in [
            "v=DKIM1; p=",
            "v=DKIM1; k=rsa; p= ;",
            "p=",
            "v=DKIM1; k=dsa; p=",
        ] {
            let k = key(record);
            assert_eq!(k.status, KeyStatus::Revoked, "{record}");
            assert!(!k.usable);
        }
    }

    #[test]
    fn invalid_keys_say_why() {
        let cases: Vec<(String, &str)> = vec![
            (
                "v=DKIM1; k=rsa; p=not-base64!".into(),
                "not a base64 character",
            ),
            (
                format!("v=DKIM1; k=rsa; p={}", &RSA_2048[..200]),
                "ends early",
            ),
            (
                format!("v=DKIM1; k=rsa; p={}", &RSA_2048[..201]),
                "cannot encode whole bytes",
            ),
            (
                format!("v=DKIM1; k=dsa; p={RSA_1024}"),
                "k=dsa is not a DKIM key type",
            ),
            (format!("v=DKIM2; p={RSA_1024}"), "v=DKIM2"),
            (format!("v=dkim1; p={RSA_1024}"), "exactly DKIM1"),
            (format!("v=DKIM1 p={RSA_1024}"), "exactly DKIM1"),
            ("v=DKIM1; k=rsa".into(), "no p= tag"),
            (
                format!("v=DKIM1; k=ed25519; p={RSA_1024}"),
                "decodes to 162 bytes",
            ),
            (
                format!("v=DKIM1; k=ed25519; p={ED25519_SPKI}"),
                "SubjectPublicKeyInfo",
            ),
            (
                format!("v=DKIM1; p={ED25519_RAW}"),
                "k=ed25519 seems to be missing",
            ),
            (format!("v=DKIM1; k=rsa; p={ED25519_SPKI}"), "Ed25519"),
            (
                format!("v=DKIM1; p={RSA_1024}; p={RSA_1024}"),
                "appears twice",
            ),
        ];
        for (record, says) in cases {
            let k = key(&record);
            assert_eq!(k.status, KeyStatus::Invalid, "{record}");
            assert!(!k.usable);
            let problem = k.problem.unwrap();
            assert!(problem.contains(says), "{record}: {problem}");
        }
    }

    #[test]
    fn usable_needs_size_sha256_and_the_email_service() {
        assert!(!key(&rsa_record("", RSA_512)).usable);
        assert!(key(&rsa_record("", RSA_1024)).usable);
        assert!(key(&rsa_record("t=y; ", RSA_2048)).usable);
        assert!(key(&rsa_record("h=sha256; ", RSA_2048)).usable);
        assert!(key(&rsa_record("h=sha1:sha256; ", RSA_2048)).usable);
        assert!(!key(&rsa_record("h=sha1; ", RSA_2048)).usable);
        assert!(key(&rsa_record("s=email; ", RSA_2048)).usable);
        assert!(key(&rsa_record("s=*; ", RSA_2048)).usable);
        assert!(key(&rsa_record("h=; s=; ", RSA_2048)).usable);
        let other = key(&rsa_record("s=other; ", RSA_2048));
        assert!(!other.usable);
        assert!(other.problem.unwrap().contains("s="));
    }

    // --- findings -----------------------------------------------------

    #[test]
    fn a_healthy_key_gives_no_finding() {
        let rsa = rsa_record("", RSA_2048);
        let checked = audit(&[], &[("selector1", &[&rsa])]);
        assert_eq!(codes(&checked), Vec::<&str>::new());
        assert_eq!(checked.section.status, DkimStatus::Found);
        assert_eq!(checked.section.has_usable_key(), Some(true));
        assert_eq!(
            checked.section.selectors.len(),
            1,
            "not-found probes are left out"
        );
        let ed = format!("v=DKIM1; k=ed25519; p={ED25519_RAW}");
        assert_eq!(
            codes(&audit(&[], &[("default", &[&ed])])),
            Vec::<&str>::new()
        );
        for extra in ["t=s; ", "h=sha256; ", "h=sha1:sha256; ", "n=rotated 2026; "] {
            let record = rsa_record(extra, RSA_2048);
            assert_eq!(
                codes(&audit(&[], &[("s1", &[&record])])),
                Vec::<&str>::new(),
                "{extra}"
            );
        }
    }

    #[test]
    fn key_size_findings() {
        let short = audit(&[], &[("default", &[&rsa_record("", RSA_512)])]);
        assert_eq!(codes(&short), ["dkim.key_too_short"]);
        assert_eq!(short.findings[0].severity, Severity::Error);
        assert!(short.findings[0].detail.contains("512 bits"));
        assert!(
            short.findings[0]
                .detail
                .contains("default._domainkey.example.com")
        );
        assert!(
            short.findings[0]
                .fix
                .contains("default._domainkey.example.com. IN TXT \"v=DKIM1; p=\"")
        );
        assert_eq!(short.section.has_usable_key(), Some(false));

        let k1024 = audit(&[], &[("k1", &[&rsa_record("", RSA_1024)])]);
        assert_eq!(codes(&k1024), ["dkim.key_1024"]);
        assert_eq!(k1024.section.has_usable_key(), Some(true));
    }

    #[test]
    fn revoked_and_invalid_keys_get_only_their_own_code() {
        let revoked = audit(&[], &[("s1", &["v=DKIM1; t=y; h=sha1; p="])]);
        assert_eq!(codes(&revoked), ["dkim.key_revoked"]);
        assert_eq!(revoked.section.status, DkimStatus::Found);
        assert_eq!(revoked.section.has_usable_key(), Some(false));

        let invalid = audit(&[], &[("s1", &["v=DKIM1; t=y; h=sha1; p=!!"])]);
        assert_eq!(codes(&invalid), ["dkim.key_invalid"]);
        assert!(
            invalid.findings[0]
                .detail
                .contains("not a base64 character")
        );
        assert_eq!(invalid.section.status, DkimStatus::Found);

        let malformed = audit(&[], &[("s1", &["v=DKIM1; k=rsa; p"])]);
        assert_eq!(codes(&malformed), ["dkim.key_invalid"]);
        assert!(malformed.section.selectors[0].keys[0].tags.is_none());

        let rotated = rsa_record("", RSA_2048);
        let both = audit(&[], &[("s1", &["v=DKIM1; p="]), ("s2", &[&rotated])]);
        assert_eq!(codes(&both), ["dkim.key_revoked"]);
        assert_eq!(both.section.has_usable_key(), Some(true));
    }

    #[test]
    fn testing_mode_only_with_the_y_flag() {
        for (t, fires) in [
            ("y", true),
            ("s:y", true),
            (" y : s ", true),
            ("s", false),
            ("", false),
        ] {
            let record = rsa_record(&format!("t={t}; "), RSA_2048);
            let checked = audit(&[], &[("selector2", &[&record])]);
            let expected: &[&str] = if fires { &["dkim.testing_mode"] } else { &[] };
            assert_eq!(codes(&checked), expected, "t={t}");
        }
        let record = rsa_record("t=s:y; ", RSA_2048);
        let fix = &audit(&[], &[("s1", &[&record])]).findings[0].fix;
        assert!(fix.contains("\"v=DKIM1; k=rsa; t=s; p=MIIB"), "{fix}");
        let record = rsa_record("t=y; ", RSA_2048);
        let fix = &audit(&[], &[("s1", &[&record])]).findings[0].fix;
        assert!(fix.contains("\"v=DKIM1; k=rsa; p=MIIB"), "{fix}");
    }

    #[test]
    fn sha1_only_when_sha1_is_listed_without_sha256() {
        for (h, fires) in [
            ("sha1", true),
            ("SHA1", true),
            ("sha1:other", true),
            ("sha256", false),
            ("sha1:sha256", false),
            ("sha512", false),
        ] {
            let record = rsa_record(&format!("h={h}; "), RSA_2048);
            let checked = audit(&[], &[("mail", &[&record])]);
            let expected: &[&str] = if fires { &["dkim.sha1_only"] } else { &[] };
            assert_eq!(codes(&checked), expected, "h={h}");
        }
        let record = rsa_record("h=sha1; ", RSA_2048);
        let finding = &audit(&[], &[("mail", &[&record])]).findings[0];
        assert!(
            finding.fix.contains("\"v=DKIM1; k=rsa; p=MIIB"),
            "{}",
            finding.fix
        );
        assert!(finding.detail.contains("h=sha1"));
    }

    #[test]
    fn several_problems_on_one_key_are_each_reported() {
        let record = rsa_record("t=y; h=sha1; ", RSA_1024);
        let checked = audit(&[], &[("k1", &[&record])]);
        assert_eq!(
            codes(&checked),
            ["dkim.key_1024", "dkim.testing_mode", "dkim.sha1_only"]
        );
    }

    #[test]
    fn invalid_key_fixes_are_computed_where_possible() {
        let spki = format!("v=DKIM1; k=ed25519; p={ED25519_SPKI}");
        let checked = audit(&[], &[("s2", &[&spki])]);
        assert_eq!(codes(&checked), ["dkim.key_invalid"]);
        let want =
            format!("s2._domainkey.example.com. IN TXT \"v=DKIM1; k=ed25519; p={ED25519_RAW}\"");
        assert!(
            checked.findings[0].fix.contains(&want),
            "{}",
            checked.findings[0].fix
        );

        let version = format!("v=DKIM2; p={RSA_1024}");
        let fix = &audit(&[], &[("s2", &[&version])]).findings[0].fix;
        assert!(fix.contains(&format!("\"v=DKIM1; p={RSA_1024}\"")), "{fix}");
        let no_semicolon = format!("v=DKIM1 p={RSA_1024}");
        let fix = &audit(&[], &[("s2", &[&no_semicolon])]).findings[0].fix;
        assert!(fix.contains("p=<base64 public key>"), "{fix}");

        let missing_k = format!("v=DKIM1; p={ED25519_RAW}");
        let fix = &audit(&[], &[("s2", &[&missing_k])]).findings[0].fix;
        assert!(
            fix.contains(&format!("\"v=DKIM1; k=ed25519; p={ED25519_RAW}\"")),
            "{fix}"
        );
    }

    #[test]
    fn nothing_found_without_selectors_is_unknown() {
        let checked = audit(&[], &[]);
        assert_eq!(codes(&checked), ["dkim.no_selector_found"]);
        assert_eq!(checked.findings[0].severity, Severity::Warning);
        assert!(
            checked.findings[0]
                .detail
                .contains("unknown rather than missing")
        );
        assert_eq!(checked.section.status, DkimStatus::Unknown);
        assert!(checked.section.summary.starts_with("unknown"));
        assert_eq!(checked.section.has_usable_key(), None);
        assert_eq!(
            checked.section.selectors_checked.len(),
            COMMON_SELECTORS.len()
        );
        assert!(checked.section.selectors.is_empty());
        assert_eq!(checked.findings[0].evidence.len(), COMMON_SELECTORS.len());
    }

    #[test]
    fn nothing_found_at_given_selectors_is_not_found() {
        let checked = audit(&["custom2026"], &[]);
        assert_eq!(codes(&checked), ["dkim.no_selector_found"]);
        assert_eq!(checked.section.status, DkimStatus::NotFound);
        assert!(
            checked
                .section
                .summary
                .starts_with("not found at the given selectors (custom2026)")
        );
        assert_eq!(checked.section.has_usable_key(), Some(false));
        let given = &checked.section.selectors[0];
        assert_eq!(
            (given.selector.as_str(), given.source, given.status),
            (
                "custom2026",
                SelectorSource::Given,
                SelectorStatus::NotFound
            )
        );
    }

    #[test]
    fn a_key_at_a_given_selector_is_found() {
        let rsa = rsa_record("", RSA_2048);
        let checked = audit(&["custom2026"], &[("custom2026", &[&rsa])]);
        assert_eq!(codes(&checked), Vec::<&str>::new());
        assert_eq!(checked.section.selectors[0].source, SelectorSource::Given);
        assert_eq!(
            checked.section.selectors[0].status,
            SelectorStatus::KeyFound
        );
    }

    #[test]
    fn other_txt_records_are_not_keys() {
        let checked = audit(&[], &[("google", &["v=spf1 -all"])]);
        assert_eq!(codes(&checked), ["dkim.no_selector_found"]);
        let rsa = rsa_record("", RSA_2048);
        let checked = audit(&[], &[("google", &["v=spf1 -all", &rsa])]);
        assert_eq!(codes(&checked), Vec::<&str>::new());
        assert_eq!(checked.section.selectors[0].other_txt, ["v=spf1 -all"]);
        assert_eq!(checked.section.selectors[0].keys.len(), 1);
    }

    #[test]
    fn failed_lookups_never_make_dkim_missing() {
        let domain = domain();
        let all_failed: Vec<Fetched> = plan(&domain, &[])
            .into_iter()
            .map(|(s, source)| failed(&s, source))
            .collect();
        let checked = evaluate(&domain, all_failed);
        assert_eq!(codes(&checked), Vec::<&str>::new());
        assert_eq!(checked.section.status, DkimStatus::Unknown);
        assert!(checked.section.summary.contains("could not be checked"));
        assert_eq!(checked.section.has_usable_key(), None);
        assert!(
            checked
                .section
                .selectors
                .iter()
                .all(|s| s.status == SelectorStatus::Unknown && s.error.is_some())
        );

        // One failure among NXDOMAINs: the key may be behind it.
        let mut some_failed: Vec<Fetched> = plan(&domain, &["custom".into()])
            .into_iter()
            .map(|(s, source)| answered(&s, source, &[]))
            .collect();
        some_failed[3] = failed(&some_failed[3].selector, some_failed[3].source);
        let checked = evaluate(&domain, some_failed);
        assert_eq!(codes(&checked), Vec::<&str>::new());
        assert_eq!(checked.section.status, DkimStatus::Unknown);
        assert_eq!(checked.section.has_usable_key(), None);

        // A failure beside a usable key does not hide the key.
        let rsa = rsa_record("", RSA_2048);
        let mut found: Vec<Fetched> = plan(&domain, &[])
            .into_iter()
            .map(|(s, source)| {
                let records: &[&str] = if s == "google" { &[&rsa] } else { &[] };
                answered(&s, source, records)
            })
            .collect();
        found[5] = failed(&found[5].selector, found[5].source);
        let checked = evaluate(&domain, found);
        assert_eq!(codes(&checked), Vec::<&str>::new());
        assert_eq!(checked.section.status, DkimStatus::Found);
        assert_eq!(checked.section.has_usable_key(), Some(true));
        assert!(
            checked
                .section
                .summary
                .contains("1 selector lookup(s) failed")
        );

        // Only unusable keys and a failure: a usable key may be behind it.
        let short = rsa_record("", RSA_512);
        let mut unusable: Vec<Fetched> = plan(&domain, &[])
            .into_iter()
            .map(|(s, source)| {
                let records: &[&str] = if s == "google" { &[&short] } else { &[] };
                answered(&s, source, records)
            })
            .collect();
        unusable[5] = failed(&unusable[5].selector, unusable[5].source);
        assert_eq!(evaluate(&domain, unusable).section.has_usable_key(), None);
    }

    #[test]
    fn the_plan_asks_each_selector_once_callers_first() {
        let domain = domain();
        let given = vec![
            "Custom2026".to_string(),
            "google".into(),
            "s1._domainkey.example.com.".into(),
            "custom2026".into(),
        ];
        let plan = plan(&domain, &given);
        assert_eq!(plan[0], ("custom2026".into(), SelectorSource::Given));
        assert_eq!(plan[1], ("google".into(), SelectorSource::Given));
        assert_eq!(plan[2], ("s1".into(), SelectorSource::Given));
        assert_eq!(plan.len(), 1 + COMMON_SELECTORS.len());
        let mut names: Vec<&str> = plan.iter().map(|(s, _)| s.as_str()).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), plan.len());
    }

    #[test]
    fn the_common_list_holds_the_well_known_selectors_once() {
        for required in [
            "google",
            "selector1",
            "selector2",
            "k1",
            "k2",
            "k3",
            "s1",
            "s2",
            "default",
            "dkim",
            "mail",
            "smtp",
            "mandrill",
            "mxvault",
        ] {
            assert!(COMMON_SELECTORS.contains(&required), "{required}");
        }
        let mut sorted = COMMON_SELECTORS.to_vec();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(sorted.len(), COMMON_SELECTORS.len());
        for s in COMMON_SELECTORS {
            assert!(key_name(s, &domain()).is_ok(), "{s}");
        }
    }

    #[test]
    fn selectors_that_cannot_be_names_are_not_asked() {
        let domain = domain();
        for bad in [
            "",
            "a b",
            "a..b",
            "sel;ector",
            &"a".repeat(64),
            &"a.".repeat(120),
        ] {
            assert!(key_name(bad, &domain).is_err(), "{bad:?}");
        }
        let (text, name) = key_name("2026.mail-a_b", &domain).unwrap();
        assert_eq!(text, "2026.mail-a_b._domainkey.example.com");
        assert!(name.is_fqdn());

        let fetched: Vec<Fetched> = plan(&domain, &["bad selector".into()])
            .into_iter()
            .map(|(s, source)| match key_name(&s, &domain) {
                Ok(_) => answered(&s, source, &[]),
                Err(reason) => Fetched {
                    answer: Err(FetchError::BadSelector(reason)),
                    ..answered(&s, source, &[])
                },
            })
            .collect();
        let checked = evaluate(&domain, fetched);
        assert_eq!(
            checked.section.selectors[0].status,
            SelectorStatus::InvalidName
        );
        assert!(
            !checked
                .section
                .selectors_checked
                .contains(&"bad selector".to_string())
        );
        // Nothing asked at a given selector: the answer stays "unknown".
        assert_eq!(checked.section.status, DkimStatus::Unknown);
        assert_eq!(codes(&checked), ["dkim.no_selector_found"]);
    }

    #[test]
    fn cname_chains_are_shown_and_cited() {
        let rsa = rsa_record("", RSA_1024);
        let fetched = Fetched {
            answer: Ok(TxtAnswer {
                records: vec![rsa.clone().into_bytes()],
                cname_chain: vec!["selector1-example-com._domainkey.tenant.example.net.".into()],
                nxdomain: false,
                below_nxdomain: false,
            }),
            ..answered("selector1", SelectorSource::Probed, &[])
        };
        let checked = evaluate(&domain(), vec![fetched]);
        assert_eq!(codes(&checked), ["dkim.key_1024"]);
        let evidence = &checked.findings[0].evidence;
        assert_eq!(
            evidence[0],
            "selector1._domainkey.example.com CNAME selector1-example-com._domainkey.tenant.example.net."
        );
        assert!(
            evidence[1].starts_with("selector1-example-com._domainkey.tenant.example.net. TXT")
        );
    }

    #[test]
    fn zone_lines_split_at_255_bytes() {
        let record = rsa_record("", RSA_2048);
        let line = zone_line("s1._domainkey.example.com", &record);
        let strings: Vec<&str> = line
            .trim_start_matches("s1._domainkey.example.com. IN TXT ")
            .split("\" \"")
            .collect();
        assert_eq!(strings.len(), 2);
        assert_eq!(strings[0].trim_start_matches('"').len(), 255);
        assert_eq!(
            strings.concat().replace('"', ""),
            record,
            "the strings join to the record"
        );
        assert_eq!(zone_line("a.b", "x\"y"), "a.b. IN TXT \"x\\\"y\"");
    }

    #[test]
    fn the_section_serializes_with_clear_names() {
        let rsa = rsa_record("t=y; ", RSA_2048);
        let checked = audit(&["custom2026"], &[("google", &[&rsa])]);
        let json = serde_json::to_value(&checked.section).unwrap();
        assert_eq!(json["status"], "found");
        assert_eq!(json["selectors"][0]["status"], "not_found");
        assert_eq!(json["selectors"][0]["source"], "given");
        let google = &json["selectors"][1];
        assert_eq!(google["source"], "probed");
        assert_eq!(google["keys"][0]["algorithm"], "rsa");
        assert_eq!(google["keys"][0]["bits"], 2048);
        assert_eq!(google["keys"][0]["testing"], true);
        assert_eq!(google["keys"][0]["tags"]["t"], "y");
        assert!(google["keys"][0].get("tag_list").is_none());
    }
}
