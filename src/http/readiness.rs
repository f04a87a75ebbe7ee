//! `GET /readyz`: can this server answer reports now?
//!
//! Every report needs DNS, so the server is ready when its resolver layer
//! answers: it asks the configured servers for the root zone's SOA, a
//! question every recursive resolver can answer, and is ready on any
//! answer (NOERROR or NXDOMAIN). No answer within [`READY_TIMEOUT`], or
//! SERVFAIL / REFUSED, is 503 `/problems/not-ready` saying why. With
//! `--offline` the zone files answer and the server is always ready.
//!
//! The question is sent with the CD bit, the one form of lookup that skips
//! the shared cache: a cached answer would keep reporting ready after the
//! servers stopped answering.

use super::AppState;
use super::problem::{Problem, ProblemType};
use axum::extract::State;
use axum::response::Json;
use hickory_proto::rr::{Name, RecordType};
use std::time::Duration;

/// How long the probe waits; probes of orchestrators time out in seconds.
pub const READY_TIMEOUT: Duration = Duration::from_secs(2);

pub(super) async fn readyz(
    State(state): State<AppState>,
) -> Result<Json<serde_json::Value>, Problem> {
    let resolver = state.dns.resolver();
    let root = Name::root();
    let probe = resolver.lookup_checking_disabled(&root, RecordType::SOA);
    match tokio::time::timeout(READY_TIMEOUT, probe).await {
        Ok(Ok(_)) => Ok(Json(serde_json::json!({ "status": "ready" }))),
        Ok(Err(e)) => Err(Problem::new(
            ProblemType::NotReady,
            format!("the DNS servers did not answer the probe (. SOA): {e}; check --dns"),
        )),
        Err(_) => Err(Problem::new(
            ProblemType::NotReady,
            format!(
                "the DNS servers did not answer the probe (. SOA) within {} s; check --dns",
                READY_TIMEOUT.as_secs()
            ),
        )),
    }
}
