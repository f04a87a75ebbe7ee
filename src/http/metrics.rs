//! `GET /metrics`: what the server has done, in the Prometheus text
//! exposition format (version 0.0.4).
//!
//! This module decides which series exist and what their labels mean:
//!
//! - `mailvet_http_requests_total{route,status}` — answers, by route
//!   template (`/v1/domains/{domain}`; `unmatched` for unknown paths, so a
//!   scanner cannot grow the series without bound) and status code.
//! - `mailvet_http_request_duration_seconds{route}` — a latency histogram.
//! - `mailvet_http_requests_in_flight` — requests being answered now.
//! - `mailvet_http_body_bytes` — bytes of `/v1` request bodies held now,
//!   being read or answered: what counts against `--body-memory`.
//! - `mailvet_dns_queries_total{source,rcode}` — every question a report
//!   relied on: `source` is `upstream` (sent to a server), `cache`
//!   (answered by the shared cache or earlier in the same request) or
//!   `overlay` (a `--zone` file); `rcode` is `NOERROR`, `NXDOMAIN`,
//!   `SERVFAIL`, `TIMEOUT`, `DEADLINE`…
//! - `mailvet_dns_cache_hit_ratio` — `cache / (cache + upstream)` over the
//!   process's life (NaN before the first question); for a windowed ratio
//!   compute it from the counter with `rate()`.
//! - `mailvet_findings_total{code}` — findings reported, by catalog code.
//!
//! The series are kept by `prometheus-client` and written by its
//! encoder of the Prometheus text format; a family with labels is written
//! from its first series on.

use super::Shared;
use crate::dns::trace::DnsSummary;
use crate::findings::Finding;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderValue, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::encoding::prometheus_text;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::{Metric, Registry};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// Upper bounds of the latency buckets, in seconds: from a cached answer
/// to the slowest audit a default request timeout allows.
const LATENCY_BUCKETS: [f64; 12] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];

/// The route label of a request that matched no route.
const UNMATCHED: &str = "unmatched";

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    route: String,
    status: u16,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    route: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct DnsLabels {
    source: &'static str,
    rcode: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct FindingLabels {
    code: &'static str,
}

fn latency_histogram() -> Histogram {
    Histogram::new(LATENCY_BUCKETS)
}

/// Every series of one server.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    latency: Family<RouteLabels, Histogram, fn() -> Histogram>,
    in_flight: Gauge,
    /// Bytes of request bodies held, kept by the body guard.
    pub(super) body_bytes: Gauge,
    dns: Family<DnsLabels, Counter>,
    /// Questions answered from the cache, and sent upstream, since start.
    cache_hits: AtomicU64,
    upstream: AtomicU64,
    cache_hit_ratio: Gauge<f64, AtomicU64>,
    findings: Family<FindingLabels, Counter>,
}

/// `metric`, once written into `registry` under `name` with `help` (to
/// which the registry adds the final full stop).
fn registered<M: Metric + Clone>(registry: &mut Registry, name: &str, help: &str, metric: M) -> M {
    registry.register(name, help, metric.clone());
    metric
}

impl Default for Metrics {
    fn default() -> Metrics {
        let mut r = Registry::default();
        Metrics {
            requests: registered(
                &mut r,
                "mailvet_http_requests",
                "HTTP requests answered, by route template and status code",
                Family::default(),
            ),
            latency: registered(
                &mut r,
                "mailvet_http_request_duration_seconds",
                "Time to answer an HTTP request, by route template",
                Family::new_with_constructor(latency_histogram),
            ),
            in_flight: registered(
                &mut r,
                "mailvet_http_requests_in_flight",
                "HTTP requests being answered now",
                Gauge::default(),
            ),
            body_bytes: registered(
                &mut r,
                "mailvet_http_body_bytes",
                "Bytes of request bodies held now (being read or answered), against --body-memory",
                Gauge::default(),
            ),
            dns: registered(
                &mut r,
                "mailvet_dns_queries",
                "DNS questions reports relied on, by where the answer came from and response code",
                Family::default(),
            ),
            cache_hits: AtomicU64::new(0),
            upstream: AtomicU64::new(0),
            cache_hit_ratio: registered(
                &mut r,
                "mailvet_dns_cache_hit_ratio",
                "Share of DNS questions answered without asking a server, since start",
                Gauge::default(),
            ),
            findings: registered(
                &mut r,
                "mailvet_findings",
                "Findings in the reports answered, by catalog code",
                Family::default(),
            ),
            registry: r,
        }
    }
}

impl Metrics {
    fn record_request(&self, route: String, status: u16, elapsed: Duration) {
        self.latency
            .get_or_create(&RouteLabels {
                route: route.clone(),
            })
            .observe(elapsed.as_secs_f64());
        self.requests
            .get_or_create(&RequestLabels { route, status })
            .inc();
    }

    /// Counts the DNS questions and the findings of one report.
    pub fn observe_report(&self, summary: &DnsSummary, findings: &[Finding]) {
        for (source, rcode) in &summary.outcomes {
            let source = source.as_str();
            match source {
                "cache" => self.cache_hits.fetch_add(1, Ordering::Relaxed),
                "upstream" => self.upstream.fetch_add(1, Ordering::Relaxed),
                _ => 0,
            };
            self.dns
                .get_or_create(&DnsLabels {
                    source,
                    rcode: rcode.clone(),
                })
                .inc();
        }
        for finding in findings {
            self.findings
                .get_or_create(&FindingLabels { code: finding.code })
                .inc();
        }
    }

    /// The exposition text.
    pub fn render(&self) -> String {
        let hits = self.cache_hits.load(Ordering::Relaxed);
        let asked = hits + self.upstream.load(Ordering::Relaxed);
        self.cache_hit_ratio.set(if asked == 0 {
            f64::NAN
        } else {
            hits as f64 / asked as f64
        });
        let mut out = String::new();
        prometheus_text::encode(&mut out, &self.registry)
            .expect("the series are written to a String, which cannot fail");
        out
    }
}

/// Counts one request in flight while it lives.
struct InFlight<'a>(&'a Gauge);

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.dec();
    }
}

/// Records the route, status and latency of every answer.
pub(super) async fn track(
    State(metrics): State<Arc<Metrics>>,
    request: Request,
    next: Next,
) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or(UNMATCHED, MatchedPath::as_str)
        .to_string();
    let started = Instant::now();
    metrics.in_flight.inc();
    let in_flight = InFlight(&metrics.in_flight);
    let response = next.run(request).await;
    drop(in_flight);
    metrics.record_request(route, response.status().as_u16(), started.elapsed());
    response
}

pub(super) async fn export(State(state): State<Shared>) -> impl IntoResponse {
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static(prometheus_text::CONTENT_TYPE),
        )],
        state.metrics.render(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histograms_are_cumulative_and_end_at_infinity() {
        let metrics = Metrics::default();
        metrics.record_request("/v1/spf".into(), 200, Duration::from_millis(3));
        metrics.record_request("/v1/spf".into(), 200, Duration::from_secs(60));
        metrics.record_request("/v1/spf".into(), 400, Duration::from_millis(30));
        let text = metrics.render();
        for line in [
            r#"mailvet_http_requests_total{route="/v1/spf",status="200"} 2"#,
            r#"mailvet_http_requests_total{route="/v1/spf",status="400"} 1"#,
            r#"mailvet_http_request_duration_seconds_bucket{route="/v1/spf",le="0.005"} 1"#,
            r#"mailvet_http_request_duration_seconds_bucket{route="/v1/spf",le="0.05"} 2"#,
            r#"mailvet_http_request_duration_seconds_bucket{route="/v1/spf",le="30"} 2"#,
            r#"mailvet_http_request_duration_seconds_bucket{route="/v1/spf",le="+Inf"} 3"#,
            r#"mailvet_http_request_duration_seconds_count{route="/v1/spf"} 3"#,
            "mailvet_dns_cache_hit_ratio NaN",
        ] {
            assert!(
                text.lines().any(|l| l == line),
                "{line} missing from\n{text}"
            );
        }
    }

    #[test]
    fn label_values_are_escaped() {
        let metrics = Metrics::default();
        metrics.record_request("a\"b\\c\nd".into(), 200, Duration::from_millis(3));
        let line = r#"mailvet_http_requests_total{route="a\"b\\c\nd",status="200"} 1"#;
        let text = metrics.render();
        assert!(
            text.lines().any(|l| l == line),
            "{line} missing from\n{text}"
        );
    }

    #[test]
    fn every_family_is_exported_with_its_name_and_type() {
        let metrics = Metrics::default();
        // A family with labels is written from its first series on.
        metrics.record_request("/healthz".into(), 200, Duration::from_millis(1));
        let text = metrics.render();
        for line in [
            "# HELP mailvet_http_requests_total HTTP requests answered, by route template and status code.",
            "# TYPE mailvet_http_requests_total counter",
            "# TYPE mailvet_http_request_duration_seconds histogram",
            "# TYPE mailvet_http_requests_in_flight gauge",
            "mailvet_http_requests_in_flight 0",
            "# TYPE mailvet_http_body_bytes gauge",
            "mailvet_http_body_bytes 0",
            "# TYPE mailvet_dns_cache_hit_ratio gauge",
        ] {
            assert!(
                text.lines().any(|l| l == line),
                "{line} missing from\n{text}"
            );
        }
    }
}
