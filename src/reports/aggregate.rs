//! The DMARC aggregate report as the store keeps it: RFC 7489 Appendix C
//! and RFC 9990 §3 (the `urn:ietf:params:xml:ns:dmarc-2.0` schema).
//!
//! A report is its metadata (who reported, the report id, the period), the
//! policy the reporter found published, and one [`Record`] per
//! (source IP, evaluated policy, identifiers, authentication results) with
//! a message count. Alignment is kept as the reporter saw it
//! (`policy_evaluated`), next to the raw DKIM and SPF results.
//!
//! Words are read as real receivers write them: case does not matter, and
//! the SPF results `hardfail`, `unknown` and `error` that older generators
//! send mean `fail`, `temperror` and `permerror` (RFC 7489 Appendix C notes
//! the last two). Domain names are kept lower-case without a final dot, so
//! one domain is one key however a reporter spelled it.

use crate::message::dmarc::AuthResult;
use crate::records::dmarc::{Alignment, Policy};
use crate::records::name::DomainName;
use serde::{Deserialize, Serialize};
use std::net::IpAddr;

/// Defines an enum of the words of one schema type, with its reading (any
/// case, whitespace around ignored) and its canonical spelling.
macro_rules! words {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident = $word:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        pub enum $name {
            $($(#[$vmeta])* #[serde(rename = $word)] $variant),+
        }

        impl $name {
            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $word),+
                }
            }

            pub fn parse(word: &str) -> Option<$name> {
                let word = word.trim();
                $(if word.eq_ignore_ascii_case($word) {
                    return Some($name::$variant);
                })+
                None
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

words! {
    /// What the receiver did with the messages (RFC 9990 adds `pass`: no
    /// action because DMARC passed under an enforcing policy).
    Disposition {
        None = "none",
        Pass = "pass",
        Quarantine = "quarantine",
        Reject = "reject",
    }
}

words! {
    /// The DMARC-aligned result of one mechanism (`policy_evaluated`).
    AlignedResult {
        Pass = "pass",
        Fail = "fail",
    }
}

words! {
    /// Why the receiver applied another policy than the published one
    /// (RFC 7489 Appendix C; RFC 9990 adds `policy_test_mode`). Words a
    /// reporter invents are kept as `other`.
    OverrideKind {
        Forwarded = "forwarded",
        SampledOut = "sampled_out",
        TrustedForwarder = "trusted_forwarder",
        MailingList = "mailing_list",
        LocalPolicy = "local_policy",
        PolicyTestMode = "policy_test_mode",
        Other = "other",
    }
}

words! {
    /// The identity SPF checked (RFC 9990 keeps only `mfrom`).
    SpfScope {
        Mfrom = "mfrom",
        Helo = "helo",
    }
}

words! {
    /// How the reporter found the DMARC record (RFC 9990 §3).
    DiscoveryMethod {
        Psl = "psl",
        Treewalk = "treewalk",
    }
}

/// Reads a DKIM or SPF result word, with the variants older generators
/// send: `hardfail` (fail), `unknown` (temperror), `error` (permerror).
pub fn auth_result(word: &str) -> Option<AuthResult> {
    let word = word.trim();
    if word.eq_ignore_ascii_case("hardfail") {
        Some(AuthResult::Fail)
    } else if word.eq_ignore_ascii_case("unknown") {
        Some(AuthResult::TempError)
    } else if word.eq_ignore_ascii_case("error") {
        Some(AuthResult::PermError)
    } else {
        AuthResult::parse(word)
    }
}

/// Reads `p`, `sp` or `np`.
pub fn policy(word: &str) -> Option<Policy> {
    match word.trim().to_ascii_lowercase().as_str() {
        "none" => Some(Policy::None),
        "quarantine" => Some(Policy::Quarantine),
        "reject" => Some(Policy::Reject),
        _ => None,
    }
}

/// Reads `adkim` or `aspf`; some reporters spell the modes out.
pub fn alignment(word: &str) -> Option<Alignment> {
    match word.trim().to_ascii_lowercase().as_str() {
        "r" | "relaxed" => Some(Alignment::Relaxed),
        "s" | "strict" => Some(Alignment::Strict),
        _ => None,
    }
}

/// A domain name as one key: trimmed, lower-case, no final dot, and in
/// A-labels where a reporter wrote it in Unicode (RFC 5890 §2.3.2.1), so
/// it meets the name the domain is asked by.
pub fn domain_key(name: &str) -> String {
    let name = name.trim().trim_end_matches('.');
    if !name.is_ascii()
        && let Ok(domain) = DomainName::parse(name)
    {
        return domain.ascii;
    }
    name.to_ascii_lowercase()
}

/// A whole aggregate report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AggregateReport {
    #[serde(flatten)]
    pub header: ReportHeader,
    pub records: Vec<Record>,
}

impl AggregateReport {
    /// The sum of the records' counts.
    pub fn messages(&self) -> u64 {
        self.records
            .iter()
            .fold(0u64, |sum, r| sum.saturating_add(r.count))
    }

    pub fn key(&self) -> DuplicateKey {
        self.header.key()
    }
}

/// Everything before the records.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReportHeader {
    /// The `<version>` element, when given (RFC 9990: `1.0`).
    pub version: Option<String>,
    pub metadata: ReportMetadata,
    pub policy: PolicyPublished,
}

impl ReportHeader {
    /// The key that makes a report a duplicate of one already stored.
    pub fn key(&self) -> DuplicateKey {
        DuplicateKey {
            org_name: self.metadata.org_name.clone(),
            report_id: self.metadata.report_id.clone(),
            domain: self.policy.domain.clone(),
            begin: self.metadata.begin,
            end: self.metadata.end,
        }
    }
}

/// A report is stored once: the same reporter, report id, domain and
/// period is the same report, however often it arrives.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct DuplicateKey {
    pub org_name: String,
    pub report_id: String,
    pub domain: String,
    pub begin: i64,
    pub end: i64,
}

/// `<report_metadata>`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReportMetadata {
    pub org_name: String,
    pub email: String,
    pub extra_contact_info: Option<String>,
    pub report_id: String,
    /// `<date_range>`, seconds since the epoch, UTC.
    pub begin: i64,
    pub end: i64,
    /// `<error>` elements: problems the reporter had with the policy.
    pub errors: Vec<String>,
    /// RFC 9990: the software that wrote the report.
    pub generator: Option<String>,
}

/// `<policy_published>`: the DMARC record the reporter found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PolicyPublished {
    /// Where the record was found.
    pub domain: String,
    pub p: Option<Policy>,
    pub sp: Option<Policy>,
    pub np: Option<Policy>,
    pub adkim: Option<Alignment>,
    pub aspf: Option<Alignment>,
    /// RFC 7489's `pct`, which RFC 9989 removed.
    pub pct: Option<u8>,
    pub fo: Option<String>,
    /// RFC 9990: `t=y` was published.
    pub testing: Option<bool>,
    pub discovery_method: Option<DiscoveryMethod>,
}

/// One `<record>`: messages from one IP with the same evaluation,
/// identifiers and authentication results.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Record {
    pub source_ip: IpAddr,
    pub count: u64,
    pub policy_evaluated: PolicyEvaluated,
    pub identifiers: Identifiers,
    /// Every `<dkim>` result, in order (zero or more).
    pub dkim: Vec<DkimAuth>,
    /// Every `<spf>` result (RFC 7489 allows several, RFC 9990 at most one).
    pub spf: Vec<SpfAuth>,
}

impl Record {
    /// DMARC passed as the reporter saw it: an aligned DKIM or SPF pass.
    pub fn dmarc_pass(&self) -> bool {
        self.policy_evaluated.dkim == AlignedResult::Pass
            || self.policy_evaluated.spf == AlignedResult::Pass
    }
}

/// `<policy_evaluated>`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PolicyEvaluated {
    pub disposition: Disposition,
    pub dkim: AlignedResult,
    pub spf: AlignedResult,
    pub reasons: Vec<OverrideReason>,
}

/// `<reason>`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OverrideReason {
    #[serde(rename = "type")]
    pub kind: OverrideKind,
    pub comment: Option<String>,
}

/// `<identifiers>`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Identifiers {
    /// The RFC 5322.From domain.
    pub header_from: String,
    /// The RFC 5321.MailFrom domain; optional since RFC 9990.
    pub envelope_from: Option<String>,
    pub envelope_to: Option<String>,
}

/// One `<dkim>` of `<auth_results>`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DkimAuth {
    /// The signature's `d=`.
    pub domain: String,
    /// The signature's `s=`; required by RFC 9990, often missing before it.
    pub selector: Option<String>,
    pub result: AuthResult,
    pub human_result: Option<String>,
}

/// One `<spf>` of `<auth_results>`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SpfAuth {
    /// The domain checked.
    pub domain: String,
    pub scope: Option<SpfScope>,
    pub result: AuthResult,
    pub human_result: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_are_read_as_receivers_write_them() {
        assert_eq!(Disposition::parse(" Pass\n"), Some(Disposition::Pass));
        assert_eq!(Disposition::parse("discard"), None);
        assert_eq!(auth_result("hardfail"), Some(AuthResult::Fail));
        assert_eq!(auth_result("SoftFail"), Some(AuthResult::SoftFail));
        assert_eq!(auth_result("unknown"), Some(AuthResult::TempError));
        assert_eq!(auth_result("error"), Some(AuthResult::PermError));
        assert_eq!(auth_result("maybe"), None);
        assert_eq!(alignment("relaxed"), Some(Alignment::Relaxed));
        assert_eq!(policy("REJECT"), Some(Policy::Reject));
        assert_eq!(domain_key(" Example.COM. "), "example.com");
        assert_eq!(domain_key("Bücher.Example."), "xn--bcher-kva.example");
        assert_eq!(domain_key("xn--bcher-kva.example"), "xn--bcher-kva.example");
    }
}
