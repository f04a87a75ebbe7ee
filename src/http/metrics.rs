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
//! The series are kept in memory and written by hand: a few maps behind
//! locks held for microseconds, with no metrics library.

use super::AppState;
use crate::dns::trace::DnsSummary;
use crate::findings::Finding;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderValue, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// Upper bounds of the latency buckets, in seconds: from a cached answer
/// to the slowest audit a default request timeout allows.
const LATENCY_BUCKETS: [f64; 12] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];

/// The route label of a request that matched no route.
const UNMATCHED: &str = "unmatched";

#[derive(Debug, Default)]
struct Histogram {
    /// Observations per bucket (not cumulative); the last is above every bound.
    counts: [u64; LATENCY_BUCKETS.len() + 1],
    sum: f64,
}

impl Histogram {
    fn observe(&mut self, seconds: f64) {
        let bucket = LATENCY_BUCKETS
            .iter()
            .position(|bound| seconds <= *bound)
            .unwrap_or(LATENCY_BUCKETS.len());
        self.counts[bucket] += 1;
        self.sum += seconds;
    }
}

#[derive(Debug, Default)]
struct RouteStats {
    by_status: BTreeMap<u16, u64>,
    latency: Histogram,
}

/// Every series of one server.
#[derive(Debug, Default)]
pub struct Metrics {
    routes: Mutex<BTreeMap<String, RouteStats>>,
    in_flight: AtomicU64,
    /// Bytes of request bodies held, kept by the body guard.
    pub(super) body_bytes: AtomicU64,
    /// By (source, rcode).
    dns: Mutex<BTreeMap<(&'static str, String), u64>>,
    findings: Mutex<BTreeMap<&'static str, u64>>,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|p| p.into_inner())
}

impl Metrics {
    fn record_request(&self, route: String, status: u16, elapsed: Duration) {
        let mut routes = lock(&self.routes);
        let stats = routes.entry(route).or_default();
        *stats.by_status.entry(status).or_default() += 1;
        stats.latency.observe(elapsed.as_secs_f64());
    }

    /// Counts the DNS questions and the findings of one report.
    pub fn observe_report(&self, summary: &DnsSummary, findings: &[Finding]) {
        {
            let mut dns = lock(&self.dns);
            for (source, rcode) in &summary.outcomes {
                *dns.entry((source.as_str(), rcode.clone())).or_default() += 1;
            }
        }
        let mut counts = lock(&self.findings);
        for finding in findings {
            *counts.entry(finding.code).or_default() += 1;
        }
    }

    /// The exposition text.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let routes = lock(&self.routes);
        family(
            &mut out,
            "mailvet_http_requests_total",
            "counter",
            "HTTP requests answered, by route template and status code.",
        );
        for (route, stats) in routes.iter() {
            for (status, count) in &stats.by_status {
                let labels = format!("route=\"{}\",status=\"{status}\"", escape(route));
                sample(&mut out, "mailvet_http_requests_total", &labels, *count);
            }
        }
        family(
            &mut out,
            "mailvet_http_request_duration_seconds",
            "histogram",
            "Time to answer an HTTP request, by route template.",
        );
        for (route, stats) in routes.iter() {
            let route = format!("route=\"{}\"", escape(route));
            let mut cumulative = 0;
            for (bound, count) in LATENCY_BUCKETS.iter().zip(&stats.latency.counts) {
                cumulative += count;
                let labels = format!("{route},le=\"{bound}\"");
                sample(
                    &mut out,
                    "mailvet_http_request_duration_seconds_bucket",
                    &labels,
                    cumulative,
                );
            }
            let total: u64 = stats.latency.counts.iter().sum();
            let labels = format!("{route},le=\"+Inf\"");
            sample(
                &mut out,
                "mailvet_http_request_duration_seconds_bucket",
                &labels,
                total,
            );
            sample(
                &mut out,
                "mailvet_http_request_duration_seconds_sum",
                &route,
                stats.latency.sum,
            );
            sample(
                &mut out,
                "mailvet_http_request_duration_seconds_count",
                &route,
                total,
            );
        }
        drop(routes);
        family(
            &mut out,
            "mailvet_http_requests_in_flight",
            "gauge",
            "HTTP requests being answered now.",
        );
        sample(
            &mut out,
            "mailvet_http_requests_in_flight",
            "",
            self.in_flight.load(Ordering::Relaxed),
        );
        family(
            &mut out,
            "mailvet_http_body_bytes",
            "gauge",
            "Bytes of request bodies held now (being read or answered), against --body-memory.",
        );
        sample(
            &mut out,
            "mailvet_http_body_bytes",
            "",
            self.body_bytes.load(Ordering::Relaxed),
        );

        let dns = lock(&self.dns);
        family(
            &mut out,
            "mailvet_dns_queries_total",
            "counter",
            "DNS questions reports relied on, by where the answer came from and response code.",
        );
        let (mut hits, mut misses) = (0, 0);
        for ((source, rcode), count) in dns.iter() {
            let labels = format!("source=\"{source}\",rcode=\"{}\"", escape(rcode));
            sample(&mut out, "mailvet_dns_queries_total", &labels, *count);
            match *source {
                "cache" => hits += count,
                "upstream" => misses += count,
                _ => {}
            }
        }
        drop(dns);
        family(
            &mut out,
            "mailvet_dns_cache_hit_ratio",
            "gauge",
            "Share of DNS questions answered without asking a server, since start.",
        );
        let ratio = if hits + misses == 0 {
            f64::NAN
        } else {
            hits as f64 / (hits + misses) as f64
        };
        sample(&mut out, "mailvet_dns_cache_hit_ratio", "", ratio);

        family(
            &mut out,
            "mailvet_findings_total",
            "counter",
            "Findings in the reports answered, by catalog code.",
        );
        for (code, count) in lock(&self.findings).iter() {
            let labels = format!("code=\"{}\"", escape(code));
            sample(&mut out, "mailvet_findings_total", &labels, *count);
        }
        out
    }
}

fn family(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
}

fn sample(out: &mut String, name: &str, labels: &str, value: impl std::fmt::Display) {
    if labels.is_empty() {
        let _ = writeln!(out, "{name} {value}");
    } else {
        let _ = writeln!(out, "{name}{{{labels}}} {value}");
    }
}

/// A label value as the exposition format quotes it.
fn escape(value: &str) -> String {
    value
        .replace('\\', r"\\")
        .replace('"', "\\\"")
        .replace('\n', r"\n")
}

/// Counts one request in flight while it lives.
struct InFlight<'a>(&'a AtomicU64);

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
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
    metrics.in_flight.fetch_add(1, Ordering::Relaxed);
    let in_flight = InFlight(&metrics.in_flight);
    let response = next.run(request).await;
    drop(in_flight);
    metrics.record_request(route, response.status().as_u16(), started.elapsed());
    response
}

pub(super) async fn export(State(state): State<AppState>) -> impl IntoResponse {
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
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
        assert_eq!(escape("a\"b\\c\nd"), r#"a\"b\\c\nd"#);
    }
}
