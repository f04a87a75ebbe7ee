//! DMARC for one message, and the "what-if": given the From domain and the
//! SPF and DKIM outcomes, what does a receiver decide, under which policy,
//! and which identifier aligned (RFC 9989 "DMARCbis"; RFC 8601 §2.7.1 and
//! §2.7.2 for the SPF and DKIM result words).
//!
//! This module decides:
//!
//! - **The result** (`pass`, `fail`, `none`, `temperror`, `permerror`) the
//!   way mail-auth's `verify_dmarc` decides it, since that is the verdict the
//!   message report gives. mail-auth is asked for the record discovery, the
//!   policy and the SPF side. It cannot be asked for the DKIM side (a
//!   `DkimOutput` has no public constructor, and the what-if has no
//!   signatures anyway), so DKIM alignment is decided here by the same rule.
//! - **Discovery** (RFC 9989 §4.10, §4.10.1): `_dmarc.<From domain>`, then
//!   the DNS tree walk up to the top-level label (at most eight queries,
//!   stopping at `psd=y` or `psd=n`). The author's own record applies; else
//!   the Organizational Domain's; else the highest one found. Records are
//!   read as mail-auth reads them: at each name the first TXT record that
//!   parses counts, a record that starts with `v=DMARC1` but does not parse
//!   makes the result `permerror`, and a failed query makes it `temperror`.
//!   The walk order and the Organizational Domain rule (§4.10.2) are the
//!   domain audit's ([`crate::domain::dmarc`]), which also parses the applied
//!   record strictly for the report.
//! - **The policy the receiver applies** (RFC 9989 §4.7, §4.10.1): `p` for
//!   the author's own record; `np` for a non-existent author domain when it
//!   differs from `sp`; else `sp` (which defaults to `p`). `t=y` lowers it
//!   one step. A record without `p` applies as `p=none` when it has `rua`,
//!   and not at all otherwise. `pct` is reported but changes nothing: RFC
//!   9989 dropped it (Appendix A.6).
//! - **Identifier alignment** (RFC 9989 §4.4.1, §4.4.2): a passing SPF
//!   domain or DKIM `d=` aligns when it equals the From domain, or, in
//!   relaxed mode (the default; `aspf=s`/`adkim=s` make it strict), when it
//!   lies under the From domain's Organizational Domain and has that same
//!   Organizational Domain, both found by the tree walk, not by the Public
//!   Suffix List. An identifier that returned `temperror` and would align
//!   makes the result `temperror` unless the other side passes. Every
//!   identifier given is judged, whatever its result, and in relaxed mode
//!   when no record applies, so a report can say which would align.
//! - **Findings for a message**: `dmarc.fail` (naming the policy applied and
//!   `t=y`), `dkim.not_aligned`, and `dmarc.policy_none` when DMARC fails
//!   under `p=none` (FINDINGS.md: a message report may carry domain-side
//!   codes that explain its verdicts).
//!
//! All DNS goes through the request's [`Resolver`]; the authenticator must
//! come from a [`crate::dns::bridge::Bridge`] over that same resolver, so
//! mail-auth and this module see the same answers (the per-request memo asks
//! each question once, and mail-auth reads the answers of the tree walk
//! from [`Resolver::share_answers`]).

use crate::dns::answered::Answered;
use crate::dns::{DnsError, Rcode, Resolver};
use crate::findings::Checked;
use crate::findings::Finding;
use crate::findings::catalog;
use crate::message::MessageContext;
use crate::records::dmarc::{
    self as audit, Alignment, DmarcRecord, Policy, Psd, StepOutcome, WalkStep,
};
use crate::records::name::DomainName;
use crate::spf::SpfResult;
use futures_util::future::join_all;
use hickory_proto::rr::{Name, RecordType};
use mail_auth::dmarc::verify::DmarcParameters;
use mail_auth::dns::TxtRecordParser;
use mail_auth::{
    AuthenticatedMessage, DkimOutput, DmarcOutput, MessageAuthenticator, Parameters, SpfOutput,
};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

/// More DKIM results than a what-if needs; each may cost a tree walk.
const MAX_DKIM_RESULTS: usize = 20;

// ---------------------------------------------------------------------------
// Input
// ---------------------------------------------------------------------------

/// A what-if question: "mail from this From domain, with these SPF and
/// DKIM outcomes — does it pass DMARC?" The body of
/// `POST /v1/dmarc/evaluate`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WhatIf {
    /// The RFC 5322 From domain (the Author Domain).
    pub from_domain: String,
    /// The SPF outcome for the MAIL FROM domain (or the HELO domain for a
    /// null reverse-path); absent when SPF was not checked.
    #[serde(default)]
    pub spf: Option<IdentifierResult>,
    /// One outcome per DKIM signature: its `d=` and its result.
    #[serde(default)]
    pub dkim: Vec<IdentifierResult>,
}

/// An authenticated identifier and what its check returned.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IdentifierResult {
    pub domain: String,
    /// An RFC 8601 result word: pass, fail, softfail (SPF only), neutral,
    /// none, temperror, permerror, policy.
    pub result: String,
}

/// Why a what-if cannot be evaluated: a caller mistake, naming the field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {reason}")]
pub struct WhatIfError {
    /// The field at fault: `from_domain`, `spf.domain`, `dkim[1].result`, …
    pub field: String,
    pub reason: String,
}

/// The RFC 8601 result words of SPF (§2.7.2) and DKIM (§2.7.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum AuthResult {
    Pass,
    Fail,
    SoftFail,
    Neutral,
    None,
    TempError,
    PermError,
    Policy,
}

impl AuthResult {
    /// Reads a result word, in any case.
    pub fn parse(word: &str) -> Option<AuthResult> {
        Some(match word.trim().to_ascii_lowercase().as_str() {
            "pass" => AuthResult::Pass,
            "fail" => AuthResult::Fail,
            "softfail" => AuthResult::SoftFail,
            "neutral" => AuthResult::Neutral,
            "none" => AuthResult::None,
            "temperror" => AuthResult::TempError,
            "permerror" => AuthResult::PermError,
            "policy" => AuthResult::Policy,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            AuthResult::Pass => "pass",
            AuthResult::Fail => "fail",
            AuthResult::SoftFail => "softfail",
            AuthResult::Neutral => "neutral",
            AuthResult::None => "none",
            AuthResult::TempError => "temperror",
            AuthResult::PermError => "permerror",
            AuthResult::Policy => "policy",
        }
    }

    /// What mail-auth's DMARC is handed for an SPF outcome. DMARC only
    /// distinguishes pass and temperror; `policy` has no mail-auth value and
    /// counts like neutral (not a pass).
    fn to_mail_auth_spf(self) -> mail_auth::SpfResult {
        match self {
            AuthResult::Pass => mail_auth::SpfResult::Pass,
            AuthResult::Fail => mail_auth::SpfResult::Fail,
            AuthResult::SoftFail => mail_auth::SpfResult::SoftFail,
            AuthResult::Neutral | AuthResult::Policy => mail_auth::SpfResult::Neutral,
            AuthResult::None => mail_auth::SpfResult::None,
            AuthResult::TempError => mail_auth::SpfResult::TempError,
            AuthResult::PermError => mail_auth::SpfResult::PermError,
        }
    }
}

impl From<SpfResult> for AuthResult {
    fn from(result: SpfResult) -> AuthResult {
        match result {
            SpfResult::None => AuthResult::None,
            SpfResult::Neutral => AuthResult::Neutral,
            SpfResult::Pass => AuthResult::Pass,
            SpfResult::Fail => AuthResult::Fail,
            SpfResult::SoftFail => AuthResult::SoftFail,
            SpfResult::TempError => AuthResult::TempError,
            SpfResult::PermError => AuthResult::PermError,
        }
    }
}

impl std::fmt::Display for AuthResult {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

// ---------------------------------------------------------------------------
// Output
// ---------------------------------------------------------------------------

/// The DMARC result words (the `dmarc=` values of Authentication-Results,
/// RFC 7489 §11.2); also used for each mechanism's contribution.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum DmarcResult {
    Pass,
    Fail,
    None,
    TempError,
    PermError,
}

impl DmarcResult {
    pub fn as_str(self) -> &'static str {
        match self {
            DmarcResult::Pass => "pass",
            DmarcResult::Fail => "fail",
            DmarcResult::None => "none",
            DmarcResult::TempError => "temperror",
            DmarcResult::PermError => "permerror",
        }
    }

    fn from_mail_auth(result: &mail_auth::DmarcResult) -> DmarcResult {
        match result {
            mail_auth::DmarcResult::Pass => DmarcResult::Pass,
            mail_auth::DmarcResult::Fail(_) => DmarcResult::Fail,
            mail_auth::DmarcResult::TempError(_) => DmarcResult::TempError,
            mail_auth::DmarcResult::PermError(_) => DmarcResult::PermError,
            mail_auth::DmarcResult::None => DmarcResult::None,
        }
    }

    /// mail-auth's ranking of the two mechanisms: the best of pass,
    /// temperror, permerror, fail; `none` counts only when both are none.
    fn rank(self) -> Option<u8> {
        match self {
            DmarcResult::Pass => Some(0),
            DmarcResult::TempError => Some(1),
            DmarcResult::PermError => Some(2),
            DmarcResult::Fail => Some(3),
            DmarcResult::None => None,
        }
    }
}

impl std::fmt::Display for DmarcResult {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How an identifier aligned.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AlignmentMatch {
    /// The identifier is the From domain itself.
    Identical,
    /// Relaxed mode: both have the same Organizational Domain.
    SameOrganization,
}

/// One authenticated identifier, judged for alignment with the From domain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct IdentifierAlignment {
    /// The SPF domain or the DKIM `d=`, lower-case A-label where valid.
    pub domain: String,
    /// What its check returned.
    pub result: AuthResult,
    /// Whether it aligns with the From domain, whatever its result;
    /// `None` when that could not be decided (a DNS failure, no From
    /// domain, or a domain that is not a valid name).
    pub aligned: Option<bool>,
    /// How it aligned.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub how: Option<AlignmentMatch>,
    /// Its Organizational Domain by the RFC 9989 tree walk, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub organizational_domain: Option<String>,
    /// It passed and aligns: it makes DMARC pass.
    pub aligned_pass: bool,
    /// Why alignment is unknown, when it is.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub problem: Option<String>,
}

/// The SPF side of DMARC.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SpfAlignment {
    /// `aspf` of the applied record; relaxed (the default) without one.
    pub mode: Alignment,
    /// The SPF outcome given, judged; `None` when SPF was not checked.
    pub identifier: Option<IdentifierAlignment>,
    /// What SPF contributes to DMARC: `pass` (aligned pass), `fail` (a pass
    /// that does not align), `temperror`, or `none`.
    pub result: DmarcResult,
}

/// The DKIM side of DMARC.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DkimAlignment {
    /// `adkim` of the applied record; relaxed (the default) without one.
    pub mode: Alignment,
    /// Each signature in the order given.
    pub signatures: Vec<IdentifierAlignment>,
    /// The `d=` of the signature that made DKIM pass for DMARC.
    pub aligned_domain: Option<String>,
    /// What DKIM contributes to DMARC, as for SPF.
    pub result: DmarcResult,
}

/// The DMARC record that applies to the message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AppliedRecord {
    /// Where it was found: `_dmarc.<domain>`.
    pub name: String,
    /// The domain it was published for (the policy domain).
    pub domain: String,
    /// The record as published (strings joined).
    pub text: String,
    /// It came from a parent of the From domain, not from the domain itself.
    pub inherited: bool,
    /// Its tags by the strict parser of the domain audit; `None` when the
    /// record does not parse strictly (mail-auth may still apply it, as
    /// many receivers do: see `problems`).
    pub tags: Option<DmarcRecord>,
    /// Why the strict parser rejects it.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub problems: Vec<String>,
}

/// The DMARC evaluation of one message or one what-if.
#[derive(Debug, Clone, Serialize)]
pub struct DmarcEvaluation {
    /// The Author Domain (RFC 5322 From), lower-case A-label; `None` when
    /// the message has no usable From domain.
    pub from_domain: Option<String>,
    pub result: DmarcResult,
    /// One or two sentences: why this result.
    pub reason: String,
    /// The policy the receiver applies to this message if it fails: after
    /// p/sp/np and `t=y`. `None` when DMARC does not apply.
    pub policy: Option<Policy>,
    /// The tag that set it: `p`, `sp` or `np`.
    pub policy_tag: Option<&'static str>,
    /// That tag's value before `t=y` (`none` for a record without `p`).
    pub published_policy: Option<Policy>,
    /// `t=y`: the owner is testing; receivers apply one step less.
    pub testing: bool,
    /// `pct` of the record (100 when absent). Historic: RFC 9989 receivers,
    /// mail-auth among them, apply the policy to all failing mail.
    pub pct: Option<u8>,
    pub record: Option<AppliedRecord>,
    /// The From domain's Organizational Domain by the tree walk.
    pub organizational_domain: Option<String>,
    pub spf: SpfAlignment,
    pub dkim: DkimAlignment,
    /// The discovery queries for the From domain, in order.
    pub walk: Vec<WalkStep>,
    /// Facts worth knowing that are not findings.
    pub notes: Vec<String>,
}

/// The `dmarc` section of a message report: the same content as a what-if.
pub type DmarcMessageSection = DmarcEvaluation;

// ---------------------------------------------------------------------------
// Entry points
// ---------------------------------------------------------------------------

/// Evaluates a what-if: "will mail from my new ESP pass DMARC?". DNS
/// failures are results (`temperror`), not errors; only invalid input is an
/// error. `authenticator` must come from a bridge over `resolver`.
pub async fn evaluate(
    resolver: &Resolver,
    authenticator: &MessageAuthenticator,
    input: &WhatIf,
) -> Result<DmarcEvaluation, WhatIfError> {
    let inputs = Inputs::from_what_if(input)?;
    Ok(run(resolver, authenticator, &Answered::default(), inputs).await)
}

/// DMARC for a received message. `from_domain` is the RFC 5322 From domain
/// (the caller decides what to do with several From addresses); `spf` is
/// our SPF result for the MAIL FROM domain (or the HELO domain for a null
/// reverse-path); `dkim` holds each signature's `d=` and whether it passed.
pub async fn verify(
    cx: &MessageContext<'_>,
    from_domain: Option<&str>,
    spf: Option<(&str, SpfResult)>,
    dkim: &[(&str, bool)],
) -> Checked<DmarcMessageSection> {
    let inputs = Inputs::from_message(from_domain, spf, dkim);
    let section = run(cx.resolver, cx.authenticator, &cx.answered, inputs).await;
    let findings = message_findings(&section);
    Checked { section, findings }
}

// ---------------------------------------------------------------------------
// Normalized input
// ---------------------------------------------------------------------------

/// An identifier with its outcome, normalized.
#[derive(Debug, Clone)]
struct Claim {
    /// Lower-case A-label when `valid`, else as given, lower-cased.
    domain: String,
    result: AuthResult,
    /// The domain is a valid name (only then is a tree walk possible).
    valid: bool,
}

#[derive(Debug, Clone)]
struct Inputs {
    from: Option<String>,
    /// Why there is no usable From domain.
    from_problem: Option<String>,
    spf: Option<Claim>,
    dkim: Vec<Claim>,
}

impl Inputs {
    fn from_what_if(input: &WhatIf) -> Result<Inputs, WhatIfError> {
        let bad = |field: String, reason: String| WhatIfError { field, reason };
        let domain = |field: &str, text: &str| {
            DomainName::parse(text)
                .map(|d| d.ascii)
                .map_err(|e| bad(field.to_string(), e.to_string()))
        };
        let from = domain("from_domain", &input.from_domain)?;
        let spf = match &input.spf {
            None => None,
            Some(i) => Some(Claim {
                domain: domain("spf.domain", &i.domain)?,
                result: AuthResult::parse(&i.result).ok_or_else(|| {
                    bad(
                        "spf.result".into(),
                        format!(
                            "`{}` is not an SPF result; use pass, fail, softfail, neutral, \
                             none, temperror, permerror or policy",
                            i.result
                        ),
                    )
                })?,
                valid: true,
            }),
        };
        if input.dkim.len() > MAX_DKIM_RESULTS {
            return Err(bad(
                "dkim".into(),
                format!("at most {MAX_DKIM_RESULTS} DKIM results can be evaluated at once"),
            ));
        }
        let mut dkim = Vec::with_capacity(input.dkim.len());
        for (i, d) in input.dkim.iter().enumerate() {
            let result = AuthResult::parse(&d.result)
                .filter(|r| *r != AuthResult::SoftFail)
                .ok_or_else(|| {
                    bad(
                        format!("dkim[{i}].result"),
                        format!(
                            "`{}` is not a DKIM result; use pass, fail, neutral, none, policy, \
                             temperror or permerror",
                            d.result
                        ),
                    )
                })?;
            dkim.push(Claim {
                domain: domain(&format!("dkim[{i}].domain"), &d.domain)?,
                result,
                valid: true,
            });
        }
        Ok(Inputs {
            from: Some(from),
            from_problem: None,
            spf,
            dkim,
        })
    }

    /// From a message nothing is refused: a domain that is not a valid name
    /// can still be compared, it just cannot be walked.
    fn from_message(
        from_domain: Option<&str>,
        spf: Option<(&str, SpfResult)>,
        dkim: &[(&str, bool)],
    ) -> Inputs {
        let claim = |domain: &str, result: AuthResult| match DomainName::parse(domain) {
            Ok(d) => Claim {
                domain: d.ascii,
                result,
                valid: true,
            },
            Err(_) => Claim {
                domain: domain.trim().trim_end_matches('.').to_ascii_lowercase(),
                result,
                valid: false,
            },
        };
        let (from, from_problem) = match from_domain {
            None => (
                None,
                Some("the message has no From address with a domain".to_string()),
            ),
            Some(d) => match DomainName::parse(d) {
                Ok(d) => (Some(d.ascii), None),
                Err(e) => (None, Some(e.to_string())),
            },
        };
        Inputs {
            from,
            from_problem,
            spf: spf.map(|(d, r)| claim(d, r.into())),
            dkim: dkim
                .iter()
                .map(|(d, passed)| {
                    claim(
                        d,
                        if *passed {
                            AuthResult::Pass
                        } else {
                            AuthResult::Fail
                        },
                    )
                })
                .collect(),
        }
    }
}

// ---------------------------------------------------------------------------
// The tree walk, read as mail-auth reads it
// ---------------------------------------------------------------------------

/// A record the walk accepted.
#[derive(Debug, Clone)]
struct Found {
    /// The domain it is published for (without `_dmarc.`).
    domain: String,
    text: String,
    record: mail_auth::dmarc::DmarcRecord,
    /// TXT records at the name that start with `v=DMARC1`.
    dmarc1_count: usize,
}

/// Why a walk stopped without an answer.
#[derive(Debug, Clone)]
enum WalkStop {
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
struct Walk {
    steps: Vec<WalkStep>,
    /// Longest name first.
    found: Vec<Found>,
    stop: Option<WalkStop>,
}

impl Walk {
    /// RFC 9989 §4.10.2, by the domain audit's rule.
    fn organizational_domain(&self, start: &str) -> String {
        let flags: Vec<(String, Psd)> = self
            .found
            .iter()
            .map(|f| (f.domain.clone(), psd_of(&f.record)))
            .collect();
        audit::organizational_domain(&flags, start)
    }
}

fn psd_of(record: &mail_auth::dmarc::DmarcRecord) -> Psd {
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
enum Judged {
    Nothing,
    Record(Box<mail_auth::dmarc::DmarcRecord>, String),
    Unparsable(String),
}

fn judge(texts: &[String]) -> Judged {
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
async fn tree_walk(resolver: &Resolver, start: &str) -> Walk {
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

fn step(query: &str, outcome: StepOutcome, records: Vec<String>) -> WalkStep {
    WalkStep {
        query: query.to_string(),
        outcome,
        records,
    }
}

/// An identifier's Organizational Domain. A DNS failure leaves it unknown;
/// an unparsable record on the way makes the domain its own, as in
/// mail-auth.
fn org_from_walk(walk: &Walk, domain: &str) -> Result<String, String> {
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
async fn domain_exists(resolver: &Resolver, domain: &str) -> Option<bool> {
    let name = Name::from_ascii(format!("{domain}.")).ok()?;
    match resolver.lookup(&name, RecordType::A).await {
        Ok(answer) => Some(answer.rcode != Rcode::NXDomain),
        Err(_) => None,
    }
}

// ---------------------------------------------------------------------------
// Alignment
// ---------------------------------------------------------------------------

#[derive(Debug, Clone, PartialEq, Eq)]
enum Decision {
    Aligned(AlignmentMatch),
    NotAligned,
    Unknown(String),
}

/// RFC 9989 §4.4.1/§4.4.2, as mail-auth decides it: identical names
/// align; in relaxed mode a name under the author's Organizational Domain
/// aligns when its own Organizational Domain is that one. `org` is the
/// identifier's Organizational Domain, needed only in that last case.
fn decide(
    domain: &str,
    author: &str,
    author_org: &str,
    mode: Alignment,
    org: Option<&Result<String, String>>,
) -> Decision {
    if domain == author {
        return Decision::Aligned(AlignmentMatch::Identical);
    }
    if mode == Alignment::Strict || !is_at_or_below(domain, author_org) {
        return Decision::NotAligned;
    }
    match org {
        Some(Ok(org)) if org == author_org => Decision::Aligned(AlignmentMatch::SameOrganization),
        Some(Ok(_)) => Decision::NotAligned,
        Some(Err(why)) => Decision::Unknown(why.clone()),
        None => Decision::Unknown(format!("{domain} is not a valid domain name")),
    }
}

fn is_at_or_below(domain: &str, parent: &str) -> bool {
    domain
        .strip_suffix(parent)
        .is_some_and(|prefix| prefix.is_empty() || prefix.ends_with('.'))
}

/// What one mechanism contributes, as mail-auth computes it.
#[derive(Debug, Clone)]
struct Mechanism {
    result: DmarcResult,
    /// The identifier that decided it (an aligned pass or temperror).
    decisive: Option<String>,
    /// For temperror: why.
    problem: Option<String>,
}

impl Mechanism {
    fn none() -> Mechanism {
        Mechanism {
            result: DmarcResult::None,
            decisive: None,
            problem: None,
        }
    }
}

/// SPF: only a pass or a temperror counts; an aligned temperror is a
/// temperror, an unaligned pass a fail.
fn spf_mechanism(claim: Option<&Claim>, decision: Option<&Decision>) -> Mechanism {
    let (Some(claim), Some(decision)) = (claim, decision) else {
        return Mechanism::none();
    };
    let pass = claim.result == AuthResult::Pass;
    if !pass && claim.result != AuthResult::TempError {
        return Mechanism::none();
    }
    let (result, problem) = match decision {
        Decision::Aligned(_) if pass => (DmarcResult::Pass, None),
        Decision::Aligned(_) => (
            DmarcResult::TempError,
            Some(format!(
                "SPF returned temperror for {}, which aligns",
                claim.domain
            )),
        ),
        Decision::NotAligned if pass => (DmarcResult::Fail, None),
        Decision::NotAligned => (DmarcResult::None, None),
        Decision::Unknown(why) => (DmarcResult::TempError, Some(why.clone())),
    };
    Mechanism {
        decisive: matches!(result, DmarcResult::Pass | DmarcResult::TempError)
            .then(|| claim.domain.clone()),
        result,
        problem,
    }
}

/// DKIM: signatures are taken in order; the first aligned pass decides; an
/// aligned temperror (or an alignment that DNS could not decide) is kept
/// as a temperror unless a later signature passes aligned; only the first
/// temperror signature is considered.
fn dkim_mechanism(claims: &[Claim], decisions: &[Decision]) -> Mechanism {
    let mut has_pass = false;
    let mut temp: Option<(String, String)> = None;
    for (claim, decision) in claims.iter().zip(decisions) {
        let pass = claim.result == AuthResult::Pass;
        let temperror = claim.result == AuthResult::TempError;
        if !pass && !temperror || temperror && temp.is_some() {
            continue;
        }
        has_pass |= pass;
        match decision {
            Decision::Aligned(_) if pass => {
                return Mechanism {
                    result: DmarcResult::Pass,
                    decisive: Some(claim.domain.clone()),
                    problem: None,
                };
            }
            Decision::Aligned(_) => {
                temp = Some((
                    claim.domain.clone(),
                    format!(
                        "the DKIM signature with d={} returned temperror and would align",
                        claim.domain
                    ),
                ));
            }
            Decision::NotAligned => {}
            Decision::Unknown(why) => {
                temp.get_or_insert((claim.domain.clone(), why.clone()));
            }
        }
    }
    match temp {
        Some((domain, why)) => Mechanism {
            result: DmarcResult::TempError,
            decisive: Some(domain),
            problem: Some(why),
        },
        None if has_pass => Mechanism {
            result: DmarcResult::Fail,
            decisive: None,
            problem: None,
        },
        None => Mechanism::none(),
    }
}

/// The overall result from the two mechanisms (mail-auth's ranking).
fn combine(spf: DmarcResult, dkim: DmarcResult, applies: bool) -> DmarcResult {
    [spf, dkim]
        .into_iter()
        .filter_map(|r| r.rank().map(|rank| (rank, r)))
        .min_by_key(|(rank, _)| *rank)
        .map(|(_, r)| r)
        .unwrap_or(if applies {
            DmarcResult::Fail
        } else {
            DmarcResult::None
        })
}

// ---------------------------------------------------------------------------
// Policy
// ---------------------------------------------------------------------------

fn policy_of(policy: &mail_auth::dmarc::Policy) -> Policy {
    match policy {
        mail_auth::dmarc::Policy::Reject => Policy::Reject,
        mail_auth::dmarc::Policy::Quarantine => Policy::Quarantine,
        mail_auth::dmarc::Policy::None | mail_auth::dmarc::Policy::Unspecified => Policy::None,
    }
}

fn alignment_of(mode: mail_auth::dmarc::Alignment) -> Alignment {
    match mode {
        mail_auth::dmarc::Alignment::Relaxed => Alignment::Relaxed,
        mail_auth::dmarc::Alignment::Strict => Alignment::Strict,
    }
}

/// What `t=y` asks receivers to apply instead (RFC 9989 §4.7).
fn one_step_less(policy: Policy) -> Policy {
    match policy {
        Policy::Reject => Policy::Quarantine,
        _ => Policy::None,
    }
}

/// Whether a record's text sets a tag (the lenient record fills defaults,
/// so only the text tells `sp` written from `sp` defaulted to `p`).
fn has_tag(text: &str, tag: &str) -> bool {
    text.split(';').any(|segment| {
        segment
            .split_once('=')
            .is_some_and(|(name, _)| name.trim().eq_ignore_ascii_case(tag))
    })
}

/// The tag that sets the policy for the author domain and its value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct PolicyChoice {
    tag: &'static str,
    published: Policy,
    applied: Policy,
}

/// RFC 9989 §4.10.1 as mail-auth applies it. `exists` is asked only when it
/// matters (an inherited record whose `np` differs from `sp`).
fn choose_policy(found: &Found, is_author: bool, exists: Option<bool>) -> PolicyChoice {
    let record = &found.record;
    let (tag, published) = if record.p == mail_auth::dmarc::Policy::Unspecified {
        // Only reached with a rua (without one DMARC does not apply).
        ("p", Policy::None)
    } else if is_author {
        ("p", policy_of(&record.p))
    } else if record.np != record.sp && exists == Some(false) {
        ("np", policy_of(&record.np))
    } else if has_tag(&found.text, "sp") {
        ("sp", policy_of(&record.sp))
    } else {
        ("p", policy_of(&record.sp))
    };
    PolicyChoice {
        tag,
        published,
        applied: if record.t {
            one_step_less(published)
        } else {
            published
        },
    }
}

// ---------------------------------------------------------------------------
// The evaluation
// ---------------------------------------------------------------------------

/// mail-auth's own verdict for the From domain and the SPF outcome, with no
/// DKIM signatures (they are judged here). `None` if the stand-in message
/// cannot be built, which a valid domain never causes.
async fn mail_auth_verdict(
    authenticator: &MessageAuthenticator,
    answered: &Answered,
    from: &str,
    spf: Option<&Claim>,
) -> Option<DmarcOutput> {
    // mail-auth reads the Author Domain from a message's From header; this
    // stand-in carries just that.
    let raw = format!("From: <postmaster@{from}>\r\n\r\n");
    let message = AuthenticatedMessage::parse(raw.as_bytes())?;
    let (domain, result) = match spf {
        Some(claim) => (claim.domain.clone(), claim.result.to_mail_auth_spf()),
        None => (String::new(), mail_auth::SpfResult::None),
    };
    let spf_output = SpfOutput::new(domain.clone()).with_result(result);
    let no_signatures: [DkimOutput<'_>; 0] = [];
    Some(
        authenticator
            .verify_dmarc(
                Parameters::new(DmarcParameters::new(
                    &message,
                    &no_signatures,
                    &domain,
                    &spf_output,
                ))
                .with_cache(answered),
            )
            .await,
    )
}

async fn run(
    resolver: &Resolver,
    authenticator: &MessageAuthenticator,
    answered: &Answered,
    inputs: Inputs,
) -> DmarcEvaluation {
    let Some(from) = inputs.from.clone() else {
        return without_author(&inputs);
    };

    // Every domain whose Organizational Domain may be needed is walked at
    // once; mail-auth then takes the records of the walk from the
    // request's answers.
    let mut others: Vec<String> = inputs
        .spf
        .iter()
        .chain(&inputs.dkim)
        .filter(|c| c.valid && c.domain != from)
        .map(|c| c.domain.clone())
        .collect();
    others.sort();
    others.dedup();
    let (author_walk, other_walks) = tokio::join!(
        tree_walk(resolver, &from),
        join_all(others.iter().map(|d| tree_walk(resolver, d)))
    );
    resolver.share_answers(answered);
    let verdict = mail_auth_verdict(authenticator, answered, &from, inputs.spf.as_ref()).await;
    let mut orgs: HashMap<String, Result<String, String>> = others
        .iter()
        .zip(&other_walks)
        .map(|(d, w)| (d.clone(), org_from_walk(w, d)))
        .collect();
    let author_org = match author_walk.stop {
        None => Some(author_walk.organizational_domain(&from)),
        Some(_) => None,
    };
    if let Some(org) = &author_org {
        orgs.insert(from.clone(), Ok(org.clone()));
    }

    let mut notes = Vec::new();
    if let Some(problem) = &inputs.from_problem {
        notes.push(problem.clone());
    }

    // The record that applies: the author's own, else the Organizational
    // Domain's, else the highest one found (RFC 9989 §4.10.1).
    let applied: Option<(&Found, bool)> = match (&author_walk.stop, &author_org) {
        (None, Some(org)) => author_walk
            .found
            .iter()
            .find(|f| f.domain == from)
            .map(|f| (f, true))
            .or_else(|| {
                author_walk
                    .found
                    .iter()
                    .find(|f| f.domain == *org)
                    .or(author_walk.found.last())
                    .map(|f| (f, false))
            }),
        _ => None,
    };
    // Without p and without rua, DMARC does not apply (RFC 9989 §4.7).
    let usable = applied.filter(|(f, _)| {
        f.record.p != mail_auth::dmarc::Policy::Unspecified || !f.record.rua.is_empty()
    });

    let (aspf, adkim) = match usable {
        Some((f, _)) => (alignment_of(f.record.aspf), alignment_of(f.record.adkim)),
        None => (Alignment::Relaxed, Alignment::Relaxed),
    };
    let judge_claim = |claim: &Claim, mode: Alignment| -> Decision {
        match &author_org {
            Some(author_org) => decide(
                &claim.domain,
                &from,
                author_org,
                mode,
                orgs.get(&claim.domain).filter(|_| claim.valid),
            ),
            // Identical names align whatever the walk found.
            None if claim.domain == from => Decision::Aligned(AlignmentMatch::Identical),
            None => {
                Decision::Unknown("the From domain's organizational domain is unknown".to_string())
            }
        }
    };
    let spf_decision = inputs.spf.as_ref().map(|c| judge_claim(c, aspf));
    let dkim_decisions: Vec<Decision> = inputs.dkim.iter().map(|c| judge_claim(c, adkim)).collect();

    let mut own_spf = spf_mechanism(inputs.spf.as_ref(), spf_decision.as_ref());
    let mut own_dkim = dkim_mechanism(&inputs.dkim, &dkim_decisions);
    if usable.is_none() {
        own_spf = Mechanism::none();
        own_dkim = Mechanism::none();
    }

    let choice = match usable {
        Some((found, is_author)) => {
            let needs_existence = !is_author
                && found.record.p != mail_auth::dmarc::Policy::Unspecified
                && found.record.np != found.record.sp;
            let exists = if needs_existence {
                domain_exists(resolver, &from).await
            } else {
                None
            };
            if needs_existence && exists == Some(false) {
                notes.push(format!(
                    "{from} does not exist in the DNS (NXDOMAIN), so the policy for \
                     non-existent subdomains (np=) applies."
                ));
            }
            Some(choose_policy(found, is_author, exists))
        }
        None => None,
    };

    // Our reading, then mail-auth's verdict where it speaks.
    let own_result = match (&author_walk.stop, usable) {
        (Some(WalkStop::Dns { .. }), _) => DmarcResult::TempError,
        (Some(WalkStop::Unparsable { .. }), _) => DmarcResult::PermError,
        (None, None) => DmarcResult::None,
        (None, Some(_)) => combine(own_spf.result, own_dkim.result, true),
    };
    let mut result = own_result;
    let mut spf_result = own_spf.result;
    let mut policy = choice.map(|c| c.applied);
    match &verdict {
        Some(out) => {
            let applies = out.record().is_some();
            if applies != usable.is_some() {
                notes.push(format!(
                    "mailvet's reading of the DMARC records differs from mail-auth's ({}); the \
                     result follows mail-auth.",
                    if applies {
                        "mail-auth applies a record"
                    } else {
                        "mail-auth applies none"
                    }
                ));
            }
            if applies {
                // Without a record mail-auth repeats its overall error in
                // each mechanism; the overall result says it once.
                spf_result = DmarcResult::from_mail_auth(out.spf_result());
                if spf_result != own_spf.result && usable.is_some() {
                    notes.push(format!(
                        "mail-auth's SPF alignment ({spf_result}) differs from mailvet's ({}); \
                         the result follows mail-auth.",
                        own_spf.result
                    ));
                }
                let theirs = policy_of(&out.policy());
                if policy.is_some_and(|p| p != theirs) {
                    notes.push(format!(
                        "mail-auth applies {theirs} where mailvet reads {}; the report follows \
                         mail-auth.",
                        policy.map_or("nothing", Policy::as_str)
                    ));
                }
                policy = Some(theirs);
                result = combine(spf_result, own_dkim.result, true);
            } else {
                result = DmarcResult::from_mail_auth(&out.result());
                policy = None;
            }
        }
        None => notes.push(
            "mail-auth could not be asked (no stand-in message for this From domain); the \
             result is mailvet's own reading."
                .to_string(),
        ),
    }

    // The report.
    let record = applied.map(|(found, is_author)| applied_record(found, !is_author));
    if let Some((found, _)) = applied {
        record_notes(found, record.as_ref(), usable.is_some(), &mut notes);
    }
    if let (Some(choice), Some(found)) = (choice, usable.map(|(f, _)| f)) {
        if found.record.t {
            notes.push(format!(
                "t=y (testing): receivers apply one step less than {}={}, that is {}.",
                choice.tag, choice.published, choice.applied
            ));
        }
        if psd_of(&found.record) == Psd::Yes && found.domain != from {
            notes.push(format!(
                "The record comes from the public suffix operator at _dmarc.{} (psd=y): {} \
                 publishes none of its own.",
                found.domain,
                author_org.as_deref().unwrap_or(from.as_str())
            ));
        }
    }

    let identifier = |claim: &Claim, decision: &Decision, decisive: bool| IdentifierAlignment {
        domain: claim.domain.clone(),
        result: claim.result,
        aligned: match decision {
            Decision::Aligned(_) => Some(true),
            Decision::NotAligned => Some(false),
            Decision::Unknown(_) => None,
        },
        how: match decision {
            Decision::Aligned(how) => Some(*how),
            _ => None,
        },
        organizational_domain: orgs
            .get(&claim.domain)
            .filter(|_| claim.valid)
            .and_then(|o| o.as_ref().ok())
            .cloned(),
        aligned_pass: decisive && claim.result == AuthResult::Pass,
        problem: match decision {
            Decision::Unknown(why) => Some(why.clone()),
            _ => None,
        },
    };
    let spf_section = SpfAlignment {
        mode: aspf,
        identifier: inputs
            .spf
            .as_ref()
            .zip(spf_decision.as_ref())
            .map(|(c, d)| identifier(c, d, spf_result == DmarcResult::Pass)),
        result: spf_result,
    };
    let mut decisive_seen = false;
    let signatures: Vec<IdentifierAlignment> = inputs
        .dkim
        .iter()
        .zip(&dkim_decisions)
        .map(|(c, d)| {
            // Only the first aligned pass is the one that counted.
            let decisive = !decisive_seen
                && own_dkim.result == DmarcResult::Pass
                && own_dkim.decisive.as_deref() == Some(c.domain.as_str())
                && c.result == AuthResult::Pass;
            decisive_seen |= decisive;
            identifier(c, d, decisive)
        })
        .collect();
    let dkim_section = DkimAlignment {
        mode: adkim,
        signatures,
        aligned_domain: (own_dkim.result == DmarcResult::Pass)
            .then(|| own_dkim.decisive.clone())
            .flatten(),
        result: own_dkim.result,
    };

    let mut evaluation = DmarcEvaluation {
        from_domain: Some(from.clone()),
        result,
        reason: String::new(),
        policy,
        policy_tag: choice.filter(|_| policy.is_some()).map(|c| c.tag),
        published_policy: choice.filter(|_| policy.is_some()).map(|c| c.published),
        testing: usable.is_some_and(|(f, _)| f.record.t),
        pct: usable
            .and(record.as_ref())
            .and_then(|r| r.tags.as_ref())
            .map(DmarcRecord::percent),
        record,
        organizational_domain: author_org,
        spf: spf_section,
        dkim: dkim_section,
        walk: author_walk.steps.clone(),
        notes,
    };
    evaluation.reason = reason(
        &evaluation,
        &author_walk,
        usable.is_some(),
        [&own_spf, &own_dkim],
    );
    evaluation
}

/// The evaluation of a message without a usable From domain: DMARC does not
/// apply (mail-auth's verdict too).
fn without_author(inputs: &Inputs) -> DmarcEvaluation {
    let why = inputs
        .from_problem
        .clone()
        .unwrap_or_else(|| "no From domain".to_string());
    let unknown = |claim: &Claim| IdentifierAlignment {
        domain: claim.domain.clone(),
        result: claim.result,
        aligned: None,
        how: None,
        organizational_domain: None,
        aligned_pass: false,
        problem: Some("there is no From domain to align with".to_string()),
    };
    DmarcEvaluation {
        from_domain: None,
        result: DmarcResult::None,
        reason: format!("DMARC does not apply: {why}."),
        policy: None,
        policy_tag: None,
        published_policy: None,
        testing: false,
        pct: None,
        record: None,
        organizational_domain: None,
        spf: SpfAlignment {
            mode: Alignment::Relaxed,
            identifier: inputs.spf.as_ref().map(unknown),
            result: DmarcResult::None,
        },
        dkim: DkimAlignment {
            mode: Alignment::Relaxed,
            signatures: inputs.dkim.iter().map(unknown).collect(),
            aligned_domain: None,
            result: DmarcResult::None,
        },
        walk: Vec::new(),
        notes: Vec::new(),
    }
}

fn applied_record(found: &Found, inherited: bool) -> AppliedRecord {
    let (tags, problems) = match audit::parse(&found.text) {
        Ok(tags) => (Some(tags), Vec::new()),
        Err(problems) => (None, problems.iter().map(ToString::to_string).collect()),
    };
    AppliedRecord {
        name: format!("_dmarc.{}", found.domain),
        domain: found.domain.clone(),
        text: found.text.clone(),
        inherited,
        tags,
        problems,
    }
}

fn record_notes(
    found: &Found,
    record: Option<&AppliedRecord>,
    usable: bool,
    notes: &mut Vec<String>,
) {
    let name = format!("_dmarc.{}", found.domain);
    if found.dmarc1_count > 1 {
        notes.push(format!(
            "{name} holds {} v=DMARC1 records. RFC 9989 (§4.10) has receivers discard them all \
             (the domain audit reports dmarc.multiple_records); mail-auth, like some receivers, \
             applies the first that parses, and this evaluation follows it.",
            found.dmarc1_count
        ));
    }
    if let Some(record) = record.filter(|r| !r.problems.is_empty()) {
        notes.push(format!(
            "The record at {name} does not parse strictly ({}); mail-auth applies it anyway, \
             reading what it can, and this evaluation follows it.",
            record.problems.join("; ")
        ));
    }
    if !usable {
        return;
    }
    if found.record.p == mail_auth::dmarc::Policy::Unspecified {
        notes.push(format!(
            "The record at {name} has no p= tag; with a rua= tag receivers treat it as p=none \
             (RFC 9989 §4.7)."
        ));
    }
    if let Some(pct) = record
        .and_then(|r| r.tags.as_ref())
        .and_then(|t| t.pct)
        .filter(|p| *p < 100)
    {
        notes.push(format!(
            "pct={pct} is historic: RFC 9989 receivers (mail-auth among them) apply the policy \
             to all failing mail; receivers still following RFC 7489 apply it to {pct}% of it."
        ));
    }
}

/// The one or two sentences that say why.
fn reason(e: &DmarcEvaluation, walk: &Walk, usable: bool, [spf, dkim]: [&Mechanism; 2]) -> String {
    let from = e.from_domain.as_deref().unwrap_or("the From domain");
    match e.result {
        DmarcResult::TempError => {
            if let Some(WalkStop::Dns { query, error }) = &walk.stop {
                return format!(
                    "The TXT query for {query} failed ({error}), so it is unknown which DMARC \
                     policy applies to {from}; receivers usually defer the message and try \
                     again."
                );
            }
            let why = [spf, dkim]
                .iter()
                .filter(|m| m.result == DmarcResult::TempError)
                .find_map(|m| m.problem.clone())
                .unwrap_or_else(|| "a DNS lookup failed".to_string());
            format!(
                "DMARC cannot be decided for {from} now: {why}. Receivers usually defer the \
                 message and try again."
            )
        }
        DmarcResult::PermError => match &walk.stop {
            Some(WalkStop::Unparsable { query, text }) => {
                let problems = audit::parse(text)
                    .err()
                    .map(|p| {
                        p.iter()
                            .map(ToString::to_string)
                            .collect::<Vec<_>>()
                            .join("; ")
                    })
                    .unwrap_or_default();
                format!(
                    "The DMARC record at {query} does not parse{}: {text}",
                    if problems.is_empty() {
                        String::new()
                    } else {
                        format!(" ({problems})")
                    }
                )
            }
            _ => format!("The DMARC record for {from} could not be used."),
        },
        DmarcResult::None => match &e.record {
            Some(r) if !usable => format!(
                "The record at {} has neither p= nor rua=, so receivers apply no DMARC \
                 processing to {from} (RFC 9989 §4.7).",
                r.name
            ),
            _ => format!(
                "No DMARC record at _dmarc.{from} nor at any parent the RFC 9989 tree walk \
                 asked, so DMARC does not apply."
            ),
        },
        DmarcResult::Pass => {
            if e.dkim.result == DmarcResult::Pass {
                let d = e.dkim.aligned_domain.as_deref().unwrap_or("?");
                format!(
                    "DKIM passed for d={d}, which aligns with {from} ({}).",
                    how_words(e, d, e.dkim.mode)
                )
            } else {
                let d = e.spf.identifier.as_ref().map_or("?", |i| i.domain.as_str());
                format!(
                    "SPF passed for {d}, which aligns with {from} ({}).",
                    how_words(e, d, e.spf.mode)
                )
            }
        }
        DmarcResult::Fail => format!(
            "Neither SPF nor DKIM passed for a domain aligned with {from}: {}; {}.",
            spf_story(e),
            dkim_story(e)
        ),
    }
}

fn mode_word(mode: Alignment) -> &'static str {
    match mode {
        Alignment::Relaxed => "relaxed",
        Alignment::Strict => "strict",
    }
}

/// "identical", or "relaxed: both under example.com".
fn how_words(e: &DmarcEvaluation, domain: &str, mode: Alignment) -> String {
    if Some(domain) == e.from_domain.as_deref() {
        return format!("identical; {} alignment", mode_word(mode));
    }
    format!(
        "{} alignment: same organizational domain {}",
        mode_word(mode),
        e.organizational_domain.as_deref().unwrap_or("?")
    )
}

/// Why an identifier does not align, in words.
fn misalignment(
    e: &DmarcEvaluation,
    id: &IdentifierAlignment,
    tag: &str,
    mode: Alignment,
) -> String {
    let from = e.from_domain.as_deref().unwrap_or("?");
    if let Some(problem) = &id.problem {
        return format!("alignment unknown: {problem}");
    }
    match mode {
        Alignment::Strict => format!("{tag}=s requires exactly {from}"),
        Alignment::Relaxed => format!(
            "relaxed alignment: its organizational domain {} is not {}",
            id.organizational_domain.as_deref().unwrap_or(&id.domain),
            e.organizational_domain.as_deref().unwrap_or(from)
        ),
    }
}

fn spf_story(e: &DmarcEvaluation) -> String {
    match &e.spf.identifier {
        None => "no SPF result was given".to_string(),
        Some(id) if id.result != AuthResult::Pass => {
            format!("SPF is {} for {}", id.result, id.domain)
        }
        Some(id) => format!(
            "SPF passed for {}, which does not align ({})",
            id.domain,
            misalignment(e, id, "aspf", e.spf.mode)
        ),
    }
}

fn dkim_story(e: &DmarcEvaluation) -> String {
    let sigs = &e.dkim.signatures;
    if sigs.is_empty() {
        return "the message has no DKIM signature".to_string();
    }
    let passing: Vec<&IdentifierAlignment> = sigs
        .iter()
        .filter(|s| s.result == AuthResult::Pass)
        .collect();
    if passing.is_empty() {
        let listed: Vec<String> = sigs
            .iter()
            .map(|s| format!("d={} {}", s.domain, s.result))
            .collect();
        return format!("no DKIM signature passed ({})", listed.join(", "));
    }
    match passing.as_slice() {
        [one] => format!(
            "DKIM passed for d={}, which does not align ({})",
            one.domain,
            misalignment(e, one, "adkim", e.dkim.mode)
        ),
        many => {
            let listed: Vec<String> = many
                .iter()
                .map(|s| {
                    format!(
                        "d={}: {}",
                        s.domain,
                        misalignment(e, s, "adkim", e.dkim.mode)
                    )
                })
                .collect();
            format!(
                "DKIM passed for {} signatures, none of which aligns ({})",
                many.len(),
                listed.join("; ")
            )
        }
    }
}

// ---------------------------------------------------------------------------
// Findings for a message
// ---------------------------------------------------------------------------

fn message_findings(e: &DmarcEvaluation) -> Vec<Finding> {
    let mut findings = Vec::new();
    let Some(from) = e.from_domain.as_deref() else {
        return findings;
    };
    let evidence = evidence(e);

    // dkim.not_aligned: some signature passes and every passing one is known
    // not to align.
    let passing: Vec<&IdentifierAlignment> = e
        .dkim
        .signatures
        .iter()
        .filter(|s| s.result == AuthResult::Pass)
        .collect();
    if !passing.is_empty() && passing.iter().all(|s| s.aligned == Some(false)) {
        let listed: Vec<String> = passing
            .iter()
            .map(|s| {
                format!(
                    "d={} ({})",
                    s.domain,
                    misalignment(e, s, "adkim", e.dkim.mode)
                )
            })
            .collect();
        let org = e.organizational_domain.as_deref().unwrap_or(from);
        let alternative = match e.dkim.mode {
            Alignment::Relaxed if org != from => {
                format!(" (or any domain whose organizational domain is {org})")
            }
            _ => String::new(),
        };
        findings.push(
            Finding::new(
                catalog::DKIM_NOT_ALIGNED,
                format!(
                    "DKIM passes for {}, but no passing signature aligns with the From domain \
                     {from}, so DKIM does not count for DMARC.",
                    listed.join(" and ")
                ),
            )
            .with_fix(format!(
                "Set up DKIM for {from} at the sending service (often called custom or branded \
                 DKIM) so it signs with d={from}{alternative}, and publish its key at \
                 <selector>._domainkey.{from}."
            ))
            .with_evidence(evidence.clone()),
        );
    }

    if e.result != DmarcResult::Fail {
        return findings;
    }
    let applied = applied_words(e);
    findings.push(
        Finding::new(
            catalog::DMARC_FAIL,
            format!("DMARC fails for {from}. {} {applied}", e.reason),
        )
        .with_fix(fail_fix(e, from))
        .with_evidence(evidence.clone()),
    );

    // dmarc.policy_none explains a failure that changes nothing; like every
    // content code it needs exactly one valid record (FINDINGS.md).
    let usable_record = e.record.as_ref().filter(|r| r.tags.is_some()).filter(|r| {
        e.walk
            .iter()
            .find(|s| s.query == r.name)
            .is_none_or(|s| s.records.len() <= 1)
    });
    if let (Some(Policy::None), Some(record)) = (e.policy, usable_record) {
        let tag = e.policy_tag.unwrap_or("p");
        let detail = if e.testing && e.published_policy.is_some_and(Policy::enforces) {
            format!(
                "DMARC fails and {} sets {tag}={} with t=y (testing), so receivers apply none: \
                 this failing message is delivered as usual.",
                record.name,
                e.published_policy.unwrap_or(Policy::None)
            )
        } else if record.inherited {
            format!(
                "DMARC fails and {from} inherits {tag}=none from {}: this failing message is \
                 delivered as usual.",
                record.name
            )
        } else {
            format!(
                "DMARC fails and {} sets {tag}=none: this failing message is delivered as \
                 usual.",
                record.name
            )
        };
        let mut fixed = with_tag(&record.text, tag, "quarantine");
        if e.testing {
            fixed = without_tag(&fixed, "t");
        }
        findings.push(
            Finding::new(catalog::DMARC_POLICY_NONE, detail)
                .with_fix(format!(
                    "Once aggregate reports show that all your legitimate mail passes DMARC, \
                     publish at {}: {fixed} — and later, to block spoofed mail outright, \
                     {tag}=reject.",
                    record.name
                ))
                .with_evidence(evidence),
        );
    }
    findings
}

/// "Receivers apply p=reject from _dmarc.example.com: …"
fn applied_words(e: &DmarcEvaluation) -> String {
    let (Some(policy), Some(record)) = (e.policy, &e.record) else {
        return String::new();
    };
    let tag = e.policy_tag.unwrap_or("p");
    let published = e.published_policy.unwrap_or(policy);
    let source = if e.testing && published != policy {
        format!(
            "{} sets {tag}={published} with t=y (testing), so receivers apply {policy}",
            record.name
        )
    } else {
        format!("receivers apply {tag}={policy} from {}", record.name)
    };
    let effect = match policy {
        Policy::Reject => "the message is rejected",
        Policy::Quarantine => "the message goes to spam or quarantine",
        Policy::None => {
            "the message is delivered as usual, though large mailbox providers may still \
             filter unauthenticated mail"
        }
    };
    let pct = match e.pct.filter(|p| *p < 100) {
        Some(p) => {
            format!(" (pct={p}: receivers that still honour it apply this to {p}% of failing mail)")
        }
        None => String::new(),
    };
    let mut sentence = format!("{source}: {effect}{pct}.");
    if let Some(first) = sentence.get(..1) {
        sentence = first.to_uppercase() + sentence.get(1..).unwrap_or_default();
    }
    sentence
}

fn fail_fix(e: &DmarcEvaluation, from: &str) -> String {
    let org = e.organizational_domain.as_deref().unwrap_or(from);
    let under = if org == from {
        from.to_string()
    } else {
        format!("{from} or another domain under {org}")
    };
    let dkim = match e.dkim.mode {
        Alignment::Strict => format!("sign with DKIM using exactly d={from} (adkim=s)"),
        Alignment::Relaxed => format!("sign with DKIM using d={under}"),
    };
    let spf = match e.spf.mode {
        Alignment::Strict => format!(
            "send with a MAIL FROM (return-path) domain of exactly {from} (aspf=s) that its \
             SPF record authorises"
        ),
        Alignment::Relaxed => format!(
            "send with a MAIL FROM (return-path) domain under {org} that its SPF record \
             authorises"
        ),
    };
    let passing_elsewhere: Vec<&str> = e
        .dkim
        .signatures
        .iter()
        .filter(|s| s.result == AuthResult::Pass && s.aligned == Some(false))
        .map(|s| s.domain.as_str())
        .collect();
    let hint = if passing_elsewhere.is_empty() {
        String::new()
    } else {
        format!(
            " The service already signs with d={}: ask it for custom DKIM with your domain.",
            passing_elsewhere.join(", d=")
        )
    };
    format!("Make at least one of them pass and align: {dkim}, or {spf}.{hint}")
}

fn evidence(e: &DmarcEvaluation) -> Vec<String> {
    let mut lines = Vec::new();
    if let Some(r) = &e.record {
        lines.push(format!("{}. TXT \"{}\"", r.name, r.text));
    }
    if let Some(id) = &e.spf.identifier {
        lines.push(format!("spf={} smtp.mailfrom={}", id.result, id.domain));
    }
    for s in &e.dkim.signatures {
        lines.push(format!("dkim={} header.d={}", s.result, s.domain));
    }
    lines
}

/// The record with one tag's value replaced (or the tag added after `p`).
fn with_tag(text: &str, tag: &str, value: &str) -> String {
    let mut segments: Vec<String> = text
        .split(';')
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .collect();
    let named = |s: &String, name: &str| {
        s.split_once('=')
            .is_some_and(|(n, _)| n.trim().eq_ignore_ascii_case(name))
    };
    if let Some(segment) = segments.iter_mut().find(|s| named(s, tag)) {
        *segment = format!("{tag}={value}");
    } else {
        let at = segments
            .iter()
            .position(|s| named(s, "p"))
            .or_else(|| segments.iter().position(|s| named(s, "v")))
            .map_or(segments.len(), |i| i + 1);
        segments.insert(at, format!("{tag}={value}"));
    }
    segments.join("; ")
}

fn without_tag(text: &str, tag: &str) -> String {
    text.split(';')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .filter(|s| {
            !s.split_once('=')
                .is_some_and(|(n, _)| n.trim().eq_ignore_ascii_case(tag))
        })
        .collect::<Vec<_>>()
        .join("; ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn what_if(from: &str, spf: Option<(&str, &str)>, dkim: &[(&str, &str)]) -> WhatIf {
        WhatIf {
            from_domain: from.into(),
            spf: spf.map(|(d, r)| IdentifierResult {
                domain: d.into(),
                result: r.into(),
            }),
            dkim: dkim
                .iter()
                .map(|(d, r)| IdentifierResult {
                    domain: (*d).into(),
                    result: (*r).into(),
                })
                .collect(),
        }
    }

    fn field_of(input: &WhatIf) -> String {
        Inputs::from_what_if(input).unwrap_err().field
    }

    #[test]
    fn invalid_input_names_its_field() {
        assert_eq!(field_of(&what_if("not a domain", None, &[])), "from_domain");
        assert_eq!(field_of(&what_if("localhost", None, &[])), "from_domain");
        assert_eq!(
            field_of(&what_if("example.com", Some(("192.0.2.1", "pass")), &[])),
            "spf.domain"
        );
        assert_eq!(
            field_of(&what_if("example.com", Some(("example.com", "ok")), &[])),
            "spf.result"
        );
        assert_eq!(
            field_of(&what_if(
                "example.com",
                None,
                &[("example.com", "pass"), ("example..com", "pass")]
            )),
            "dkim[1].domain"
        );
        assert_eq!(
            field_of(&what_if("example.com", None, &[("example.com", "passed")])),
            "dkim[0].result"
        );
        // softfail is an SPF word only (RFC 8601 §2.7.1 vs §2.7.2).
        assert_eq!(
            field_of(&what_if(
                "example.com",
                None,
                &[("example.com", "softfail")]
            )),
            "dkim[0].result"
        );
        let many: Vec<(&str, &str)> = vec![("example.com", "pass"); MAX_DKIM_RESULTS + 1];
        assert_eq!(field_of(&what_if("example.com", None, &many)), "dkim");
    }

    #[test]
    fn input_is_normalized() {
        let inputs = Inputs::from_what_if(&what_if(
            "Bücher.Example.",
            Some(("Bounce.ESP.example", "PASS")),
            &[("esp.example", "temperror")],
        ))
        .unwrap();
        assert_eq!(inputs.from.as_deref(), Some("xn--bcher-kva.example"));
        let spf = inputs.spf.unwrap();
        assert_eq!(
            (spf.domain.as_str(), spf.result),
            ("bounce.esp.example", AuthResult::Pass)
        );
        assert_eq!(inputs.dkim[0].result, AuthResult::TempError);
    }

    #[test]
    fn the_json_body_refuses_unknown_fields() {
        let ok: WhatIf = serde_json::from_str(
            r#"{"from_domain":"example.com","spf":{"domain":"example.com","result":"pass"}}"#,
        )
        .unwrap();
        assert!(ok.dkim.is_empty());
        assert!(serde_json::from_str::<WhatIf>(r#"{"from_domain":"a.example","x":1}"#).is_err());
        assert!(
            serde_json::from_str::<WhatIf>(
                r#"{"from_domain":"a.example","dkim":[{"domain":"a.example","result":"pass","s":"x"}]}"#
            )
            .is_err()
        );
    }

    #[test]
    fn a_message_domain_that_is_not_a_name_is_kept_but_not_walked() {
        let inputs = Inputs::from_message(
            Some("[192.0.2.1]"),
            Some(("Example.COM", SpfResult::Pass)),
            &[("bad..name", true), ("example.com", false)],
        );
        assert!(inputs.from.is_none() && inputs.from_problem.is_some());
        assert_eq!(inputs.dkim[0].domain, "bad..name");
        assert!(!inputs.dkim[0].valid);
        assert_eq!(inputs.dkim[1].result, AuthResult::Fail);
        assert_eq!(inputs.spf.unwrap().domain, "example.com");
        let none = Inputs::from_message(None, None, &[]);
        assert!(none.from.is_none());
    }

    // RFC 9989 §4.4.1/§4.4.2 as mail-auth decides them.
    #[test]
    fn alignment_rules() {
        let org = |o: &str| Ok::<String, String>(o.to_string());
        let r = Alignment::Relaxed;
        let s = Alignment::Strict;
        assert_eq!(
            decide("example.com", "example.com", "example.com", s, None),
            Decision::Aligned(AlignmentMatch::Identical)
        );
        assert_eq!(
            decide(
                "mail.example.com",
                "example.com",
                "example.com",
                r,
                Some(&org("example.com"))
            ),
            Decision::Aligned(AlignmentMatch::SameOrganization)
        );
        assert_eq!(
            decide("example.com", "mail.example.com", "example.com", s, None),
            Decision::NotAligned
        );
        // Not under the author's organizational domain: no walk needed.
        assert_eq!(
            decide("esp.example", "example.com", "example.com", r, None),
            Decision::NotAligned
        );
        assert_eq!(
            decide("xexample.com", "example.com", "example.com", r, None),
            Decision::NotAligned
        );
        // Under it, but a record with psd=n makes it its own organization.
        assert_eq!(
            decide(
                "b.example.com",
                "a.example.com",
                "example.com",
                r,
                Some(&org("b.example.com"))
            ),
            Decision::NotAligned
        );
        assert!(matches!(
            decide(
                "b.example.com",
                "example.com",
                "example.com",
                r,
                Some(&Err("SERVFAIL".into()))
            ),
            Decision::Unknown(_)
        ));
    }

    fn claim(domain: &str, result: AuthResult) -> Claim {
        Claim {
            domain: domain.into(),
            result,
            valid: true,
        }
    }

    #[test]
    fn mechanisms_follow_mail_auth() {
        use AuthResult as A;
        use Decision::{Aligned, NotAligned, Unknown};
        let yes = Aligned(AlignmentMatch::Identical);
        // SPF: pass aligned, pass not aligned, temperror aligned, fail.
        let spf = |r, d: Decision| spf_mechanism(Some(&claim("a.example", r)), Some(&d)).result;
        assert_eq!(spf(A::Pass, yes.clone()), DmarcResult::Pass);
        assert_eq!(spf(A::Pass, NotAligned), DmarcResult::Fail);
        assert_eq!(spf(A::TempError, yes.clone()), DmarcResult::TempError);
        assert_eq!(spf(A::TempError, NotAligned), DmarcResult::None);
        assert_eq!(spf(A::Fail, yes.clone()), DmarcResult::None);
        assert_eq!(spf(A::Pass, Unknown("x".into())), DmarcResult::TempError);

        // DKIM: the first aligned pass wins over an earlier temperror.
        let claims = [
            claim("t.example", A::TempError),
            claim("o.example", A::Pass),
            claim("a.example", A::Pass),
        ];
        let m = dkim_mechanism(&claims, &[yes.clone(), NotAligned, yes.clone()]);
        assert_eq!(
            (m.result, m.decisive.as_deref()),
            (DmarcResult::Pass, Some("a.example"))
        );
        let m = dkim_mechanism(&claims, &[yes.clone(), NotAligned, NotAligned]);
        assert_eq!(m.result, DmarcResult::TempError);
        let m = dkim_mechanism(&claims, &[NotAligned, NotAligned, NotAligned]);
        assert_eq!(m.result, DmarcResult::Fail);
        let failing = [claim("a.example", A::Fail), claim("a.example", A::Policy)];
        assert_eq!(
            dkim_mechanism(&failing, &[yes.clone(), yes]).result,
            DmarcResult::None
        );

        assert_eq!(
            combine(DmarcResult::Fail, DmarcResult::TempError, true),
            DmarcResult::TempError
        );
        assert_eq!(
            combine(DmarcResult::Fail, DmarcResult::Pass, true),
            DmarcResult::Pass
        );
        assert_eq!(
            combine(DmarcResult::None, DmarcResult::None, true),
            DmarcResult::Fail
        );
        assert_eq!(
            combine(DmarcResult::None, DmarcResult::None, false),
            DmarcResult::None
        );
    }

    #[test]
    fn records_are_judged_as_mail_auth_judges_them() {
        let texts = |t: &[&str]| t.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert!(matches!(judge(&texts(&[])), Judged::Nothing));
        assert!(matches!(
            judge(&texts(&["v=spf1 -all", "v=DMARC1; p=reject"])),
            Judged::Record(_, t) if t == "v=DMARC1; p=reject"
        ));
        assert!(matches!(
            judge(&texts(&["v=DMARC1; p=bogus"])),
            Judged::Unparsable(_)
        ));
        assert!(matches!(judge(&texts(&["hello"])), Judged::Nothing));
    }

    fn found(text: &str) -> Found {
        Found {
            domain: "example.com".into(),
            text: text.into(),
            record: mail_auth::dmarc::DmarcRecord::parse(text.as_bytes()).unwrap(),
            dmarc1_count: 1,
        }
    }

    // RFC 9989 §4.10.1 and §4.7 (t=y).
    #[test]
    fn the_policy_that_applies() {
        let f = found("v=DMARC1; p=reject; sp=quarantine; np=none");
        let own = choose_policy(&f, true, None);
        assert_eq!((own.tag, own.applied), ("p", Policy::Reject));
        let sub = choose_policy(&f, false, Some(true));
        assert_eq!((sub.tag, sub.applied), ("sp", Policy::Quarantine));
        let gone = choose_policy(&f, false, Some(false));
        assert_eq!((gone.tag, gone.applied), ("np", Policy::None));
        let unknown = choose_policy(&f, false, None);
        assert_eq!(unknown.tag, "sp");
        let plain = choose_policy(&found("v=DMARC1; p=reject"), false, Some(false));
        assert_eq!((plain.tag, plain.applied), ("p", Policy::Reject));
        let testing = choose_policy(&found("v=DMARC1; p=reject; t=y"), true, None);
        assert_eq!(
            (testing.published, testing.applied),
            (Policy::Reject, Policy::Quarantine)
        );
        let no_p = choose_policy(&found("v=DMARC1; rua=mailto:d@example.com"), true, None);
        assert_eq!((no_p.tag, no_p.applied), ("p", Policy::None));
    }

    #[test]
    fn fixes_edit_the_record() {
        assert_eq!(
            with_tag(
                "v=DMARC1; p=none; rua=mailto:d@example.com",
                "p",
                "quarantine"
            ),
            "v=DMARC1; p=quarantine; rua=mailto:d@example.com"
        );
        assert_eq!(
            with_tag(
                "v=DMARC1; p=reject; rua=mailto:d@example.com",
                "sp",
                "quarantine"
            ),
            "v=DMARC1; p=reject; sp=quarantine; rua=mailto:d@example.com"
        );
        assert_eq!(
            without_tag("v=DMARC1; p=quarantine; t=y;", "t"),
            "v=DMARC1; p=quarantine"
        );
        assert!(has_tag("v=DMARC1; p=none; SP = reject", "sp"));
        assert!(!has_tag(
            "v=DMARC1; p=none; rua=mailto:sp=x@example.com",
            "sp"
        ));
    }

    #[test]
    fn words_round_trip() {
        for word in [
            "pass",
            "fail",
            "softfail",
            "neutral",
            "none",
            "temperror",
            "permerror",
            "policy",
        ] {
            assert_eq!(AuthResult::parse(word).unwrap().as_str(), word);
        }
        assert_eq!(AuthResult::parse(" Pass "), Some(AuthResult::Pass));
        assert_eq!(AuthResult::parse("hardfail"), None);
        assert_eq!(AuthResult::from(SpfResult::SoftFail), AuthResult::SoftFail);
    }
}
