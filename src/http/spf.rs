//! `POST /v1/spf`: the SPF verdict (RFC 7208) for a connecting IP address
//! and the identities it gave (`helo`, `mail_from`).
//!
//! An address that does not parse is 400 `/problems/invalid-ip`; neither
//! identity given is 400 `/problems/missing-identity`; an identity that is
//! no domain 400 `/problems/invalid-domain` naming the field. A verdict is
//! not an error: a `temperror` is a 200 report that says so.

use super::Shared;
use super::extract::{ApiJson, ApiQuery, ReportParams};
use super::messages::{helo_param, ip_param, mail_from_param};
use super::problem::{Problem, ProblemType};
use crate::spf::report::SpfReport;
use crate::spf::{self, QueryError, SpfQuery};
use axum::extract::State;
use axum::response::Json;
use serde::Deserialize;

/// The body of `POST /v1/spf`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct SpfRequest {
    ip: String,
    #[serde(default)]
    helo: Option<String>,
    #[serde(default)]
    mail_from: Option<String>,
}

pub(super) async fn check(
    State(state): State<Shared>,
    ApiQuery(params): ApiQuery<ReportParams>,
    ApiJson(request): ApiJson<SpfRequest>,
) -> Result<Json<SpfReport>, Problem> {
    let ip = ip_param(&request.ip)?;
    let query = SpfQuery {
        ip,
        helo: request.helo.map(|h| helo_param(&h)).transpose()?,
        mail_from: request.mail_from.map(|m| mail_from_param(&m)).transpose()?,
        receiver: None,
    };
    let resolver = state.dns.resolver();
    match spf::report::report(&resolver, &query, params.trace).await {
        Ok(report) => {
            state.metrics.observe_report(&report.dns, &report.findings);
            Ok(Json(report))
        }
        Err(QueryError::NoIdentity) => Err(Problem::new(
            ProblemType::MissingIdentity,
            "give mail_from (the envelope sender), helo, or both",
        )),
        Err(QueryError::Invalid { field, reason }) => {
            Err(Problem::new(ProblemType::InvalidDomain, format!("{field} {reason}")).field(field))
        }
    }
}
