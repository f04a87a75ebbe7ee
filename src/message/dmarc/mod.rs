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
//!   Where mail-auth reads the records against RFC 9989 (see Discovery),
//!   the result is this module's own reading instead. Where its verdict
//!   follows from this reading by construction (the author's own record,
//!   read alike, and an SPF identifier that is the From domain or neither
//!   passed nor failed temporarily), it is not asked again.
//! - **Discovery** (RFC 9989 §4.10, §4.10.1): `_dmarc.<From domain>`, then
//!   the DNS tree walk up to the top-level label (at most eight queries,
//!   stopping at `psd=y` or `psd=n`). The author's own record applies; else
//!   the Organizational Domain's; else the highest one found. At each name
//!   only records that start with `v=DMARC1` exactly count (§4.7); one that
//!   does not parse makes the result `permerror`, a failed query
//!   `temperror`; several are discarded (§4.10 step 2), which at the
//!   author's own name leaves no policy (`none`). mail-auth applies the
//!   first of several records and accepts `v=dmarc1`; where its reading
//!   differs so, its verdict is overridden and a note says why.
//!   The walk order and the Organizational Domain rule (§4.10.2) are the
//!   records layer's ([`crate::records::dmarc`]), which also parses the applied
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
//! - **Findings for a message** ([`findings`]): `dmarc.fail` (naming the policy applied and
//!   `t=y`), `dkim.not_aligned`, and `dmarc.policy_none` when DMARC fails
//!   under `p=none` (a domain-side code: a message report carries those
//!   that explain its verdicts).
//!
//! All DNS goes through the request's [`Resolver`]; the authenticator must
//! come from a [`crate::dns::bridge::Bridge`] over that same resolver, so
//! mail-auth and this module see the same answers (the per-request memo asks
//! each question once, and mail-auth reads the answers of the tree walk
//! from [`Resolver::share_answers`]).

mod alignment;
mod evaluate;
mod findings;
mod policy;
#[cfg(test)]
mod tests;
mod walk;

use crate::dns::Resolver;
use crate::dns::answered::Answered;
use crate::findings::Checked;
use crate::message::MessageContext;
use crate::records::dmarc::{Alignment, DmarcRecord, Policy, WalkStep};
use crate::records::name::DomainName;
use crate::spf::SpfResult;
use evaluate::run;
use findings::message_findings;
use mail_auth::MessageAuthenticator;
use serde::{Deserialize, Serialize};

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
    pub fault: WhatIfFault,
}

/// What is wrong with a what-if's field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WhatIfFault {
    /// A domain that is not one.
    NotADomain,
    /// A result word that is not one, or more DKIM results than evaluated.
    NotAllowed,
}

/// The RFC 8601 result words of SPF (§2.7.2) and DKIM (§2.7.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
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
        let bad = |field: String, reason: String| WhatIfError {
            field,
            reason,
            fault: WhatIfFault::NotAllowed,
        };
        let domain = |field: &str, text: &str| {
            DomainName::parse(text)
                .map(|d| d.ascii)
                .map_err(|e| WhatIfError {
                    fault: WhatIfFault::NotADomain,
                    ..bad(field.to_string(), e.to_string())
                })
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
                            "{} is not an SPF result; use pass, fail, softfail, neutral, \
                             none, temperror, permerror or policy",
                            crate::untrusted::echoed(&i.result)
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
                            "{} is not a DKIM result; use pass, fail, neutral, none, policy, \
                             temperror or permerror",
                            crate::untrusted::echoed(&d.result)
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
