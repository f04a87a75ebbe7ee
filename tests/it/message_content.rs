//! The content checks against the fixture messages of
//! fixtures/messages/content/: a fixture named after a finding code gives
//! exactly that code, the healthy one gives none; the two size codes come
//! from the healthy message grown past their thresholds here (a 10 MB
//! fixture has no place in the repository); hostile bodies are read within
//! the limits; and through the whole report the findings carry into
//! `findings` and the `grade`.

use mailvet::findings::grade::grade;
use mailvet::message::content::{self, GMAIL_CLIP_BYTES, LARGE_MESSAGE_BYTES, SCAN_BYTES};
use mailvet::message::headers;
use mailvet::message::report::{MessageRequest, report};
use std::path::Path;

use crate::support::TestDns;

const DIR: &str = "fixtures/messages/content";

const CODES: &[&str] = &[
    "content.no_text_part",
    "content.image_only",
    "content.link_not_aligned",
    "content.url_shortener",
];

fn read(name: &str) -> String {
    std::fs::read_to_string(Path::new(DIR).join(name)).unwrap()
}

fn codes(raw: &str) -> Vec<&'static str> {
    let from = headers::from_domain(raw.as_bytes());
    content::check(raw.as_bytes(), from.as_deref())
        .findings
        .iter()
        .map(|f| f.code)
        .collect()
}

#[test]
fn each_code_fixture_gives_exactly_its_code() {
    for code in CODES {
        assert_eq!(codes(&read(&format!("{code}.eml"))), [*code], "{code}.eml");
    }
}

#[test]
fn the_healthy_messages_give_no_content_finding() {
    let healthy = read("healthy.eml");
    assert!(codes(&healthy).is_empty());
    let section = content::check(healthy.as_bytes(), Some("healthy.test")).section;
    assert!(section.text_part && section.html_part);
    assert_eq!(section.images, 1);
    // Base64 and quoted-printable bodies are read decoded: the HTML's
    // links and the text part's (one URL repeated there).
    let hosts: Vec<(&str, usize, Option<bool>)> = section
        .link_hosts
        .iter()
        .map(|h| (h.host.as_str(), h.links, h.aligned))
        .collect();
    assert_eq!(
        hosts,
        [
            ("healthy.test", 3, Some(true)),
            ("click.healthy.test", 1, Some(true)),
        ]
    );
    let clean_bulk = std::fs::read_to_string("fixtures/messages/clean-bulk.eml").unwrap();
    assert!(codes(&clean_bulk).is_empty());
}

#[test]
fn unaligned_links_are_named_with_their_hosts() {
    let raw = read("content.link_not_aligned.eml");
    let checked = content::check(raw.as_bytes(), Some("healthy.test"));
    let finding = &checked.findings[0];
    // The host after `user@` is where the link goes.
    assert!(
        finding.detail.contains("trk.esp-mailer.example"),
        "{}",
        finding.detail
    );
    assert!(
        finding.detail.contains("login.other.example"),
        "{}",
        finding.detail
    );
    assert!(
        !finding.detail.contains("bank.healthy.test"),
        "{}",
        finding.detail
    );
    assert_eq!(
        finding.evidence,
        [
            "trk.esp-mailer.example (2 links)",
            "login.other.example (1 links)"
        ]
    );
}

#[test]
fn size_codes_fire_past_their_thresholds_only() {
    let healthy = read("healthy.eml");
    let html_only = |html: &str| {
        format!(
            "From: news@healthy.test\r\nMIME-Version: 1.0\r\nContent-Type: multipart/alternative; \
             boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nHello\r\n--b\r\n\
             Content-Type: text/html\r\n\r\n{html}\r\n--b--\r\n"
        )
    };
    let text = "<p>Our offers, in long form.</p>\n";
    let under = text.repeat(GMAIL_CLIP_BYTES / text.len() - 10);
    assert!(codes(&html_only(&under)).is_empty());
    let over = text.repeat(GMAIL_CLIP_BYTES / text.len() + 10);
    assert_eq!(codes(&html_only(&over)), ["content.html_clipped"]);

    // An attachment takes the healthy message past 10 MB.
    let line = "QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVphYmNkZWZnaGlqa2xtbm9wcXJzdHV2d3h5ejAxMjM0\r\n";
    let large = healthy.replace(
        "--alt-7f3a--",
        &format!(
            "--alt-7f3a--\r\n{}",
            line.repeat(LARGE_MESSAGE_BYTES / line.len() + 1)
        ),
    );
    assert!(large.len() > LARGE_MESSAGE_BYTES);
    assert_eq!(codes(&large), ["content.too_large"]);
}

#[test]
fn hostile_bodies_are_read_within_the_limits() {
    // Unclosed tags, quotes and comments, and an HTML part far past the
    // scan limit: read up to the limit, flagged as truncated.
    let junk = "<a href='https://x.example <!-- <script> \" ".repeat(SCAN_BYTES / 20);
    let raw = format!("From: a@healthy.test\r\nContent-Type: text/html\r\n\r\n{junk}");
    let section = content::check(raw.as_bytes(), Some("healthy.test")).section;
    assert!(section.truncated);
    assert!(section.html_bytes <= SCAN_BYTES);
    // Thousands of links: at most 2,000 looked at, 50 hosts kept.
    let links: String = (0..5_000)
        .map(|i| format!("<a href=\"https://h{i}.other.example/\">x</a>"))
        .collect();
    let raw = format!("From: a@healthy.test\r\nContent-Type: text/html\r\n\r\n{links}");
    let section = content::check(raw.as_bytes(), Some("healthy.test")).section;
    assert_eq!(section.links, content::links::MAX_LINKS);
    assert_eq!(section.link_hosts.len(), content::links::MAX_HOSTS);
    // Deep nesting: parsed to the depth limit, no stack growth with it.
    let mut nested = String::from("From: a@healthy.test\r\n");
    for depth in 0..2_000 {
        nested.push_str(&format!(
            "Content-Type: multipart/mixed; boundary=b{depth}\r\n\r\n--b{depth}\r\n"
        ));
    }
    nested.push_str("Content-Type: text/html\r\n\r\n<img src=x>\r\n");
    let _ = content::check(nested.as_bytes(), Some("healthy.test"));
}

#[tokio::test]
async fn the_report_carries_content_findings_and_a_grade_from_them() {
    let dns = TestDns::start(&[]).await;
    let layer = dns.layer();
    let request = MessageRequest {
        raw: read("content.url_shortener.eml").into_bytes(),
        envelope: Default::default(),
        bulk: None,
        authserv_id: "mailvet".into(),
        clock: mailvet::message::Clock::system(),
        limits: Default::default(),
        blocklists: mailvet::message::blocklists::Blocklists::none(),
    };
    let report = report(&layer, &request, false).await.expect("report");
    assert!(
        report
            .findings
            .iter()
            .any(|f| f.code == "content.url_shortener")
    );
    let graded = report.grade.expect("every check decided, so graded");
    assert_eq!(graded, grade(&report.findings));
    assert!(graded.tenths() < 100);
    let json = serde_json::to_value(&report).unwrap();
    assert_eq!(
        json["grade"].as_f64(),
        Some(f64::from(graded.tenths()) / 10.0)
    );
    assert_eq!(json["content"]["link_hosts"][0]["host"], "bit.ly");
    assert_eq!(json["content"]["link_hosts"][0]["shortener"], true);
    assert!(json["blocklists"].is_null(), "no list configured");
}
