//! The integration tests, one crate: each module proves one concern (its
//! `//!` says what), and [`support`] holds what they share: the servers
//! they talk to (the test DNS server on loopback, the test HTTPS server,
//! PostgreSQL, raw sockets) and the case runner of the fixture audits.
//! Every helper there is used by some module: the compiler says so when
//! one is not.
//!
//! Run one module with `cargo test --ignore-rust-version --test it
//! MODULE::` (say `hostile::`), one test by its full name.

mod support;

/// The `mailvet` binary as a test runs it: no colour, no DNS server or
/// trust anchor from the environment, killed when the test drops it. Here
/// rather than in [`support`], which the examples and benchmarks share
/// without the binary.
pub fn mailvet() -> tokio::process::Command {
    let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_mailvet"));
    command
        .env("NO_COLOR", "1")
        .env_remove("MAILVET_DNS")
        .env_remove("MAILVET_TRUST_ANCHOR")
        .kill_on_drop(true);
    command
}

mod audit_bimi;
mod audit_dane;
mod audit_dkim;
mod audit_dmarc;
mod audit_dnssec;
mod audit_mta_sts;
mod audit_mx;
mod audit_reuse;
mod audit_spf;
mod audit_tls;
mod audit_tls_rpt;
mod check;
mod cli;
mod cli_batch;
mod conformance_arc;
mod conformance_dkim;
mod conformance_dmarc;
mod dns_layer;
mod domain_audit;
mod fail_closed;
mod hostile;
mod http;
mod http_service;
mod layers;
mod message_blocklists;
mod message_content;
mod message_fixtures;
mod message_headers;
mod message_limits;
mod message_report;
mod openapi_contract;
mod pages;
mod reports_analysis;
mod reports_forged;
mod reports_limits;
mod reports_parse;
mod reports_store;
mod request_cost;
mod saved_reports;
mod smtp_inbox;
mod spf_conformance;
mod store;
mod tls_rua;
