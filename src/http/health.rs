//! The probes: `GET /healthz` (is the process answering?) and
//! `GET /readyz` (can this server answer reports now?).
//!
//! `/healthz` answers `{"status": "ok"}` whenever the process answers at
//! all; it asks nothing of DNS, so an orchestrator restarts the process
//! only when the process itself is stuck.
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
//! servers stopped answering. The probe's outcome is then kept for
//! [`READY_CACHE`] ([`LastProbe`]): the endpoint needs no key, and without
//! that every call would send a question upstream. Calls that arrive while
//! a probe is on its way wait for it and share its outcome.

use super::Shared;
use super::problem::{Problem, ProblemType};
use crate::dns::Dns;
use axum::extract::State;
use axum::response::Json;
use hickory_proto::rr::{Name, RecordType};
use std::time::Duration;
use tokio::sync::Mutex;
use tokio::time::Instant;

/// How long the probe waits; probes of orchestrators time out in seconds.
pub const READY_TIMEOUT: Duration = Duration::from_secs(2);

/// How long a probe's outcome answers `/readyz`: orchestrators probe every
/// few seconds, so this hides nothing from them.
pub const READY_CACHE: Duration = Duration::from_secs(1);

/// The last probe: when it finished and why it failed, if it did.
#[derive(Debug, Default)]
pub struct LastProbe {
    outcome: Mutex<Option<(Instant, Result<(), String>)>>,
}

impl LastProbe {
    /// The outcome of a probe at most [`READY_CACHE`] old, probing again
    /// when there is none.
    async fn outcome(&self, dns: &std::sync::Arc<Dns>) -> Result<(), String> {
        let mut last = self.outcome.lock().await;
        if let Some((at, outcome)) = &*last
            && at.elapsed() < READY_CACHE
        {
            return outcome.clone();
        }
        let outcome = probe(dns).await;
        *last = Some((Instant::now(), outcome.clone()));
        outcome
    }
}

async fn probe(dns: &std::sync::Arc<Dns>) -> Result<(), String> {
    let resolver = dns.resolver();
    let root = Name::root();
    let probe = resolver.lookup_checking_disabled(&root, RecordType::SOA);
    match tokio::time::timeout(READY_TIMEOUT, probe).await {
        Ok(Ok(_)) => Ok(()),
        Ok(Err(e)) => Err(format!(
            "the DNS servers did not answer the probe (. SOA): {e}; check --dns"
        )),
        Err(_) => Err(format!(
            "the DNS servers did not answer the probe (. SOA) within {} s; check --dns",
            READY_TIMEOUT.as_secs()
        )),
    }
}

pub(super) async fn readyz(
    State(state): State<Shared>,
) -> Result<Json<serde_json::Value>, Problem> {
    match state.ready.outcome(&state.dns).await {
        Ok(()) => Ok(Json(serde_json::json!({ "status": "ready" }))),
        Err(detail) => Err(Problem::new(ProblemType::NotReady, detail)),
    }
}

pub(super) async fn healthz() -> Json<serde_json::Value> {
    Json(serde_json::json!({ "status": "ok" }))
}
