//! The analysis of a synthetic month of aggregate reports
//! (fixtures/reports/month and month-ready, written by make-month.py),
//! with PTR names asked over the wire from the test DNS server serving
//! fixtures/reports/reverse.zone: totals and days agree with an
//! independent reading of the files, every class of source comes out as
//! built, sources are recognized only by names they cannot fake, new
//! sources are found, and the enforcement verdict, fixes and next record
//! follow.

use crate::support;

use hickory_proto::rr::RecordType;
use mailvet::message::dmarc::AuthResult;
use mailvet::records::dmarc::Policy;
use mailvet::reports::aggregate::AggregateReport;
use mailvet::reports::classify::Class;
use mailvet::reports::enforcement::{Blocking, LiveRecord, RUA_PLACEHOLDER, Verdict};
use mailvet::reports::ingest::live_record;
use mailvet::reports::services::Services;
use mailvet::reports::sources::ReverseDns;
use mailvet::reports::summary::{Options, Recognized, SourceSummary, tls_summary};
use mailvet::reports::{Analysis, Limits, Report, analyze, parse};
use std::collections::BTreeMap;
use std::path::Path;
use support::{FaultKind, FaultTypes, TestDns};

const NOV_1: i64 = 1_793_491_200;
const DAY: i64 = 86_400;

/// The month's report files whose day (1–30) is in `days`, sorted.
fn files(month: &str, days: std::ops::RangeInclusive<i64>) -> Vec<std::path::PathBuf> {
    let mut files: Vec<_> = std::fs::read_dir(format!("fixtures/reports/{month}"))
        .expect("month fixtures")
        .map(|e| e.expect("entry").path())
        .filter(|p| {
            let begin: i64 = p
                .file_name()
                .and_then(|n| n.to_str())
                .and_then(|n| n.split('!').nth(2))
                .and_then(|b| b.parse().ok())
                .expect("reporter!domain!begin!end.xml");
            days.contains(&((begin - NOV_1) / DAY + 1))
        })
        .collect();
    files.sort();
    files
}

fn reports(files: &[std::path::PathBuf]) -> Vec<AggregateReport> {
    files
        .iter()
        .map(
            |f| match parse(std::fs::read(f).expect("fixture"), &Limits::default()) {
                Ok(Report::Aggregate(report)) => report,
                other => panic!("{}: {other:?}", f.display()),
            },
        )
        .collect()
}

/// One record as read from the file by splitting text, independently of
/// the parser: (source IP, count, policy_evaluated dkim passed, day).
fn raw_records(files: &[std::path::PathBuf]) -> Vec<(String, u64, bool, i64)> {
    let between = |text: &str, open: &str, close: &str| -> String {
        let start = text.find(open).expect(open) + open.len();
        let end = text[start..].find(close).expect(close) + start;
        text[start..end].to_string()
    };
    let mut out = Vec::new();
    for file in files {
        let text = std::fs::read_to_string(file).expect("fixture");
        let begin: i64 = between(&text, "<begin>", "</begin>")
            .parse()
            .expect("begin");
        for record in text.split("<record>").skip(1) {
            let evaluated = between(record, "<policy_evaluated>", "</policy_evaluated>");
            out.push((
                between(record, "<source_ip>", "</source_ip>"),
                between(record, "<count>", "</count>")
                    .parse()
                    .expect("count"),
                evaluated.contains("<dkim>pass</dkim>"),
                (begin - NOV_1) / DAY + 1,
            ));
        }
    }
    out
}

/// The DNS records a fix names, as (name, value).
fn fix_records(blocking: &Blocking) -> Vec<(&str, &str)> {
    blocking
        .fix
        .records
        .iter()
        .map(|r| (r.name.as_str(), r.value.as_str()))
        .collect()
}

async fn server() -> TestDns {
    let dns = TestDns::start(&[
        Path::new("fixtures/reports/reverse.zone"),
        Path::new("fixtures/reports/brand.example.zone"),
        Path::new("fixtures/reports/ready.example.zone"),
    ])
    .await;
    dns.add_fault(
        "11.11.18.198.in-addr.arpa",
        FaultTypes::All,
        FaultKind::ServFail,
    );
    dns
}

async fn analysis(
    dns: &TestDns,
    current: &[AggregateReport],
    previous: &[AggregateReport],
    options: &Options,
    domain: &str,
) -> Analysis {
    let layer = dns.layer();
    let live = live_record(&layer.resolver(), domain).await;
    analyze(
        &layer.resolver(),
        current,
        previous,
        &Services::built_in(),
        options,
        &live,
        &[],
    )
    .await
}

/// The analysis of the given days of a month, with default options, and
/// the DNS server it asked.
async fn month_analysis(
    month: &str,
    days: std::ops::RangeInclusive<i64>,
    domain: &str,
) -> (TestDns, Analysis) {
    let dns = server().await;
    let reports = reports(&files(month, days));
    let analysis = analysis(&dns, &reports, &[], &Options::default(), domain).await;
    (dns, analysis)
}

fn source<'a>(analysis: &'a Analysis, key: &str) -> &'a SourceSummary {
    analysis
        .summary
        .sources
        .iter()
        .find(|s| s.key == key)
        .unwrap_or_else(|| panic!("no source {key}"))
}

#[tokio::test]
async fn a_month_of_reports_is_summed_up_as_built() {
    let dns = server().await;
    let files = files("month", 1..=30);
    assert_eq!(files.len(), 60, "two reporters, thirty days");
    let month = reports(&files);
    let raw = raw_records(&files);
    let a = analysis(&dns, &month, &[], &Options::default(), "brand.example").await;
    let s = &a.summary;

    assert_eq!(s.domains, ["brand.example"]);
    assert_eq!(s.reports, 60);
    assert_eq!(s.reporters, ["Yahoo", "google.com"]);
    assert_eq!(s.records, raw.len() as u64);
    assert_eq!(s.messages, raw.iter().map(|r| r.1).sum::<u64>());
    assert_eq!((s.begin, s.end), (Some(NOV_1), Some(NOV_1 + 30 * DAY - 1)));

    // Per day: messages as the files say; DMARC passes are the records an
    // aligned mechanism passed for.
    assert_eq!(s.days.len(), 30);
    for (i, day) in s.days.iter().enumerate() {
        let of_day = |r: &&(String, u64, bool, i64)| r.3 == i as i64 + 1;
        assert_eq!(
            day.messages,
            raw.iter().filter(of_day).map(|r| r.1).sum::<u64>(),
            "{}",
            day.day
        );
        assert!(day.pass_rate > 0.5 && day.pass_rate < 0.9, "{day:?}");
    }
    assert_eq!(s.days[0].day.to_string(), "2026-11-01");
    assert_eq!(s.days[29].day.to_string(), "2026-11-30");

    // Every class, with the IPs built to be in it.
    let messages_of = |ips: &[&str], dkim_pass: Option<bool>| -> u64 {
        raw.iter()
            .filter(|r| ips.contains(&r.0.as_str()) && dkim_pass.is_none_or(|p| p == r.2))
            .map(|r| r.1)
            .sum()
    };
    let classes: BTreeMap<Class, u64> = s.classes.iter().map(|c| (c.class, c.messages)).collect();
    let expected = BTreeMap::from([
        (
            Class::Aligned,
            messages_of(&["209.85.220.41", "209.85.220.69"], None),
        ),
        (
            Class::DkimOnly,
            messages_of(&["54.240.8.10"], None) + messages_of(&["198.51.100.20"], Some(true)),
        ),
        (Class::SpfOnly, messages_of(&["192.0.2.50"], None)),
        (
            Class::Unaligned,
            messages_of(&["167.89.100.5", "203.0.113.25", "158.247.16.10"], None),
        ),
        (
            Class::Forwarded,
            messages_of(&["198.51.100.20"], Some(false)),
        ),
        (
            Class::Unauthenticated,
            messages_of(&["198.18.7.7", "198.18.9.9", "198.18.11.11"], None),
        ),
    ]);
    assert_eq!(classes, expected);
    assert_eq!(
        s.dmarc_pass,
        expected[&Class::Aligned] + expected[&Class::DkimOnly] + expected[&Class::SpfOnly]
    );
    assert_eq!(s.forwarded_failing, expected[&Class::Forwarded]);
    assert_eq!(s.legitimate_failing, expected[&Class::Unaligned]);

    // Sources, recognized by names that cannot be faked.
    let google = source(&a, "service:Google Workspace");
    assert_eq!(google.recognized, Recognized::ServicePtr);
    assert_eq!((google.ip_count, google.class), (2, Class::Aligned));
    assert!(google.legitimate);
    assert_eq!(
        google.ips[0].reverse_dns,
        ReverseDns::Confirmed {
            name: "mail-sor-f41.google.com".into()
        }
    );
    let sendgrid = source(&a, "service:SendGrid");
    assert_eq!(
        (sendgrid.recognized, sendgrid.class),
        (Recognized::ServicePtr, Class::Unaligned)
    );
    assert_eq!(source(&a, "service:Amazon SES").class, Class::DkimOnly);
    let list = source(&a, "org:partner.example");
    assert_eq!(list.recognized, Recognized::Organization);
    assert_eq!(list.class, Class::DkimOnly);
    assert!(list.messages_in(Class::Forwarded) > 0);
    let crm = source(&a, "org:brand.example");
    assert_eq!((crm.class, crm.legitimate), (Class::SpfOnly, true));
    let invoicer = source(&a, "org:invoicer.example");
    assert_eq!(
        (invoicer.class, invoicer.legitimate),
        (Class::Unaligned, true)
    );
    let hubspot = source(&a, "service:HubSpot");
    assert_eq!(hubspot.recognized, Recognized::ServiceDkim);
    assert_eq!(hubspot.new, None, "no previous period given");

    // A PTR name claiming Google that does not resolve back is not Google.
    let fake = source(&a, "ip:198.18.7.7");
    assert_eq!(
        fake.ips[0].reverse_dns,
        ReverseDns::Unconfirmed {
            name: "mail-fake.google.com".into()
        }
    );
    assert!(!fake.legitimate);
    assert_eq!(fake.class, Class::Unauthenticated);
    assert_eq!(
        source(&a, "ip:198.18.9.9").ips[0].reverse_dns,
        ReverseDns::Missing
    );
    assert!(matches!(
        source(&a, "ip:198.18.11.11").ips[0].reverse_dns,
        ReverseDns::Failed { .. }
    ));
    assert_eq!(s.sources.len(), 10);

    // Each IP's PTR was asked once, for all sixty reports.
    for ip in [
        "41.220.85.209",
        "5.100.89.167",
        "20.100.51.198",
        "7.7.18.198",
        "10.16.247.158",
    ] {
        assert_eq!(
            dns.count(&format!("{ip}.in-addr.arpa"), RecordType::PTR),
            1,
            "{ip}"
        );
    }

    // Selectors seen for the domain's own organization only.
    let selectors: Vec<(&str, &str)> = s
        .selectors
        .iter()
        .map(|x| (x.domain.as_str(), x.selector.as_str()))
        .collect();
    assert_eq!(
        selectors,
        [("brand.example", "google"), ("brand.example", "ses2026")]
    );
    assert!(
        s.selectors[0].passed < s.selectors[0].messages,
        "forwarding broke some"
    );
    assert_eq!(s.published.as_ref().and_then(|p| p.p), Some(Policy::None));
}

#[tokio::test]
async fn the_month_is_not_ready_and_each_blocking_source_has_its_fix() {
    let (_dns, a) = month_analysis("month", 1..=30, "brand.example").await;
    let e = &a.enforcement;
    assert_eq!(e.published, Some(Policy::None));
    assert_eq!(e.days, 30);
    assert_eq!(e.quarantine.verdict, Verdict::NotReady);
    assert_eq!(e.reject.verdict, Verdict::NotReady);
    assert_eq!(e.quarantine.would_fail, a.summary.legitimate_failing);
    assert!(
        e.quarantine.share > 0.15 && e.quarantine.share < 0.3,
        "{}",
        e.quarantine.share
    );
    assert!(
        e.quarantine
            .explanation
            .contains("p=quarantine would send them to spam"),
        "{}",
        e.quarantine.explanation
    );
    assert_eq!(e.forwarded, a.summary.forwarded_failing);

    let blocking: Vec<&str> = e.blocking.iter().map(|b| b.source.as_str()).collect();
    assert_eq!(
        blocking,
        [
            "service:SendGrid",
            "service:HubSpot",
            "org:invoicer.example"
        ]
    );
    let sendgrid = &e.blocking[0];
    assert_eq!(sendgrid.class, Class::Unaligned);
    assert_eq!(sendgrid.share_of_source, 1.0);
    assert!(
        sendgrid.fix.summary.contains(
            "SendGrid authenticates as sendgrid.net, em2501.sendgrid.net, not as brand.example"
        ),
        "{}",
        sendgrid.fix.summary
    );
    let records = fix_records(sendgrid);
    assert_eq!(
        records,
        [
            (
                "s1._domainkey.brand.example",
                "the DKIM record SendGrid gives you for brand.example"
            ),
            (
                "s2._domainkey.brand.example",
                "the DKIM record SendGrid gives you for brand.example"
            ),
            ("bounce.brand.example", "v=spf1 include:sendgrid.net -all"),
        ]
    );
    // Only the SPF record is the very one to publish; the keys are
    // SendGrid's to give.
    let exact: Vec<bool> = sendgrid.fix.records.iter().map(|r| r.exact).collect();
    assert_eq!(exact, [false, false, true]);
    let invoicer = &e.blocking[2];
    assert!(
        invoicer.fix.summary.contains("bounce.invoicer.example"),
        "{}",
        invoicer.fix.summary
    );
    assert_eq!(
        invoicer.fix.records[0].name,
        "<selector>._domainkey.brand.example"
    );

    // The CRM passes by SPF only: advice, not blocking.
    assert_eq!(e.advice.len(), 1);
    assert_eq!(e.advice[0].source, "org:brand.example");
    assert_eq!(e.advice[0].class, Class::SpfOnly);

    assert_eq!(
        e.next_record.as_deref(),
        Some("v=DMARC1; p=none; rua=mailto:dmarc@brand.example"),
        "the live record, kept"
    );
    assert_eq!(e.record_to_change(), None, "nothing to change in DNS");
    assert!(e.next_step.starts_with("keep p=none"), "{}", e.next_step);
}

#[tokio::test]
async fn sources_new_since_the_previous_week_are_found() {
    let dns = server().await;
    let last_week = reports(&files("month", 24..=30));
    let week_before = reports(&files("month", 17..=23));
    let a = analysis(
        &dns,
        &last_week,
        &week_before,
        &Options::default(),
        "brand.example",
    )
    .await;
    assert!(a.summary.previous_period);
    assert_eq!(a.summary.new_sources, ["service:HubSpot"]);
    assert_eq!(source(&a, "service:HubSpot").new, Some(true));
    assert_eq!(source(&a, "service:SendGrid").new, Some(false));
    assert_eq!(a.summary.days.len(), 7);
}

#[tokio::test]
async fn a_clean_month_is_ready_for_reject() {
    let (_dns, a) = month_analysis("month-ready", 1..=30, "ready.example").await;
    let e = &a.enforcement;
    assert_eq!(e.published, Some(Policy::Quarantine));
    assert_eq!(
        e.quarantine.verdict,
        Verdict::Ready,
        "{}",
        e.quarantine.explanation
    );
    assert_eq!(e.reject.verdict, Verdict::Ready, "{}", e.reject.explanation);
    assert!(e.reject.share > 0.0 && e.reject.share <= 0.005);
    // The few unsigned messages of its own servers are still shown.
    assert_eq!(e.blocking.len(), 1);
    assert_eq!(e.blocking[0].source, "service:Google Workspace");
    assert_eq!(e.blocking[0].class, Class::Unauthenticated);
    // Its other mail passes SPF as ready.example and DKIM as ready.example:
    // the fix is for the relay's unsigned mail, not a record it has.
    assert_eq!(
        e.blocking[0].fix.summary,
        "Google Workspace sends some of its mail as ready.example without authenticating it: \
         add include:_spf.google.com to the SPF record of relay.ready.example, and sign every \
         message with DKIM as ready.example, as the rest of its mail is"
    );
    let records = fix_records(&e.blocking[0]);
    assert_eq!(
        records,
        [(
            "relay.ready.example",
            "v=spf1 … include:_spf.google.com … (add the include to your record)"
        )]
    );
    assert!(e.forwarded > 0);
    assert_eq!(
        e.next_record.as_deref(),
        Some(
            "v=DMARC1; p=reject; sp=none; adkim=s; ruf=mailto:forensic@ready.example; fo=1; \
             rua=mailto:dmarc@ready.example"
        ),
        "the live record with p changed, every other tag as published"
    );
    assert_eq!(e.published, Some(Policy::Quarantine));
    assert_eq!(e.reported, Some(Policy::Quarantine));
    assert_eq!(e.next_step, "publish p=reject");
}

/// brand.example as the test zone has it, with another `_dmarc` record.
fn brand_zone(dmarc: &str) -> String {
    format!(
        "$ORIGIN brand.example.\n$TTL 3600\n\
         @ IN SOA ns1 hostmaster 1 3600 600 86400 300\n@ IN NS ns1\nns1 IN A 192.0.2.53\n{dmarc}\n"
    )
}

/// The suggestion is made from the DMARC record the domain publishes now,
/// asked over the wire: a DNS failure is said, and leaves no record to
/// paste (it is never taken for "no record"); no record gives a new one
/// whose rua is to be filled in, saying why; a live policy other than
/// the one reports saw is shown with both.
#[tokio::test]
async fn the_suggestion_follows_the_live_record() {
    let month = reports(&files("month", 1..=30));
    let reverse = Path::new("fixtures/reports/reverse.zone");

    let dns = server().await;
    dns.add_fault("_dmarc.brand.example", FaultTypes::All, FaultKind::ServFail);
    let e = analysis(&dns, &month, &[], &Options::default(), "brand.example")
        .await
        .enforcement;
    assert!(
        matches!(&e.live, LiveRecord::Unreadable { reason } if reason.contains("_dmarc.brand.example TXT failed")),
        "{:?}",
        e.live
    );
    assert_eq!(e.next_record, None, "nothing to paste");
    assert!(
        e.next_step
            .starts_with("the DMARC record published now could not be read"),
        "{}",
        e.next_step
    );
    assert_eq!(e.published, None);
    assert_eq!(e.reported, Some(Policy::None));
    let now = e.published_now();
    assert!(
        now.starts_with("unknown, the record could not be read")
            && now.ends_with("; the most recent report saw p=none"),
        "{now}"
    );

    let dns = TestDns::start_with_files_and_texts(&[reverse], &[&brand_zone("")]).await;
    let e = analysis(&dns, &month, &[], &Options::default(), "brand.example")
        .await
        .enforcement;
    assert_eq!(e.live, LiveRecord::Absent);
    assert_eq!(
        e.next_record,
        Some(format!("v=DMARC1; p=none; rua={RUA_PLACEHOLDER}"))
    );
    assert!(
        e.next_step
            .starts_with("no DMARC record is published now: receivers apply no policy and send no more reports. Publish this one; its rua is where reports go (fill in the address"),
        "{}",
        e.next_step
    );
    assert_eq!(
        e.published_now(),
        "no DMARC record; the most recent report saw p=none"
    );

    let zone = brand_zone(r#"_dmarc IN TXT "v=DMARC1; p=reject; adkim=s""#);
    let dns = TestDns::start_with_files_and_texts(&[reverse], &[&zone]).await;
    let e = analysis(&dns, &month, &[], &Options::default(), "brand.example")
        .await
        .enforcement;
    assert_eq!(e.published, Some(Policy::Reject));
    assert_eq!(
        e.published_now(),
        "p=reject; the most recent report saw p=none"
    );
    assert_eq!(
        e.next_record,
        Some(format!(
            "v=DMARC1; p=reject; rua={RUA_PLACEHOLDER}; adkim=s"
        )),
        "kept, with a rua to fill in since none is published"
    );
    assert!(e.next_step.contains("has no rua"), "{}", e.next_step);
}

#[tokio::test]
async fn three_days_are_not_enough_for_a_verdict() {
    let (_dns, a) = month_analysis("month-ready", 1..=3, "ready.example").await;
    for readiness in [&a.enforcement.quarantine, &a.enforcement.reject] {
        assert_eq!(readiness.verdict, Verdict::InsufficientData);
        assert!(
            readiness.explanation.starts_with("3 days and "),
            "{}",
            readiness.explanation
        );
    }
    assert_eq!(
        a.enforcement.next_record.as_deref(),
        Some(
            "v=DMARC1; p=quarantine; sp=none; adkim=s; ruf=mailto:forensic@ready.example; fo=1; \
             rua=mailto:dmarc@ready.example"
        ),
        "the published record is kept"
    );
}

#[tokio::test]
async fn lookups_are_capped_busiest_first_and_listing_is_capped() {
    let dns = server().await;
    let month = reports(&files("month", 1..=30));
    let options = Options {
        max_lookups: 2,
        max_sources: 3,
        ..Options::default()
    };
    let a = analysis(&dns, &month, &[], &options, "brand.example").await;
    let ptr_queries: Vec<String> = dns
        .queries()
        .into_iter()
        .filter(|q| q.rtype == RecordType::PTR)
        .map(|q| q.name)
        .collect();
    assert_eq!(ptr_queries.len(), 2, "{ptr_queries:?}");
    assert!(ptr_queries.contains(&"41.220.85.209.in-addr.arpa.".to_string()));
    assert!(ptr_queries.contains(&"69.220.85.209.in-addr.arpa.".to_string()));
    // SendGrid's IP was not asked: it is recognized by the DKIM domain that
    // passed for it instead.
    assert_eq!(
        source(&a, "service:SendGrid").recognized,
        Recognized::ServiceDkim
    );
    assert_eq!(a.summary.sources.len(), 3);
    assert!(a.summary.unlisted.sources > 0);
    assert!(a.summary.unlisted.legitimate_failing > 0);
    assert_eq!(
        a.enforcement.quarantine.would_fail,
        a.summary.legitimate_failing + a.summary.unlisted.legitimate_failing
    );
    let not_asked = a
        .summary
        .sources
        .iter()
        .flat_map(|s| &s.ips)
        .filter(|i| i.reverse_dns == ReverseDns::NotAsked)
        .count();
    assert!(not_asked > 0);
}

#[test]
fn tls_reports_are_summed_per_day_result_type_mx_and_policy() {
    let read = |path: &str| match parse(
        std::fs::read(format!("fixtures/reports/{path}")).expect("fixture"),
        &Limits::default(),
    ) {
        Ok(Report::Tls(report)) => report,
        other => panic!("{path}: {other:?}"),
    };
    let reports = [
        read("tls/rfc8460.json"),
        read("tls/google.json"),
        read("tls/microsoft.json"),
    ];
    let s = tls_summary(&reports, "example.com", 20);
    assert_eq!(s.reports, 3);
    assert_eq!(s.successful_sessions, 5326 + 1840 + 12);
    assert_eq!(s.failed_sessions, 303 + 3);
    let days: Vec<(String, u64, u64)> = s
        .days
        .iter()
        .map(|d| (d.day.to_string(), d.successful_sessions, d.failed_sessions))
        .collect();
    assert_eq!(
        days,
        [
            ("2026-11-27".to_string(), 1852, 3),
            ("2026-11-28".to_string(), 5326, 303)
        ]
    );
    let types: Vec<(&str, u64)> = s
        .result_types
        .iter()
        .map(|t| (t.name.as_str(), t.failed_sessions))
        .collect();
    assert_eq!(
        types,
        [
            ("starttls-not-supported", 200),
            ("certificate-expired", 100),
            ("sts-policy-fetch-error", 3),
            ("validation-failure", 3)
        ]
    );
    assert_eq!(s.mx_hosts[0].name, "mx2.mail.example.com");
    assert!(s.mx_hosts.iter().any(|m| m.name == "unknown"));
    let sts = s
        .policies
        .iter()
        .find(|p| p.policy_type == "sts")
        .expect("sts policy");
    assert_eq!(
        (sts.successful_sessions, sts.failed_sessions),
        (5326 + 1840, 306)
    );
}

/// A report stored under a domain counts only that domain's policies:
/// another domain's sessions in it are not the domain's.
#[test]
fn a_tls_summary_counts_only_its_own_domains_policies() {
    let report = match parse(
        serde_json::json!({
            "organization-name": "o",
            "date-range": {
                "start-datetime": "2026-11-01T00:00:00Z",
                "end-datetime": "2026-11-01T23:59:59Z"
            },
            "report-id": "multi",
            "policies": [
                {"policy": {"policy-type": "sts", "policy-domain": "other.example"},
                 "summary": {"total-successful-session-count": 5,
                             "total-failure-session-count": 0}},
                {"policy": {"policy-type": "sts", "policy-domain": "Example.com"},
                 "summary": {"total-successful-session-count": 7,
                             "total-failure-session-count": 3}}
            ]
        })
        .to_string()
        .into_bytes(),
        &Limits::default(),
    ) {
        Ok(Report::Tls(report)) => report,
        other => panic!("{other:?}"),
    };
    let reports = [report];
    let other = tls_summary(&reports, "other.example", 20);
    assert_eq!((other.successful_sessions, other.failed_sessions), (5, 0));
    assert_eq!(other.days[0].successful_sessions, 5);
    assert_eq!(other.policies.len(), 1);
    let own = tls_summary(&reports, "example.com", 20);
    assert_eq!((own.successful_sessions, own.failed_sessions), (7, 3));
    assert_eq!(own.policies[0].policy_domain, "example.com");
}

/// A legitimate source that fails DMARC for all its mail keeps
/// p=quarantine from being ready, however small its share: here one with
/// no PTR name whose mail passes SPF only as another domain, 5 messages a
/// report, well under the 2 % p=quarantine allows.
#[tokio::test]
async fn a_source_that_always_fails_keeps_quarantine_from_being_ready() {
    let dns = server().await;
    let mut month = reports(&files("month-ready", 1..=30));
    for report in &mut month {
        let mut row = report.records.last().expect("a record").clone();
        row.source_ip = "192.0.2.99".parse().unwrap();
        row.count = 5;
        row.identifiers.envelope_from = Some("bounce.invoicer.example".into());
        row.spf.truncate(1);
        row.spf[0].domain = "bounce.invoicer.example".into();
        row.spf[0].result = AuthResult::Pass;
        row.dkim.clear();
        report.records.push(row);
    }
    let e = analysis(&dns, &month, &[], &Options::default(), "ready.example")
        .await
        .enforcement;
    assert!(e.quarantine.share < 0.02, "{}", e.quarantine.share);
    assert_eq!(e.quarantine.verdict, Verdict::NotReady);
    assert_eq!(
        e.quarantine.explanation,
        "192.0.2.99 fails DMARC for 300 of its 300 messages (100.0 %); p=quarantine would \
         send them to spam. Fix it first"
    );
    assert_eq!(e.reject.verdict, Verdict::NotReady);
    assert!(
        e.next_step.starts_with("keep p=quarantine"),
        "{}",
        e.next_step
    );
    let source = e
        .blocking
        .iter()
        .find(|b| b.source == "ip:192.0.2.99")
        .expect("in the way");
    assert_eq!(
        source.fix.summary,
        "192.0.2.99 authenticates as bounce.invoicer.example, not as ready.example: sign the \
         mail sent from 192.0.2.99 with DKIM as ready.example and publish the key"
    );
}

/// A source some of whose mail passes and some fails both DKIM and SPF
/// gets an SPF term for its addresses as its fix, but only for a public
/// address: one inside the receiver's network (10/8 here) is no sender
/// the internet sees, and listing it would fix nothing.
#[tokio::test]
async fn an_spf_fix_lists_only_public_source_addresses() {
    let dns = server().await;
    for (ip, listed) in [("192.0.2.77", true), ("10.1.2.3", false)] {
        let mut month = reports(&files("month-ready", 1..=30));
        for report in &mut month {
            for at in [0, 1] {
                let mut row = report.records[at].clone();
                row.source_ip = ip.parse().unwrap();
                row.count = 10;
                report.records.push(row);
            }
        }
        let e = analysis(&dns, &month, &[], &Options::default(), "ready.example")
            .await
            .enforcement;
        let source = e
            .blocking
            .iter()
            .find(|b| b.source == format!("ip:{ip}"))
            .unwrap_or_else(|| panic!("{ip} in the way: {:?}", e.blocking));
        let spf_terms: Vec<&str> = source
            .fix
            .records
            .iter()
            .map(|r| r.value.as_str())
            .filter(|v| v.starts_with("v=spf1"))
            .collect();
        if listed {
            assert_eq!(
                spf_terms,
                [format!("v=spf1 … ip4:{ip} … (add to your record)")]
            );
        } else {
            assert_eq!(spf_terms, Vec::<&str>::new(), "{:?}", source.fix);
            assert!(
                source
                    .fix
                    .summary
                    .contains("an address that is not public (inside its own network)"),
                "{}",
                source.fix.summary
            );
        }
    }
}
