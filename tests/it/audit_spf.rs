//! The SPF part of the domain audit against the test DNS server: every
//! SPF fixture domain produces its code, healthy ones no error or warning,
//! a timeout is a DNS error (never "missing"), and the tree's questions go
//! out once each. Include "diamonds" (fixtures/audit/spf-diamond.zone,
//! millions of paths over a few dozen records) are read once per name,
//! counted per path, and shown in a bounded tree; `--max-spf-nodes` caps
//! the records read, the void targets checked and the nodes shown.

use crate::support;

use hickory_proto::rr::RecordType;
use mailvet::dns::Dns;
use mailvet::domain::{AuditContext, AuditOptions, spf};
use mailvet::records::name::DomainName;
use std::path::Path;

use support::TestDns;
use support::audit_cases::{self, Case, Rules, run_cases};

async fn audit_spf(
    dns: &std::sync::Arc<Dns>,
    domain: &str,
) -> mailvet::findings::Checked<spf::SpfSection> {
    audit_spf_with(dns, domain, &AuditOptions::default()).await
}

async fn audit_spf_with(
    dns: &std::sync::Arc<Dns>,
    domain: &str,
    options: &AuditOptions,
) -> mailvet::findings::Checked<spf::SpfSection> {
    let resolver = dns.resolver();
    let domain = DomainName::parse(domain).unwrap();
    spf::check(&AuditContext {
        resolver: &resolver,
        domain: &domain,
        options,
    })
    .await
}

/// What an SPF case adds: a zone file laid over the server's answers.
#[derive(serde::Deserialize)]
struct Overlay {
    #[serde(default)]
    overlay: Option<String>,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_spf_fixture_domain_produces_its_code() {
    let server = TestDns::start(&[Path::new("fixtures/audit/spf.zone")]).await;
    run_cases(
        &server,
        "fixtures/audit/spf.cases.json",
        // SPF findings carry no evidence yet, and two fixes keep
        // `<domain>`: `spf.ptr_used` quotes `ptr:<domain>`, and
        // `spf.deprecated_rr_type` is not computed for the domain.
        Rules {
            evidence: false,
            ..Rules::STRICT
        },
        async |case: &Case<Overlay>, errors: &mut Vec<String>| {
            let overlay = audit_cases::overlay(case.more.overlay.as_deref());
            let dns = Dns::new(server.settings(), overlay).unwrap();
            let checked = audit_spf(&dns, &case.domain).await;
            let codes: Vec<&str> = checked.findings.iter().map(|f| f.code).collect();
            if case.domain.starts_with("dns-error.")
                && (codes.contains(&"spf.missing") || codes.contains(&"spf.include_missing"))
            {
                errors.push("a timeout is never a missing record".to_string());
            }
            if case.domain.starts_with("loop.") && codes != ["spf.include_loop"] {
                errors.push("a loop is reported alone".to_string());
            }
            checked.findings
        },
    )
    .await;
}

/// Clients no fixture record lists: what `check_host()` returns for them
/// does not depend on an ip4/ip6 term matching.
const UNLISTED_CLIENTS: [&str; 2] = ["198.18.0.1", "2001:db8:ffff::1"];

/// The audit and `check_host()` read the same records (RFC 7208 §4.6.4 and
/// the rest of §4–§6): every fixture domain of every SPF cases file goes
/// through both, and when `check_host()` returns permerror for every
/// client tried, the audit must report an error, never call it healthy.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_audit_never_calls_healthy_what_check_host_fails_for_every_client() {
    let server = TestDns::start(&[
        Path::new("fixtures/audit/spf.zone"),
        Path::new(DIAMOND_ZONE),
    ])
    .await;
    let mut failures = Vec::new();
    let mut permerrors = 0;
    for file in [
        "fixtures/audit/spf.cases.json",
        "fixtures/audit/spf-diamond.cases.json",
    ] {
        let cases: Vec<Case<Overlay>> = support::audit_cases::read(file);
        for case in &cases {
            server.clear_faults();
            for fault in &case.faults {
                fault.apply(&server);
            }
            let overlay = audit_cases::overlay(case.more.overlay.as_deref());
            let dns = Dns::new(server.settings(), overlay).unwrap();
            let mut results = Vec::new();
            for ip in UNLISTED_CLIENTS {
                let query = mailvet::spf::SpfQuery {
                    ip: ip.parse().unwrap(),
                    helo: None,
                    mail_from: Some(format!("someone@{}", case.domain)),
                    receiver: None,
                };
                let check = mailvet::spf::check(&dns.resolver(), &query).await.unwrap();
                results.push(check.result);
            }
            if results
                .iter()
                .any(|r| *r != mailvet::spf::SpfResult::PermError)
            {
                continue;
            }
            permerrors += 1;
            let audited = audit_spf(&dns, &case.domain).await;
            let errors: Vec<&str> = audited
                .findings
                .iter()
                .filter(|f| f.severity == mailvet::findings::Severity::Error)
                .map(|f| f.code)
                .collect();
            if errors.is_empty() {
                failures.push(format!(
                    "{}: check_host gives permerror for every client, the audit only {:?}",
                    case.domain,
                    codes(&audited)
                ));
            }
        }
    }
    server.clear_faults();
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    // The fixtures do exercise the rule: the syntax, lookup, void, missing
    // include, loop, multiple-record and MX-host cases at least.
    assert!(permerrors >= 8, "only {permerrors} permerror fixtures");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_tree_shows_each_include_cost_and_asks_each_question_once() {
    let server = TestDns::start(&[Path::new("fixtures/audit/spf.zone")]).await;
    let dns = Dns::new(server.settings(), vec![]).unwrap();
    let checked = audit_spf(&dns, "too-many.spf.test").await;
    let s = &checked.section;
    assert_eq!(s.lookups, 11);
    assert_eq!(s.tree.children.len(), 11);
    assert!(
        s.tree
            .children
            .iter()
            .all(|c| c.record.is_some() && c.lookups == 0)
    );
    let fix = &checked
        .findings
        .iter()
        .find(|f| f.code == "spf.too_many_lookups")
        .unwrap()
        .fix;
    assert!(fix.contains("include:l1.lookups.spf.test costs 1"), "{fix}");
    let json = serde_json::to_value(s).unwrap();
    assert_eq!(
        json["tree"]["children"][0]["via"],
        "include:l1.lookups.spf.test"
    );

    // l1..l9 are shared with near-limit.spf.test: a second audit of another
    // domain asks again (no shared cache), but within one audit each once.
    for q in server.queries() {
        let n = server
            .queries()
            .iter()
            .filter(|o| o.name == q.name && o.rtype == q.rtype)
            .count();
        assert_eq!(n, 1, "{} {:?} asked {n} times", q.name, q.rtype);
    }
    assert_eq!(server.count("too-many.spf.test", RecordType::TXT), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plus_all_fix_is_the_record_with_minus_all() {
    let server = TestDns::start(&[Path::new("fixtures/audit/spf.zone")]).await;
    let dns = Dns::new(server.settings(), vec![]).unwrap();
    let checked = audit_spf(&dns, "plus-all.spf.test").await;
    let finding = checked
        .findings
        .iter()
        .find(|f| f.code == "spf.plus_all")
        .unwrap();
    assert_eq!(finding.fix, "Publish: v=spf1 ip4:192.0.2.1 -all");
    let bare = audit_spf(&dns, "bare-all.spf.test").await;
    let finding = bare
        .findings
        .iter()
        .find(|f| f.code == "spf.plus_all")
        .unwrap();
    assert_eq!(finding.fix, "Publish: v=spf1 ip4:192.0.2.1 -all");
}

/// A record that lists no sender gets no record to paste: with -all it
/// would fail every message the domain sends.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_record_listing_no_sender_gets_a_template_not_a_record() {
    let server = TestDns::start(&[Path::new("fixtures/audit/spf.zone")]).await;
    let dns = Dns::new(server.settings(), vec![]).unwrap();
    for (domain, code) in [
        ("only-plus-all.spf.test", "spf.plus_all"),
        ("only-neutral-all.spf.test", "spf.neutral_all"),
        ("only-version.spf.test", "spf.no_all"),
    ] {
        let checked = audit_spf(&dns, domain).await;
        let finding = checked
            .findings
            .iter()
            .find(|f| f.code == code)
            .unwrap_or_else(|| panic!("{domain}: no {code}"));
        assert!(
            finding.publish.is_empty(),
            "{domain}: {:?}",
            finding.publish
        );
        assert!(
            finding.fix.starts_with(
                "List your senders before the all term: v=spf1 mx include:<your email \
                 provider's SPF domain> -all"
            ),
            "{domain}: {}",
            finding.fix
        );
        assert!(finding.fix.contains(&format!("sends as {domain}")));
    }
}

const DIAMOND_ZONE: &str = "fixtures/audit/spf-diamond.zone";

fn codes(checked: &mailvet::findings::Checked<spf::SpfSection>) -> Vec<&'static str> {
    let mut codes: Vec<&str> = checked.findings.iter().map(|f| f.code).collect();
    codes.sort_unstable();
    codes
}

/// Every node of the tree as shown.
fn nodes(node: &spf::Node) -> Vec<&spf::Node> {
    let mut all = vec![node];
    for child in &node.children {
        all.extend(nodes(child));
    }
    all
}

/// The TXT questions the server saw, by name.
fn txt_questions(server: &TestDns) -> std::collections::BTreeMap<String, usize> {
    let mut asked = std::collections::BTreeMap::new();
    for q in server.queries() {
        if q.rtype == RecordType::TXT {
            *asked.entry(q.name).or_insert(0) += 1;
        }
    }
    asked
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_diamond_case_produces_its_codes() {
    let server = TestDns::start(&[Path::new(DIAMOND_ZONE)]).await;
    let dns = server.layer();
    run_cases(
        &server,
        "fixtures/audit/spf-diamond.cases.json",
        // SPF findings carry no evidence yet.
        Rules {
            evidence: false,
            ..Rules::STRICT
        },
        async |case: &Case, _: &mut Vec<String>| audit_spf(&dns, &case.domain).await.findings,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_diamond_is_read_once_per_name_and_counted_per_path() {
    let server = TestDns::start(&[Path::new(DIAMOND_ZONE)]).await;
    let dns = server.layer();

    // 10 includes a level, 6 levels: 61 records, a million paths.
    let checked = audit_spf(&dns, "w10.diamond.test").await;
    let asked = txt_questions(&server);
    assert_eq!(asked.len(), 61, "every record of the diamond: {asked:?}");
    assert!(
        asked.values().all(|n| *n == 1),
        "each asked once: {asked:?}"
    );
    let s = &checked.section;
    // check_host() counts every include on every path: 10 + 100 + … + 10^6.
    assert_eq!(s.lookups, 1_111_110);
    assert!(s.complete);
    assert!(codes(&checked).contains(&"spf.too_many_lookups"));
    let tree = nodes(&s.tree);
    assert_eq!(
        tree.len(),
        spf::DEFAULT_MAX_NODES,
        "the tree is cut at the limit"
    );
    let omitted: usize = tree.iter().map(|n| n.omitted).sum();
    assert!(omitted > 0);
    let limit = checked
        .findings
        .iter()
        .find(|f| f.code == "spf.walk_limit")
        .expect("spf.walk_limit");
    assert!(limit.detail.contains("--max-spf-nodes"), "{}", limit.detail);
    assert!(
        limit.detail.contains(&format!("{omitted} branches")),
        "{}",
        limit.detail
    );
    let size = serde_json::to_vec(s).unwrap().len();
    assert!(size < 150_000, "the section is {size} bytes");

    // 4 wide and 8 deep fits in the tree: each record expanded once, every
    // other occurrence a reference that still carries its cost.
    server.clear_log();
    let checked = audit_spf(&dns, "w4.diamond.test").await;
    let asked = txt_questions(&server);
    assert_eq!(asked.len(), 33);
    assert!(asked.values().all(|n| *n == 1), "{asked:?}");
    let s = &checked.section;
    assert_eq!(s.lookups, 87_380);
    assert_eq!(codes(&checked), ["spf.too_many_lookups"]);
    let tree = nodes(&s.tree);
    // The root, then per level the 4 children of each of its 4 records.
    assert_eq!(tree.len(), 1 + 4 + 7 * 16);
    let expanded: Vec<&&spf::Node> = tree.iter().filter(|n| n.record.is_some()).collect();
    assert_eq!(expanded.len(), 33, "each record shown once");
    for node in tree.iter().filter(|n| n.repeated) {
        assert!(node.children.is_empty() && node.record.is_none());
        let first = expanded.iter().find(|e| e.domain == node.domain).unwrap();
        assert_eq!(node.lookups, first.lookups, "{}", node.domain);
    }
    // A repeated include costs what it costs where it is shown: at the
    // first level 4 + 16 + … + 4^7 below each record.
    assert!(s.tree.children.iter().all(|c| c.lookups == 21_844));
    // l1-1 is first met as the root's second include; its children were
    // all shown under l1-0.
    let json = serde_json::to_value(s).unwrap();
    let second = &json["tree"]["children"][1];
    assert!(second.get("repeated").is_none() && second["record"].is_string());
    assert_eq!(second["children"][0]["repeated"], true);
    assert!(
        second["children"][0]
            .get("children")
            .unwrap()
            .as_array()
            .unwrap()
            .is_empty()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_looping_diamond_reports_its_loop_once() {
    let server = TestDns::start(&[Path::new(DIAMOND_ZONE)]).await;
    let dns = server.layer();
    let checked = audit_spf(&dns, "loop.diamond.test").await;
    assert_eq!(codes(&checked), ["spf.include_loop"]);
    assert!(
        checked.findings[0]
            .detail
            .ends_with("l4-0.loop.diamond.test → loop.diamond.test"),
        "{}",
        checked.findings[0].detail
    );
    let asked = txt_questions(&server);
    assert_eq!(asked.len(), 17);
    assert!(asked.values().all(|n| *n == 1), "{asked:?}");
    // Every deepest record loops back; the tree shows it where it is met.
    let loops = nodes(&checked.section.tree)
        .into_iter()
        .filter(|n| n.status == spf::NodeStatus::Loop)
        .count();
    assert_eq!(loops, 4);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_walk_stops_at_max_spf_nodes_and_says_the_counts_are_lower_bounds() {
    let server = TestDns::start(&[Path::new(DIAMOND_ZONE)]).await;
    let dns = server.layer();
    let options = AuditOptions {
        max_spf_nodes: 25,
        ..AuditOptions::default()
    };
    let checked = audit_spf_with(&dns, "w10.diamond.test", &options).await;
    let asked = txt_questions(&server);
    assert_eq!(asked.len(), 25, "{asked:?}");
    let s = &checked.section;
    assert!(!s.complete);
    assert!(s.lookups > 10 && s.lookups < 1_111_110, "{}", s.lookups);
    assert!(nodes(&s.tree).len() <= 25);
    assert!(
        nodes(&s.tree)
            .iter()
            .any(|n| n.status == spf::NodeStatus::NotWalked)
    );
    let limit = checked
        .findings
        .iter()
        .find(|f| f.code == "spf.walk_limit")
        .expect("spf.walk_limit");
    assert!(
        limit.detail.contains("more than 25 records"),
        "{}",
        limit.detail
    );
    assert!(limit.detail.contains("undecided"), "{}", limit.detail);
    let too_many = checked
        .findings
        .iter()
        .find(|f| f.code == "spf.too_many_lookups")
        .unwrap();
    assert!(too_many.detail.contains("at least"), "{}", too_many.detail);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn void_targets_are_checked_once_each_up_to_the_limit() {
    // 30 distinct a: targets, each named twice, none of which exists.
    let terms: Vec<String> = (0..30)
        .flat_map(|i| [format!("a:nx{i}.many.test"), format!("a:NX{i}.many.test")])
        .collect();
    let strings: Vec<String> = format!("v=spf1 {} -all", terms.join(" "))
        .as_bytes()
        .chunks(200)
        .map(|c| format!("\"{}\"", String::from_utf8_lossy(c)))
        .collect();
    let zone = format!(
        "$ORIGIN many.test.\n$TTL 300\n@ IN SOA ns hostmaster 1 3600 600 86400 300\n\
         @ IN TXT ( {} )\n",
        strings.join(" ")
    );
    let server = TestDns::start_with_texts(&[&zone]).await;
    let dns = server.layer();
    let options = AuditOptions {
        max_spf_nodes: 20,
        ..AuditOptions::default()
    };
    let checked = audit_spf_with(&dns, "many.test", &options).await;
    let address_questions: Vec<_> = server
        .queries()
        .into_iter()
        .filter(|q| q.rtype == RecordType::A || q.rtype == RecordType::AAAA)
        .collect();
    assert_eq!(address_questions.len(), 2 * 20, "A and AAAA of 20 targets");
    let s = &checked.section;
    assert!(!s.complete);
    // Each term counts where it stands; the same name in another case is
    // the same target, judged once.
    assert_eq!(s.void_lookups, 40);
    assert_eq!(s.lookups, 60);
    assert_eq!(
        codes(&checked),
        [
            "spf.record_too_long",
            "spf.too_many_lookups",
            "spf.void_lookups",
            "spf.walk_limit"
        ]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_walk_cut_short_within_the_lookup_limit_leaves_spf_undecided() {
    // Three records in a chain; with room for two, the third is not read,
    // and the two lookups seen say nothing about the rest.
    let zone = "$ORIGIN chain.test.\n$TTL 300\n@ IN SOA ns hostmaster 1 3600 600 86400 300\n\
                @ IN TXT \"v=spf1 include:a.chain.test -all\"\n\
                a IN TXT \"v=spf1 include:b.chain.test -all\"\n\
                b IN TXT \"v=spf1 ip4:192.0.2.1 -all\"\n";
    let server = TestDns::start_with_texts(&[zone]).await;
    let dns = server.layer();
    let options = AuditOptions {
        max_spf_nodes: 2,
        ..AuditOptions::default()
    };
    let domain = DomainName::parse("chain.test").unwrap();
    let report = mailvet::domain::report::audit(&dns.resolver(), &domain, &options, false).await;
    assert!(!report.spf.complete);
    assert_eq!(report.spf.lookups, 2);
    let codes: Vec<&str> = report.findings.iter().map(|f| f.code).collect();
    assert!(codes.contains(&"spf.walk_limit"), "{codes:?}");
    let status = |id: &str| {
        let found = report.requirements.iter().find(|r| r.id == id).unwrap();
        serde_json::to_value(found.status).unwrap()
    };
    assert_eq!(status("gmail.bulk.spf"), "unknown");
    assert_eq!(status("microsoft.bulk.spf"), "unknown");

    // With room for all three, the same domain's SPF is decided: usable.
    let report =
        mailvet::domain::report::audit(&dns.resolver(), &domain, &AuditOptions::default(), false)
            .await;
    assert!(report.spf.complete);
    let found = report
        .requirements
        .iter()
        .find(|r| r.id == "gmail.bulk.spf")
        .unwrap();
    assert_eq!(serde_json::to_value(found.status).unwrap(), "met");
}

/// A record ending in +all lets anyone pass SPF with the domain as MAIL
/// FROM, and that pass is aligned, so DMARC passes for forgers whatever
/// the policy: the summary must not promise that forgeries are rejected,
/// and the bulk-sender SPF rule is unmet, naming spf.plus_all. The same
/// domain ending in -all is the control.
#[tokio::test]
async fn plus_all_undoes_an_enforcing_dmarc_policy_in_summary_and_checklist() {
    let zone = |all: &str| {
        format!(
            "$ORIGIN forged.test.\n$TTL 300\n@ IN SOA ns hostmaster 1 3600 600 86400 300\n\
             @ IN TXT \"v=spf1 ip4:192.0.2.1 {all}\"\n\
             _dmarc IN TXT \"v=DMARC1; p=reject; rua=mailto:d@forged.test\"\n"
        )
    };
    let domain = DomainName::parse("forged.test").unwrap();
    let mut seen = Vec::new();
    for all in ["+all", "-all"] {
        let server = TestDns::start_with_texts(&[&zone(all)]).await;
        let dns = server.layer();
        let report = mailvet::domain::report::audit(
            &dns.resolver(),
            &domain,
            &AuditOptions::default(),
            false,
        )
        .await;
        let spf_rule = report
            .requirements
            .iter()
            .find(|r| r.id == "gmail.bulk.spf")
            .unwrap();
        seen.push((
            report.summary.clone(),
            serde_json::to_value(spf_rule.status).unwrap(),
            spf_rule.codes.clone(),
        ));
    }
    let (plus, minus) = (&seen[0], &seen[1]);
    assert!(
        plus.0.contains("passes DMARC despite its policy")
            && plus.0.contains("authorises every server (+all)")
            && !plus.0.contains("reject mail that forges"),
        "{}",
        plus.0
    );
    assert_eq!(plus.1, "unmet");
    assert_eq!(plus.2, ["spf.plus_all"]);
    assert!(
        minus
            .0
            .contains("receivers reject mail that forges it (DMARC p=reject)"),
        "{}",
        minus.0
    );
    assert_eq!(minus.1, "met");
}
