//! The caps on report inputs: decompression bombs (gzip and zip, built
//! here, never committed) are refused while streaming with memory bounded,
//! and every other cap — plain size, zip entries, records, value length,
//! text without markup, TLS list lengths — gives a clear error. Corrupt
//! containers and randomly damaged fixtures give errors, never a panic.

use crate::support::{self, zip::ZipEntry};
use flate2::write::GzEncoder;
use flate2::{Compress, Compression, FlushCompress};
use mailvet::reports::{Limits, Report, ReportError, parse};
use std::io::Write;

fn gzip(data: &[u8], level: Compression) -> Vec<u8> {
    let mut encoder = GzEncoder::new(Vec::new(), level);
    encoder.write_all(data).expect("in memory");
    encoder.finish().expect("in memory")
}

/// The peak resident memory of this process so far (Linux `VmHWM`), bytes.
fn peak_rss() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("Linux /proc");
    let line = status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .expect("VmHWM line");
    let kib: u64 = line
        .split_whitespace()
        .nth(1)
        .and_then(|n| n.parse().ok())
        .expect("VmHWM value");
    kib * 1024
}

const MIB: usize = 1024 * 1024;

/// What a bomb inflates to: the start of a report, then `mib` MiB of
/// empty elements (markup, so only the decompression caps can stop it).
const BOMB_START: &[u8] = b"<?xml version=\"1.0\"?><feedback>";

fn one_mib_of_elements() -> Vec<u8> {
    b"<x/>".repeat(MIB / 4)
}

/// Raw deflate data of [`BOMB_START`] and `mib` copies of one compressed
/// MiB: each piece comes from a fresh compressor ending in a sync flush
/// (non-final blocks, byte-aligned, referring only to its own data), and a
/// final empty block (`03 00`) ends the stream.
fn deflated_bomb(mib: usize) -> Vec<u8> {
    let deflate = |data: &[u8]| {
        let mut compress = Compress::new(Compression::best(), false);
        let mut out = Vec::with_capacity(64 * 1024);
        compress
            .compress_vec(data, &mut out, FlushCompress::Sync)
            .expect("deflate in memory");
        out
    };
    let chunk = deflate(&one_mib_of_elements());
    let mut stream = deflate(BOMB_START);
    for _ in 0..mib {
        stream.extend_from_slice(&chunk);
    }
    stream.extend_from_slice(&[0x03, 0x00]);
    stream
}

/// A one-entry zip archive declaring the given CRC and uncompressed size,
/// whatever the data holds.
fn zip_archive(name: &str, method: u16, data: &[u8], crc32: u32, declared: u32) -> Vec<u8> {
    support::zip::zip_archive(&[ZipEntry {
        name,
        method,
        data,
        crc32,
        declared,
    }])
}

/// An aggregate report with `records` copies of one record.
fn report_with_records(records: usize) -> String {
    let record = "<record><row><source_ip>192.0.2.1</source_ip><count>1</count>\
        <policy_evaluated><disposition>none</disposition><dkim>pass</dkim><spf>pass</spf>\
        </policy_evaluated></row><identifiers><header_from>example.com</header_from>\
        </identifiers><auth_results><spf><domain>example.com</domain><result>pass</result>\
        </spf></auth_results></record>\n";
    format!(
        "<feedback><report_metadata><org_name>r</org_name><email>e</email>\
         <report_id>1</report_id><date_range><begin>0</begin><end>86399</end></date_range>\
         </report_metadata><policy_published><domain>example.com</domain><p>none</p>\
         </policy_published>\n{}</feedback>",
        record.repeat(records)
    )
}

/// The bombs, parsed in a process of their own: the peak memory that
/// [`decompression_bombs_alone`] bounds is the whole process's, and in this
/// one the tests running beside it (or before it) would count too.
#[test]
fn decompression_bombs_are_refused_while_streaming() {
    let name = "reports_limits::decompression_bombs_alone";
    let output = std::process::Command::new(std::env::current_exe().expect("this test binary"))
        .args([name, "--exact", "--ignored", "--test-threads=1"])
        .output()
        .expect("this test binary runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success() && stdout.contains(" 1 passed;"),
        "{name}, alone:\n{stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

#[test]
#[ignore = "decompression_bombs_are_refused_while_streaming runs it alone, in a process of its own"]
fn decompression_bombs_alone() {
    let limits = Limits::default();
    let before = peak_rss();

    // 1 GiB as 1024 gzip members of 1 MiB after the start of a report:
    // about 2 MiB of input.
    let member = gzip(&one_mib_of_elements(), Compression::best());
    let mut gzip_bomb = gzip(BOMB_START, Compression::best());
    gzip_bomb.extend(member.repeat(1024));
    assert!(gzip_bomb.len() < 4 * MIB, "{}", gzip_bomb.len());
    assert_eq!(
        parse(&gzip_bomb[..], &limits),
        Err(ReportError::RatioExceeded {
            ratio: 100,
            grace: MIB as u64
        })
    );

    // A zip entry inflating to 1 GiB that declares 1,000 bytes.
    let inflates_to_a_gib = deflated_bomb(1024);
    let lying = zip_archive("report.xml", 8, &inflates_to_a_gib, 0, 1000);
    assert_eq!(
        parse(&lying[..], &limits),
        Err(ReportError::RatioExceeded {
            ratio: 100,
            grace: MIB as u64
        })
    );

    // One that declares its size honestly is refused before inflating.
    let honest = zip_archive("report.xml", 8, &inflates_to_a_gib, 0, 1024 * 1024 * 1024);
    assert_eq!(
        parse(&honest[..], &limits),
        Err(ReportError::TooLarge {
            limit: limits.max_size
        })
    );

    // Neither bomb came near its 1 GiB in memory.
    let grown = peak_rss().saturating_sub(before);
    assert!(
        grown < 64 * MIB as u64,
        "peak memory grew by {} MiB",
        grown / MIB as u64
    );

    let error = parse(&gzip_bomb[..], &limits).unwrap_err().to_string();
    assert!(error.contains("decompression bomb"), "{error}");
}

/// A bomb of white space after the root's start tag is text without
/// markup too, whose own cap is 1 MiB: the ratio cap must trip first, read
/// from memory or streamed, so every way in calls it a bomb.
#[test]
fn a_bomb_of_white_space_is_a_bomb_however_it_is_read() {
    let mut inflated = b"<feedback>".to_vec();
    inflated.resize(16 * MIB, b' ');
    let bomb = gzip(&inflated, Compression::best());
    let limits = Limits::default();
    let bomb_error = ReportError::RatioExceeded {
        ratio: 100,
        grace: MIB as u64,
    };
    assert_eq!(parse(&bomb[..], &limits), Err(bomb_error.clone()));
    let streamed = match mailvet::reports::open_reader(&bomb[..], &limits) {
        Ok(_) => panic!("the bomb opened"),
        Err(error) => error,
    };
    assert_eq!(streamed, bomb_error);
}

#[test]
fn the_size_cap_holds_below_the_ratio_cap() {
    // Stored (uncompressed) gzip blocks: a ratio of 1, a size of 5 MiB.
    let limits = Limits {
        max_size: 4 * MIB as u64,
        ..Limits::default()
    };
    let body = report_with_records(5 * MIB / 400);
    let stored = gzip(body.as_bytes(), Compression::none());
    assert!(body.len() > 4 * MIB);
    assert_eq!(
        parse(&stored[..], &limits),
        Err(ReportError::TooLarge {
            limit: 4 * MIB as u64
        })
    );
    assert_eq!(
        parse(body.as_bytes(), &limits),
        Err(ReportError::TooLarge {
            limit: 4 * MIB as u64
        }),
        "a plain report is capped too"
    );
    let error = parse(body.as_bytes(), &limits).unwrap_err().to_string();
    assert!(error.contains("--max-report-size"), "{error}");
}

#[test]
fn the_record_cap_is_enforced() {
    let limits = Limits {
        max_records: 10,
        ..Limits::default()
    };
    let ten = report_with_records(10);
    match parse(ten.as_bytes(), &limits) {
        Ok(Report::Aggregate(report)) => assert_eq!(report.records.len(), 10),
        other => panic!("ten records are allowed: {other:?}"),
    }
    match parse(report_with_records(11).as_bytes(), &limits) {
        Err(ReportError::Xml { line, message, .. }) => {
            assert!(message.contains("more than 10 records"), "{message}");
            assert_eq!(line, 12, "the eleventh record's line");
        }
        other => panic!("expected the record cap, got {other:?}"),
    }
}

#[test]
fn long_values_and_long_text_are_refused() {
    let limits = Limits::default();
    let long_value = report_with_records(1).replace(
        "<org_name>r</org_name>",
        &format!("<org_name>{}</org_name>", "r".repeat(5000)),
    );
    match parse(long_value.as_bytes(), &limits) {
        Err(ReportError::Xml { message, .. }) => {
            assert!(message.contains("longer than 4096 bytes"), "{message}")
        }
        other => panic!("expected the value cap, got {other:?}"),
    }
    // Two MiB of text in an element nobody reads: refused before quick-xml
    // would hold it as one event.
    let long_text = report_with_records(1).replace(
        "<report_metadata>",
        &format!("<report_metadata><junk>{}</junk>", "x".repeat(2 * MIB)),
    );
    match parse(long_text.as_bytes(), &limits) {
        Err(ReportError::NotAReport(message)) => {
            assert!(message.contains("without markup"), "{message}")
        }
        other => panic!("expected the markup cap, got {other:?}"),
    }
}

#[test]
fn tls_lists_are_capped() {
    let policy = r#"{"policy":{"policy-type":"sts","policy-domain":"example.com"},"summary":{"total-successful-session-count":1,"total-failure-session-count":0}}"#;
    let report = |n: usize| {
        format!(
            r#"{{"organization-name":"o","date-range":{{"start-datetime":"2026-11-26T00:00:00Z","end-datetime":"2026-11-26T23:59:59Z"}},"report-id":"r","policies":[{}]}}"#,
            vec![policy; n].join(",")
        )
    };
    match parse(report(1000).as_bytes(), &Limits::default()) {
        Ok(Report::Tls(report)) => assert_eq!(report.policies.len(), 1000),
        other => panic!("1000 policies are allowed: {other:?}"),
    }
    match parse(report(1001).as_bytes(), &Limits::default()) {
        Err(ReportError::Json { message, .. }) => {
            assert!(message.contains("more than 1000 entries"), "{message}")
        }
        other => panic!("expected the policy cap, got {other:?}"),
    }
}

#[test]
fn corrupt_zip_archives_are_refused() {
    let limits = Limits::default();
    let good = std::fs::read("fixtures/reports/aggregate/yahoo.zip").expect("fixture");
    assert!(parse(&good[..], &limits).is_ok());

    // The CRC-32 in the central directory no longer matches the data.
    let directory = good
        .windows(4)
        .position(|w| w == b"PK\x01\x02")
        .expect("central directory");
    let mut bad_crc = good.clone();
    bad_crc[directory + 16] ^= 0xFF;
    match parse(&bad_crc[..], &limits) {
        Err(ReportError::Corrupt { container, message }) => {
            assert_eq!(container, "zip entry");
            assert!(message.contains("CRC-32"), "{message}");
        }
        other => panic!("expected a CRC error, got {other:?}"),
    }

    // Cut off inside the central directory.
    assert!(matches!(
        parse(&good[..directory + 10], &limits),
        Err(ReportError::Zip(_))
    ));

    // A method other than stored or deflate.
    let bzip2 = zip_archive("report.xml", 12, b"BZh9", 0, 4);
    match parse(&bzip2[..], &limits) {
        Err(ReportError::Zip(message)) => assert!(message.contains("method 12"), "{message}"),
        other => panic!("expected a method error, got {other:?}"),
    }
}

#[test]
fn damaged_inputs_give_errors_never_panics() {
    let fixtures = [
        "aggregate/rfc7489-google.xml",
        "aggregate/rfc7489-google.xml.gz",
        "aggregate/quirks.xml",
        "aggregate/rfc9990-prefixed.xml",
        "aggregate/yahoo.zip",
        "aggregate/streamed.zip",
        "mail/aggregate-report.eml",
        "mail/tls-report.eml",
        "tls/rfc8460.json",
        "tls/quirks.json",
    ];
    let limits = Limits::default();
    // A fixed xorshift sequence: the same damage on every run.
    let mut state = 0x9E37_79B9_7F4A_7C15u64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let mut refused = 0;
    for path in fixtures {
        let original = std::fs::read(format!("fixtures/reports/{path}")).expect("fixture");
        for _ in 0..300 {
            let mut damaged = original.clone();
            for _ in 0..(next() % 4 + 1) {
                let at = (next() % damaged.len() as u64) as usize;
                match next() % 3 {
                    0 => damaged[at] = next() as u8,
                    1 => damaged.truncate(at.max(1)),
                    _ => damaged.insert(at, next() as u8),
                }
            }
            if parse(&damaged[..], &limits).is_err() {
                refused += 1;
            }
        }
    }
    assert!(refused > 0, "some damage must be refused");
}

#[test]
fn a_zip_of_several_reports_is_refused_saying_how_many() {
    let limits = Limits::default();
    let a = std::fs::read("fixtures/reports/aggregate/rfc9990.xml").expect("fixture");
    let b = std::fs::read("fixtures/reports/aggregate/rfc7489-google.xml").expect("fixture");
    let readme = b"Reports from this receiver come once a day.\n";
    // One report beside a note: the report is read.
    let one = support::zip::zip_archive(&[
        ZipEntry::stored("README.txt", readme),
        ZipEntry::stored("a.xml", &a),
    ]);
    match parse(&one[..], &limits) {
        Ok(Report::Aggregate(report)) => assert_eq!(report.header.metadata.report_id, "r9990-0001"),
        other => panic!("expected the one report, got {other:?}"),
    }
    // Two reports: neither is taken without a word about the other.
    let two = support::zip::zip_archive(&[
        ZipEntry::stored("a.xml", &a),
        ZipEntry::stored("README.txt", readme),
        ZipEntry::stored("b.xml", &b),
    ]);
    match parse(&two[..], &limits) {
        Err(ReportError::NotAReport(message)) => assert!(
            message.contains("holds 2 reports (entries 1, 3)"),
            "{message}"
        ),
        other => panic!("expected a refusal, got {other:?}"),
    }
}
