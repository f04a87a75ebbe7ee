//! Reading DMARC aggregate reports (RFC 7489 Appendix C, RFC 9990) and TLS
//! reports (RFC 8460) from the fixtures in fixtures/reports: every format
//! and quirk, every container (plain, gzip, zip, report emails built by
//! fixtures/reports/make-containers.py with Python's own gzip, zipfile and
//! email packages), and every kind of bad input, with the error naming what
//! was wrong and where.

use mailvet::message::dmarc::AuthResult;
use mailvet::records::dmarc::{Alignment, Policy};
use mailvet::reports::aggregate::{
    AggregateReport, AlignedResult, DiscoveryMethod, Disposition, OverrideKind, SpfScope,
};
use mailvet::reports::tls::TlsReport;
use mailvet::reports::{Limits, MAX_COUNT, Opened, Report, ReportError, open, open_reader, parse};
use std::io::Read;
use std::net::IpAddr;

fn fixture(path: &str) -> Vec<u8> {
    let full = format!("fixtures/reports/{path}");
    std::fs::read(&full).unwrap_or_else(|e| panic!("{full}: {e}"))
}

fn aggregate(path: &str) -> AggregateReport {
    match parse(fixture(path), &Limits::default()) {
        Ok(Report::Aggregate(report)) => report,
        other => panic!("{path}: expected an aggregate report, got {other:?}"),
    }
}

fn tls(path: &str) -> TlsReport {
    match parse(fixture(path), &Limits::default()) {
        Ok(Report::Tls(report)) => report,
        other => panic!("{path}: expected a TLS report, got {other:?}"),
    }
}

fn error(path: &str) -> ReportError {
    match parse(fixture(path), &Limits::default()) {
        Err(e) => e,
        Ok(report) => panic!("{path}: expected an error, got {report:?}"),
    }
}

fn ip(text: &str) -> IpAddr {
    text.parse().expect("test IP")
}

#[test]
fn an_rfc7489_report_is_read_with_every_result_of_every_record() {
    let report = aggregate("aggregate/rfc7489-google.xml");
    let meta = &report.header.metadata;
    assert_eq!(meta.org_name, "google.com");
    assert_eq!(meta.email, "noreply-dmarc-support@google.com");
    assert_eq!(
        meta.extra_contact_info.as_deref(),
        Some("https://support.google.com/a/answer/2466580")
    );
    assert_eq!(meta.report_id, "6217466853112741101");
    assert_eq!((meta.begin, meta.end), (1_764_288_000, 1_764_374_399));
    assert_eq!(report.header.version, None);

    let policy = &report.header.policy;
    assert_eq!(policy.domain, "example.com");
    assert_eq!(policy.p, Some(Policy::None));
    assert_eq!(policy.sp, Some(Policy::None));
    assert_eq!(policy.np, Some(Policy::None));
    assert_eq!(policy.adkim, Some(Alignment::Relaxed));
    assert_eq!(policy.pct, Some(100));

    assert_eq!(report.records.len(), 3);
    assert_eq!(report.messages(), 120 + 35 + 7);
    let first = &report.records[0];
    assert_eq!(first.source_ip, ip("209.85.220.41"));
    assert_eq!(first.count, 120);
    assert_eq!(first.policy_evaluated.disposition, Disposition::None);
    assert!(first.dmarc_pass());
    assert_eq!(first.identifiers.header_from, "example.com");
    assert_eq!(first.identifiers.envelope_from, None);
    let dkim: Vec<(&str, Option<&str>, AuthResult)> = first
        .dkim
        .iter()
        .map(|d| (d.domain.as_str(), d.selector.as_deref(), d.result))
        .collect();
    assert_eq!(
        dkim,
        [
            ("example.com", Some("google"), AuthResult::Pass),
            (
                "example-com.20230601.gappssmtp.com",
                Some("20230601"),
                AuthResult::Pass
            ),
        ]
    );
    assert_eq!(first.spf.len(), 1);
    assert_eq!(first.spf[0].scope, None);

    let second = &report.records[1];
    assert!(!second.dmarc_pass());
    assert_eq!(second.dkim[0].domain, "sendgrid.net");
    assert_eq!(second.spf[0].domain, "em1234.sendgrid.net");
    assert_eq!(second.spf[0].result, AuthResult::Pass);
    assert_eq!(report.records[2].spf[0].result, AuthResult::SoftFail);
    assert!(report.records[2].dkim.is_empty());
}

#[test]
fn an_rfc9990_report_keeps_its_new_elements_and_skips_extensions() {
    let report = aggregate("aggregate/rfc9990.xml");
    assert_eq!(report.header.version.as_deref(), Some("1.0"));
    let meta = &report.header.metadata;
    assert_eq!(
        meta.generator.as_deref(),
        Some("Example Receiver DMARC 4.2")
    );
    assert_eq!(
        meta.errors,
        ["Could not fetch the DMARC record of a subdomain"]
    );
    let policy = &report.header.policy;
    assert_eq!(policy.domain, "example.org");
    assert_eq!(
        (policy.p, policy.sp, policy.np),
        (
            Some(Policy::Reject),
            Some(Policy::Quarantine),
            Some(Policy::Reject)
        )
    );
    assert_eq!(policy.adkim, Some(Alignment::Strict));
    assert_eq!(policy.testing, Some(true));
    assert_eq!(policy.discovery_method, Some(DiscoveryMethod::Treewalk));

    assert_eq!(report.records.len(), 2);
    assert_eq!(report.messages(), 1004);
    let forwarded = &report.records[0];
    assert_eq!(forwarded.source_ip, ip("2001:db8::25"));
    assert_eq!(forwarded.policy_evaluated.disposition, Disposition::Pass);
    assert_eq!(forwarded.policy_evaluated.dkim, AlignedResult::Pass);
    assert_eq!(forwarded.policy_evaluated.spf, AlignedResult::Fail);
    assert_eq!(
        forwarded.identifiers.envelope_from.as_deref(),
        Some("lists.example.net")
    );
    assert_eq!(
        forwarded.identifiers.envelope_to.as_deref(),
        Some("receiver.example")
    );
    assert_eq!(forwarded.dkim[0].selector.as_deref(), Some("s2026"));
    assert_eq!(
        forwarded.dkim[0].human_result.as_deref(),
        Some("signature verified (2048-bit RSA)")
    );
    assert_eq!(forwarded.spf[0].scope, Some(SpfScope::Mfrom));
    let tested = &report.records[1];
    assert_eq!(tested.policy_evaluated.reasons.len(), 1);
    assert_eq!(
        tested.policy_evaluated.reasons[0].kind,
        OverrideKind::PolicyTestMode
    );
    assert_eq!(
        tested.policy_evaluated.reasons[0].comment.as_deref(),
        Some("t=y: applied quarantine instead")
    );
}

#[test]
fn a_namespace_prefix_changes_nothing() {
    assert_eq!(
        aggregate("aggregate/rfc9990-prefixed.xml"),
        aggregate("aggregate/rfc9990.xml")
    );
}

#[test]
fn the_values_real_receivers_send_are_read() {
    let report = aggregate("aggregate/quirks.xml");
    let meta = &report.header.metadata;
    assert_eq!(meta.org_name, "Enterprise Outlook", "from CDATA");
    assert_eq!(
        meta.report_id, "a1b2c3d4e5f6071829304a5b6c7d8e9f",
        "trimmed"
    );
    assert_eq!(meta.extra_contact_info, None, "empty element");
    assert_eq!(meta.begin, 1_764_201_600, "whitespace around a number");
    let policy = &report.header.policy;
    assert_eq!(policy.domain, "example.com", "lower-case, no final dot");
    assert_eq!(policy.adkim, Some(Alignment::Relaxed), "spelled out");
    assert_eq!(policy.aspf, None, "empty");
    assert_eq!(policy.sp, None, "self-closed");
    assert_eq!(policy.p, Some(Policy::Quarantine));
    assert_eq!(policy.fo.as_deref(), Some("1"));

    assert_eq!(report.records.len(), 3);
    assert_eq!(report.messages(), 5);
    let mapped = &report.records[0];
    assert_eq!(mapped.source_ip, ip("192.0.2.10"), "IPv4-mapped IPv6");
    let reasons: Vec<(OverrideKind, Option<&str>)> = mapped
        .policy_evaluated
        .reasons
        .iter()
        .map(|r| (r.kind, r.comment.as_deref()))
        .collect();
    assert_eq!(
        reasons,
        [
            (OverrideKind::LocalPolicy, None),
            (OverrideKind::Other, Some("AT&T relay")),
        ]
    );
    assert_eq!(mapped.identifiers.header_from, "example.com");
    assert_eq!(mapped.identifiers.envelope_from, None, "empty element");
    assert_eq!(
        mapped.identifiers.envelope_to.as_deref(),
        Some("outlook.com")
    );
    assert_eq!(mapped.dkim[0].result, AuthResult::PermError);
    assert_eq!(mapped.dkim[0].selector, None, "missing selector");
    let spf: Vec<(Option<SpfScope>, AuthResult, &str)> = mapped
        .spf
        .iter()
        .map(|s| (s.scope, s.result, s.domain.as_str()))
        .collect();
    assert_eq!(
        spf,
        [
            (Some(SpfScope::Mfrom), AuthResult::Fail, "example.com"),
            (Some(SpfScope::Helo), AuthResult::Pass, "mail.example.com"),
        ],
        "hardfail is fail, and several SPF results are kept"
    );

    let v6 = &report.records[1];
    assert_eq!(v6.source_ip, ip("2001:db8::7"));
    assert_eq!(v6.count, 0);
    assert_eq!(v6.policy_evaluated.spf, AlignedResult::Fail, "softfail");
    assert_eq!(v6.dkim[0].selector, None, "self-closed selector");
    assert_eq!(v6.dkim[0].human_result, None);
    assert_eq!(v6.spf[0].result, AuthResult::SoftFail);

    let words: Vec<AuthResult> = report.records[2].spf.iter().map(|s| s.result).collect();
    assert_eq!(
        words,
        [
            AuthResult::TempError,
            AuthResult::PermError,
            AuthResult::None
        ]
    );
}

#[test]
fn every_container_holds_the_same_report() {
    let google = aggregate("aggregate/rfc7489-google.xml");
    for path in [
        "aggregate/rfc7489-google.xml.gz",
        "aggregate/yahoo.zip",
        "aggregate/stored-with-readme.zip",
        "mail/aggregate-report.eml",
        "mail/zip-only.eml",
        "mail/forwarded.eml",
    ] {
        assert_eq!(aggregate(path), google, "{path}");
    }
    let rfc9990 = aggregate("aggregate/rfc9990.xml");
    for path in ["aggregate/streamed.zip", "mail/xml-part.eml"] {
        assert_eq!(aggregate(path), rfc9990, "{path}");
    }
    let tls_google = tls("tls/google.json");
    for path in ["tls/google.json.gz", "mail/tls-report.eml"] {
        assert_eq!(tls(path), tls_google, "{path}");
    }
}

#[test]
fn the_overview_counts_records_and_messages() {
    let overview = |path: &str| {
        parse(fixture(path), &Limits::default())
            .expect("a report")
            .overview()
    };
    let google = overview("mail/aggregate-report.eml");
    assert_eq!(google.kind, "aggregate");
    assert_eq!(google.org_name, "google.com");
    assert_eq!(google.report_id, "6217466853112741101");
    assert_eq!(google.domain, "example.com");
    assert_eq!((google.begin, google.end), (1_764_288_000, 1_764_374_399));
    assert_eq!((google.records, google.messages), (3, 162));
    assert_eq!(
        (
            overview("aggregate/quirks.xml").records,
            overview("aggregate/quirks.xml").messages
        ),
        (3, 5)
    );
    let tls = overview("tls/rfc8460.json");
    assert_eq!(tls.kind, "tls");
    assert_eq!(tls.domain, "example.com");
    assert_eq!((tls.records, tls.messages), (1, 5326 + 303));
    let microsoft = overview("tls/microsoft.json");
    assert_eq!((microsoft.records, microsoft.messages), (2, 15));
}

#[test]
fn the_duplicate_key_is_reporter_id_domain_and_period() {
    let plain = aggregate("aggregate/rfc7489-google.xml").key();
    assert_eq!(aggregate("mail/zip-only.eml").key(), plain);
    assert_eq!(plain.org_name, "google.com");
    assert_eq!(plain.report_id, "6217466853112741101");
    assert_eq!(plain.domain, "example.com");
    assert_eq!((plain.begin, plain.end), (1_764_288_000, 1_764_374_399));
    assert_ne!(aggregate("aggregate/rfc9990.xml").key(), plain);
}

#[test]
fn records_stream_one_at_a_time_after_the_header() {
    let Ok(Opened::Aggregate(mut reader)) = open(
        fixture("aggregate/rfc7489-google.xml.gz"),
        &Limits::default(),
    ) else {
        panic!("an aggregate report");
    };
    assert_eq!(reader.header().metadata.report_id, "6217466853112741101");
    let mut counts = Vec::new();
    while let Some(record) = reader.next_record().expect("valid records") {
        counts.push(record.count);
    }
    assert_eq!(counts, [120, 35, 7]);
    assert_eq!(reader.next_record(), Ok(None));
}

#[test]
fn an_rfc8460_report_is_read_with_its_failure_details() {
    let report = tls("tls/rfc8460.json");
    assert_eq!(report.organization_name, "Company-X");
    assert_eq!(
        report.contact_info.as_deref(),
        Some("sts-reporting@company-x.example")
    );
    assert_eq!(report.report_id, "5065427c-23d3-47ca-b6e0-946ea0e8c4be");
    assert_eq!((report.begin, report.end), (1_795_824_000, 1_795_910_399));
    assert_eq!(report.policies.len(), 1);
    let policy = &report.policies[0];
    assert_eq!(policy.policy_type, "sts");
    assert_eq!(policy.policy_domain, "example.com");
    assert_eq!(policy.policy_string.len(), 4);
    assert_eq!(policy.mx_host, ["*.mail.example.com"]);
    assert_eq!(
        (policy.successful_sessions, policy.failed_sessions),
        (5326, 303)
    );
    let failures: Vec<(&str, u64)> = policy
        .failures
        .iter()
        .map(|f| (f.result_type.as_str(), f.failed_sessions))
        .collect();
    assert_eq!(
        failures,
        [
            ("certificate-expired", 100),
            ("starttls-not-supported", 200),
            ("validation-failure", 3)
        ]
    );
    let second = &policy.failures[1];
    assert_eq!(second.receiving_ip.as_deref(), Some("203.0.113.56"));
    assert!(second.additional_information.is_some());
    assert_eq!(
        policy.failures[2].failure_reason_code.as_deref(),
        Some("X509_V_ERR_PROXY_PATH_LENGTH_EXCEEDED")
    );
}

#[test]
fn tls_reports_from_google_and_microsoft_are_read() {
    let google = tls("tls/google.json");
    assert_eq!(google.policies[0].mx_host.len(), 2);
    assert!(google.policies[0].failures.is_empty(), "no failure-details");
    assert_eq!(google.sessions(), 1840);

    let microsoft = tls("tls/microsoft.json");
    let sts = &microsoft.policies[0];
    assert!(sts.policy_string.is_empty() && sts.mx_host.is_empty());
    assert_eq!(sts.failures[0].result_type, "sts-policy-fetch-error");
    assert_eq!(
        sts.failures[0].sending_mta_ip, None,
        "left out by Microsoft"
    );
    assert_eq!(sts.failures[0].receiving_mx_hostname, None);
    assert_eq!(microsoft.policies[1].policy_type, "no-policy-found");
}

#[test]
fn tls_report_variants_are_read() {
    let report = tls("tls/quirks.json");
    assert_eq!(report.contact_info, None);
    assert_eq!((report.begin, report.end), (1_795_651_200, 1_795_737_599));
    let policy = &report.policies[0];
    assert_eq!(policy.policy_type, "tlsa");
    assert_eq!(policy.policy_domain, "example.com");
    assert_eq!(policy.policy_string.len(), 1, "one string for a list");
    assert_eq!(
        policy.mx_host,
        ["mx.example.com"],
        "the draft's mx-host-pattern"
    );
    assert_eq!(
        (policy.successful_sessions, policy.failed_sessions),
        (17, 2),
        "counts as strings"
    );
    let failure = &policy.failures[0];
    assert_eq!(failure.result_type, "dane-required");
    assert_eq!(
        failure.receiving_mx_hostname.as_deref(),
        Some("mx.example.com")
    );
    assert_eq!(failure.sending_mta_ip, None, "empty");
    assert_eq!(failure.failed_sessions, 2);
}

/// An XML error at `line`, whose message contains `words`.
fn assert_xml_error(path: &str, line: u64, words: &str) {
    match error(path) {
        ReportError::Xml {
            line: at, message, ..
        } => {
            assert!(message.contains(words), "{path}: {message}");
            assert_eq!(at, line, "{path}: {message}");
        }
        other => panic!("{path}: expected an XML error, got {other:?}"),
    }
}

#[test]
fn bad_xml_is_refused_with_what_and_where() {
    assert_xml_error("bad/doctype-entities.xml", 2, "DOCTYPE is not accepted");
    assert_xml_error(
        "bad/undefined-entity.xml",
        4,
        "entity `&xxe;` is not defined",
    );
    assert_xml_error("bad/not-feedback.xml", 2, "root element is `<html>`");
    assert_xml_error(
        "bad/record-without-ip.xml",
        76,
        "record 2 (from line 52): no <source_ip>",
    );
    assert_xml_error(
        "bad/bad-count.xml",
        55,
        "record 2 (from line 52): <count> `thirty-five` is not a number",
    );
    assert_xml_error(
        "bad/bad-result-word.xml",
        93,
        "SPF result `mostly` is not an RFC 8601 result word",
    );
    assert_xml_error("bad/mismatched-tags.xml", 89, "identifers");
    assert_xml_error(
        "bad/metadata-after-record.xml",
        12,
        "no <report_metadata> before the records",
    );
    match error("bad/truncated.xml") {
        ReportError::Xml { offset, .. } => assert!(offset > 1000, "offset {offset}"),
        other => panic!("expected an XML error, got {other:?}"),
    }
    let display = error("bad/undefined-entity.xml").to_string();
    assert!(display.starts_with("XML at line 4 (byte "), "{display}");
}

#[test]
fn bad_json_is_refused_with_what_and_where() {
    match error("bad/truncated.json") {
        ReportError::Json { line, message, .. } => {
            assert_eq!(line, 2, "{message}");
            assert!(message.contains("EOF"), "{message}");
        }
        other => panic!("expected a JSON error, got {other:?}"),
    }
    assert_eq!(
        error("bad/tls-without-report-id.json"),
        ReportError::Tls("no report-id".into())
    );
    assert_eq!(
        error("bad/tls-bad-date.json"),
        ReportError::Tls(
            "date-range start-datetime `26/11/2026` is not an RFC 3339 date-time".into()
        )
    );
    match error("bad/tls-negative-count.json") {
        ReportError::Json { line, message, .. } => {
            assert!(message.contains("negative session count"), "{message}");
            assert_eq!(line, 6);
        }
        other => panic!("expected a JSON error, got {other:?}"),
    }
}

#[test]
fn what_is_not_a_report_says_so() {
    let limits = Limits::default();
    for input in [&b""[..], b"hello", b"\x00\x01\x02binary", b"   \n"] {
        assert!(
            matches!(parse(input, &limits), Err(ReportError::NotAReport(_))),
            "{input:?}"
        );
    }
    match error("mail/no-report.eml") {
        ReportError::Mail(message) => {
            assert!(message.contains("no report attachment"), "{message}")
        }
        other => panic!("expected a mail error, got {other:?}"),
    }
    match error("bad/many-entries.zip") {
        ReportError::Zip(message) => assert!(message.contains("17 entries"), "{message}"),
        other => panic!("expected a zip error, got {other:?}"),
    }
    assert!(matches!(
        parse(&b"<?xml version=\"1.0\"?>"[..], &limits),
        Err(ReportError::Xml { .. })
    ));
}

/// A message saved from an mbox file is read past its `From ` line, and
/// one pasted with blank lines before its header past them; a JSON array
/// and UTF-16 text are refused saying what they are.
#[test]
fn inputs_that_look_like_something_else_are_named() {
    let limits = Limits::default();
    let mut mbox = b"From noreply-dmarc-support@google.com Thu Nov 27 00:00:00 2026\n".to_vec();
    mbox.extend(fixture("mail/aggregate-report.eml"));
    let google = aggregate("aggregate/rfc7489-google.xml");
    assert_eq!(
        parse(&mbox[..], &limits),
        Ok(Report::Aggregate(google.clone()))
    );
    let pasted = [&b"\r\n\n"[..], &fixture("mail/aggregate-report.eml")].concat();
    assert_eq!(
        parse(&pasted[..], &limits),
        Ok(Report::Aggregate(google.clone()))
    );
    match open_reader(&mbox[..], &limits) {
        Ok(Opened::Aggregate(reader)) => assert_eq!(reader.read_all(), Ok(google)),
        Ok(Opened::Tls(_)) => panic!("the mbox message streamed as a TLS report"),
        Err(e) => panic!("the mbox message streamed: {e}"),
    }

    let json = fixture("tls/google.json");
    let array = [&b"["[..], &json, b"]"].concat();
    assert_eq!(
        parse(&array[..], &limits),
        Err(ReportError::NotAReport(
            "the input is a JSON array; a TLS report is one JSON object (RFC 8460 §4.4)".into()
        ))
    );

    let xml = String::from_utf8(fixture("aggregate/rfc7489-google.xml")).expect("UTF-8");
    let mut utf16 = b"\xFF\xFE".to_vec();
    utf16.extend(xml.encode_utf16().flat_map(u16::to_le_bytes));
    let without_bom: Vec<u8> = xml.encode_utf16().flat_map(u16::to_be_bytes).collect();
    for input in [utf16, without_bom] {
        match parse(&input[..], &limits) {
            Err(ReportError::NotAReport(message)) => {
                assert!(message.starts_with("the input is UTF-16 text"), "{message}")
            }
            other => panic!("expected UTF-16 to be refused, got {other:?}"),
        }
    }
}

/// A reader that hands out one byte per read, as a slow pipe may.
struct Trickle<R>(R);

impl<R: Read> Read for Trickle<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let end = buf.len().min(1);
        self.0.read(&mut buf[..end])
    }
}

#[test]
fn a_streamed_input_reads_like_the_same_bytes_in_memory() {
    let limits = Limits::default();
    let whole = |opened: Result<Opened<'_>, ReportError>| -> Result<Report, ReportError> {
        match opened? {
            Opened::Aggregate(reader) => reader.read_all().map(Report::Aggregate),
            Opened::Tls(report) => Ok(Report::Tls(report)),
        }
    };
    for path in [
        "aggregate/rfc7489-google.xml",
        "aggregate/rfc7489-google.xml.gz",
        "aggregate/quirks.xml",
        "aggregate/streamed.zip",
        "mail/forwarded.eml",
        "mail/tls-report.eml",
        "tls/google.json.gz",
        "tls/quirks.json",
        "bad/bad-count.xml",
        "bad/truncated.json",
        "mail/no-report.eml",
    ] {
        let bytes = fixture(path);
        let expected = parse(&bytes[..], &limits);
        let file = std::fs::File::open(format!("fixtures/reports/{path}")).expect("fixture");
        assert_eq!(whole(open_reader(file, &limits)), expected, "{path}");
        assert_eq!(
            whole(open_reader(Trickle(&bytes[..]), &limits)),
            expected,
            "{path}, one byte at a time"
        );
    }
    let small = Limits {
        max_size: 1000,
        ..Limits::default()
    };
    assert_eq!(
        whole(open_reader(
            &fixture("mail/aggregate-report.eml")[..],
            &small
        )),
        Err(ReportError::TooLarge { limit: 1000 }),
        "an email is read whole, within the size cap"
    );
}

/// Padding after the last gzip member (zero bytes or white space, as
/// some tools leave) is ignored as `gzip -d` ignores it; another member is
/// read on; anything else is corrupt, saying where the gzip data ended.
#[test]
fn gzip_padding_is_ignored_and_other_trailing_bytes_are_not() {
    use flate2::{Compression, write::GzEncoder};
    use std::io::Write;
    let gzip = |data: &[u8]| {
        let mut encoder = GzEncoder::new(Vec::new(), Compression::default());
        encoder.write_all(data).expect("in memory");
        encoder.finish().expect("in memory")
    };
    let limits = Limits::default();
    let google = aggregate("aggregate/rfc7489-google.xml");
    let xml = fixture("aggregate/rfc7489-google.xml");
    let (head, tail) = xml.split_at(xml.len() / 2);
    let mut two_members = gzip(head);
    two_members.extend(gzip(tail));
    let gzipped = fixture("aggregate/rfc7489-google.xml.gz");
    let padded = |padding: &[u8]| [&gzipped[..], padding].concat();
    for (what, input) in [
        ("two members", two_members.clone()),
        ("two newlines", padded(b"\n\n")),
        ("512 zero bytes", padded(&[0; 512])),
        ("100 KiB of zero bytes", padded(&[0; 100 * 1024])),
        ("two members and CRLF", [&two_members[..], b"\r\n"].concat()),
    ] {
        assert_eq!(
            parse(&input[..], &limits),
            Ok(Report::Aggregate(google.clone())),
            "{what}"
        );
        match open_reader(&input[..], &limits) {
            Ok(Opened::Aggregate(reader)) => assert_eq!(reader.read_all(), Ok(google.clone())),
            Ok(Opened::Tls(_)) => panic!("{what}, streamed: a TLS report"),
            Err(e) => panic!("{what}, streamed: {e}"),
        }
    }
    let end = gzipped.len();
    for (trailer, at) in [(&b"garbage"[..], end), (b"\0\0junk", end + 2)] {
        let input = padded(trailer);
        let expected = format!(
            "gzip data is corrupt: byte {at} after the last member is neither padding \
             (zero bytes or white space) nor the start of another member"
        );
        let streamed = match open_reader(&input[..], &limits) {
            Ok(Opened::Aggregate(reader)) => reader.read_all().map(Report::Aggregate),
            Ok(Opened::Tls(report)) => Ok(Report::Tls(report)),
            Err(e) => Err(e),
        };
        for result in [parse(&input[..], &limits), streamed] {
            match result {
                Err(error @ ReportError::Corrupt { .. }) => {
                    assert_eq!(error.to_string(), expected)
                }
                other => panic!("{trailer:?}: expected corrupt gzip, got {other:?}"),
            }
        }
    }
}

#[test]
fn a_declared_latin1_encoding_reads_ascii_content() {
    let latin1 = String::from_utf8(fixture("aggregate/rfc7489-google.xml"))
        .expect("ASCII fixture")
        .replace("encoding=\"UTF-8\"", "encoding=\"ISO-8859-1\"");
    assert!(latin1.contains("ISO-8859-1"));
    let report = match parse(latin1.as_bytes(), &Limits::default()) {
        Ok(Report::Aggregate(report)) => report,
        other => panic!("{other:?}"),
    };
    assert_eq!(report, aggregate("aggregate/rfc7489-google.xml"));
}

/// The XML error of `input`: its line, byte offset and message.
fn xml_error_of(input: &[u8]) -> (u64, u64, String) {
    match parse(input, &Limits::default()) {
        Err(ReportError::Xml {
            line,
            offset,
            message,
        }) => (line, offset, message),
        other => panic!("expected an XML error, got {other:?}"),
    }
}

#[test]
fn bytes_that_are_not_utf8_are_refused_where_they_are() {
    let google = fixture("aggregate/rfc7489-google.xml");
    let with = |encoding: &str, org: &[u8]| -> Vec<u8> {
        let text = String::from_utf8(google.clone())
            .expect("UTF-8")
            .replace("encoding=\"UTF-8\"", &format!("encoding=\"{encoding}\""));
        let (head, tail) = text.split_once("google.com</org_name>").expect("org_name");
        [head.as_bytes(), org, b"</org_name>", tail.as_bytes()].concat()
    };
    let bad = with("UTF-8", b"goo\xffgle.com");
    let at = bad.iter().position(|&b| b == 0xff).expect("the bad byte") as u64;
    assert_eq!(
        xml_error_of(&bad),
        (
            4,
            at,
            "byte 0xff is not UTF-8: reports are read as UTF-8 only".into()
        )
    );
    let latin1 = with("ISO-8859-1", b"Soci\xe9t\xe9");
    let at = latin1.iter().position(|&b| b == 0xe9).expect("the é") as u64;
    assert_eq!(
        xml_error_of(&latin1),
        (
            4,
            at,
            "byte 0xe9 is not UTF-8: the document declares the encoding `ISO-8859-1`, which is \
             not read: reports are read as UTF-8 only; convert it to UTF-8"
                .into()
        )
    );
    // In a tag: the offset counts its `<`.
    let in_tag = String::from_utf8(google.clone())
        .expect("UTF-8")
        .replacen("<email>", "<email a='\u{1}'>", 1)
        .into_bytes()
        .into_iter()
        .map(|b| if b == 1 { 0xe9 } else { b })
        .collect::<Vec<u8>>();
    let at = in_tag.iter().position(|&b| b == 0xe9).expect("the é") as u64;
    assert_eq!(xml_error_of(&in_tag).1, at);
}

#[test]
fn the_root_is_feedback_in_a_dmarc_namespace_or_none() {
    let google = aggregate("aggregate/rfc7489-google.xml");
    let text = String::from_utf8(fixture("aggregate/rfc7489-google.xml")).expect("UTF-8");
    let rooted = |namespace: &str| {
        text.replacen(
            "<feedback>",
            &format!("<feedback xmlns=\"{namespace}\">"),
            1,
        )
    };
    for namespace in [
        "urn:ietf:params:xml:ns:dmarc-2.0",
        "urn:ietf:params:xml:ns:dmarc-2.1",
        "http://dmarc.org/dmarc-xml/0.1",
        "http://www.dmarc.org/dmarc-xml/0.1",
    ] {
        assert_eq!(
            parse(rooted(namespace).as_bytes(), &Limits::default()),
            Ok(Report::Aggregate(google.clone())),
            "{namespace}"
        );
    }
    let (line, _, message) = xml_error_of(rooted("urn:example:<other>").as_bytes());
    assert_eq!(line, 2);
    assert_eq!(
        message,
        "the root element <feedback> is in the namespace `urn:example:<other>`, not DMARC's \
         (urn:ietf:params:xml:ns:dmarc-2.0 or none): not a DMARC aggregate report"
    );
}

#[test]
fn namespace_floods_and_empty_reports_are_refused_in_plain_words() {
    let declarations: String = (0..129).map(|i| format!(" xmlns:p{i}=\"u{i}\"")).collect();
    let flood = format!("<feedback{declarations}></feedback>");
    assert_eq!(
        xml_error_of(flood.as_bytes()),
        (
            1,
            0,
            "more than 128 namespace declarations (xmlns) in scope".into()
        )
    );
    assert_eq!(
        xml_error_of(b"<?xml version=\"1.0\"?>\n<feedback>\n</feedback>\n"),
        (3, 44, "no <report_metadata> in the report".into())
    );
}

#[test]
fn content_after_the_report_is_refused() {
    let mut doubled = fixture("aggregate/rfc7489-google.xml");
    doubled.extend_from_slice(b"<!-- a comment is fine -->\n");
    assert!(parse(&doubled[..], &Limits::default()).is_ok());
    doubled.extend_from_slice(b"<feedback/>\n");
    match parse(&doubled[..], &Limits::default()) {
        Err(ReportError::Xml { message, line, .. }) => {
            assert_eq!(message, "content after </feedback>");
            assert_eq!(line, 99);
        }
        other => panic!("expected an error, got {other:?}"),
    }
}

#[test]
fn errors_quote_input_escaped_and_short() {
    let hostile = format!("\u{1b}[2J\u{202e}{}", "9".repeat(300));
    let xml = String::from_utf8(fixture("aggregate/rfc7489-google.xml"))
        .expect("ASCII fixture")
        .replace("<count>35</count>", &format!("<count>{hostile}</count>"));
    let message = parse(xml.as_bytes(), &Limits::default())
        .unwrap_err()
        .to_string();
    assert!(
        message.contains("<count> `\\u{1b}[2J\\u{202e}999"),
        "{message}"
    );
    assert!(!message.contains('\u{1b}') && !message.contains('\u{202e}'));
    assert!(message.len() < 200, "{message}");

    let json = format!(
        r#"{{"organization-name":"o","date-range":{{"start-datetime":"2026-11-26T00:00:00Z","end-datetime":"2026-11-26T23:59:59Z"}},"report-id":"r","policies":[{{"policy":{{"policy-type":"sts","policy-domain":"example.com"}},"summary":{{"total-successful-session-count":["{}\u001b"]}}}}]}}"#,
        "x".repeat(500)
    );
    let message = parse(json.as_bytes(), &Limits::default())
        .unwrap_err()
        .to_string();
    assert!(!message.contains('\u{1b}'), "{message}");
    assert!(message.chars().count() < 300, "{message}");
}

#[test]
fn elements_nested_past_the_readers_limit_are_refused_where_they_are() {
    let head = "<?xml version=\"1.0\"?>\n<feedback>\n<report_metadata>";
    let document = format!("{head}{}", "<x>".repeat(70_000));
    match parse(document.as_bytes(), &Limits::default()) {
        Err(ReportError::Xml {
            line,
            offset,
            message,
        }) => {
            assert!(message.contains("nests elements deeper"), "{message}");
            assert_eq!(line, 3, "{message}");
            let offset = usize::try_from(offset).unwrap();
            assert!(offset > head.len(), "offset {offset}: {message}");
            assert!(
                document[offset..].starts_with("<x>"),
                "offset {offset} is no start tag: {message}"
            );
        }
        other => panic!("expected an XML error, got {other:?}"),
    }
}

/// What no real report holds is refused, naming the field: a row counting
/// more than [`MAX_COUNT`] messages (at the bound it is read), a period
/// whose begin is after its end; for TLS reports, a session count over
/// the bound, written as a number or as a string, and a backward period.
#[test]
fn absurd_counts_and_backward_periods_are_refused() {
    let xml = String::from_utf8(fixture("aggregate/rfc7489-google.xml")).expect("ASCII fixture");
    let with_count =
        |count: &str| xml.replace("<count>35</count>", &format!("<count>{count}</count>"));
    let at_bound = with_count(&MAX_COUNT.to_string());
    match parse(at_bound.as_bytes(), &Limits::default()) {
        Ok(Report::Aggregate(report)) => assert_eq!(report.records[1].count, MAX_COUNT),
        other => panic!("the bound is read: {other:?}"),
    }
    for count in ["1000000001", &u64::MAX.to_string()] {
        match parse(with_count(count).as_bytes(), &Limits::default()) {
            Err(ReportError::Xml { line, message, .. }) => {
                assert_eq!(line, 55, "{message}");
                assert_eq!(
                    message,
                    format!(
                        "record 2 (from line 52): <count> {count} is more than the 1000000000 \
                         messages one row may count"
                    )
                );
            }
            other => panic!("{count}: expected an XML error, got {other:?}"),
        }
    }
    let backwards = xml
        .replace("<begin>1764288000</begin>", "<begin>1764374399</begin>")
        .replace("<end>1764374399</end>", "<end>1764288000</end>");
    match parse(backwards.as_bytes(), &Limits::default()) {
        Err(ReportError::Xml { message, .. }) => assert_eq!(
            message,
            "<date_range> <begin> 1764374399 is after its <end> 1764288000"
        ),
        other => panic!("expected an XML error, got {other:?}"),
    }

    let json = String::from_utf8(fixture("tls/quirks.json")).expect("ASCII fixture");
    for (written, count) in [("\"17\"", "1000000001"), ("\"17\"", "\"1000000001\"")] {
        let huge = json.replacen(written, count, 1);
        match parse(huge.as_bytes(), &Limits::default()) {
            Err(ReportError::Json { message, .. }) => assert!(
                message.contains("session count 1000000001 is more than the 1000000000"),
                "{message}"
            ),
            other => panic!("{count}: expected a JSON error, got {other:?}"),
        }
    }
    let backwards = json.replace("2026-11-26T23:59:59.999Z", "2026-11-25T23:59:59Z");
    match parse(backwards.as_bytes(), &Limits::default()) {
        Err(ReportError::Tls(message)) => assert!(
            message.starts_with("date-range start-datetime 1795651200 is after end-datetime"),
            "{message}"
        ),
        other => panic!("expected a TLS error, got {other:?}"),
    }
}
