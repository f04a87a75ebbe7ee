//! `POST /v1/dmarc/evaluate`: the DMARC result (RFC 7489) a message from
//! `from_domain` would get with the SPF and DKIM outcomes given, without
//! a message: a what-if for a sender planning a change.
//!
//! A domain given that is not one is 400 `/problems/invalid-domain`; an
//! outcome that is not an SPF or DKIM result, or more DKIM results than
//! are evaluated, is 400 `/problems/invalid-request`; both name the field.

use super::Shared;
use super::extract::{ApiJson, ApiQuery, NoParams};
use super::problem::{Problem, ProblemType};
use crate::message::dmarc;
use axum::extract::State;
use axum::response::Json;

pub(super) async fn evaluate(
    State(state): State<Shared>,
    ApiQuery(NoParams): ApiQuery<NoParams>,
    ApiJson(input): ApiJson<dmarc::WhatIf>,
) -> Result<Json<dmarc::DmarcEvaluation>, Problem> {
    let resolver = state.dns.resolver();
    let lease = resolver
        .mail_auth()
        .await
        .map_err(|e| Problem::new(ProblemType::Internal, e.to_string()))?;
    let evaluation = dmarc::evaluate(&resolver, &lease.authenticator, &input).await;
    state.metrics.observe_report(&resolver.summary(false), &[]);
    evaluation.map(Json).map_err(|e| {
        let kind = match e.fault {
            dmarc::WhatIfFault::NotADomain => ProblemType::InvalidDomain,
            dmarc::WhatIfFault::NotAllowed => ProblemType::InvalidRequest,
        };
        Problem::new(kind, e.to_string()).field(e.field)
    })
}
