//! The SPF report of `mailvet spf` and `POST /v1/spf`: the check, the
//! findings it implies, the verdict and the DNS it relied on.
//!
//! This module decides which finding codes an SPF result produces:
//! `fail` → `spf.fail`, `softfail` → `spf.softfail`, `none` →
//! `spf.missing` (saying so when the identity is no domain name at all),
//! `temperror` → `spf.dns_error`, and `permerror` → the code
//! of its cause (`spf.syntax`, `spf.multiple_records`,
//! `spf.too_many_lookups`, `spf.void_lookups`, `spf.include_missing`).
//! `pass` and `neutral` produce none. A fix names the client's address
//! as an `ip4:`/`ip6:` term only when that address is public.

use super::record::listable;
use super::{Identity, ProblemKind, QueryError, SpfCheck, SpfQuery, SpfResult};
use crate::dns::Resolver;
use crate::dns::trace::DnsSummary;
use crate::findings::catalog;
use crate::findings::{Finding, Verdict, verdict};
use serde::Serialize;
use std::net::IpAddr;

/// The whole answer to an SPF question.
#[derive(Debug, Clone, Serialize)]
pub struct SpfReport {
    pub verdict: Verdict,
    #[serde(flatten)]
    pub check: SpfCheck,
    pub findings: Vec<Finding>,
    pub dns: DnsSummary,
}

/// Runs the check and assembles the report; `trace` adds the query trace.
pub async fn report(
    resolver: &Resolver,
    query: &SpfQuery,
    trace: bool,
) -> Result<SpfReport, QueryError> {
    let check = super::check(resolver, query).await?;
    let findings = findings(&check);
    Ok(SpfReport {
        verdict: verdict(&findings),
        findings,
        dns: resolver.summary(trace),
        check,
    })
}

/// The findings an SPF check result implies.
pub fn findings(check: &SpfCheck) -> Vec<Finding> {
    let domain = &check.domain;
    let ip = check.client_ip;
    let evidence: Vec<String> = check
        .records
        .iter()
        .map(|r| format!("{}: \"{}\"", r.domain, r.record))
        .collect();
    let finding = match check.result {
        SpfResult::Pass | SpfResult::Neutral => return Vec::new(),
        SpfResult::Fail => Finding::new(
            catalog::SPF_FAIL,
            format!(
                "{domain} does not authorize {ip} to send as {}{}",
                check.sender,
                matched_clause(check)
            ),
        )
        .with_fix(match listable(ip) {
            Some(term) => format!(
                "If {ip} is a legitimate sender for {domain}, add it to the SPF record \
                 (for example `{term}` before the `all` term, or the include: your provider \
                 documents); otherwise this mail is forged and failing is correct."
            ),
            None => not_public(ip),
        }),
        SpfResult::SoftFail => Finding::new(
            catalog::SPF_SOFTFAIL,
            format!(
                "{domain} marks {ip} as probably not authorized (softfail){}",
                matched_clause(check)
            ),
        ),
        SpfResult::None if !publishable(domain) => Finding::new(
            catalog::SPF_MISSING,
            format!(
                "{}, so no SPF record can apply to it (RFC 7208 §4.3: the result is none)",
                not_a_domain(check)
            ),
        )
        .with_fix(name_a_domain(check)),
        SpfResult::None => Finding::new(
            catalog::SPF_MISSING,
            format!("{domain} publishes no SPF record (no TXT record starting with v=spf1)"),
        )
        .with_fix(match listable(ip) {
            Some(term) => format!(
                "Publish one TXT record at {domain} listing the servers that send for it, \
                 for example: v=spf1 {term} -all (use include: for your email provider)."
            ),
            None => format!(
                "Publish one TXT record at {domain} listing the public addresses of the \
                 servers that send for it, for example: v=spf1 include:<your email \
                 provider> -all. {}",
                not_public(ip)
            ),
        }),
        SpfResult::TempError | SpfResult::PermError => {
            let Some(problem) = &check.reason else {
                return Vec::new();
            };
            let code = match problem.kind {
                ProblemKind::Syntax => catalog::SPF_SYNTAX,
                ProblemKind::MultipleRecords => catalog::SPF_MULTIPLE_RECORDS,
                ProblemKind::TooManyLookups | ProblemKind::TooManyMxNames => {
                    catalog::SPF_TOO_MANY_LOOKUPS
                }
                ProblemKind::TooManyVoidLookups => catalog::SPF_VOID_LOOKUPS,
                ProblemKind::IncludeWithoutRecord | ProblemKind::RedirectWithoutRecord => {
                    catalog::SPF_INCLUDE_MISSING
                }
                ProblemKind::DnsError => catalog::SPF_DNS_ERROR,
            };
            Finding::new(code, problem.message.clone())
        }
    };
    vec![finding.with_evidence(evidence)]
}

/// What is wrong with the identity's domain, which is no domain name.
fn not_a_domain(check: &SpfCheck) -> String {
    if check.domain.is_empty() {
        return format!("The MAIL FROM address `{}` has no domain", check.sender);
    }
    let whose = if helo_checked(check) {
        "The HELO name"
    } else {
        "The MAIL FROM domain"
    };
    format!("{whose} `{}` is not a domain name", check.domain)
}

/// The fix when the identity is no domain name.
fn name_a_domain(check: &SpfCheck) -> &'static str {
    if helo_checked(check) {
        "Have the sending server greet with its fully qualified host name (HELO); SPF is then \
         checked against the records published there."
    } else {
        "Send from an address at your domain (MAIL FROM); SPF is then checked against the \
         records published there."
    }
}

/// Whether the domain checked is the HELO name: for the HELO identity,
/// or as the null sender's `postmaster@HELO` (RFC 7208 §2.4).
fn helo_checked(check: &SpfCheck) -> bool {
    check.identity == Identity::Helo || check.helo.as_deref() == Some(&check.domain)
}

/// Whether `domain` is a name an SPF record could be published at: what
/// the evaluation asks about (RFC 7208 §4.3: a name of two labels or
/// more, each 1 to 63 octets).
fn publishable(domain: &str) -> bool {
    super::eval::dns_name(domain).is_some_and(|name| name.num_labels() >= 2)
}

/// The fix when the client is not public: the check saw a local hop, not
/// the server that sends to the internet.
fn not_public(ip: IpAddr) -> String {
    format!(
        "{ip} is not a public address, so SPF cannot be fixed by listing it: receivers \
         see mail from your outgoing server's public address, never from {ip}. The \
         message was probably sent from a local test client or checked at a hop inside \
         your network; send it through your real outgoing server (or give its public \
         address as the client IP) and check again."
    )
}

fn matched_clause(check: &SpfCheck) -> String {
    check
        .matched
        .as_ref()
        .map(|m| format!(" (matched `{}` in the record of {})", m.term, m.domain))
        .unwrap_or_default()
}
