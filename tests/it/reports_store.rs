//! Received DMARC aggregate and TLS reports in the store, on both back
//! ends: each report stored once whatever its container, a duplicate
//! never counted twice, the DKIM selectors it names learned (and not by
//! a duplicate), unfit keys refused with nothing stored, and a domain's
//! stored period summed up exactly as the analysis sums up the same
//! files read directly (PTR names from the test DNS server); and the
//! domain audit over HTTP asking the DKIM selectors a report posted
//! there named, instead of guessing.

use crate::support;

use mailvet::reports::aggregate::AggregateReport;
use mailvet::reports::ingest::{self, Prepared, summarize_domain};
use mailvet::reports::services::Services;
use mailvet::reports::summary::Options;
use mailvet::reports::{Limits, Report, analyze, parse};
use mailvet::store::received::Received;
use mailvet::store::{Store, StoreError, Stored};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use support::TestDns;
use support::store::TestDatabase;

const NOV_16: i64 = 1_794_787_200;
const DEC_1: i64 = 1_796_083_200;

crate::on_both_back_ends!(
    a_report_is_stored_once_whatever_its_container,
    selectors_are_learned_from_new_reports_only,
    unfit_keys_are_refused_and_nothing_stored,
    a_stored_period_sums_up_as_the_files_do,
    the_domain_audit_asks_the_selectors_reports_named,
    a_summary_reads_at_most_its_record_budget,
    a_summary_past_its_record_budget_says_what_it_left_out,
    a_report_is_in_the_period_of_its_middle,
    the_suggested_record_keeps_the_live_rua,
    a_tls_summary_says_how_many_entries_it_left_out,
);

fn prepared(path: &Path) -> Prepared {
    let file = std::fs::File::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    ingest::prepare(file, &Limits::default(), support::now())
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

async fn import(store: &Store, path: &Path) -> Stored {
    prepared(path).store(store).await.unwrap()
}

/// The month of brand.example's aggregate reports, in name order.
pub(crate) fn month() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir("fixtures/reports/month")
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    files
}

async fn a_report_is_stored_once_whatever_its_container(db: TestDatabase) {
    let store = db.open().await;
    let r = Path::new("fixtures/reports");
    assert_eq!(
        import(&store, &r.join("aggregate/rfc7489-google.xml")).await,
        Stored::New
    );
    // The same report gzipped, zipped, mailed and forwarded.
    for copy in [
        "aggregate/rfc7489-google.xml",
        "aggregate/rfc7489-google.xml.gz",
        "aggregate/yahoo.zip",
        "aggregate/stored-with-readme.zip",
        "mail/aggregate-report.eml",
        "mail/forwarded.eml",
        "mail/zip-only.eml",
    ] {
        assert_eq!(
            import(&store, &r.join(copy)).await,
            Stored::Duplicate,
            "{copy}"
        );
    }
    assert_eq!(
        import(&store, &r.join("tls/google.json")).await,
        Stored::New
    );
    for copy in ["tls/google.json.gz", "mail/tls-report.eml"] {
        assert_eq!(
            import(&store, &r.join(copy)).await,
            Stored::Duplicate,
            "{copy}"
        );
    }
    // Another replica sees what one stored.
    let replica = db.open().await;
    assert_eq!(
        import(&replica, &r.join("aggregate/rfc7489-google.xml")).await,
        Stored::Duplicate
    );
    assert_eq!(db.count("received_reports").await, 2);
    let stored = store
        .received_reports(
            mailvet::store::ReportKind::Aggregate,
            "EXAMPLE.com.",
            None,
            None,
            10,
        )
        .await
        .unwrap();
    assert_eq!(stored.left_out, 0);
    let json = std::io::read_to_string(flate2::read::GzDecoder::new(stored.reports[0].as_slice()))
        .unwrap();
    let back: AggregateReport = serde_json::from_str(&json).unwrap();
    let Report::Aggregate(direct) = parse(
        std::fs::read(r.join("aggregate/rfc7489-google.xml")).unwrap(),
        &Limits::default(),
    )
    .unwrap() else {
        panic!("an aggregate report");
    };
    assert_eq!(back, direct, "the stored report is the report read");
}

/// The selectors learned for brand.example, most recently seen first.
pub(crate) async fn learned(store: &Store) -> Vec<String> {
    store
        .learned_dkim_selectors("brand.example", 20)
        .await
        .unwrap()
        .into_iter()
        .map(|s| s.selector)
        .collect()
}

async fn selectors_are_learned_from_new_reports_only(db: TestDatabase) {
    let store = db.open().await;
    for path in month() {
        import(&store, &path).await;
    }
    let learned = learned(&store).await;
    let mut expected = vec!["google".to_string(), "ses2026".to_string()];
    let mut sorted = learned.clone();
    sorted.sort();
    expected.sort();
    assert_eq!(
        sorted, expected,
        "the brand's own selectors, no third party's"
    );
    let before = db.count("dkim_selectors").await;
    // A duplicate teaches nothing, not even a later last_seen.
    let first = store
        .learned_dkim_selectors("brand.example", 20)
        .await
        .unwrap();
    import(&store, &month()[0]).await;
    assert_eq!(db.count("dkim_selectors").await, before);
    assert_eq!(
        store
            .learned_dkim_selectors("brand.example", 20)
            .await
            .unwrap(),
        first
    );
}

async fn unfit_keys_are_refused_and_nothing_stored(db: TestDatabase) {
    let store = db.open().await;
    let xml = std::fs::read_to_string("fixtures/reports/aggregate/rfc9990.xml").unwrap();
    let long_id = "x".repeat(2000);
    let forged = xml.replace("r9990-0001", &long_id);
    assert!(
        forged.contains(&long_id),
        "the fixture's report id was replaced"
    );
    let prepared = ingest::prepare(forged.as_bytes(), &Limits::default(), support::now()).unwrap();
    let err = prepared.store(&store).await.unwrap_err();
    assert!(matches!(err, StoreError::Invalid { .. }), "{err}");
    assert!(err.to_string().contains("report_id"), "{err}");
    assert_eq!(db.count("received_reports").await, 0);
    assert_eq!(db.count("dkim_selectors").await, 0);
}

fn read(files: &[PathBuf]) -> Vec<AggregateReport> {
    files
        .iter()
        .map(
            |f| match parse(std::fs::read(f).unwrap(), &Limits::default()) {
                Ok(Report::Aggregate(report)) => report,
                other => panic!("{}: {other:?}", f.display()),
            },
        )
        .collect()
}

async fn a_stored_period_sums_up_as_the_files_do(db: TestDatabase) {
    let store = db.open().await;
    let files = month();
    for path in &files {
        assert_eq!(import(&store, path).await, Stored::New);
    }
    let dns = TestDns::start(&[Path::new("fixtures/reports/reverse.zone")]).await;
    let whole = same_as_the_files(&store, &dns, None, &files, &[]).await;
    assert_eq!(whole.analysis.summary.reports, files.len());
    assert_eq!(whole.tls.reports, 0);

    // Since 16 November: the second half, the first half as the period
    // before it (so sources new in the second half are found).
    let (first, second): (Vec<PathBuf>, Vec<PathBuf>) = files.iter().cloned().partition(|f| {
        let begin: i64 = f
            .file_name()
            .and_then(|n| n.to_str())
            .and_then(|n| n.split('!').nth(2))
            .and_then(|b| b.parse().ok())
            .unwrap();
        begin < NOV_16
    });
    let recent = same_as_the_files(&store, &dns, Some(NOV_16), &second, &first).await;
    assert_eq!(recent.analysis.summary.days.len(), 15);
    assert!(recent.analysis.summary.previous_period);
    assert!(
        !recent.analysis.summary.new_sources.is_empty(),
        "the month brings a source in its last week"
    );
}

/// The summary of the stored reports since `since` (as of 1 December),
/// checked equal to the analysis of the files `current` and `previous`.
async fn same_as_the_files(
    store: &Store,
    dns: &TestDns,
    since: Option<i64>,
    current: &[PathBuf],
    previous: &[PathBuf],
) -> ingest::DomainSummary {
    let layer = dns.layer();
    let services = Arc::new(Services::built_in());
    let options = Options::default();
    let rua = vec!["mailto:dmarc@brand.example".to_string()];
    let stored = summarize_domain(
        store,
        &layer.resolver(),
        "brand.example",
        since,
        DEC_1,
        Arc::clone(&services),
        &options,
        &rua,
    )
    .await
    .unwrap();
    let live = ingest::live_record(&layer.resolver(), "brand.example").await;
    let direct = analyze(
        &layer.resolver(),
        &read(current),
        &read(previous),
        &services,
        &options,
        &live,
        &rua,
    )
    .await;
    assert_eq!(
        serde_json::to_value(&stored.analysis).unwrap(),
        serde_json::to_value(&direct).unwrap()
    );
    stored
}

async fn the_domain_audit_asks_the_selectors_reports_named(db: TestDatabase) {
    use axum::body::Body;
    use axum::http::{Request, StatusCode};
    let dns = TestDns::start(&[Path::new("fixtures/reports/brand.example.zone")]).await;
    let app = mailvet::http::router(mailvet::http::AppState::new(dns.layer(), db.open().await));
    let audit = || {
        Request::get("/v1/domains/brand.example")
            .body(Body::empty())
            .unwrap()
    };
    let codes = crate::support::api::finding_codes;

    // No reports yet: the common selectors are guessed, and miss.
    let (code, _, before) = support::api::call(app.clone(), audit()).await;
    assert_eq!(code, StatusCode::OK);
    assert_eq!(before["dkim"]["status"], "unknown", "{}", before["dkim"]);
    assert!(codes(&before).contains(&"dkim.no_selector_found".to_string()));

    let upload = Request::post("/v1/reports")
        .body(Body::from(report_bytes(&month()[0])))
        .unwrap();
    let (code, _, intake) = support::api::call(app.clone(), upload).await;
    assert_eq!(code, StatusCode::CREATED, "{intake}");

    let (code, _, after) = support::api::call(app.clone(), audit()).await;
    assert_eq!(code, StatusCode::OK);
    let dkim = &after["dkim"];
    assert_eq!(dkim["status"], "found", "{dkim}");
    assert_eq!(
        dkim["selectors_checked"],
        serde_json::json!(["google", "ses2026"]),
        "the reported selectors, and no guess"
    );
    let sources: Vec<(&str, &str, &str)> = dkim["selectors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["selector"].as_str().unwrap(),
                s["source"].as_str().unwrap(),
                s["status"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        sources,
        [
            ("google", "learned", "not_found"),
            ("ses2026", "learned", "key_found")
        ]
    );
    assert!(!codes(&after).contains(&"dkim.no_selector_found".to_string()));
}

fn report_bytes(path: &Path) -> Vec<u8> {
    std::fs::read(path).unwrap()
}

async fn a_summary_reads_at_most_its_record_budget(db: TestDatabase) {
    let store = db.open().await;
    // The first three days: 11 records each.
    for path in &month()[..3] {
        import(&store, path).await;
    }
    let read = |max_records| {
        store.received_reports(
            mailvet::store::ReportKind::Aggregate,
            "brand.example",
            None,
            None,
            max_records,
        )
    };
    let ids = |stored: Received| -> (Vec<String>, usize) {
        let ids = stored
            .reports
            .iter()
            .map(|bytes| {
                let json = std::io::read_to_string(flate2::read::GzDecoder::new(bytes.as_slice()))
                    .unwrap();
                let report: AggregateReport = serde_json::from_str(&json).unwrap();
                report.header.metadata.report_id
            })
            .collect();
        (ids, stored.left_out)
    };
    let day = |n: u8| format!("google.com-brand.example-0{n}");
    assert_eq!(
        ids(read(33).await.unwrap()),
        (vec![day(1), day(2), day(3)], 0)
    );
    assert_eq!(
        ids(read(25).await.unwrap()),
        (vec![day(2), day(3)], 1),
        "the most recent that fit, oldest first, and how many did not"
    );
    assert_eq!(
        ids(read(11).await.unwrap()),
        (vec![day(3)], 2),
        "one report that alone is the whole budget"
    );
    assert_eq!(
        ids(read(10).await.unwrap()),
        (Vec::<String>::new(), 3),
        "none that alone is over"
    );
}

/// An aggregate report for flood.example of the day from `begin`, with
/// `records` records of one message each, every one from another IP
/// address.
fn flood_report(begin: i64, records: u64) -> Vec<u8> {
    let mut xml = format!(
        "<?xml version=\"1.0\"?><feedback><report_metadata><org_name>flood.test</org_name>\
         <email>r@flood.test</email><report_id>flood-{begin}</report_id><date_range>\
         <begin>{begin}</begin><end>{}</end></date_range></report_metadata>\
         <policy_published><domain>flood.example</domain><p>none</p></policy_published>",
        begin + 86_399
    );
    for n in 0..records {
        let ip = std::net::Ipv4Addr::from(0x6440_0000 + u32::try_from(n).unwrap());
        xml.push_str(&format!(
            "<record><row><source_ip>{ip}</source_ip><count>1</count><policy_evaluated>\
             <disposition>none</disposition><dkim>fail</dkim><spf>fail</spf>\
             </policy_evaluated></row><identifiers><header_from>flood.example</header_from>\
             </identifiers><auth_results><spf><domain>flood.example</domain>\
             <result>fail</result></spf></auth_results></record>"
        ));
    }
    xml.push_str("</feedback>");
    xml.into_bytes()
}

/// A report is in the period of the day it is counted on, its middle's:
/// one from noon to noon counted on 15 November is not in a summary since
/// the 16th (it is in the period before), one a second later is.
async fn a_report_is_in_the_period_of_its_middle(db: TestDatabase) {
    let store = db.open().await;
    for begin in [NOV_16 - 43_200, NOV_16 - 43_198] {
        let prepared = ingest::prepare(
            flood_report(begin, 3).as_slice(),
            &Limits::default(),
            support::now(),
        )
        .unwrap();
        assert_eq!(prepared.store(&store).await.unwrap(), Stored::New);
    }
    let dns = TestDns::start(&[]).await;
    let summary = summarize_domain(
        &store,
        &dns.layer().resolver(),
        "flood.example",
        Some(NOV_16),
        DEC_1,
        Arc::new(Services::built_in()),
        &Options::default(),
        &[],
    )
    .await
    .unwrap();
    let days: Vec<String> = summary
        .analysis
        .summary
        .days
        .iter()
        .map(|d| d.day.to_string())
        .collect();
    assert_eq!(days, ["2026-11-16"]);
    assert_eq!(summary.analysis.summary.reports, 1);
    assert!(summary.analysis.summary.previous_period);
    let whole = whole_summary(&store, "flood.example").await;
    assert_eq!(whole.analysis.summary.reports, 2);
}

/// The summary of all that is stored for `domain`, as of 1 December,
/// with no DNS data to ask.
async fn whole_summary(store: &Store, domain: &str) -> ingest::DomainSummary {
    let dns = TestDns::start(&[]).await;
    summarize_domain(
        store,
        &dns.layer().resolver(),
        domain,
        None,
        DEC_1,
        Arc::new(Services::built_in()),
        &Options::default(),
        &[],
    )
    .await
    .unwrap()
}

/// Past [`ingest::MAX_RECORDS_PER_SUMMARY`] the older reports are left
/// out, and the summary (its JSON, its text, the page) says how many.
async fn a_summary_past_its_record_budget_says_what_it_left_out(db: TestDatabase) {
    let store = db.open().await;
    let half = ingest::MAX_RECORDS_PER_SUMMARY / 2 + 1;
    for day in [16, 17, 18] {
        let prepared = ingest::prepare(
            flood_report(NOV_16 + (day - 16) * 86_400, half).as_slice(),
            &Limits::default(),
            support::now(),
        )
        .unwrap();
        assert_eq!(prepared.store(&store).await.unwrap(), Stored::New);
    }
    let summary = whole_summary(&store, "flood.example").await;
    assert_eq!(summary.reports_left_out, 2);
    assert_eq!(summary.analysis.summary.reports, 1);
    assert_eq!(summary.analysis.summary.messages, half);
    let json = serde_json::to_value(&summary).unwrap();
    assert_eq!(json["reports_left_out"], 2);
    let text = mailvet::render::reports::summary(&summary);
    assert!(
        text.contains(
            "2 reports of this period left out: a summary reads the most recent reports, up to \
             30,000 records together (a report of more is never read); choose a later start to \
             see a shorter period whole."
        ),
        "{text}"
    );
}

/// The DMARC record a summary suggests keeps the report addresses the
/// domain publishes now (read from its `_dmarc` record through the
/// resolver), over HTTP as from the CLI, so reports keep coming after
/// the change; addresses given by the caller take their place.
async fn the_suggested_record_keeps_the_live_rua(db: TestDatabase) {
    use axum::body::Body;
    use axum::http::{Request, StatusCode};
    let store = db.open().await;
    for path in &month() {
        import(&store, path).await;
    }
    let dns = TestDns::start(&[
        Path::new("fixtures/reports/brand.example.zone"),
        Path::new("fixtures/reports/reverse.zone"),
    ])
    .await;
    let app = mailvet::http::router(mailvet::http::AppState::new(dns.layer(), store.clone()));
    let ask = Request::get("/v1/reports/dmarc/brand.example")
        .body(Body::empty())
        .unwrap();
    let (code, _, summary) = support::api::call(app.clone(), ask).await;
    assert_eq!(code, StatusCode::OK, "{summary}");
    let record = summary["enforcement"]["next_record"].as_str().unwrap();
    assert_eq!(record, "v=DMARC1; p=none; rua=mailto:dmarc@brand.example");
    // That is the record published now: the page asks for no change.
    let page = Request::get("/reports/dmarc/brand.example")
        .body(Body::empty())
        .unwrap();
    let (code, _, page) = support::api::send(app, page).await;
    assert_eq!(code, StatusCode::OK);
    let page = String::from_utf8_lossy(&page);
    assert!(page.contains("Nothing to change in DNS yet"));
    assert!(!page.contains(r#"data-copy="name">_dmarc.brand.example<"#));

    let given = vec!["mailto:reports@elsewhere.example".to_string()];
    let summary = summarize_domain(
        &store,
        &dns.layer().resolver(),
        "brand.example",
        None,
        DEC_1,
        Arc::new(Services::built_in()),
        &Options::default(),
        &given,
    )
    .await
    .unwrap();
    let text = mailvet::render::reports::summary(&summary);
    assert!(
        text.contains(
            "  publish: _dmarc.brand.example TXT \"v=DMARC1; p=none; rua=mailto:reports@elsewhere.example\"\n"
        ),
        "{text}"
    );
    let record = summary.analysis.enforcement.next_record;
    assert_eq!(
        record.as_deref(),
        Some("v=DMARC1; p=none; rua=mailto:reports@elsewhere.example")
    );
}

/// A TLS report naming 25 result types: the summary lists the 20 most
/// failed and counts the 5 others, and its text says so.
async fn a_tls_summary_says_how_many_entries_it_left_out(db: TestDatabase) {
    let store = db.open().await;
    let mut report: serde_json::Value =
        serde_json::from_slice(&std::fs::read("fixtures/reports/tls/rfc8460.json").unwrap())
            .unwrap();
    let details: Vec<serde_json::Value> = (1..=25u64)
        .map(|i| {
            serde_json::json!({
                "result-type": format!("type-{i:02}"),
                "failed-session-count": i,
            })
        })
        .collect();
    report["policies"][0]["failure-details"] = serde_json::json!(details);
    ingest::prepare(
        report.to_string().as_bytes(),
        &Limits::default(),
        support::now(),
    )
    .unwrap()
    .store(&store)
    .await
    .unwrap();
    let summary = whole_summary(&store, "example.com").await;
    let types: Vec<&str> = summary
        .tls
        .result_types
        .iter()
        .map(|t| t.name.as_str())
        .collect();
    assert_eq!(types.len(), 20);
    assert_eq!((types[0], types[19]), ("type-25", "type-06"));
    assert_eq!(summary.tls.unlisted.result_types, 5);
    let text = mailvet::render::reports::summary(&summary);
    assert!(
        text.contains("  type-06: 6 failed sessions\n  … and 5 more result types\n"),
        "{text}"
    );
}
