//! `GET /v1/domains/{domain}` (the posture audit), `POST /v1/domains`
//! (several audits in one request) and `GET /v1/findings` (the catalog).
//!
//! A batch holds at most `max_batch` domains (`--max-batch`); more is 413
//! `/problems/too-many-domains`, decided before any DNS is asked, because
//! the limit is on the size of the work a request asks for. The domains
//! are audited [`CONCURRENT_AUDITS`] at a time and answered in the order
//! given, each report as `GET /v1/domains/{domain}` would give it; a
//! domain given again (in another case, or in its other IDNA form) is
//! audited and answered once, where it was first given.
//!
//! A batch is one request, with one cost: its audits draw on one budget
//! of upstream DNS questions (`--max-dns-questions`) and share one
//! deadline, [`BATCH_SHARE`] of the request timeout from when the body
//! has arrived. An audit not finished by then — still running, or never
//! started — is answered as a [`TimedOut`] entry in its place, so the
//! audits that finished are never lost to a 504.

use super::audit_cache::{AuditKey, Audited};
use super::extract::{
    ApiJson, ApiQuery, NoParams, QueryParams, ReportParams, flag, pairs_once, unknown_parameter,
};
use super::problem::{Problem, ProblemType};
use super::{AppState, Shared};
use crate::dns::Resolver;
use crate::domain::AuditOptions;
use crate::domain::report::{self, DomainReport};
use crate::findings::Code;
use crate::findings::catalog::CATALOG;
use crate::records::name::DomainName;
use axum::extract::{Path, State};
use axum::http::Uri;
use axum::response::Json;
use futures_util::stream::{self, StreamExt};
use serde::{Deserialize, Serialize};
use std::time::Duration;
use tokio::time::Instant;

/// Domains of one batch audited at once.
pub const CONCURRENT_AUDITS: usize = 8;

/// Most DKIM selectors one request may add (each is asked of every domain).
pub const MAX_SELECTORS: usize = 20;

/// The share of `--request-timeout` a batch's audits may take; the rest is
/// room to answer before the request timeout would turn it into a 504.
pub const BATCH_SHARE: f64 = 0.9;

/// The body limit of a batch: room for `max_batch` names at their longest.
pub(super) fn batch_body_limit(max_batch: usize) -> usize {
    super::JSON_BODY_LIMIT + max_batch * 300
}

/// A DKIM selector as the request gave it, checked and lower-cased.
pub(super) fn selector(value: &str, field: &str) -> Result<String, Problem> {
    let s = value.trim().to_ascii_lowercase();
    if crate::records::name::is_dkim_selector(&s) {
        Ok(s)
    } else {
        Err(Problem::new(
            ProblemType::InvalidRequest,
            format!(
                "{} is not a DKIM selector ({})",
                crate::untrusted::echoed(value),
                crate::records::name::DKIM_SELECTOR_RULE
            ),
        )
        .field(field))
    }
}

/// Query parameters of `GET /v1/domains/{domain}`: `selector`
/// (repeatable), `trace`, `probe` (`smtp`: the SMTP probe of every MX
/// address) and `fresh` (a new audit, not one reused from
/// [`super::audit_cache`]).
pub(super) struct AuditParams {
    selectors: Vec<String>,
    trace: bool,
    probe_smtp: bool,
    fresh: bool,
}

impl QueryParams for AuditParams {
    fn from_uri(uri: &Uri) -> Result<Self, Problem> {
        let mut params = AuditParams {
            selectors: Vec::new(),
            trace: false,
            probe_smtp: false,
            fresh: false,
        };
        for (key, value) in pairs_once(uri, &["selector"])? {
            match key.as_ref() {
                "selector" => params.selectors.push(selector(&value, "selector")?),
                "trace" => params.trace = flag("trace", &value)?,
                "fresh" => params.fresh = flag("fresh", &value)?,
                "probe" if value == "smtp" => params.probe_smtp = true,
                "probe" => {
                    return Err(Problem::new(
                        ProblemType::InvalidRequest,
                        format!(
                            "probe must be `smtp`, not {}",
                            crate::untrusted::echoed(&value)
                        ),
                    )
                    .field("probe"));
                }
                other => {
                    return Err(unknown_parameter(
                        other,
                        "use selector, trace, probe and fresh",
                    ));
                }
            }
        }
        if params.selectors.len() > MAX_SELECTORS {
            return Err(too_many_selectors().field("selector"));
        }
        Ok(params)
    }
}

fn too_many_selectors() -> Problem {
    Problem::new(
        ProblemType::InvalidRequest,
        format!("give at most {MAX_SELECTORS} DKIM selectors"),
    )
}

pub(super) fn domain_name(input: &str, field: String) -> Result<DomainName, Problem> {
    DomainName::parse(input)
        .map_err(|e| Problem::new(ProblemType::InvalidDomain, e.to_string()).field(field))
}

/// One audit through `resolver`, counted in the metrics; DKIM asks the
/// selectors the domain's stored DMARC reports named (an unreachable
/// store only means the audit guesses, as without reports).
pub(super) async fn audit_one(
    state: &AppState,
    resolver: &Resolver,
    domain: &DomainName,
    options: &AuditOptions,
    trace: bool,
) -> DomainReport {
    let learned = match state
        .store
        .learned_dkim_selectors(&domain.ascii, MAX_SELECTORS as u32)
        .await
    {
        Ok(learned) => learned.into_iter().map(|s| s.selector).collect(),
        Err(error) => {
            tracing::warn!(%error, "store: learned DKIM selectors not read");
            Vec::new()
        }
    };
    let options = AuditOptions {
        learned_selectors: learned,
        ..options.clone()
    };
    let report = report::audit(resolver, domain, &options, trace).await;
    state.metrics.observe_report(&report.dns, &report.findings);
    let found = report.dkim.learned_keys(&options.learned_selectors);
    if let Err(error) = state.store.record_dkim_keys(&domain.ascii, &found).await {
        tracing::warn!(%error, "store: DKIM keys found not recorded");
    }
    report
}

/// The audit of one domain: reused while its answers live, else made
/// (see [`super::audit_cache`]).
pub(super) async fn audit(
    State(state): State<Shared>,
    Path(domain): Path<String>,
    ApiQuery(params): ApiQuery<AuditParams>,
) -> Result<Audited, Problem> {
    let domain = domain_name(&domain, "domain".into())?;
    let key = AuditKey {
        domain: domain.ascii.clone(),
        selectors: params.selectors.clone(),
        probe_smtp: params.probe_smtp,
        trace: params.trace,
    };
    if !params.fresh
        && let Some(audited) = state.audits.get(&key)
    {
        return Ok(audited);
    }
    let mut options = state.audit.clone();
    options.selectors = params.selectors;
    if params.probe_smtp {
        probing(&state, &mut options)?;
    }
    let budget = state.dns.question_budget();
    let resolver = if params.fresh {
        state.dns.fresh_resolver_within(&budget)
    } else {
        state.dns.resolver_within(&budget)
    };
    // Boxed: the audit's future is large, and inline it would make every
    // request's future as large, reused audits included (axum moves each
    // handler's future into a box of its own).
    let report = Box::pin(audit_one(
        &state,
        &resolver,
        &domain,
        &options,
        params.trace,
    ))
    .await;
    let body = serde_json::to_vec(&report).map_err(|e| {
        Problem::new(
            ProblemType::Internal,
            format!("the report could not be written: {e}"),
        )
    })?;
    let audited = Audited::new(body, resolver.answers_live_for());
    state.audits.insert(key, &audited);
    Ok(audited)
}

/// Turns the SMTP probe on in `options`, if this server allows it (`serve
/// --allow-probe`): else 403 `/problems/probe-disabled`, since the probe
/// connects from this server to whatever MX hosts a domain names.
pub(super) fn probing(state: &AppState, options: &mut AuditOptions) -> Result<(), Problem> {
    if !state.service.allow_probe {
        return Err(Problem::new(
            ProblemType::ProbeDisabled,
            "this server does not open SMTP connections for requests (its operator can allow \
             it with `mailvet serve --allow-probe`); ask again without probe=smtp, or run \
             `mailvet domain --probe-smtp` from a host that may connect to port 25",
        )
        .field("probe"));
    }
    options.probe_smtp = true;
    // Each address's deadline fits in the request's, so a silent MX gives
    // "could not be tested", never a 504.
    options.probe_timeout = options
        .probe_timeout
        .min(state.service.request_timeout.mul_f64(BATCH_SHARE / 2.0));
    Ok(())
}

/// One entry of a batch's answer: the domain's report, or why there is
/// none.
#[derive(Debug, Serialize)]
#[serde(untagged)]
pub enum BatchEntry {
    Report(Box<DomainReport>),
    TimedOut(TimedOut),
}

/// A domain of a batch whose audit did not finish within the batch's
/// deadline; ask for it again, alone or in a smaller batch.
#[derive(Debug, Serialize)]
pub struct TimedOut {
    pub domain: String,
    pub domain_unicode: String,
    /// Always true: tells this entry from a report.
    pub timed_out: bool,
    pub detail: String,
}

impl TimedOut {
    fn new(domain: &DomainName, allowed: Duration) -> TimedOut {
        TimedOut {
            domain: domain.ascii.clone(),
            domain_unicode: domain.unicode.clone(),
            timed_out: true,
            detail: format!(
                "not audited within the {} ms this batch may take (90 % of the request \
                 timeout); the other domains' reports are complete — ask for this one again",
                allowed.as_millis()
            ),
        }
    }
}

/// The body of `POST /v1/domains`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct BatchRequest {
    domains: Vec<String>,
    #[serde(default)]
    selectors: Vec<String>,
}

pub(super) async fn audit_batch(
    State(state): State<Shared>,
    ApiQuery(params): ApiQuery<ReportParams>,
    ApiJson(request): ApiJson<BatchRequest>,
) -> Result<Json<Vec<BatchEntry>>, Problem> {
    let max = state.service.max_batch;
    if request.domains.is_empty() {
        return Err(Problem::new(
            ProblemType::InvalidRequest,
            "give at least one domain in `domains`",
        )
        .field("domains"));
    }
    if request.domains.len() > max {
        return Err(Problem::new(
            ProblemType::TooManyDomains,
            format!(
                "{} domains asked for; this server audits at most {max} per request — split the list",
                request.domains.len()
            ),
        )
        .field("domains"));
    }
    if request.selectors.len() > MAX_SELECTORS {
        return Err(too_many_selectors().field("selectors"));
    }
    let domains = crate::records::name::distinct(
        request
            .domains
            .iter()
            .enumerate()
            .map(|(i, d)| domain_name(d, format!("domains[{i}]")))
            .collect::<Result<Vec<_>, _>>()?,
    );
    let mut options = state.audit.clone();
    options.selectors = request
        .selectors
        .iter()
        .enumerate()
        .map(|(i, s)| selector(s, &format!("selectors[{i}]")))
        .collect::<Result<_, _>>()?;
    let allowed = state.service.request_timeout.mul_f64(BATCH_SHARE);
    let deadline = Instant::now() + allowed;
    let budget = state.dns.question_budget();
    let (state, options, budget) = (&state, &options, &budget);
    let entries = stream::iter(domains)
        .map(|domain| async move {
            let resolver = state.dns.resolver_within(budget);
            let audit = audit_one(state, &resolver, &domain, options, params.trace);
            match tokio::time::timeout_at(deadline, audit).await {
                Ok(report) => BatchEntry::Report(Box::new(report)),
                Err(_) => BatchEntry::TimedOut(TimedOut::new(&domain, allowed)),
            }
        })
        .buffered(CONCURRENT_AUDITS)
        .collect()
        .await;
    Ok(Json(entries))
}

/// The whole catalog: code, severity, title, why, fix and refs of each.
pub(super) async fn findings(ApiQuery(NoParams): ApiQuery<NoParams>) -> Json<&'static [Code]> {
    Json(CATALOG)
}
