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
//! "unknown", and a lookup that failed is never read as "no key". Where
//! the store holds the selectors the domain's DMARC aggregate reports
//! named ([`super::AuditOptions::learned_selectors`]), those are asked
//! instead of the common ones, and count like selectors the caller gave:
//! no key at them is "not found", not "unknown". Reports come from
//! anyone, so when no learned or given selector holds a key the common
//! ones are asked after all ([`fetch::fallback_probes`]): a forged report
//! naming made-up selectors cannot hide a key at a common one.
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
use super::protocol::{Audited, Protocol};
use crate::dns::Rcode;
use crate::findings::Checked;
use futures_util::future::join_all;
use hickory_proto::rr::RecordType;
use serde::Serialize;

mod evaluate;
mod fetch;
mod findings;
#[cfg(test)]
mod tests;

use crate::records::dkim_key::KeyRecord;

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

/// Whether the caller named a selector, the domain's DMARC aggregate
/// reports did, or the audit tried it on its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SelectorSource {
    Given,
    /// Seen signing the domain's mail in its DMARC aggregate reports.
    Learned,
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
    /// The longest character-string over 255 bytes in the answer, which
    /// only a zone file about to be published can hold; reported as a
    /// finding, not in the section.
    #[serde(skip)]
    pub long_string: Option<usize>,
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

/// DKIM: one key record per selector, so each finding names its own.
pub static PROTOCOL: Protocol = Protocol::per_finding("dkim", "DKIM");

impl Audited for DkimSection {
    fn protocol(&self) -> &'static Protocol {
        &PROTOCOL
    }

    fn undecided(&self) -> Option<String> {
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

    fn summary(&self) -> String {
        self.summary.clone()
    }
}

impl DkimSection {
    /// What the audit found at each of the `learned` selectors it asked:
    /// `true` a key record, `false` none; one whose lookup failed is left
    /// out. The store keeps it, so a selector proven by its key is asked
    /// first next time.
    pub fn learned_keys<'a>(&'a self, learned: &'a [String]) -> Vec<(&'a str, bool)> {
        learned
            .iter()
            .filter(|selector| self.selectors_checked.contains(selector))
            .filter_map(|selector| {
                let status = self
                    .selectors
                    .iter()
                    .find(|r| &r.selector == selector)
                    .map(|r| r.status);
                match status {
                    Some(SelectorStatus::KeyFound) => Some((selector.as_str(), true)),
                    None | Some(SelectorStatus::NotFound) => Some((selector.as_str(), false)),
                    Some(SelectorStatus::Unknown | SelectorStatus::InvalidName) => None,
                }
            })
            .collect()
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

/// Looks up every selector concurrently, unless the domain does not
/// exist, and judges what comes back.
pub async fn check(cx: &AuditContext<'_>) -> Checked<DkimSection> {
    let apex = cx.resolver.lookup(&cx.domain.fqdn(), RecordType::TXT).await;
    let absent = apex.is_ok_and(|a| a.rcode == Rcode::NXDomain && a.records.is_empty());
    let fetch_all = |plan: Vec<(String, SelectorSource)>| {
        join_all(plan.into_iter().map(|(selector, source)| {
            fetch::fetch(cx.resolver, cx.domain, selector, source, absent)
        }))
    };
    let mut fetched = fetch_all(fetch::plan(
        cx.domain,
        &cx.options.selectors,
        &cx.options.learned_selectors,
    ))
    .await;
    let fallback = fetch::fallback_probes(&fetched);
    if !fallback.is_empty() {
        fetched.extend(fetch_all(fallback).await);
    }
    evaluate::evaluate(cx.domain, fetched)
}
