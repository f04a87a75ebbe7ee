//! The message report: every verdict a receiver reaches about one message,
//! explained, with the Authentication-Results header and the provider
//! checklist.
//!
//! This module decides the order of work and how verdicts combine: the
//! header section is measured against the message limits before anything
//! parses it ([`limits`]); the envelope is completed from the headers when
//! the caller gave none; SPF (MAIL FROM and HELO), DKIM, ARC, iprev and
//! the DNS blocklists run concurrently; DMARC then takes the MAIL FROM SPF
//! result and the DKIM results; the content checks read the body; the
//! grade is computed last, from all the findings. A verdict that cannot be decided — SPF without a client IP, a
//! signature past the limits — is reported as not evaluated, never
//! guessed.
//!
//! It also decides where the work runs. Parsing, hashing and signature
//! checks are CPU work that would stall tokio's workers (and with them
//! every other request, `/healthz` included, and the request timeout's
//! timer), so the server and the CLI call [`report_pooled`]: a heavy
//! message is verified on tokio's blocking pool, at most one per core at a
//! time, driving its DNS through the runtime's handle. A light one (at most
//! 128 KiB and 4 signature fields: the common case, a few hundred
//! microseconds of work, a few milliseconds at worst) is verified on the
//! calling task, because the hand-over to the pool and back costs more
//! than its whole verification (benches/message_throughput.rs: +130 µs of
//! CPU on a ~200 µs report).

use super::blocklists::{self, BlocklistSection, Blocklists};
use super::content::{self, ContentSection};
use super::envelope::{self, Envelope, EnvelopeReport};
use super::limits::{self, Budget, HeaderLimit, HeaderSection, MessageLimits, NotEvaluated};
use super::{Clock, MessageContext, arc, dkim, dmarc, headers, iprev};
use crate::dns::Dns;
use crate::dns::bridge::BridgeError;
use crate::dns::trace::DnsSummary;
use crate::findings::catalog;
use crate::findings::grade::{Grade, grade};
use crate::findings::requirements::{self, Lacking, MessageFacts, Requirement};
use crate::findings::undecided::{self, Undecided};
use crate::findings::{Finding, Verdict};
use crate::local_file::BYTE_ORDER_MARK;
use crate::records::trace_field::{comment, property_value};
use crate::spf::{self, QueryError, SpfCheck, SpfQuery, SpfResult};
use dmarc::DmarcResult;
use serde::Serialize;
use std::sync::{Arc, OnceLock};
use tokio::sync::{Semaphore, oneshot};

/// What the caller sends.
#[derive(Debug, Clone)]
pub struct MessageRequest {
    pub raw: Vec<u8>,
    pub envelope: Envelope,
    /// `Some(true)` declares bulk mail, `Some(false)` turns the bulk rules
    /// off, `None` decides from the headers.
    pub bulk: Option<bool>,
    /// The authserv-id of the Authentication-Results header.
    pub authserv_id: String,
    pub clock: Clock,
    /// What verifying it may cost.
    pub limits: MessageLimits,
    /// The DNS blocklists to ask about the sending IP.
    pub blocklists: Blocklists,
}

impl MessageRequest {
    /// The message to verify: `raw` without a UTF-8 byte-order mark in
    /// front, which an editor saving an .eml may write and which would
    /// otherwise make the first header field's name unreadable (RFC 5322
    /// §2.2 field names are printable US-ASCII), hiding a DKIM-Signature
    /// that stands first.
    ///
    /// Nor an mbox separator line (`From sender date`, RFC 4155), which a
    /// mail program may save in front of the message: it is no header
    /// field (the `From:` field has a colon after its name).
    pub fn message(&self) -> &[u8] {
        let raw = self.raw.strip_prefix(BYTE_ORDER_MARK).unwrap_or(&self.raw);
        let end = raw
            .iter()
            .position(|&b| b == b'\n')
            .map_or(raw.len(), |i| i + 1);
        if is_mbox_separator(&raw[..end]) {
            &raw[end..]
        } else {
            raw
        }
    }
}

/// Whether `line` is an mbox separator, RFC 4155's `From ` then the
/// sender and an asctime date (`From a@b.example Thu Dec  3 10:00:00
/// 2026`): it has the sender, a time of day and a year, so a first line
/// such as `From my phone` is not taken for one.
fn is_mbox_separator(line: &[u8]) -> bool {
    let Some(rest) = line.strip_prefix(b"From ") else {
        return false;
    };
    let words: Vec<&[u8]> = rest
        .split(u8::is_ascii_whitespace)
        .filter(|w| !w.is_empty())
        .collect();
    let time = |w: &&[u8]| {
        w.len() >= 5 && w.contains(&b':') && w.iter().all(|b| b.is_ascii_digit() || *b == b':')
    };
    let year = |w: &&[u8]| w.len() == 4 && w.iter().all(u8::is_ascii_digit);
    words.len() >= 4
        && !words[0].contains(&b':')
        && words.iter().any(time)
        && words.iter().any(year)
}

/// Why there is no report.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// The message is over a header limit: the client's to fix.
    #[error(transparent)]
    Limit(#[from] HeaderLimit),
    #[error(transparent)]
    Bridge(#[from] BridgeError),
    /// The verification stopped without an answer (it panicked).
    #[error("the verification stopped unexpectedly: {0}")]
    Stopped(String),
}

/// The SPF part: the MAIL FROM identity's result (what DMARC uses) and the
/// HELO identity's, each when it could be evaluated.
#[derive(Debug, Clone, Serialize)]
pub struct MessageSpf {
    /// The MAIL FROM result, or `not_evaluated`.
    pub result: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    pub mailfrom: Option<SpfCheck>,
    pub helo: Option<SpfCheck>,
}

#[derive(Debug, Clone, Serialize)]
pub struct MessageReport {
    pub verdict: Verdict,
    /// 0 to 10 from the findings ([`crate::findings::grade`]); the
    /// findings stay the report. `None` when a check is undecided: a
    /// grade would count only what was decided.
    pub grade: Option<Grade>,
    /// What receivers will do with the message, in one sentence for
    /// people ([`super::summary`]).
    pub summary: String,
    /// The checks a failed DNS lookup left undecided; empty when every
    /// check was decided.
    pub undecided: Vec<Undecided>,
    /// Worst first.
    pub findings: Vec<Finding>,
    pub envelope: EnvelopeReport,
    pub spf: MessageSpf,
    pub dkim: dkim::DkimSection,
    pub dmarc: dmarc::DmarcMessageSection,
    pub arc: arc::ArcSection,
    pub iprev: Option<iprev::IprevSection>,
    pub headers: headers::HeadersSection,
    /// The sending IP on the configured DNS blocklists; `None` without a
    /// list or an IP.
    pub blocklists: Option<BlocklistSection>,
    /// What the body holds: parts, images, links, size.
    pub content: ContentSection,
    /// The RFC 8601 header to prepend.
    pub authentication_results: String,
    /// The RFC 7208 §9.1 header for the MAIL FROM check, when evaluated.
    pub received_spf: Option<String>,
    pub requirements: Vec<Requirement>,
    pub dns: DnsSummary,
    /// The DKIM signatures the message limits left out, when any were.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub not_evaluated: Option<NotEvaluated>,
}

/// Verifications running at once on the blocking pool: one per core, since
/// more would only share the cores and hold more messages' working memory.
fn verifiers() -> &'static Semaphore {
    static VERIFIERS: OnceLock<Semaphore> = OnceLock::new();
    VERIFIERS.get_or_init(|| {
        Semaphore::new(std::thread::available_parallelism().map_or(2, std::num::NonZero::get))
    })
}

/// The most a message verified on the calling task may weigh.
const LIGHT_BYTES: usize = 128 * 1024;
const LIGHT_SIGNATURES: usize = 4;

/// [`report`], run where its weight allows: a light message on the calling
/// task, a heavy one on tokio's blocking pool once one of the per-core
/// slots is free (waiting for it takes no thread). There the report's DNS
/// still runs on the runtime, through its handle; the caller's task only
/// waits, and when it gives up (a request timeout) the report stops at its
/// next wait for DNS. Needs a tokio runtime with the I/O and time drivers.
pub async fn report_pooled(
    dns: Arc<Dns>,
    request: MessageRequest,
    trace: bool,
) -> Result<MessageReport, ReportError> {
    let section = limits::check(request.message(), &request.limits)?;
    if request.message().len() <= LIGHT_BYTES && section.signatures <= LIGHT_SIGNATURES {
        return verify(&dns, &request, section, trace).await;
    }
    let permit = verifiers()
        .acquire()
        .await
        .map_err(|e| ReportError::Stopped(e.to_string()))?;
    let runtime = tokio::runtime::Handle::current();
    let span = tracing::Span::current();
    // Dropped with this future: the report then stops.
    let (_caller, gone) = oneshot::channel::<()>();
    let task = tokio::task::spawn_blocking(move || {
        let _permit = permit;
        let report = span.in_scope(|| {
            runtime.block_on(async {
                tokio::select! {
                    report = verify(&dns, &request, section, trace) => Some(report),
                    _ = gone => None,
                }
            })
        });
        drop(request);
        give_back_memory();
        report
    });
    match task.await {
        Ok(Some(report)) => report,
        Ok(None) => Err(ReportError::Stopped("the caller went away".into())),
        Err(e) => Err(ReportError::Stopped(e.to_string())),
    }
}

/// Returns the memory freed by a heavy verification to the OS now. mimalloc
/// (the binary's allocator) otherwise keeps freed pages for reuse until
/// the thread allocates again or exits, so one 24 MB message left the
/// process about 60 MB larger than before it. Under another global
/// allocator this only tidies mimalloc's own unused heap.
fn give_back_memory() {
    // SAFETY: mi_collect takes no pointer and may be called at any time
    // from any thread.
    unsafe { libmimalloc_sys::mi_collect(true) }
}

/// Verifies one message, on the calling task (see [`report_pooled`]).
pub async fn report(
    dns: &Arc<Dns>,
    request: &MessageRequest,
    trace: bool,
) -> Result<MessageReport, ReportError> {
    // Before any parser: a header flood is refused here at the cost of one
    // pass over at most `header_bytes` bytes.
    let section = limits::check(request.message(), &request.limits)?;
    verify(dns, request, section, trace).await
}

/// [`report`] once the header section is known to be within the limits.
async fn verify(
    dns: &Arc<Dns>,
    request: &MessageRequest,
    section: HeaderSection,
    trace: bool,
) -> Result<MessageReport, ReportError> {
    let resolver = dns.resolver();
    let lease = resolver.mail_auth().await?;
    let authenticator = &lease.authenticator;
    let cx = MessageContext {
        resolver: &resolver,
        answered: crate::dns::answered::Answered::default(),
        authenticator,
        raw: request.message(),
        clock: request.clock,
    };
    // mail-parser reads only the section just measured, wherever it would
    // have ended it.
    let parsed_headers = headers::parse(request.message().get(..section.bytes).unwrap_or_default());
    let fields = headers::fields(&parsed_headers);
    let envelope = envelope::infer(&fields, request.envelope.clone());
    let headers = headers::check_fields(&fields, request.bulk);
    let given = envelope.envelope();
    let spf_query = |mail_from: Option<String>| {
        given.ip.map(|ip| SpfQuery {
            ip,
            helo: given.helo.clone(),
            mail_from,
            receiver: Some(request.authserv_id.clone()),
        })
    };
    let mailfrom_query = spf_query(given.mail_from.clone().or_else(|| {
        // Without a MAIL FROM but with a HELO, RFC 7208 §2.4 checks the
        // null sender as postmaster@HELO.
        given.helo.as_ref().map(|_| String::new())
    }));
    let helo_query = spf_query(None).filter(|_| given.helo.is_some());
    let spf_check = |query: Option<SpfQuery>| {
        let resolver = &resolver;
        async move {
            match query {
                Some(q) => Some(spf::check(resolver, &q).await),
                None => None,
            }
        }
    };
    let iprev_check = async {
        match given.ip {
            Some(ip) => Some(iprev::verify(&resolver, authenticator, &cx.answered, ip).await),
            None => None,
        }
    };
    // DKIM and ARC share one parse of the message in its wire form, with
    // the signatures the limits leave out hidden from mail-auth.
    let (budget, wire) = Budget::new(dkim::wire_form(request.message()), &request.limits);
    let mut parsed = dkim::parse(&wire);
    if let Some(message) = parsed.as_mut() {
        budget.retain(message);
    }
    let signatures = async {
        match &parsed {
            Some(message) => {
                let v = dkim::verify_within(&cx, message, &budget).await;
                crate::findings::Checked {
                    section: v.section,
                    findings: v.options.into_iter().chain(v.findings).collect(),
                }
            }
            None => dkim::verify(&cx).await,
        }
    };
    let chain = async {
        match &parsed {
            Some(message) => arc::verify_within(&cx, message, &budget).await,
            None => arc::verify(&cx).await,
        }
    };
    let listed = blocklists::check(&resolver, &request.blocklists, &envelope);
    let (mailfrom, helo, dkim, arc, iprev, listed) = tokio::join!(
        spf_check(mailfrom_query),
        spf_check(helo_query),
        signatures,
        chain,
        iprev_check,
        listed,
    );
    let mailfrom = mailfrom_checked(mailfrom, envelope.ip.note.as_deref());
    let helo = helo.and_then(Result::ok);
    let from_domain = headers.section.from_domain.clone();
    let spf_for_dmarc = mailfrom
        .as_ref()
        .ok()
        .map(|c| (c.domain.as_str(), c.result));
    // Signatures with a d= go to DMARC, in order; `signed` remembers which.
    let (signed, passing): (Vec<usize>, Vec<(&str, bool)>) = dkim
        .section
        .signatures
        .iter()
        .enumerate()
        .filter_map(|(i, s)| s.domain.as_deref().map(|d| (i, (d, s.passed()))))
        .unzip();
    let dmarc = dmarc::verify(&cx, from_domain.as_deref(), spf_for_dmarc, &passing).await;
    let mut dkim = dkim;
    for (judged, &index) in dmarc.section.dkim.signatures.iter().zip(&signed) {
        if judged.aligned == Some(true)
            && let Some(signature) = dkim.section.signatures.get_mut(index)
        {
            signature.aligned_with = from_domain.clone();
        }
    }

    let mut findings: Vec<Finding> = envelope.findings.clone();
    let (spf_result, spf_reason) = match &mailfrom {
        Ok(check) => {
            findings.extend(spf::report::findings(check));
            (check.result.as_str().to_string(), None)
        }
        Err(unchecked) => (
            "not_evaluated".to_string(),
            Some(format!("SPF was not evaluated: {}", unchecked.reason)),
        ),
    };
    findings.extend(headers.findings);
    findings.extend(dkim.findings);
    findings.extend(arc.findings);
    findings.extend(dmarc.findings);
    // A message report carries the domain-side code that explains its
    // verdict: DMARC `none` means the From domain has no record.
    if dmarc.section.record.is_none()
        && dmarc.section.result.as_str() == "none"
        && let Some(from) = &from_domain
    {
        findings.push(
            Finding::new(
                catalog::DMARC_MISSING,
                format!("{from} (the From domain) publishes no DMARC record, so DMARC is none"),
            )
            .with_fix(format!(
                "Publish a TXT record at _dmarc.{from}: v=DMARC1; p=none; \
                     rua=mailto:dmarc-reports@{from} — then move to p=quarantine or p=reject \
                     once reports show your mail passes."
            )),
        );
    }
    if let Some(i) = &iprev {
        findings.extend(i.findings.clone());
    }
    if let Some(l) = &listed {
        findings.extend(l.findings.clone());
    }
    let content = content::check(request.message(), from_domain.as_deref());
    findings.extend(content.findings);
    findings.sort_by_key(|f| std::cmp::Reverse(f.severity));

    let undecided = undecided_checks(
        mailfrom.as_ref().ok(),
        &dkim.section,
        &dmarc.section,
        iprev.as_ref().map(|i| &i.section),
    );
    let lacks = |check: &str| undecided.iter().any(|u| u.check == check);
    let decided = |check: &str, fact: bool| (!lacks(check)).then_some(fact);
    let aligned = dmarc.section.spf.result == DmarcResult::Pass
        || dmarc.section.dkim.result == DmarcResult::Pass;
    let facts = MessageFacts {
        spf_pass: mailfrom
            .as_ref()
            .ok()
            .and_then(|c| decided("spf", c.result == SpfResult::Pass)),
        dkim_pass: decided("dkim", dkim.section.signatures.iter().any(|s| s.passed())),
        dmarc_record: decided("dmarc", dmarc.section.record.is_some()),
        dmarc_pass: decided("dmarc", dmarc.section.result == DmarcResult::Pass),
        aligned: if aligned {
            Some(true)
        } else {
            decided("dmarc", false)
        },
        bulk: headers.section.bulk.applies,
        one_click: headers.section.one_click,
        ptr: iprev
            .as_ref()
            .and_then(|i| decided("iprev", i.section.result == "pass")),
        codes: findings.iter().map(|f| f.code).collect(),
        lacking: match &mailfrom {
            _ if !undecided.is_empty() => Lacking::Dns,
            Err(unchecked) => unchecked.lacking,
            // SPF ran, so the IP was known: no fact is unknown for want
            // of an input.
            Ok(_) => Lacking::Identity,
        },
    };
    let authentication_results = authentication_results(
        &request.authserv_id,
        mailfrom.as_ref().map_err(Unchecked::comment),
        &dkim.section,
        &dmarc.section,
        &arc.section,
        iprev.as_ref().map(|i| &i.section),
    );
    Ok(MessageReport {
        verdict: undecided::verdict(&findings, &undecided),
        grade: undecided.is_empty().then(|| grade(&findings)),
        summary: super::summary::sentence(&dmarc.section, &dkim.section, &findings),
        requirements: requirements::for_message(&facts),
        undecided,
        findings,
        received_spf: mailfrom.as_ref().ok().map(|c| c.received_spf.clone()),
        spf: MessageSpf {
            result: spf_result,
            reason: spf_reason,
            mailfrom: mailfrom.ok(),
            helo,
        },
        envelope,
        dkim: dkim.section,
        dmarc: dmarc.section,
        arc: arc.section,
        iprev: iprev.map(|i| i.section),
        headers: headers.section,
        blocklists: listed.map(|l| l.section),
        content: content.section,
        authentication_results,
        dns: resolver.summary(trace),
        not_evaluated: budget.not_evaluated(),
    })
}

/// Why SPF was not checked for the MAIL FROM identity.
struct Unchecked {
    /// What the check lacked: the sending IP, or a usable identity.
    lacking: Lacking,
    /// Why, as the report's SPF section says it.
    reason: String,
}

impl Unchecked {
    /// The comment of `spf=none` in Authentication-Results.
    fn comment(&self) -> &'static str {
        match self.lacking {
            Lacking::Ip => "no client IP",
            Lacking::Identity | Lacking::Dns => "no usable MAIL FROM or HELO",
        }
    }
}

/// The MAIL FROM check, or why there was none: no query without the
/// sending IP (`ip_note` says how to give it), or a query without a
/// usable MAIL FROM or HELO.
fn mailfrom_checked(
    check: Option<Result<SpfCheck, QueryError>>,
    ip_note: Option<&str>,
) -> Result<SpfCheck, Unchecked> {
    match check {
        Some(Ok(check)) => Ok(check),
        Some(Err(why)) => Err(Unchecked {
            lacking: Lacking::Identity,
            reason: why.to_string(),
        }),
        None => Err(Unchecked {
            lacking: Lacking::Ip,
            reason: ip_note.unwrap_or(envelope::IP_UNKNOWN).to_owned(),
        }),
    }
}

/// The checks of a message a failed DNS lookup left undecided: SPF and
/// DMARC at `temperror`, DKIM when no signature passed and one is at
/// `temperror`, iprev at `temperror`.
fn undecided_checks(
    spf: Option<&SpfCheck>,
    dkim: &dkim::DkimSection,
    dmarc: &dmarc::DmarcMessageSection,
    iprev: Option<&iprev::IprevSection>,
) -> Vec<Undecided> {
    let mut undecided = Vec::new();
    if let Some(check) = spf.filter(|c| c.result == SpfResult::TempError) {
        undecided.push(Undecided {
            check: "spf",
            reason: format!("a DNS lookup for the SPF check of {} failed", check.domain),
        });
    }
    let signatures = &dkim.signatures;
    if !signatures.iter().any(|s| s.passed())
        && let Some(signature) = signatures
            .iter()
            .find(|s| s.result == dkim::DkimResult::TempError)
    {
        undecided.push(Undecided {
            check: "dkim",
            reason: signature
                .reason
                .clone()
                .unwrap_or_else(|| "a DKIM key lookup failed".into()),
        });
    }
    if dmarc.result == DmarcResult::TempError {
        undecided.push(Undecided {
            check: "dmarc",
            reason: dmarc.reason.clone(),
        });
    }
    if let Some(section) = iprev.filter(|i| i.result == "temperror") {
        undecided.push(Undecided {
            check: "iprev",
            reason: section
                .reason
                .clone()
                .unwrap_or_else(|| format!("the PTR lookup for {} failed", section.ip)),
        });
    }
    undecided
}

/// The RFC 8601 Authentication-Results header field; `spf` is the MAIL
/// FROM check, or why there was none. Every value from the message or
/// its envelope is written by [`crate::records::trace_field`], so none
/// can add a result.
fn authentication_results(
    authserv_id: &str,
    spf: Result<&SpfCheck, &str>,
    dkim: &dkim::DkimSection,
    dmarc: &dmarc::DmarcMessageSection,
    arc: &arc::ArcSection,
    iprev: Option<&iprev::IprevSection>,
) -> String {
    let mut parts = vec![authserv_id.to_string()];
    // A property whose value is too long to write is left out.
    let property = |name: &str, value: &str| {
        property_value(value)
            .map(|value| format!(" {name}={value}"))
            .unwrap_or_default()
    };
    match spf {
        Ok(c) => {
            let identity = match c.identity {
                spf::Identity::MailFrom => property("smtp.mailfrom", &c.sender),
                spf::Identity::Helo => property("smtp.helo", &c.domain),
            };
            parts.push(format!("spf={}{identity}", c.result));
        }
        Err(why) => parts.push(format!("spf=none (not evaluated: {})", comment(why))),
    }
    if dkim.signatures.is_empty() {
        parts.push("dkim=none".into());
    }
    for s in &dkim.signatures {
        let mut p = format!("dkim={}", s.result.as_str());
        if let Some(reason) = &s.reason {
            p.push_str(&format!(" ({})", comment(reason)));
        }
        if let Some(d) = &s.domain {
            p.push_str(&property("header.d", d));
        }
        if let Some(sel) = &s.selector {
            p.push_str(&property("header.s", sel));
        }
        parts.push(p);
    }
    let mut d = format!("dmarc={}", dmarc.result.as_str());
    if let Some(from) = &dmarc.from_domain {
        d.push_str(&property("header.from", from));
    }
    if let Some(policy) = &dmarc.policy {
        d.push_str(&format!(" policy.dmarc={}", policy.as_str()));
    }
    parts.push(d);
    parts.push(format!("arc={}", arc.result.as_str()));
    if let Some(i) = iprev {
        parts.push(format!(
            "iprev={}{}",
            i.result,
            property("policy.iprev", &i.ip.to_string())
        ));
    }
    format!("Authentication-Results: {}", parts.join(";\r\n\t"))
}

#[cfg(test)]
mod tests {
    use super::is_mbox_separator;

    /// RFC 4155 §2: `From `, the sender, an asctime date.
    #[test]
    fn an_mbox_separator_has_a_sender_and_a_date() {
        assert!(is_mbox_separator(
            b"From news@web.test Thu Dec  3 10:00:00 2026\n"
        ));
        assert!(is_mbox_separator(
            b"From MAILER-DAEMON Fri Jul  8 12:08:34 2011\r\n"
        ));
        assert!(!is_mbox_separator(b"From my phone, sent at 10:00\n"));
        assert!(!is_mbox_separator(b"From: news@web.test\n"));
        assert!(!is_mbox_separator(
            b"From : news@web.test Thu Dec  3 10:00:00 2026\n"
        ));
    }
}
