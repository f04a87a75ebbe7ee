//! `mailvet check`, the CI gate, run as CI runs it: the real binary, fixture
//! configs under fixtures/check/, DNS over the wire from the test server
//! (and `--zone` overlays for changes not yet published). Also the CI
//! formats of `domain` and `message`: JUnit parsed as XML, SARIF validated
//! against the OASIS SARIF 2.1.0 schema.

use crate::support;
use crate::support::scratch::ScratchDir;

use serde_json::Value;
use std::path::Path;
use std::process::Output;
use support::{FaultKind, FaultTypes, TestDns};

const GOOD_ZONE: &str = "fixtures/check/good.zone";
const WEAK_ZONE: &str = "fixtures/check/weak.zone";
const PLUS_ALL_ZONE: &str = "fixtures/check/good.plus-all.zone";
const SARIF_SCHEMA: &str = "fixtures/sarif/sarif-schema-2.1.0.json";

/// Runs mailvet with these arguments and extra environment variables.
async fn mailvet(args: &[&str], env: &[(&str, &str)]) -> Output {
    tokio::process::Command::new(env!("CARGO_BIN_EXE_mailvet"))
        .args(args)
        .env("NO_COLOR", "1")
        .env_remove("MAILVET_DNS")
        .env_remove("GITHUB_ACTIONS")
        .envs(env.iter().copied())
        .output()
        .await
        .expect("run mailvet")
}

/// `mailvet check --config CONFIG --dns SERVER` plus `extra`.
async fn check(server: &TestDns, config: &str, extra: &[&str]) -> Output {
    let dns = server.dns_arg();
    let mut args = vec!["check", "--config", config, "--dns", &dns];
    args.extend_from_slice(extra);
    mailvet(&args, &[]).await
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn json(output: &Output) -> Value {
    serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not JSON ({e}):\n{}\nstderr:\n{}",
            stdout(output),
            String::from_utf8_lossy(&output.stderr)
        )
    })
}

/// The domain object of a check report.
fn domain<'a>(report: &'a Value, name: &str) -> &'a Value {
    report["domains"]
        .as_array()
        .expect("domains")
        .iter()
        .find(|d| d["domain"] == name)
        .unwrap_or_else(|| panic!("no {name} in {report:#}"))
}

/// The ids of a domain's expectations with this status.
fn expectations_with(domain: &Value, status: &str) -> Vec<String> {
    domain["expectations"]
        .as_array()
        .expect("expectations")
        .iter()
        .filter(|e| e["status"] == status)
        .map(|e| e["id"].as_str().expect("id").to_string())
        .collect()
}

/// The 1-based line of a file's first line containing `needle`.
fn line_of(file: &str, needle: &str) -> usize {
    let text = std::fs::read_to_string(file).expect("fixture");
    text.lines()
        .position(|l| l.contains(needle))
        .unwrap_or_else(|| panic!("{needle} not in {file}"))
        + 1
}

fn validate_sarif(output: &Output) -> Value {
    let schema: Value = support::read_json(Path::new(SARIF_SCHEMA));
    let validator = jsonschema::draft4::options()
        .should_validate_formats(true)
        .build(&schema)
        .expect("the SARIF schema compiles");
    let log = json(output);
    let errors: Vec<String> = validator
        .iter_errors(&log)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(errors.is_empty(), "SARIF invalid: {errors:#?}\n{log:#}");
    // GitHub code scanning refuses the whole log when a result has no
    // file location or no line (the schema allows both).
    for result in log["runs"][0]["results"].as_array().expect("results") {
        let physical = &result["locations"][0]["physicalLocation"];
        assert!(
            physical["artifactLocation"]["uri"]
                .as_str()
                .is_some_and(|uri| !uri.is_empty()),
            "a result without a file location: {result:#}"
        );
        assert!(
            physical["region"]["startLine"]
                .as_u64()
                .is_some_and(|line| line >= 1),
            "a result without a line: {result:#}"
        );
    }
    log
}

/// The file and line a SARIF result points at.
fn sarif_location(result: &Value) -> (String, Option<u64>) {
    let physical = &result["locations"][0]["physicalLocation"];
    (
        physical["artifactLocation"]["uri"]
            .as_str()
            .expect("uri")
            .to_string(),
        physical["region"]["startLine"].as_u64(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_sarif_result_of_check_points_at_a_file() {
    // Offline with only good.zone: weak.check.test has no record at all.
    let out = mailvet(
        &[
            "check",
            "--config",
            "fixtures/check/weak.toml",
            "--zone",
            GOOD_ZONE,
            "--offline",
            "--format",
            "sarif",
        ],
        &[],
    )
    .await;
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    let log = validate_sarif(&out);
    let results = log["runs"][0]["results"].as_array().unwrap();
    let config = "fixtures/check/weak.toml".to_string();
    let weak_line = line_of(&config, "name = \"weak.check.test\"") as u64;
    let good_line = line_of(&config, "name = \"good.check.test\"") as u64;
    for code in ["spf.missing", "dmarc.missing", "mx.missing"] {
        let result = results
            .iter()
            .find(|r| r["ruleId"] == code)
            .unwrap_or_else(|| panic!("no {code} in {log:#}"));
        assert_eq!(
            sarif_location(result),
            (config.clone(), Some(weak_line)),
            "{code}: a finding about no record points at the config line naming the domain"
        );
    }
    let no_selector: Vec<_> = results
        .iter()
        .filter(|r| r["ruleId"] == "dkim.no_selector_found")
        .map(sarif_location)
        .collect();
    assert_eq!(
        no_selector,
        [(config.clone(), Some(good_line)), (config, Some(weak_line))]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn domain_sarif_points_at_the_zone_or_list_or_is_refused() {
    let server = TestDns::start(&[Path::new(GOOD_ZONE), Path::new(WEAK_ZONE)]).await;
    let dns = server.dns_arg();
    let dir = support::store::TempDir::new("sarif-list");
    let list = dir.0.join("domains.txt");
    std::fs::write(&list, "# the weak one\n\nweak.check.test\n").unwrap();
    let list = list.to_str().unwrap();
    // good.check.test is in its --zone file, weak.check.test on line 3
    // of the list.
    let out = mailvet(
        &[
            "domain",
            "good.check.test",
            "--file",
            list,
            "--zone",
            GOOD_ZONE,
            "--dns",
            &dns,
            "--format",
            "sarif",
        ],
        &[],
    )
    .await;
    let log = validate_sarif(&out);
    let results = log["runs"][0]["results"].as_array().unwrap();
    let in_list: Vec<_> = results
        .iter()
        .filter(|r| r["properties"]["subject"] == "weak.check.test")
        .map(sarif_location)
        .collect();
    assert!(!in_list.is_empty(), "{log:#}");
    assert!(
        in_list.iter().all(|l| *l == (list.to_string(), Some(3))),
        "{in_list:?}"
    );
    let no_selector = results
        .iter()
        .find(|r| {
            r["properties"]["subject"] == "good.check.test"
                && r["ruleId"] == "dkim.no_selector_found"
        })
        .map(sarif_location);
    let soa = line_of(GOOD_ZONE, "SOA") as u64;
    assert_eq!(no_selector, Some((GOOD_ZONE.to_string(), Some(soa))));

    // A domain only on the command line, a message on standard input and
    // an SPF check are in no file: SARIF is refused (exit 2, saying why and
    // what to do) rather than written for GitHub to reject.
    let refusals = [
        (
            vec!["domain", "weak.check.test", "--dns", &dns],
            "--format sarif: weak.check.test is in no file a result could point at, and \
             GitHub code scanning refuses a result without a file; use --format junit or json \
             (or list the domains with --file, or give their --zone)",
        ),
        (
            vec!["message", "-", "--ip", "192.0.2.1", "--dns", &dns],
            "(or give the message as a file)",
        ),
        (
            vec![
                "spf",
                "--ip",
                "192.0.2.1",
                "--mail-from",
                "a@weak.check.test",
            ],
            "--format sarif: an SPF check is in no file",
        ),
    ];
    for (mut args, says) in refusals {
        args.extend(["--format", "sarif"]);
        let refused = mailvet(&args, &[]).await;
        assert_eq!(refused.status.code(), Some(2), "{args:?}");
        assert!(refused.stdout.is_empty(), "{args:?}");
        let said = String::from_utf8_lossy(&refused.stderr);
        assert!(said.contains(says), "{args:?}: {said}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_compliant_domain_exits_0_with_every_expectation_met() {
    let server = TestDns::start(&[Path::new(GOOD_ZONE)]).await;
    let out = check(
        &server,
        "fixtures/check/good.toml",
        &["--format", "json", "--fail-on", "warning"],
    )
    .await;
    let report = json(&out);
    assert_eq!(out.status.code(), Some(0), "{report:#}");
    assert_eq!(report["verdict"], "pass");
    let good = domain(&report, "good.check.test");
    let met = expectations_with(good, "met");
    let total = good["expectations"].as_array().unwrap().len();
    assert_eq!(met.len(), total, "{good:#}");
    for id in [
        "expect.dkim_key",
        "expect.dmarc_policy",
        "expect.dmarc_subdomain_policy",
        "expect.dmarc_rua",
        "expect.spf_authorized",
        "expect.spf_all",
        "expect.spf_lookup_margin",
        "expect.tls_rpt",
        "expect.bimi",
        "expect.sender_dmarc",
    ] {
        assert!(met.iter().any(|m| m == id), "{id} missing from {met:?}");
    }
    assert!(good["dns_failures"].as_array().unwrap().is_empty());
    assert!(report.get("diff").is_none(), "no --zone, no diff");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broken_expectation_exits_1_and_is_named() {
    let server = TestDns::start(&[Path::new(GOOD_ZONE), Path::new(WEAK_ZONE)]).await;
    let config = "fixtures/check/weak.toml";
    let out = check(&server, config, &[]).await;
    assert_eq!(out.status.code(), Some(1));
    let text = stdout(&out);
    assert!(
        text.contains("BROKEN  DMARC policy for weak.check.test is at least reject"),
        "{text}"
    );
    assert!(
        text.contains(
            "_dmarc.weak.check.test applies none for weak.check.test, weaker than reject"
        ),
        "{text}"
    );
    assert!(text.contains("fix: Set p=reject"), "{text}");
    assert!(
        text.contains("BROKEN  DKIM selector s2026 holds a valid key"),
        "{text}"
    );
    assert!(text.contains("FAIL weak.check.test") && text.contains("PASS good.check.test"));
    // Expectations point at their config line.
    let weak_policy = text
        .lines()
        .find(|l| l.contains("DMARC policy for weak.check.test"))
        .unwrap();
    let last_policy_line = std::fs::read_to_string(config)
        .unwrap()
        .lines()
        .enumerate()
        .filter(|(_, l)| l.starts_with("policy = "))
        .map(|(i, _)| i + 1)
        .last()
        .unwrap();
    assert!(
        weak_policy.ends_with(&format!("({config}:{last_policy_line})")),
        "{weak_policy}"
    );

    let report = json(&check(&server, config, &["--format", "json"]).await);
    let mut broken = expectations_with(domain(&report, "weak.check.test"), "broken");
    broken.sort();
    assert_eq!(broken, ["expect.dkim_key", "expect.dmarc_policy"]);
    assert!(expectations_with(domain(&report, "good.check.test"), "broken").is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_overlay_that_introduces_plus_all_is_caught_before_publication() {
    // Live DNS serves the good zone; the pull request's zone file ends SPF in +all.
    let server = TestDns::start(&[Path::new(GOOD_ZONE)]).await;
    let config = "fixtures/check/good.toml";
    let out = check(
        &server,
        config,
        &["--zone", PLUS_ALL_ZONE, "--format", "json"],
    )
    .await;
    assert_eq!(out.status.code(), Some(1));
    let report = json(&out);
    assert_eq!(report["verdict"], "fail");
    let good = domain(&report, "good.check.test");
    assert!(
        good["audit"]["findings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["code"] == "spf.plus_all")
    );
    let diff = &report["diff"];
    let codes = |list: &str| -> Vec<String> {
        diff[list]
            .as_array()
            .unwrap_or_else(|| panic!("{list} in {diff:#}"))
            .iter()
            .map(|c| {
                format!(
                    "{} {}",
                    c["domain"].as_str().unwrap(),
                    c["code"].as_str().unwrap()
                )
            })
            .collect()
    };
    assert!(codes("findings_introduced").contains(&"good.check.test spf.plus_all".to_string()));
    assert!(codes("findings_fixed").is_empty(), "{diff:#}");
    assert_eq!(
        codes("expectations_newly_broken"),
        ["good.check.test expect.spf_all"]
    );
    assert!(codes("expectations_newly_met").is_empty());

    let text = stdout(&check(&server, config, &["--zone", PLUS_ALL_ZONE]).await);
    assert!(
        text.contains("Changes the --zone files make, compared with live DNS ("),
        "{text}"
    );
    assert!(text.contains("+ good.check.test spf.plus_all:"), "{text}");
    assert!(text.contains("BROKEN  SPF ends in -all"), "{text}");

    // The same check without the overlay passes: the difference is the change.
    assert_eq!(check(&server, config, &[]).await.status.code(), Some(0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn live_dns_that_cannot_be_read_is_not_compared_with_the_overlay() {
    // The overlay is read; live DNS answers SERVFAIL for the domain and
    // never answers for its DMARC record.
    let server = TestDns::start(&[Path::new(GOOD_ZONE)]).await;
    server.add_fault("good.check.test", FaultTypes::All, FaultKind::ServFail);
    server.add_fault(
        "_dmarc.good.check.test",
        FaultTypes::All,
        FaultKind::NoAnswer,
    );
    let config = "fixtures/check/good.toml";
    let quick = ["--dns-timeout", "300ms", "--dns-attempts", "1"];
    let args = |format: &'static str| {
        let mut args = vec!["--zone", PLUS_ALL_ZONE, "--format", format];
        args.extend(quick);
        args
    };
    let out = check(&server, config, &args("json")).await;
    // The overlay itself is judged as before: +all fails the run.
    assert_eq!(out.status.code(), Some(1));
    let report = json(&out);
    let diff = &report["diff"];
    for list in [
        "findings_fixed",
        "findings_introduced",
        "expectations_newly_met",
        "expectations_newly_broken",
    ] {
        assert_eq!(diff[list], serde_json::json!([]), "{list} in {diff:#}");
    }
    let not_compared = diff["not_compared"].as_array().expect("not_compared");
    assert_eq!(not_compared.len(), 1, "{diff:#}");
    assert_eq!(not_compared[0]["domain"], "good.check.test");
    assert_eq!(not_compared[0]["side"], "live");
    let failures: Vec<&str> = not_compared[0]["failures"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f.as_str().unwrap())
        .collect();
    for failure in [
        "good.check.test. TXT: SERVFAIL",
        "_dmarc.good.check.test. TXT: TIMEOUT",
    ] {
        assert!(failures.contains(&failure), "{failure} in {failures:?}");
    }
    // The overlay answered the domain's own questions; the failed live
    // ones were sent all the same, and count.
    let live_dns = &diff["live_dns"];
    let sent = live_dns["upstream_queries"].as_u64().expect("live_dns");
    assert!(sent >= failures.len() as u64, "{live_dns} {failures:?}");
    assert!(live_dns["queries"].as_u64().unwrap() >= sent, "{live_dns}");

    let text = stdout(&check(&server, config, &args("text")).await);
    assert!(text.contains("compared with live DNS ("), "{text}");
    assert!(!text.contains(", 0 sent upstream):"), "{text}");
    assert!(
        text.contains("not compared, a DNS lookup failed (this is not a missing record"),
        "{text}"
    );
    assert!(
        text.contains("? good.check.test: live DNS could not be read: "),
        "{text}"
    );
    assert!(text.contains("good.check.test. TXT: SERVFAIL"), "{text}");
    assert!(!text.contains("+ good.check.test spf.plus_all"), "{text}");

    let lines = jsonl(&check(&server, config, &args("jsonl")).await);
    let diff = &lines[0]["report"]["diff"];
    assert_eq!(
        diff["findings_introduced"],
        serde_json::json!([]),
        "{diff:#}"
    );
    assert_eq!(diff["not_compared"][0]["side"], "live", "{diff:#}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unaligned_sender_outside_spf_is_predicted_to_fail_dmarc() {
    let server = TestDns::start(&[Path::new(GOOD_ZONE)]).await;
    let out = check(
        &server,
        "fixtures/check/senders.toml",
        &["--format", "json"],
    )
    .await;
    assert_eq!(out.status.code(), Some(1));
    let report = json(&out);
    let good = domain(&report, "good.check.test");
    let senders = good["senders"].as_array().unwrap();
    let sender = |name: &str| senders.iter().find(|s| s["name"] == name).unwrap();
    let crm = sender("CRM");
    assert_eq!(crm["spf"], "fail", "{crm:#}");
    assert_eq!(crm["dkim_aligned"], false);
    assert_eq!(crm["dmarc"], "fail");
    assert_eq!(crm["policy"], "reject");
    let esp = sender("newsletter ESP");
    assert_eq!(
        (&esp["spf"], &esp["dmarc"]),
        (&Value::from("pass"), &Value::from("pass"))
    );
    let broken: Vec<&Value> = good["expectations"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["status"] == "broken")
        .collect();
    assert_eq!(broken.len(), 1, "{broken:#?}");
    assert_eq!(broken[0]["id"], "expect.sender_dmarc");
    assert!(
        broken[0]["name"]
            .as_str()
            .unwrap()
            .starts_with("CRM (203.0.113.99)")
    );
    assert!(
        broken[0]["fix"]
            .as_str()
            .unwrap()
            .contains("d=good.check.test")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_config_exits_2_naming_the_line_and_field() {
    let out = mailvet(
        &["check", "--config", "fixtures/check/bad.toml", "--offline"],
        &[],
    )
    .await;
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    let line = line_of("fixtures/check/bad.toml", "polcy =");
    assert!(
        stderr.contains(&format!(
            "fixtures/check/bad.toml:{line}: field `domain.dmarc.polcy`"
        )),
        "{stderr}"
    );
    assert!(stderr.contains("expected one of `policy`"), "{stderr}");
    assert!(out.stdout.is_empty());

    let missing = mailvet(
        &["check", "--config", "fixtures/check/none.toml", "--offline"],
        &[],
    )
    .await;
    assert_eq!(missing.status.code(), Some(2));
    let said = String::from_utf8_lossy(&missing.stderr);
    // A config that is not there is told how to write one.
    assert!(
        said.contains("none.toml: cannot read")
            && said.contains("--config")
            && said.contains(r#"[[domain]] then name = "example.com" on the next line"#)
            && said.contains("fixtures/check/mailvet.example.toml"),
        "{said}"
    );

    // An empty one is told what it lacks, not which serde field.
    let dir = ScratchDir::new("empty-config");
    let empty = dir.join("mailvet.toml");
    std::fs::write(&empty, "# nothing yet\n").unwrap();
    let out = mailvet(
        &["check", "--config", empty.to_str().unwrap(), "--offline"],
        &[],
    )
    .await;
    assert_eq!(out.status.code(), Some(2));
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(
        said.contains("mailvet.toml:1: field `domain`: list at least one domain, the least being"),
        "{said}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dns_failure_is_undecided_with_its_own_message_and_exit_3() {
    let server = TestDns::start(&[Path::new(GOOD_ZONE)]).await;
    server.add_fault(
        "_dmarc.good.check.test",
        FaultTypes::All,
        FaultKind::ServFail,
    );
    let config = "fixtures/check/good.toml";
    let out = check(&server, config, &["--format", "json"]).await;
    // Nothing broken was found, and the DMARC expectation could not be
    // judged: "could not be checked, run again" (3), never a pass.
    assert_eq!(out.status.code(), Some(3));
    let report = json(&out);
    assert_eq!(report["verdict"], "unknown");
    let good = domain(&report, "good.check.test");
    assert_eq!(good["audit"]["verdict"], "unknown");
    assert!(good["audit"]["score"].is_null());
    assert_eq!(good["audit"]["undecided"][0]["check"], "dmarc");
    let failures = good["dns_failures"].as_array().unwrap();
    assert!(
        failures
            .iter()
            .any(|f| f == "_dmarc.good.check.test. TXT: SERVFAIL"),
        "{failures:?}"
    );
    let unknown = expectations_with(good, "unknown");
    assert!(
        unknown.contains(&"expect.dmarc_policy".to_string()),
        "{unknown:?}"
    );
    assert!(!expectations_with(good, "broken").contains(&"expect.dmarc_policy".to_string()));
    let codes: Vec<&str> = good["audit"]["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["code"].as_str().unwrap())
        .collect();
    assert!(!codes.contains(&"dmarc.missing"), "{codes:?}");

    let text = stdout(&check(&server, config, &[]).await);
    assert!(text.contains("DNS FAILURE"), "{text}");
    assert!(text.contains("this is not a missing record"), "{text}");
    assert!(text.contains("retry the check"), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn junit_parses_with_one_testcase_per_expectation_and_finding() {
    let server = TestDns::start(&[Path::new(GOOD_ZONE), Path::new(WEAK_ZONE)]).await;
    let config = "fixtures/check/weak.toml";
    let report = json(&check(&server, config, &["--format", "json"]).await);
    let out = check(&server, config, &["--format", "junit"]).await;
    assert_eq!(out.status.code(), Some(1));
    let xml = stdout(&out);
    let doc = roxmltree::Document::parse(&xml).unwrap_or_else(|e| panic!("{e}\n{xml}"));
    let root = doc.root_element();
    assert_eq!(root.tag_name().name(), "testsuites");
    let suites: Vec<_> = root
        .children()
        .filter(|n| n.has_tag_name("testsuite"))
        .collect();
    assert_eq!(suites.len(), report["domains"].as_array().unwrap().len());
    for suite in suites {
        let name = suite.attribute("name").unwrap();
        let d = domain(&report, name);
        let expectations = d["expectations"].as_array().unwrap().len();
        let findings = d["audit"]["findings"].as_array().unwrap();
        let cases: Vec<_> = suite
            .children()
            .filter(|n| n.has_tag_name("testcase"))
            .collect();
        assert_eq!(cases.len(), expectations + findings.len(), "{name}");
        assert_eq!(suite.attribute("tests").unwrap(), cases.len().to_string());
        let failed = cases
            .iter()
            .filter(|c| c.children().any(|n| n.has_tag_name("failure")))
            .count();
        let errors = findings.iter().filter(|f| f["severity"] == "error").count();
        assert_eq!(
            failed,
            expectations_with(d, "broken").len() + errors,
            "{name}"
        );
        assert_eq!(suite.attribute("failures").unwrap(), failed.to_string());
    }
    let dmarc_case = doc
        .descendants()
        .find(|n| {
            n.attribute("name") == Some("DMARC policy for weak.check.test is at least reject")
        })
        .expect("the broken expectation is a testcase");
    let failure = dmarc_case
        .children()
        .find(|n| n.has_tag_name("failure"))
        .expect("it fails");
    assert_eq!(failure.attribute("type"), Some("expect.dmarc_policy"));
    assert!(failure.text().unwrap().contains("fix: Set p=reject"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sarif_validates_and_points_into_the_zone_file() {
    let server = TestDns::start(&[Path::new(GOOD_ZONE)]).await;
    let out = check(
        &server,
        "fixtures/check/good.toml",
        &["--zone", PLUS_ALL_ZONE, "--format", "sarif"],
    )
    .await;
    assert_eq!(out.status.code(), Some(1));
    let log = validate_sarif(&out);
    let run = &log["runs"][0];
    let rules = run["tool"]["driver"]["rules"].as_array().unwrap();
    let results = run["results"].as_array().unwrap();
    let plus_all = results
        .iter()
        .find(|r| r["ruleId"] == "spf.plus_all")
        .expect("spf.plus_all result");
    assert_eq!(plus_all["level"], "error");
    let location = &plus_all["locations"][0]["physicalLocation"];
    assert_eq!(location["artifactLocation"]["uri"], PLUS_ALL_ZONE);
    assert_eq!(
        location["region"]["startLine"],
        line_of(PLUS_ALL_ZONE, "+all\"")
    );
    let rule = &rules[plus_all["ruleIndex"].as_u64().unwrap() as usize];
    assert_eq!(rule["id"], "spf.plus_all");
    let entry = mailvet::findings::catalog::lookup("spf.plus_all").unwrap();
    assert_eq!(rule["shortDescription"]["text"], entry.title);
    assert_eq!(rule["help"]["text"], entry.fix);
    let broken = results
        .iter()
        .find(|r| r["ruleId"] == "expect.spf_all")
        .expect("the broken expectation is a result");
    assert_eq!(
        broken["locations"][0]["physicalLocation"]["region"]["startLine"],
        line_of("fixtures/check/good.toml", "all = \"-all\"")
    );
    // Met expectations are not results; info findings are notes.
    assert!(!results.iter().any(|r| r["ruleId"] == "expect.dmarc_policy"));
    assert!(
        results
            .iter()
            .filter(|r| r["ruleId"] == "mta_sts.missing")
            .all(|r| r["level"] == "note")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn github_actions_gets_error_annotations() {
    let server = TestDns::start(&[Path::new(GOOD_ZONE), Path::new(WEAK_ZONE)]).await;
    let dns = server.dns_arg();
    let config = "fixtures/check/weak.toml";
    let env = [("GITHUB_ACTIONS", "true")];
    let text = mailvet(&["check", "--config", config, "--dns", &dns], &env).await;
    let lines = stdout(&text);
    let errors: Vec<&str> = lines
        .lines()
        .filter(|l| l.starts_with("::error "))
        .collect();
    assert_eq!(errors.len(), 2, "{errors:#?}");
    assert!(
        errors
            .iter()
            .all(|a| a.starts_with(&format!("::error file={config},line=")))
    );
    assert!(
        errors
            .iter()
            .any(|a| a.contains("title=weak.check.test expect.dmarc_policy::DMARC policy"))
    );
    // A warning finding under the default --fail-on error is a warning
    // annotation; its record is live DNS's, so it points at the config
    // line naming the domain.
    let warning = format!(
        "::warning file={config},line={},title=weak.check.test dmarc.policy_none::",
        line_of(config, "name = \"weak.check.test\"")
    );
    assert!(lines.lines().any(|l| l.starts_with(&warning)), "{lines}");

    // Machine-readable output stays parseable; the commands go to stderr.
    let out = mailvet(
        &[
            "check", "--config", config, "--dns", &dns, "--format", "json",
        ],
        &env,
    )
    .await;
    json(&out);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        stderr.lines().filter(|l| l.starts_with("::error ")).count(),
        2,
        "{stderr}"
    );

    let quiet = mailvet(&["check", "--config", config, "--dns", &dns], &[]).await;
    assert!(!stdout(&quiet).contains("::error"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn domain_and_message_speak_junit_and_sarif_too() {
    let server = TestDns::start(&[Path::new(GOOD_ZONE)]).await;
    let dns = server.dns_arg();
    let base = ["domain", "good.check.test", "--dns", &dns];
    let with = |extra: &'static [&'static str]| {
        let mut args = base.to_vec();
        args.extend_from_slice(extra);
        args
    };
    let report = json(&mailvet(&with(&["--format", "json"]), &[]).await);
    let junit = mailvet(&with(&["--format", "junit"]), &[]).await;
    assert_eq!(junit.status.code(), Some(0));
    let xml = stdout(&junit);
    let doc = roxmltree::Document::parse(&xml).unwrap_or_else(|e| panic!("{e}\n{xml}"));
    assert_eq!(
        doc.descendants()
            .filter(|n| n.has_tag_name("testcase"))
            .count(),
        report["findings"].as_array().unwrap().len()
    );

    let sarif = mailvet(&with(&["--zone", PLUS_ALL_ZONE, "--format", "sarif"]), &[]).await;
    assert_eq!(sarif.status.code(), Some(1));
    let log = validate_sarif(&sarif);
    let plus_all = log["runs"][0]["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["ruleId"] == "spf.plus_all")
        .expect("spf.plus_all");
    assert_eq!(
        plus_all["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
        PLUS_ALL_ZONE
    );

    let message = "fixtures/messages/clean-bulk.eml";
    let message_args = |format| {
        [
            "message",
            message,
            "--dns",
            &dns,
            "--ip",
            "192.0.2.1",
            "--format",
            format,
        ]
    };
    let sarif = mailvet(&message_args("sarif"), &[]).await;
    let log = validate_sarif(&sarif);
    let findings = json(&mailvet(&message_args("json"), &[]).await)["findings"]
        .as_array()
        .unwrap()
        .len();
    assert_eq!(
        log["runs"][0]["results"].as_array().unwrap().len(),
        findings
    );
    let junit = stdout(&mailvet(&message_args("junit"), &[]).await);
    let doc = roxmltree::Document::parse(&junit).unwrap_or_else(|e| panic!("{e}\n{junit}"));
    let suite = doc
        .descendants()
        .find(|n| n.has_tag_name("testsuite"))
        .unwrap();
    assert_eq!(suite.attribute("name"), Some(message));
    assert_eq!(
        suite.attribute("tests"),
        Some(findings.to_string().as_str())
    );
}

#[test]
fn the_example_config_and_the_readme_config_are_valid() {
    let example = mailvet::check::config::load(Path::new("fixtures/check/mailvet.example.toml"))
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(example.domains.len(), 2);
    let first = &example.domains[0];
    assert_eq!(first.domain.value.ascii, "example.com");
    assert_eq!(first.senders.len(), 2);
    assert_eq!(first.spf_authorized.len(), 3);
    assert!(first.mta_sts.is_some() && first.tls_rpt.is_some() && first.bimi.is_some());

    let readme = std::fs::read_to_string("README.md").unwrap();
    let section = readme
        .split("## Use in CI")
        .nth(1)
        .expect("README has a Use in CI section");
    let config = section
        .split("```toml\n")
        .nth(1)
        .and_then(|s| s.split("```").next())
        .expect("a TOML config in Use in CI");
    let parsed =
        mailvet::check::config::parse(config, "README.md").unwrap_or_else(|e| panic!("{e}"));
    assert!(!parsed.domains.is_empty());
}

/// Records that try to act on a terminal or a CI runner: a line feed
/// followed by a workflow command, a screen clear, an OSC window title, a
/// C1 CSI, a right-to-left override and a line separator.
const HOSTILE_ZONE: &str = "$ORIGIN evil.test.\n$TTL 60\n@ SOA ns h 1 1 1 1 60\n\
    @ TXT \"v=spf1 -all\\010::error file=x::owned\\027[2J\\027]0;pwned\\007\\194\\155\\226\\128\\174\"\n\
    _dmarc TXT \"v=DMARC1; p=reject; rua=mailto:r@evil.test\\013\\010::warning ::dmarc\\226\\128\\168\"\n\
    _smtp._tls TXT \"v=TLSRPTv1; rua=mailto:t@evil.test\\010::error ::tlsrpt\\027]0;title\\007\"\n\
    default._bimi TXT \"v=BIMI1; l=https://evil.test/logo.svg\\010::error ::bimi\\027[2J\"\n\
    selector1._domainkey TXT \"v=DKIM1; k=rsa; p=\\010::error ::dkim\\027[2J\"\n\
    _mta-sts TXT \"v=STSv1; id=1\\010::error ::sts\"\n";

/// The output holds no raw control character but line breaks of its own,
/// and every line that looks like a workflow command is one of mailvet's
/// annotations (they all name the suite in `title=`, here `suite`).
fn assert_inert(output: &str, what: &str, suite: &str) {
    let raw: Vec<char> = output
        .chars()
        .filter(|&c| c != '\n' && mailvet::untrusted::is_unsafe(c))
        .collect();
    assert!(raw.is_empty(), "{what}: raw {raw:?} in\n{output}");
    for line in output.lines().filter(|l| l.trim_start().starts_with("::")) {
        assert!(
            line.starts_with("::error ") || line.starts_with("::warning "),
            "{what}: {line}"
        );
        assert!(line.contains(&format!("title={suite} ")), "{what}: {line}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_records_are_escaped_in_every_format() {
    let server = TestDns::start_with_texts(&[HOSTILE_ZONE]).await;
    let dns = server.dns_arg();
    let dir = ScratchDir::new("hostile");
    let zone = dir.join("evil.test.zone");
    std::fs::write(&zone, HOSTILE_ZONE).unwrap();
    let zone = zone.to_str().unwrap().to_string();
    // The domain listed in a file too, for SARIF to point at without --zone.
    let list = dir.join("domains.txt");
    std::fs::write(&list, "evil.test\n").unwrap();
    let list = list.to_str().unwrap().to_string();
    let env = [("GITHUB_ACTIONS", "true")];
    // The same records from the DNS server and from a --zone file.
    let doors: [Vec<&str>; 2] = [
        vec!["--dns", &dns, "--file", &list],
        vec!["--zone", &zone, "--offline"],
    ];
    for door in &doors {
        let run = |format: &'static str| {
            let mut args = vec!["domain", "evil.test", "--format", format];
            args.extend_from_slice(door);
            async move { mailvet(&args, &env).await }
        };
        let text = run("text").await;
        let shown = stdout(&text);
        assert_inert(&shown, "text", "evil.test");
        // The records did reach the report, shown for what they are.
        assert!(
            shown.contains("\\n::error file=x::owned\\u{1b}[2J\\u{1b}]0;pwned\\u{7}"),
            "{shown}"
        );
        assert!(
            shown.contains("\\r\\n::warning ::dmarc\\u{2028}"),
            "{shown}"
        );

        let json = json(&run("json").await);
        let details: Vec<&str> = json["findings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["detail"].as_str().unwrap())
            .collect();
        // JSON carries the data as it is; its escaping keeps it inert.
        assert!(
            details
                .iter()
                .any(|d| d.contains("rua=mailto:r@evil.test\r\n::warning ::dmarc\u{2028}")),
            "{details:#?}"
        );

        let junit = run("junit").await;
        let xml = stdout(&junit);
        assert_inert(&xml, "junit", "evil.test");
        let annotations = String::from_utf8_lossy(&junit.stderr);
        assert_inert(&annotations, "annotations", "evil.test");
        roxmltree::Document::parse(&xml).unwrap_or_else(|e| panic!("{e}\n{xml}"));
        assert!(xml.contains("\\r\\n::warning ::dmarc\\u{2028}"), "{xml}");

        let sarif = run("sarif").await;
        let log = validate_sarif(&sarif);
        let annotations = String::from_utf8_lossy(&sarif.stderr);
        assert_inert(&annotations, "annotations", "evil.test");
        for result in log["runs"][0]["results"].as_array().unwrap() {
            let message = result["message"]["text"].as_str().unwrap();
            assert_inert(message, "sarif message", "evil.test");
            let fix = result["properties"]["fix"].as_str().unwrap();
            assert_inert(fix, "sarif fix", "evil.test");
        }
    }

    // A config's own text (a sender's name) is outside text too.
    let config = dir.join("evil.toml");
    std::fs::write(
        &config,
        "[[domain]]\nname = \"evil.test\"\n[[domain.sender]]\n\
         name = \"ESP\\u001b[2J\\n::error ::config\"\nip = \"192.0.2.7\"\n\
         mail_from_domain = \"evil.test\"\n",
    )
    .unwrap();
    let config = config.to_str().unwrap();
    for format in ["text", "junit", "sarif"] {
        let out = mailvet(
            &[
                "check", "--config", config, "--dns", &dns, "--format", format,
            ],
            &env,
        )
        .await;
        assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
        assert_inert(&stdout(&out), format, "evil.test");
        let annotations = String::from_utf8_lossy(&out.stderr);
        assert_inert(&annotations, "annotations", "evil.test");
        if format != "sarif" {
            assert!(stdout(&out).contains("ESP\\u{1b}[2J\\n::error ::config"));
        }
    }

    // A message's headers: a display name with an OSC title, a folded
    // Subject whose next line is a workflow command, a selector with ESC.
    let message = dir.join("evil.eml");
    std::fs::write(
        &message,
        "From: \"Evil\x1b]0;title\x07\" <a@evil.test>\r\nTo: b@example.com\r\n\
         Subject: hi\x1b[2J\r\n ::error ::msg\r\nDKIM-Signature: v=1; a=rsa-sha256; \
         d=evil.test; s=sel\x1b[2J; h=from; bh=x; b=y\r\nMessage-ID: <1@evil.test>\r\n\
         \r\nbody\r\n",
    )
    .unwrap();
    let message = message.to_str().unwrap();
    for format in ["text", "junit", "sarif"] {
        let out = mailvet(
            &[
                "message",
                message,
                "--ip",
                "192.0.2.1",
                "--dns",
                &dns,
                "--format",
                format,
            ],
            &env,
        )
        .await;
        assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
        assert_inert(&stdout(&out), format, message);
        let annotations = String::from_utf8_lossy(&out.stderr);
        assert_inert(&annotations, "annotations", message);
        if format != "sarif" {
            assert!(stdout(&out).contains("s=sel\\u{1b}[2J"), "{}", stdout(&out));
        }
    }
}

/// The lines of `--format jsonl` output, each parsed.
fn jsonl(output: &Output) -> Vec<Value> {
    stdout(output)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jsonl_writes_a_line_per_domain_naming_it() {
    let server = TestDns::start(&[Path::new(GOOD_ZONE), Path::new(WEAK_ZONE)]).await;
    let config = "fixtures/check/weak.toml";
    let out = check(&server, config, &["--format", "jsonl"]).await;
    assert_eq!(out.status.code(), Some(1), "weak.check.test fails");
    let whole = json(&check(&server, config, &["--format", "json"]).await);
    let lines = jsonl(&out);
    let inputs: Vec<&str> = lines.iter().map(|l| l["input"].as_str().unwrap()).collect();
    assert_eq!(inputs, ["good.check.test", "weak.check.test"]);
    for line in &lines {
        let name = line["input"].as_str().unwrap();
        let report = &line["report"];
        assert_eq!(report["domain"], name);
        let expected = if name == "good.check.test" {
            "pass"
        } else {
            "fail"
        };
        assert_eq!(report["verdict"], expected, "{report:#}");
        assert_eq!(
            report["expectations"],
            domain(&whole, name)["expectations"],
            "the same expectations as the whole report"
        );
        assert!(
            report.get("diff").is_none(),
            "no --zone, nothing to compare"
        );
    }

    // With a zone file over live DNS, each line says what it changes there.
    let good = TestDns::start(&[Path::new(GOOD_ZONE)]).await;
    let out = check(
        &good,
        "fixtures/check/good.toml",
        &["--zone", PLUS_ALL_ZONE, "--format", "jsonl"],
    )
    .await;
    assert_eq!(out.status.code(), Some(1));
    let lines = jsonl(&out);
    assert_eq!(lines.len(), 1, "{lines:?}");
    let diff = &lines[0]["report"]["diff"];
    let codes = |list: &str| -> Vec<&str> {
        diff[list]
            .as_array()
            .unwrap_or_else(|| panic!("{list} in {diff:#}"))
            .iter()
            .map(|c| c["code"].as_str().unwrap())
            .collect()
    };
    assert!(
        codes("findings_introduced").contains(&"spf.plus_all"),
        "{diff:#}"
    );
    assert_eq!(codes("expectations_newly_broken"), ["expect.spf_all"]);
}

/// What a GitHub Actions runner reads as a workflow command: a line whose
/// text after leading whitespace starts with `::`, or that holds `##[`.
fn reads_as_command(line: &str) -> bool {
    line.trim_start().starts_with("::") || line.contains("##[")
}

/// The lines of `output` a runner would read as commands, but for
/// mailvet's own annotations of the suite `suite`.
fn commands_not_mailvet_s<'a>(output: &'a str, suite: &str) -> Vec<&'a str> {
    let own = |line: &str| {
        (line.starts_with("::error file=") || line.starts_with("::warning file="))
            && line.contains(&format!(",title={suite} "))
    };
    output
        .split(['\n', '\r'])
        .filter(|l| reads_as_command(l) && !own(l))
        .collect()
}

/// good.plus-all.zone with `x=##[stop-commands]pwn` in its SPF record,
/// written in `dir`.
fn zone_with_a_command(dir: &ScratchDir) -> String {
    let text = std::fs::read_to_string(PLUS_ALL_ZONE).unwrap().replace(
        "include:_spf.esp.good.check.test +all",
        "include:_spf.esp.good.check.test x=##[stop-commands]pwn +all",
    );
    assert!(text.contains("##[stop-commands]"));
    let zone = dir.join("good.check.test.zone");
    std::fs::write(&zone, text).unwrap();
    zone.to_str().unwrap().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dns_text_cannot_start_a_workflow_command() {
    let dir = ScratchDir::new("workflow-commands");
    let zone = zone_with_a_command(&dir);
    const RUNNER: &[(&str, &str)] = &[("GITHUB_ACTIONS", "true")];
    let runner = RUNNER;
    let check = |format: &'static str, env: &'static [(&'static str, &'static str)]| {
        let zone = zone.clone();
        async move {
            let args = [
                "check",
                "--config",
                "fixtures/check/good.toml",
                "--zone",
                &zone,
                "--offline",
                "--format",
                format,
            ];
            mailvet(&args, env).await
        }
    };
    for format in ["text", "json", "jsonl", "junit", "sarif"] {
        let out = check(format, runner).await;
        assert_eq!(out.status.code(), Some(1), "{format}: {}", stdout(&out));
        let (shown, errors) = (stdout(&out), String::from_utf8_lossy(&out.stderr));
        for (stream, text) in [("stdout", shown.as_str()), ("stderr", &errors)] {
            let forged = commands_not_mailvet_s(text, "good.check.test");
            assert!(forged.is_empty(), "{format} {stream}: {forged:#?}");
        }
        // mailvet's own annotations are still written, and read.
        let annotations = if format == "text" { &shown } else { &*errors };
        assert!(
            annotations.lines().any(|l| l.starts_with(&format!(
                "::error file={zone},line={},title=good.check.test spf.plus_all::",
                line_of(&zone, "+all\"")
            ))),
            "{format}: {annotations}"
        );
    }
    // Text shows the record with the command start visibly broken.
    let text = stdout(&check("text", runner).await);
    assert!(text.contains("x=##\\[stop-commands]pwn +all"), "{text}");
    // JSON and SARIF parse to the same values as outside the runner.
    for format in ["json", "sarif"] {
        let guarded = json(&check(format, runner).await);
        assert_eq!(guarded, json(&check(format, &[]).await), "{format}");
        assert!(guarded.to_string().contains("x=##[stop-commands]pwn"));
    }
    let lines = |out: &Output| -> Vec<Value> {
        stdout(out)
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    };
    assert_eq!(
        lines(&check("jsonl", runner).await),
        lines(&check("jsonl", &[]).await)
    );
    // JUnit reads back to the same text.
    let xml = stdout(&check("junit", runner).await);
    let doc = roxmltree::Document::parse(&xml).unwrap_or_else(|e| panic!("{e}\n{xml}"));
    assert!(
        doc.descendants()
            .filter_map(|n| n.attribute("message"))
            .any(|m| m.contains("x=##[stop-commands]pwn +all")),
        "{xml}"
    );
    let sarif = check("sarif", runner).await;
    validate_sarif(&sarif);

    // An SPF include whose domain starts with `::`, as the include tree
    // shows it at the start of a line.
    let spf_zone = dir.join("spf.zone");
    std::fs::write(
        &spf_zone,
        "$ORIGIN good.check.test.\n$TTL 60\n@ SOA ns h 1 1 1 1 60\n\
         @ TXT \"v=spf1 include:::stop-commands::pwn.good.check.test -all\"\n\
         ::stop-commands::pwn TXT \"v=spf1 ip4:192.0.2.1 x=##[stop-commands]pwn -all\"\n",
    )
    .unwrap();
    let spf_zone = spf_zone.to_str().unwrap();
    let spf = |format: &'static str, env: &'static [(&'static str, &'static str)]| async move {
        let args = [
            "spf",
            "--ip",
            "192.0.2.1",
            "--mail-from",
            "a@good.check.test",
            "--zone",
            spf_zone,
            "--offline",
            "--format",
            format,
        ];
        mailvet(&args, env).await
    };
    for format in ["text", "json", "jsonl"] {
        let out = spf(format, runner).await;
        assert_eq!(out.status.code(), Some(0), "{format}: {}", stdout(&out));
        let shown = stdout(&out);
        let forged = commands_not_mailvet_s(&shown, "a@good.check.test");
        assert!(forged.is_empty(), "{format}: {forged:#?}");
        let errors = String::from_utf8_lossy(&out.stderr);
        assert!(!errors.lines().any(reads_as_command), "{format}: {errors}");
    }
    let text = stdout(&spf("text", runner).await);
    assert!(
        text.contains("  \\::stop-commands::pwn.good.check.test: v=spf1 ip4:192.0.2.1"),
        "{text}"
    );
    assert_eq!(
        json(&spf("json", runner).await)["check"]["records"],
        json(&spf("json", &[]).await)["check"]["records"]
    );
    // Without the runner nothing is changed.
    let plain = stdout(&spf("text", &[]).await);
    assert!(
        plain.contains("\n  ::stop-commands::pwn.good.check.test: "),
        "{plain}"
    );

    // mailvet's own error lines quote the input.
    let out = mailvet(&["domain", "x##[stop-commands]pwn", "--offline"], runner).await;
    assert_eq!(out.status.code(), Some(2));
    let errors = String::from_utf8_lossy(&out.stderr);
    assert!(errors.contains("x##\\[stop-commands]pwn"), "{errors}");
    assert!(!errors.lines().any(reads_as_command), "{errors}");
}

/// The SARIF results of `mailvet ARGS --format sarif`, the log validated.
async fn sarif_results(args: &[&str]) -> Vec<Value> {
    let mut args = args.to_vec();
    args.extend(["--format", "sarif"]);
    let log = validate_sarif(&mailvet(&args, &[]).await);
    log["runs"][0]["results"].as_array().unwrap().clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_sarif_result_has_a_line() {
    let at = |results: &[Value], subject: &str, code: &str| {
        results
            .iter()
            .find(|r| r["ruleId"] == code && r["properties"]["subject"] == subject)
            .map(sarif_location)
            .unwrap_or_else(|| panic!("no {code} of {subject}"))
    };
    let soa = |zone: &str| Some(line_of(zone, "SOA") as u64);
    // check: a record the zone lacks is at the zone's SOA, where it would
    // be added.
    let config = "fixtures/check/good.toml";
    let args = [
        "check",
        "--config",
        config,
        "--zone",
        PLUS_ALL_ZONE,
        "--offline",
    ];
    let results = sarif_results(&args).await;
    assert_eq!(
        at(&results, "good.check.test", "mta_sts.missing"),
        (PLUS_ALL_ZONE.to_string(), soa(PLUS_ALL_ZONE))
    );

    // domain: a --file list of a zone's origin and a name below another's.
    let dir = ScratchDir::new("sarif-lines");
    let list = dir.join("domains.txt");
    std::fs::write(&list, "healthy.test\nplus-all.spf.test\n").unwrap();
    let list = list.to_str().unwrap();
    let (healthy, spf) = ("fixtures/audit/healthy.zone", "fixtures/audit/spf.zone");
    let args = [
        "domain",
        "--file",
        list,
        "--offline",
        "--zone",
        healthy,
        "--zone",
        spf,
    ];
    let results = sarif_results(&args).await;
    assert!(results.len() >= 8, "{results:#?}");
    assert_eq!(
        at(&results, "healthy.test", "mta_sts.missing"),
        (healthy.to_string(), soa(healthy))
    );
    assert_eq!(
        at(&results, "plus-all.spf.test", "spf.plus_all"),
        (
            spf.to_string(),
            Some(line_of(spf, "plus-all IN TXT") as u64)
        )
    );
    assert_eq!(
        at(&results, "plus-all.spf.test", "dmarc.missing"),
        (spf.to_string(), soa(spf))
    );
    // About no record: the line naming the domain, in the list.
    assert_eq!(
        at(&results, "plus-all.spf.test", "dkim.no_selector_found"),
        (list.to_string(), Some(2))
    );

    // message: the message file, at line 1.
    let message = "fixtures/messages/clean-bulk.eml";
    let results = sarif_results(&["message", message, "--offline", "--ip", "192.0.2.1"]).await;
    assert!(!results.is_empty());
    for result in &results {
        assert_eq!(sarif_location(result), (message.to_string(), Some(1)));
    }
}

/// The annotations a run wrote on standard error.
fn annotations(out: &Output) -> Vec<String> {
    String::from_utf8_lossy(&out.stderr)
        .lines()
        .filter(|l| l.starts_with("::"))
        .map(str::to_string)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_error_and_warning_is_annotated_whatever_fail_on_says() {
    let runner = [("GITHUB_ACTIONS", "true")];
    let domain = |fail_on: &'static str, format: &'static str| async move {
        let args = [
            "domain",
            "plus-all.spf.test",
            "--offline",
            "--zone",
            "fixtures/audit/spf.zone",
            "--fail-on",
            fail_on,
            "--format",
            format,
        ];
        mailvet(&args, &runner).await
    };
    let failing = domain("error", "json").await;
    assert_eq!(failing.status.code(), Some(1));
    let never = domain("never", "json").await;
    assert_eq!(never.status.code(), Some(0));
    let annotated = annotations(&never);
    for (level, code) in [
        ("error", "spf.plus_all"),
        ("error", "dmarc.missing"),
        ("warning", "mx.missing"),
    ] {
        let start = format!("::{level} file=fixtures/audit/spf.zone,");
        let title = format!(",title=plus-all.spf.test {code}::");
        assert!(
            annotated
                .iter()
                .any(|a| a.starts_with(&start) && a.contains(&title)),
            "{level} {code}: {annotated:#?}"
        );
    }
    // The same annotations, at the same levels, as when they fail the run.
    assert_eq!(annotated, annotations(&failing));
    // jsonl writes them too, on standard error as the other formats do.
    assert_eq!(annotations(&domain("never", "jsonl").await), annotated);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn junit_testcases_of_one_code_have_names_of_their_own() {
    let dir = ScratchDir::new("junit-names");
    let message = dir.join("no-date-no-id.eml");
    std::fs::write(
        &message,
        "From: a@example.com\r\nSubject: hi\r\n\r\nbody\r\n",
    )
    .unwrap();
    let message = message.to_str().unwrap();
    let out = mailvet(
        &[
            "message",
            message,
            "--offline",
            "--ip",
            "192.0.2.1",
            "--format",
            "junit",
        ],
        &[],
    )
    .await;
    let xml = stdout(&out);
    let doc = roxmltree::Document::parse(&xml).unwrap_or_else(|e| panic!("{e}\n{xml}"));
    let cases: Vec<(&str, &str)> = doc
        .descendants()
        .filter(|n| n.has_tag_name("testcase"))
        .map(|n| {
            (
                n.attribute("classname").unwrap(),
                n.attribute("name").unwrap(),
            )
        })
        .collect();
    let missing: Vec<&str> = cases
        .iter()
        .filter(|(class, _)| class.ends_with(".msg.missing_header"))
        .map(|(_, name)| *name)
        .collect();
    assert_eq!(missing.len(), 2, "{xml}");
    assert!(
        missing[0].ends_with("The message has no Date header."),
        "{missing:?}"
    );
    assert!(
        missing[1].ends_with("The message has no Message-ID header."),
        "{missing:?}"
    );
    let mut unique = cases.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), cases.len(), "{cases:#?}");
}
