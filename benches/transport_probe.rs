//! Whether the SMTP transport probe connects to every MX address at once:
//! a domain with 5 MX hosts × 2 addresses (IPv4 and IPv6) should take
//! about as long as a domain with one address, not ten times as long.
//!
//! The MX hosts are the test SMTP servers (tests/it/support/smtp.rs) on
//! loopback, each waiting [`GREETING_DELAY`] before its greeting, as a
//! server across a network or one that delays its greeting would; each
//! address is probed in full (greeting, EHLO, STARTTLS, the TLS handshake,
//! the chain judged, then the TLS 1.0 and 1.1 questions on two more
//! connections). The table gives the median wall time of [`ROUNDS`]
//! audits of each domain; the target is a ratio of at most 1.5.
//!
//! Run: `cargo bench --ignore-rust-version --bench transport_probe`

// The tests' support module, for its DNS and SMTP servers; the tests use
// all of it, this binary only a part.
#[path = "../tests/it/support/mod.rs"]
#[allow(dead_code)]
mod support;

use mailvet::domain::AuditOptions;
use mailvet::domain::report;
use mailvet::domain::transport::ProbeStatus;
use mailvet::records::name::DomainName;
use std::time::{Duration, Instant};
use support::TestDns;
use support::smtp::TestSmtp;

const GREETING_DELAY: Duration = Duration::from_millis(100);
const ROUNDS: usize = 7;

const ZONE: &str = "$ORIGIN bench.test.
$TTL 300
@        IN SOA  ns hostmaster 1 3600 600 86400 300
@        IN NS   ns
ns       IN A    192.0.2.53
one      IN MX   10 mx.one
mx.one   IN A    127.0.0.20
five     IN MX   10 mx1.five
five     IN MX   20 mx2.five
five     IN MX   30 mx3.five
five     IN MX   40 mx4.five
five     IN MX   50 mx5.five
mx1.five IN A    127.0.0.20
mx1.five IN AAAA ::1
mx2.five IN A    127.0.0.20
mx2.five IN AAAA ::1
mx3.five IN A    127.0.0.20
mx3.five IN AAAA ::1
mx4.five IN A    127.0.0.20
mx4.five IN AAAA ::1
mx5.five IN A    127.0.0.20
mx5.five IN AAAA ::1
";

#[tokio::main]
async fn main() {
    let dns = TestDns::start_with_texts(&[ZONE]).await;
    let smtp = TestSmtp::start().await;
    smtp.set_greeting_delay(GREETING_DELAY);
    let options = AuditOptions {
        allow_private_fetch: true,
        extra_roots_pem: smtp.ca_pem.clone(),
        probe_smtp: true,
        probe_timeout: Duration::from_secs(10),
        smtp_port: smtp.port,
        ..AuditOptions::default()
    };
    println!("{:<18} {:>9} {:>12}", "domain", "addresses", "median ms");
    let mut medians = Vec::new();
    for domain in ["one.bench.test", "five.bench.test"] {
        let name = DomainName::parse(domain).expect("bench domain");
        let mut walls = Vec::new();
        let mut addresses = 0;
        for _ in 0..ROUNDS {
            let layer = dns.layer();
            let started = Instant::now();
            let report = report::audit(&layer.resolver(), &name, &options, false).await;
            walls.push(started.elapsed());
            addresses = report.transport.addresses.len();
            assert!(
                report
                    .transport
                    .addresses
                    .iter()
                    .all(|a| a.status == ProbeStatus::Tls),
                "{domain}: {:?}",
                report.transport
            );
        }
        walls.sort();
        let median = walls[ROUNDS / 2];
        medians.push(median);
        println!(
            "{domain:<18} {addresses:>9} {:>12.0}",
            median.as_secs_f64() * 1000.0
        );
    }
    let ratio = medians[1].as_secs_f64() / medians[0].as_secs_f64();
    println!(
        "\n10 addresses take {ratio:.2}× the time of one (target ≤ 1.5; one after \
         another would be about 10×); greeting delay {} ms",
        GREETING_DELAY.as_millis()
    );
}
