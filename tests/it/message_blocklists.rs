//! DNS blocklists over the wire: the test DNS server serves the fixture
//! lists of fixtures/messages/blocklists/ (a list that lists some
//! addresses with a reason, one that refuses the query), and fault
//! injection makes a SERVFAIL list and a silent one. A listing shows its
//! codes and escaped reason; a refusal, SERVFAIL or timeout is "could not
//! check", never a listing; NXDOMAIN is not listed; an address that is not
//! global is never asked. The flag reaches the report through `mailvet
//! message --dnsbl`, through the server's configuration and through the
//! test inbox, about the client a PROXY header names.

use crate::support::{self, FaultKind, FaultTypes, TestDns};
use axum::body::Body;
use axum::http::{Request, StatusCode};
use hickory_proto::rr::RecordType;
use mailvet::message::blocklists::{Blocklists, Listing};
use mailvet::message::envelope::Envelope;
use mailvet::message::report::{MessageReport, MessageRequest, report};
use serde_json::Value;
use std::path::Path;

const LISTS: &[&str] = &["bl.test", "refusing.test", "broken.test", "silent.test"];

const MESSAGE: &str = "From: news@healthy.test\r\nTo: ann@example.net\r\nSubject: hi\r\n\
                       Date: Tue, 01 Jul 2025 10:00:00 +0000\r\nMessage-ID: <1@healthy.test>\r\n\
                       \r\nHello\r\n";

async fn lists_server() -> TestDns {
    let dir = Path::new("fixtures/messages/blocklists");
    let dns = TestDns::start(&[&dir.join("bl.test.zone"), &dir.join("refusing.test.zone")]).await;
    for ip in ["44.33.22.11", "45.33.22.11"] {
        dns.add_fault(
            &format!("{ip}.broken.test"),
            FaultTypes::All,
            FaultKind::ServFail,
        );
        dns.add_fault(
            &format!("{ip}.silent.test"),
            FaultTypes::All,
            FaultKind::NoAnswer,
        );
    }
    dns
}

async fn report_for(dns: &TestDns, ip: &str) -> MessageReport {
    let request = MessageRequest {
        raw: MESSAGE.as_bytes().to_vec(),
        envelope: Envelope {
            ip: Some(ip.parse().unwrap()),
            helo: None,
            mail_from: Some("bounce@healthy.test".into()),
        },
        bulk: None,
        authserv_id: "mailvet".into(),
        clock: mailvet::message::Clock::system(),
        limits: Default::default(),
        blocklists: Blocklists::parse(LISTS).unwrap(),
    };
    report(&dns.layer(), &request, true).await.expect("report")
}

fn codes_of(report: &MessageReport, code: &str) -> Vec<String> {
    report
        .findings
        .iter()
        .filter(|f| f.code == code)
        .map(|f| f.detail.clone())
        .collect()
}

#[tokio::test]
async fn a_listed_ip_shows_its_codes_and_reason_and_refusals_are_unchecked() {
    let dns = lists_server().await;
    let report = report_for(&dns, "11.22.33.44").await;
    let section = report.blocklists.as_ref().expect("blocklists section");
    assert!(section.looked_up);
    let by_zone: Vec<(&str, Listing, Vec<String>)> = section
        .lists
        .iter()
        .map(|l| {
            (
                l.zone.as_str(),
                l.result,
                l.codes.iter().map(ToString::to_string).collect(),
            )
        })
        .collect();
    assert_eq!(
        by_zone,
        [
            (
                "bl.test",
                Listing::Listed,
                vec!["127.0.0.2".to_string(), "127.0.0.4".to_string()]
            ),
            (
                "refusing.test",
                Listing::Unchecked,
                vec!["127.255.255.254".to_string()]
            ),
            ("broken.test", Listing::Unchecked, vec![]),
            ("silent.test", Listing::Unchecked, vec![]),
        ]
    );
    assert_eq!(section.lists[0].query, "44.33.22.11.bl.test");
    assert_eq!(
        section.lists[0].reason.as_deref(),
        Some("Listed for spam trap hits, see https://bl.test/lookup?ip=11.22.33.44")
    );
    assert!(
        section.lists[1]
            .reason
            .as_deref()
            .unwrap()
            .contains("public or open resolver")
    );
    assert!(
        section.lists[2]
            .reason
            .as_deref()
            .unwrap()
            .contains("SERVFAIL")
    );
    assert!(
        section.lists[3]
            .reason
            .as_deref()
            .unwrap()
            .contains("timeout")
    );

    let listed = codes_of(&report, "dnsbl.listed");
    assert_eq!(listed.len(), 1, "only bl.test lists it: {listed:?}");
    assert!(listed[0].contains("127.0.0.2, 127.0.0.4"), "{}", listed[0]);
    assert_eq!(codes_of(&report, "dnsbl.unchecked").len(), 3);
    // The refusing list's TXT is never asked: its code is no listing.
    assert_eq!(dns.count("44.33.22.11.refusing.test", RecordType::TXT), 0);
    assert_eq!(dns.count("44.33.22.11.bl.test", RecordType::TXT), 1);
    // Every question is in the report's trace.
    let traced: Vec<String> = report
        .dns
        .trace
        .iter()
        .flatten()
        .map(|t| t.name.clone())
        .collect();
    for zone in LISTS {
        let name = format!("44.33.22.11.{zone}");
        assert!(
            traced.iter().any(|t| t.trim_end_matches('.') == name),
            "{name} not in the trace"
        );
    }
}

#[tokio::test]
async fn nxdomain_is_not_listed_and_answers_outside_loopback_are_not_listings() {
    let dns = lists_server().await;
    let report = report_for(&dns, "11.22.33.45").await;
    let lists = &report.blocklists.as_ref().unwrap().lists;
    assert_eq!(lists[0].result, Listing::NotListed);
    assert_eq!(lists[1].result, Listing::Unchecked);
    assert!(
        lists[1]
            .reason
            .as_deref()
            .unwrap()
            .contains("outside 127.0.0.0/8")
    );
    assert!(codes_of(&report, "dnsbl.listed").is_empty());
}

#[tokio::test]
async fn an_ipv6_address_is_asked_by_its_nibbles() {
    let dns = lists_server().await;
    let report = report_for(&dns, "2a01:4f8::25").await;
    let bl = &report.blocklists.as_ref().unwrap().lists[0];
    assert_eq!(
        bl.query,
        "5.2.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.f.4.0.1.0.a.2.bl.test"
    );
    assert_eq!(bl.result, Listing::Listed);
    assert_eq!(bl.reason.as_deref(), Some("IPv6 listing"));
}

#[tokio::test]
async fn addresses_that_are_not_global_are_never_asked() {
    let dns = lists_server().await;
    for ip in [
        "192.0.2.10",
        "10.1.2.3",
        "127.0.0.2",
        "2001:db8::1",
        "fe80::1",
    ] {
        let report = report_for(&dns, ip).await;
        let section = report.blocklists.as_ref().unwrap();
        assert!(!section.looked_up, "{ip}");
        assert!(section.lists.is_empty(), "{ip}");
        assert!(section.note.as_deref().unwrap().contains("none was asked"));
    }
    let asked: Vec<_> = dns
        .queries()
        .into_iter()
        .filter(|q| LISTS.iter().any(|z| q.name.ends_with(&format!("{z}."))))
        .collect();
    assert!(asked.is_empty(), "{asked:?}");
}

#[tokio::test]
async fn the_cli_asks_the_lists_given_and_escapes_the_reason() {
    let dns = lists_server().await;
    let file = std::env::temp_dir().join(format!("mailvet-dnsbl-{}.eml", std::process::id()));
    std::fs::write(&file, MESSAGE).unwrap();
    let run = |format: &'static str, lists: &[&str]| {
        let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_mailvet"));
        command.args(["message", "--dns", &dns.dns_arg(), "--ip", "11.22.33.46"]);
        for l in lists {
            command.args(["--dnsbl", l]);
        }
        command.args(["--format", format, "--fail-on", "never"]);
        command.arg(&file);
        command.env_remove("MAILVET_DNSBL");
        async move { command.output().await.unwrap() }
    };
    let json = run("json", &["bl.test"]).await;
    assert!(
        json.status.success(),
        "{}",
        String::from_utf8_lossy(&json.stderr)
    );
    let report: Value = serde_json::from_slice(&json.stdout).unwrap();
    let bl = &report["blocklists"]["lists"][0];
    assert_eq!(bl["result"], "listed");
    // The ESC of the list's TXT arrives escaped, not as a control.
    assert_eq!(bl["reason"], "Listed \\u{1b}[31mRED\\u{1b}[0m");
    assert!(report["grade"].as_f64().unwrap() < 10.0);

    let text = run("text", &["bl.test"]).await;
    let out = String::from_utf8(text.stdout).unwrap();
    assert!(!out.contains('\u{1b}'), "{out}");
    assert!(out.contains("bl.test"), "{out}");
    assert!(out.contains("Grade"), "{out}");

    // Without --dnsbl, `mailvet message` asks no list.
    let none = run("json", &[]).await;
    let report: Value = serde_json::from_slice(&none.stdout).unwrap();
    assert!(report["blocklists"].is_null());
    assert!(
        !dns.queries()
            .iter()
            .any(|q| q.name.ends_with("silent.test.")),
        "asked a list not given"
    );
    // A list name that is not a domain is a usage error.
    let bad = run("json", &["192.0.2.1"]).await;
    assert_eq!(bad.status.code(), Some(2));
    let _ = std::fs::remove_file(&file);
}

#[tokio::test]
async fn the_server_asks_its_configured_lists_and_the_page_shows_them() {
    let dns = lists_server().await;
    let state = mailvet::http::AppState {
        service: mailvet::http::config::ServiceConfig {
            blocklists: Blocklists::parse(&["bl.test"]).unwrap(),
            ..Default::default()
        },
        ..mailvet::http::AppState::new(dns.layer(), crate::support::store::scratch().await)
    };
    let router = mailvet::http::router(state);
    let request =
        Request::post("/v1/messages?ip=11.22.33.46&mail_from=bounce@healthy.test&save=true")
            .header("content-type", "message/rfc822")
            .body(Body::from(MESSAGE))
            .unwrap();
    let (status, _, body) = support::api::call(router.clone(), request).await;
    assert!(status.is_success(), "{status} {body}");
    assert_eq!(body["blocklists"]["lists"][0]["result"], "listed");
    assert!(
        support::api::finding_codes(&body).contains(&"dnsbl.listed".to_string()),
        "{body}"
    );
    let page = body["links"]["html"]
        .as_str()
        .expect("a permalink")
        .to_string();
    let (status, _, html) =
        support::api::send(router, Request::get(page).body(Body::empty()).unwrap()).await;
    assert_eq!(status, StatusCode::OK);
    let html = String::from_utf8(html.to_vec()).unwrap();
    assert!(html.contains("DNS blocklists"), "{html}");
    assert!(html.contains("Grade: <strong>"), "{html}");
    assert!(
        html.contains("Listed \\u{1b}[31mRED"),
        "the reason, escaped"
    );
    assert!(!html.contains('\u{1b}'));
}

#[tokio::test]
async fn the_test_inbox_asks_about_the_client_its_balancer_names() {
    let dns = lists_server().await;
    let inbox = support::inbox::TestInbox::start_with(
        &dns,
        crate::support::store::scratch().await,
        |mut receiver| {
            receiver.proxy_from = vec!["127.0.0.0/8".parse().unwrap()];
            receiver.blocklists = Blocklists::parse(&["bl.test"]).unwrap();
            receiver
        },
    )
    .await;
    let (token, address) = inbox.new_address().await;
    let header = mailvet::smtp::proxy::v2_header(
        "11.22.33.44".parse().unwrap(),
        "203.0.113.25".parse().unwrap(),
    );
    let (mut client, greeting) =
        support::inbox::SmtpClient::connect_with(inbox.smtp, &header).await;
    assert_eq!(greeting.code, 220, "{greeting:?}");
    for (command, status) in [
        ("EHLO mail.healthy.test".to_string(), "250"),
        ("MAIL FROM:<bounce@healthy.test>".to_string(), "250 2.1.0"),
        (format!("RCPT TO:<{address}>"), "250 2.1.5"),
    ] {
        let reply = client.command(&command).await;
        assert!(reply.status().starts_with(status), "{command}: {reply:?}");
    }
    assert_eq!(client.data(MESSAGE.as_bytes()).await.status(), "250 2.0.0");
    let report = &inbox.inbox(&token).await["report"];
    assert_eq!(report["blocklists"]["ip"], "11.22.33.44");
    assert_eq!(report["blocklists"]["lists"][0]["result"], "listed");
    assert!(support::api::finding_codes(report).contains(&"dnsbl.listed".to_string()));
}
