//! The resolver layer against a real DNS server on loopback: deadlines,
//! failures as errors, TCP on truncation, the per-request memo, the shared
//! cache, the zone overlay, `--offline`, the trace, the question budget
//! (one per request, or shared by a batch's resolvers), and the bridge
//! that puts mail-auth's lookups through the same layer.

use crate::support;

use hickory_proto::rr::{Name, RecordType};
use mailvet::dns::bridge::Bridge;
use mailvet::dns::trace::Source;
use mailvet::dns::{Dns, DnsError, Rcode, Settings, UpstreamChoice, zone};
use mailvet::spf::{self, ProblemKind, SpfQuery, SpfResult};
use std::time::{Duration, Instant};
use support::{FaultKind, FaultTypes, TestDns};

const ZONE: &str = r#"$ORIGIN example.test.
$TTL 300
@        IN SOA ns hostmaster 1 3600 600 86400 300
@        IN TXT "v=spf1 a:mail.example.test a:mail.example.test include:_spf.example.test -all"
_spf     IN TXT "v=spf1 ip4:198.51.100.0/24 -all"
mail     IN A   192.0.2.25
slow     IN TXT "v=spf1 -all"
broken   IN TXT "v=spf1 -all"
big      IN TXT "v=spf1 ip4:192.0.2.1 -all"
big      IN TXT ( "padding: " "0123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789"
                  "0123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789"
                  "0123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789"
                  "0123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789"
                  "0123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789" )
"#;

const REVERSE: &str = "$ORIGIN 2.0.192.in-addr.arpa.\n$TTL 300\n@ IN SOA ns.example.test. h.example.test. 1 3600 600 86400 300\n25 IN PTR mail.example.test.\n";

fn mail_from(ip: &str, sender: &str) -> SpfQuery {
    SpfQuery {
        ip: ip.parse().unwrap(),
        helo: Some("client.example.net".into()),
        mail_from: Some(sender.into()),
        receiver: None,
    }
}

fn name(s: &str) -> Name {
    Name::from_ascii(s).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_upstream_that_never_answers_gives_temperror_within_the_deadline() {
    let server = TestDns::start_with_texts(&[ZONE, REVERSE]).await;
    server.add_fault("slow.example.test", FaultTypes::All, FaultKind::NoAnswer);
    // Without a deadline this would wait 3 tries x 3 s = 9 s.
    let dns = Dns::new(
        Settings {
            query_timeout: Duration::from_secs(3),
            attempts: 3,
            deadline: Duration::from_millis(600),
            ..server.settings()
        },
        vec![],
    )
    .unwrap();
    let started = Instant::now();
    let check = spf::check(
        &dns.resolver(),
        &mail_from("192.0.2.1", "a@slow.example.test"),
    )
    .await
    .unwrap();
    let elapsed = started.elapsed();
    assert_eq!(check.result, SpfResult::TempError);
    assert_eq!(check.reason.unwrap().kind, ProblemKind::DnsError);
    assert!(
        elapsed < Duration::from_secs(3),
        "deadline of 600 ms not honoured: took {elapsed:?}"
    );
    assert!(server.count("slow.example.test", RecordType::TXT) >= 1);
}

/// Once the request's deadline has passed, a question is not sent: it
/// fails at once as late, is not counted as sent upstream and takes
/// nothing from the question budget.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn past_the_deadline_questions_fail_without_being_sent() {
    let server = TestDns::start_with_texts(&[ZONE, REVERSE]).await;
    server.add_fault("slow.example.test", FaultTypes::All, FaultKind::NoAnswer);
    let dns = Dns::new(
        Settings {
            query_timeout: Duration::from_secs(3),
            deadline: Duration::from_millis(300),
            max_questions: 1,
            ..server.settings()
        },
        vec![],
    )
    .unwrap();
    let resolver = dns.resolver();
    let slow = resolver
        .lookup(&name("slow.example.test."), RecordType::TXT)
        .await;
    assert_eq!(slow.unwrap_err(), DnsError::Deadline);
    let late = resolver
        .lookup(&name("n1.example.test."), RecordType::A)
        .await;
    assert_eq!(late.unwrap_err(), DnsError::Deadline);
    assert_eq!(server.count("n1.example.test", RecordType::A), 0);
    let summary = resolver.summary(true);
    assert_eq!(summary.upstream_queries, 1, "only the slow one was sent");
    assert!(!summary.budget_exhausted);
    assert!(summary.deadline_passed);
    let trace = summary.trace.unwrap();
    assert_eq!(trace[1].source, Source::Late);
    assert_eq!(trace[1].rcode, "DEADLINE");
    assert_eq!(serde_json::to_value(&trace).unwrap()[1]["source"], "late");
}

/// A request that joins another's question in flight is not handed the
/// other's deadline: when the first runs out of time, the second asks on
/// its own time, and its trace says it asked.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_requests_deadline_is_not_shared_with_a_request_that_joined_it() {
    let server = TestDns::start_with_texts(&[ZONE, REVERSE]).await;
    server.add_fault("slow.example.test", FaultTypes::All, FaultKind::NoAnswer);
    let dns = Dns::new(
        Settings {
            query_timeout: Duration::from_secs(3),
            deadline: Duration::from_millis(400),
            cache_capacity: 100,
            ..server.settings()
        },
        vec![],
    )
    .unwrap();
    let slow = name("slow.example.test.");
    let first = dns.resolver();
    let leader = {
        let slow = slow.clone();
        tokio::spawn(async move { first.lookup(&slow, RecordType::TXT).await })
    };
    tokio::time::sleep(Duration::from_millis(200)).await;
    let second = dns.resolver();
    let joined = second.lookup(&slow, RecordType::TXT).await;
    assert_eq!(leader.await.unwrap().unwrap_err(), DnsError::Deadline);
    assert_eq!(joined.unwrap_err(), DnsError::Deadline);
    assert_eq!(
        server.count("slow.example.test", RecordType::TXT),
        2,
        "the second request asked on its own time"
    );
    assert_eq!(second.trace()[0].source, Source::Upstream);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn servfail_is_an_error_never_an_empty_answer() {
    let server = TestDns::start_with_texts(&[ZONE, REVERSE]).await;
    server.add_fault(
        "broken.example.test",
        FaultTypes::Only(vec![RecordType::TXT]),
        FaultKind::ServFail,
    );
    let dns = Dns::new(server.settings(), vec![]).unwrap();
    let resolver = dns.resolver();
    let outcome = resolver
        .lookup(&name("broken.example.test."), RecordType::TXT)
        .await;
    assert_eq!(outcome.unwrap_err(), DnsError::ServFail);
    let check = spf::check(&resolver, &mail_from("192.0.2.1", "a@broken.example.test"))
        .await
        .unwrap();
    assert_eq!(check.result, SpfResult::TempError);
    let trace = resolver.trace();
    assert!(
        trace
            .iter()
            .any(|t| t.name == "broken.example.test." && t.rcode == "SERVFAIL")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_question_sent_upstream_counts_whether_or_not_it_was_answered() {
    let server = TestDns::start_with_texts(&[ZONE, REVERSE]).await;
    server.add_fault(
        "broken.example.test",
        FaultTypes::Only(vec![RecordType::TXT]),
        FaultKind::ServFail,
    );
    server.add_fault("slow.example.test", FaultTypes::All, FaultKind::NoAnswer);
    // Without and with the shared cache, which a failure never enters.
    for cache_capacity in [0, 100] {
        let settings = Settings {
            cache_capacity,
            ..server.settings()
        };
        let resolver = Dns::new(settings, vec![]).unwrap().resolver();
        for failing in ["broken.example.test.", "slow.example.test."] {
            assert!(
                resolver
                    .lookup(&name(failing), RecordType::TXT)
                    .await
                    .is_err()
            );
        }
        assert!(
            resolver
                .lookup(&name("_spf.example.test."), RecordType::TXT)
                .await
                .is_ok()
        );
        let summary = resolver.summary(true);
        let trace: Vec<(String, String, Source)> = summary
            .trace
            .unwrap()
            .into_iter()
            .map(|t| (t.name, t.rcode, t.source))
            .collect();
        assert_eq!(
            trace,
            [
                (
                    "broken.example.test.".into(),
                    "SERVFAIL".into(),
                    Source::Upstream
                ),
                (
                    "slow.example.test.".into(),
                    "TIMEOUT".into(),
                    Source::Upstream
                ),
                (
                    "_spf.example.test.".into(),
                    "NOERROR".into(),
                    Source::Upstream
                ),
            ],
            "cache {cache_capacity}"
        );
        assert_eq!(summary.queries, 3);
        assert_eq!(summary.upstream_queries, 3, "cache {cache_capacity}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn truncated_udp_answers_are_asked_again_over_tcp() {
    let server = TestDns::start_with_texts(&[ZONE, REVERSE]).await;
    let dns = Dns::new(server.settings(), vec![]).unwrap();
    // A TXT set of about 1.3 KB does not fit the 1232-octet EDNS buffer.
    let answer = dns
        .resolver()
        .lookup(&name("big.example.test."), RecordType::TXT)
        .await
        .unwrap();
    assert_eq!(answer.txt().len(), 2);
    let protocols: Vec<&str> = server
        .queries()
        .iter()
        .filter(|q| q.name == "big.example.test.")
        .map(|q| q.protocol)
        .collect();
    assert_eq!(protocols, ["udp", "tcp"]);

    // The injected truncation fault gives the same outcome for a small answer.
    server.add_fault("mail.example.test", FaultTypes::All, FaultKind::Truncate);
    let answer = dns
        .resolver()
        .lookup(&name("mail.example.test."), RecordType::A)
        .await
        .unwrap();
    assert_eq!(
        answer.ipv4(),
        vec!["192.0.2.25".parse::<std::net::Ipv4Addr>().unwrap()]
    );
    assert_eq!(server.count("mail.example.test", RecordType::A), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_question_goes_on_the_wire_once_per_request() {
    let server = TestDns::start_with_texts(&[ZONE, REVERSE]).await;
    let dns = Dns::new(server.settings(), vec![]).unwrap();
    let resolver = dns.resolver();
    // The record names mail.example.test twice.
    let check = spf::check(&resolver, &mail_from("198.51.100.7", "a@example.test"))
        .await
        .unwrap();
    assert_eq!(check.result, SpfResult::Pass);
    assert_eq!(check.lookups.count, 3);
    assert_eq!(server.count("mail.example.test", RecordType::A), 1);
    let trace = resolver.trace();
    let mail: Vec<Source> = trace
        .iter()
        .filter(|t| t.name == "mail.example.test.")
        .map(|t| t.source)
        .collect();
    assert_eq!(mail, [Source::Upstream, Source::Cache]);
    // Concurrent askers share one query too.
    let r2 = dns.resolver();
    let spf_name = name("_spf.example.test.");
    let (a, b) = tokio::join!(
        r2.lookup(&spf_name, RecordType::TXT),
        r2.lookup(&spf_name, RecordType::TXT)
    );
    assert!(a.is_ok() && b.is_ok());
    assert_eq!(
        server.count("_spf.example.test", RecordType::TXT),
        2,
        "one per request"
    );
    // A new request asks again (no shared cache configured).
    assert_eq!(dns.resolver().summary(false).queries, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_shared_cache_serves_later_requests() {
    let server = TestDns::start_with_texts(&[ZONE, REVERSE]).await;
    let dns = Dns::new(
        Settings {
            cache_capacity: 100,
            ..server.settings()
        },
        vec![],
    )
    .unwrap();
    for _ in 0..3 {
        let check = spf::check(
            &dns.resolver(),
            &mail_from("198.51.100.7", "a@example.test"),
        )
        .await
        .unwrap();
        assert_eq!(check.result, SpfResult::Pass);
    }
    assert_eq!(server.count("example.test", RecordType::TXT), 1);
    let (hits, _) = dns.shared_cache().unwrap().stats();
    assert!(hits >= 4, "later requests hit the cache ({hits} hits)");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_overlay_is_authoritative_below_its_origin_and_upstream_serves_the_rest() {
    let server = TestDns::start_with_texts(&[ZONE, REVERSE]).await;
    // The overlay replaces example.test: its own SPF, and NXDOMAIN for
    // names the live zone has but the file does not.
    let overlay = zone::parse(
        "$ORIGIN example.test.\n$TTL 60\n@ SOA ns h 1 1 1 1 60\n@ TXT \"v=spf1 ip4:203.0.113.9 -all\"\n",
        None,
    )
    .unwrap();
    let dns = Dns::new(server.settings(), vec![overlay]).unwrap();
    let resolver = dns.resolver();
    let check = spf::check(&resolver, &mail_from("203.0.113.9", "a@example.test"))
        .await
        .unwrap();
    assert_eq!(check.result, SpfResult::Pass);
    let nx = resolver
        .lookup(&name("mail.example.test."), RecordType::A)
        .await
        .unwrap();
    assert_eq!(nx.rcode, Rcode::NXDomain);
    // Outside the overlay's origin, the upstream answers.
    let outside = resolver
        .lookup(&name("25.2.0.192.in-addr.arpa."), RecordType::PTR)
        .await
        .unwrap();
    assert_eq!(outside.ptr(), vec![name("mail.example.test.")]);
    assert_eq!(server.count("example.test", RecordType::TXT), 0);
    assert_eq!(server.count("mail.example.test", RecordType::A), 0);
    let sources: Vec<Source> = resolver.trace().iter().map(|t| t.source).collect();
    assert_eq!(
        sources,
        [Source::Overlay, Source::Overlay, Source::Upstream]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn offline_sends_nothing_and_answers_nxdomain_outside_the_overlay() {
    // A server that would answer if asked: offline must not ask it.
    let server = TestDns::start_with_texts(&[ZONE, REVERSE]).await;
    let overlay = zone::parse(
        "$ORIGIN other.test.\n$TTL 60\n@ TXT \"v=spf1 include:example.test -all\"\n",
        None,
    )
    .unwrap();
    let dns = Dns::new(
        Settings {
            upstream: UpstreamChoice::Offline,
            ..server.settings()
        },
        vec![overlay],
    )
    .unwrap();
    let resolver = dns.resolver();
    let started = Instant::now();
    let check = spf::check(&resolver, &mail_from("192.0.2.1", "a@other.test"))
        .await
        .unwrap();
    assert!(started.elapsed() < Duration::from_millis(500));
    // example.test is outside the overlay: NXDOMAIN, so the include has no record.
    assert_eq!(check.result, SpfResult::PermError);
    assert_eq!(
        check.reason.unwrap().kind,
        ProblemKind::IncludeWithoutRecord
    );
    assert!(
        server.queries().is_empty(),
        "offline sent {:?}",
        server.queries()
    );
    assert_eq!(resolver.summary(false).upstream_queries, 0);
    assert!(dns.servers().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_trace_records_every_question_with_its_answer() {
    let server = TestDns::start_with_texts(&[ZONE, REVERSE]).await;
    let dns = Dns::new(server.settings(), vec![]).unwrap();
    let resolver = dns.resolver();
    spf::check(&resolver, &mail_from("192.0.2.25", "a@example.test"))
        .await
        .unwrap();
    let summary = resolver.summary(true);
    let trace = summary.trace.unwrap();
    assert_eq!(summary.queries, trace.len());
    let first = &trace[0];
    assert_eq!(
        (
            first.name.as_str(),
            first.rtype.as_str(),
            first.rcode.as_str()
        ),
        ("example.test.", "TXT", "NOERROR")
    );
    assert_eq!(
        first.answers,
        ["TXT \"v=spf1 a:mail.example.test a:mail.example.test include:_spf.example.test -all\""]
    );
    assert_eq!(first.server.as_deref(), Some(server.dns_arg().as_str()));
    let json = serde_json::to_value(&trace[0]).unwrap();
    for field in ["name", "type", "rcode", "answers", "ms", "source"] {
        assert!(json.get(field).is_some(), "trace entry lacks {field}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mail_auth_lookups_go_through_the_overlay_and_the_trace() {
    let server = TestDns::start_with_texts(&[ZONE, REVERSE]).await;
    // The overlay publishes a forward/reverse pair and a DMARC record that
    // the live server does not have.
    let overlay = zone::parse(
        "$ORIGIN overlay.test.\n$TTL 60\n@ SOA ns h 1 1 1 1 60\nmx1 A 198.51.100.20\n\
         _dmarc TXT \"v=DMARC1; p=reject\"\n",
        None,
    )
    .unwrap();
    let reverse = zone::parse(
        "$ORIGIN 100.51.198.in-addr.arpa.\n$TTL 60\n20 PTR mx1.overlay.test.\n",
        None,
    )
    .unwrap();
    let dns = Dns::new(server.settings(), vec![overlay, reverse]).unwrap();
    let resolver = dns.resolver();
    let bridge = Bridge::start(resolver.clone()).await.unwrap();
    let authenticator = bridge.authenticator(Duration::from_secs(5)).unwrap();

    // iprev entirely from the overlay, then entirely from upstream.
    let from_overlay = authenticator
        .verify_iprev("198.51.100.20".parse::<std::net::IpAddr>().unwrap())
        .await;
    assert!(
        matches!(from_overlay.result, mail_auth::IprevResult::Pass),
        "{:?}",
        from_overlay.result
    );
    let from_upstream = authenticator
        .verify_iprev("192.0.2.25".parse::<std::net::IpAddr>().unwrap())
        .await;
    assert!(
        matches!(from_upstream.result, mail_auth::IprevResult::Pass),
        "{:?}",
        from_upstream.result
    );
    let dmarc = authenticator
        .txt_raw_lookup("_dmarc.overlay.test.")
        .await
        .unwrap();
    assert_eq!(dmarc, b"v=DMARC1; p=reject");

    let trace = resolver.trace();
    let source_of = |n: &str| trace.iter().find(|t| t.name == n).map(|t| t.source);
    assert_eq!(
        source_of("20.100.51.198.in-addr.arpa."),
        Some(Source::Overlay)
    );
    assert_eq!(source_of("mx1.overlay.test."), Some(Source::Overlay));
    assert_eq!(source_of("_dmarc.overlay.test."), Some(Source::Overlay));
    assert_eq!(
        source_of("25.2.0.192.in-addr.arpa."),
        Some(Source::Upstream)
    );
    assert_eq!(source_of("mail.example.test."), Some(Source::Upstream));
    assert!(
        server
            .queries()
            .iter()
            .all(|q| !q.name.ends_with("overlay.test."))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn txt_split_over_lines_in_parentheses_is_served_as_written() {
    // The fixture writes a DKIM key as DNS providers print it: quoted
    // strings over several lines inside ( ), with a comment between them.
    let fixture = std::path::Path::new("fixtures/zones/some.test.zone");
    let key = name("mail2026._domainkey.some.test.");
    let expected: Vec<&[u8]> = vec![
        b"v=DKIM1; k=rsa; ",
        b"p=MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAz1",
    ];
    // Over the wire from the test server…
    let server = TestDns::start(&[fixture]).await;
    let dns = Dns::new(server.settings(), vec![]).unwrap();
    let answer = dns.resolver().lookup(&key, RecordType::TXT).await.unwrap();
    assert_eq!(answer.txt(), vec![expected.clone()]);
    // …and from the same file as an overlay.
    let overlay = zone::Zone::load(fixture).unwrap();
    let dns = Dns::new(
        Settings {
            upstream: UpstreamChoice::Offline,
            ..server.settings()
        },
        vec![overlay],
    )
    .unwrap();
    let answer = dns.resolver().lookup(&key, RecordType::TXT).await.unwrap();
    assert_eq!(answer.txt(), vec![expected]);
}

/// Resolver settings over `server` allowing `max_questions` upstream
/// questions per request, with a shared cache.
fn budgeted(server: &TestDns, max_questions: usize) -> std::sync::Arc<Dns> {
    Dns::new(
        Settings {
            max_questions,
            cache_capacity: 100,
            ..server.settings()
        },
        vec![],
    )
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn past_the_question_budget_lookups_fail_without_being_sent() {
    let server = TestDns::start_with_texts(&[ZONE, REVERSE]).await;
    let dns = budgeted(&server, 3);
    let resolver = dns.resolver();
    let names: Vec<Name> = (0..6)
        .map(|i| name(&format!("n{i}.example.test.")))
        .collect();
    let mut outcomes = Vec::new();
    for n in &names {
        outcomes.push(resolver.lookup(n, RecordType::A).await);
    }
    // Three questions went out and were answered (NXDOMAIN is an answer).
    assert_eq!(server.queries().len(), 3);
    assert!(outcomes[..3].iter().all(|o| o.is_ok()));
    // The rest failed at once: a DNS failure, never "no such name".
    for outcome in &outcomes[3..] {
        assert_eq!(outcome.as_ref().unwrap_err(), &DnsError::QuestionBudget(3));
    }
    let error = outcomes[3].as_ref().unwrap_err().to_string();
    assert!(error.contains("--max-dns-questions"), "{error}");
    // What the request already knows costs nothing.
    assert!(resolver.lookup(&names[0], RecordType::A).await.is_ok());
    assert_eq!(server.queries().len(), 3);

    let summary = resolver.summary(true);
    assert!(summary.budget_exhausted);
    assert_eq!(summary.upstream_queries, 3);
    let trace = summary.trace.unwrap();
    let unsent: Vec<_> = trace
        .iter()
        .filter(|e| e.source == Source::NotSent)
        .collect();
    assert_eq!(unsent.len(), 3);
    assert!(unsent.iter().all(|e| e.rcode == "BUDGET"));
    let json = serde_json::to_value(&trace).unwrap();
    assert_eq!(json[3]["source"], "not_sent");

    // Answers from the shared cache are free: a new request within the
    // budget still gets the first three, and has all three questions left.
    let next = dns.resolver();
    for n in &names[..3] {
        assert!(next.lookup(n, RecordType::A).await.is_ok());
    }
    assert_eq!(server.queries().len(), 3);
    assert!(!next.summary(false).budget_exhausted);
    for n in &names[3..] {
        assert!(next.lookup(n, RecordType::A).await.is_ok());
    }
    assert_eq!(server.queries().len(), 6);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resolvers_given_one_budget_share_it() {
    let server = TestDns::start_with_texts(&[ZONE, REVERSE]).await;
    let dns = budgeted(&server, 4);
    let budget = dns.question_budget();
    let first = dns.resolver_within(&budget);
    let second = dns.resolver_within(&budget);
    for i in 0..3 {
        let (a, b) = (
            name(&format!("a{i}.example.test.")),
            name(&format!("b{i}.example.test.")),
        );
        let _ = tokio::join!(
            first.lookup(&a, RecordType::A),
            second.lookup(&b, RecordType::A)
        );
    }
    assert_eq!(server.queries().len(), 4, "one budget of 4 for both");
    assert_eq!(budget.used(), 4);
    assert_eq!(
        first.summary(false).upstream_queries + second.summary(false).upstream_queries,
        4
    );
    assert!(first.summary(false).budget_exhausted || second.summary(false).budget_exhausted);
    // A resolver of its own has a budget of its own.
    let own = dns.resolver();
    assert!(
        own.lookup(&name("c.example.test."), RecordType::A)
            .await
            .is_ok()
    );
    assert_eq!(server.queries().len(), 5);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_spf_check_past_the_budget_is_temperror_never_none() {
    let server = TestDns::start_with_texts(&[ZONE, REVERSE]).await;
    // The record is fetched; its a: target and include are not.
    let dns = budgeted(&server, 1);
    let check = spf::check(&dns.resolver(), &mail_from("203.0.113.9", "a@example.test"))
        .await
        .unwrap();
    assert_eq!(check.result, SpfResult::TempError);
    assert_eq!(server.queries().len(), 1);
}

/// A CNAME chain that loops, or that runs past eight names, is a failed
/// lookup (as a resolver's SERVFAIL), never an answer without records:
/// SPF is `temperror` there, not `none`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cname_loop_or_an_endless_chain_is_a_failed_lookup() {
    // The chain crosses between two zones, so each answer holds one
    // CNAME and the resolver layer follows every hop itself.
    let mut one = String::from(
        "$ORIGIN one.test.\n$TTL 300\n@ IN SOA ns hostmaster 1 3600 600 86400 300\n\
         loop IN CNAME back\nback IN CNAME loop\n",
    );
    let mut two =
        String::from("$ORIGIN two.test.\n$TTL 300\n@ IN SOA ns hostmaster 1 3600 600 86400 300\n");
    for hop in 0..10 {
        let (zone, next) = if hop % 2 == 0 {
            (&mut one, "two")
        } else {
            (&mut two, "one")
        };
        zone.push_str(&format!(
            "long{hop} IN CNAME long{}.{next}.test.\n",
            hop + 1
        ));
    }
    one.push_str("long10 IN TXT \"v=spf1 -all\"\nshort IN CNAME long3.two.test.\n");
    let server = TestDns::start_with_texts(&[&one, &two]).await;
    let dns = server.layer();
    let resolver = dns.resolver();
    for (asked, said) in [
        ("loop.one.test.", "loops"),
        ("long0.one.test.", "more than 8 questions"),
    ] {
        match resolver.lookup(&name(asked), RecordType::TXT).await {
            Err(DnsError::CnameChain(why)) => assert!(why.contains(said), "{asked}: {why}"),
            other => panic!("{asked}: {other:?}"),
        }
    }
    // Eight CNAMEs or fewer are followed to the records.
    let followed = resolver
        .lookup(&name("short.one.test."), RecordType::TXT)
        .await
        .expect("a short chain is followed");
    assert!(!followed.is_empty_of(RecordType::TXT));

    let check = spf::check(&resolver, &mail_from("192.0.2.1", "a@loop.one.test"))
        .await
        .unwrap();
    assert_eq!(check.result, SpfResult::TempError);
    assert_eq!(check.reason.unwrap().kind, ProblemKind::DnsError);
}
