//! The `mailvet` binary as a user runs it, against the test DNS server.

mod support;

use serde_json::Value;
use std::path::Path;
use std::process::Output;
use std::time::{Duration, Instant};
use support::{FaultKind, FaultTypes, TestDns};

const SOME_TEST: &str = "fixtures/zones/some.test.zone";

/// Runs mailvet with a command line split on spaces.
async fn mailvet_line(line: &str) -> Output {
    tokio::process::Command::new(env!("CARGO_BIN_EXE_mailvet"))
        .args(line.split_whitespace())
        .env("NO_COLOR", "1")
        .env_remove("MAILVET_DNS")
        .output()
        .await
        .expect("run mailvet")
}

fn json(output: &Output) -> Value {
    serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not JSON ({e}):\n{}\nstderr:\n{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        )
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spf_json_has_the_documented_fields() {
    let server = TestDns::start(&[Path::new(SOME_TEST)]).await;
    let dns = server.dns_arg();
    let out = mailvet_line(&format!(
        "spf --ip 192.0.2.1 --mail-from user@some.test --dns {dns} --format json"
    ))
    .await;
    let report = json(&out);
    assert_eq!(report["result"], "fail");
    assert_eq!(report["domain"], "some.test");
    assert_eq!(report["identity"], "mailfrom");
    assert_eq!(
        report["explanation"],
        "192.0.2.1 is not one of some.test's mail servers; see https://some.test/mail"
    );
    assert_eq!(report["lookups"]["count"], 2);
    assert_eq!(report["lookups"]["void"], 0);
    assert_eq!(report["verdict"], "fail");
    assert_eq!(report["findings"][0]["code"], "spf.fail");
    assert!(report["dns"]["queries"].as_u64().unwrap() >= 3);
    assert!(
        report["dns"].get("trace").is_none(),
        "trace only on request"
    );
    assert_eq!(out.status.code(), Some(1), "a fail finding is an error");

    let pass = mailvet_line(&format!(
        "spf --ip 198.51.100.9 --mail-from user@some.test --dns {dns} --format json --trace"
    ))
    .await;
    let report = json(&pass);
    assert_eq!(report["result"], "pass");
    assert!(report["explanation"].is_null());
    assert_eq!(report["matched"]["term"], "include:_spf.esp.some.test");
    assert!(!report["dns"]["trace"].as_array().unwrap().is_empty());
    assert_eq!(pass.status.code(), Some(0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn permerror_names_the_offending_term() {
    let server = TestDns::start_with_texts(&[
        "$ORIGIN bad.test.\n$TTL 60\n@ SOA ns h 1 1 1 1 60\n@ TXT \"v=spf1 ip4:192.0.2.0/24 ip4:198.51.100.1/33 -all\"\n",
    ])
    .await;
    let out = mailvet_line(&format!(
        "spf --ip 192.0.2.1 --helo bad.test --dns {} --format json",
        server.dns_arg()
    ))
    .await;
    let report = json(&out);
    assert_eq!(report["result"], "permerror");
    assert_eq!(report["identity"], "helo");
    assert_eq!(report["reason"]["kind"], "syntax");
    assert_eq!(report["reason"]["term"], "ip4:198.51.100.1/33");
    assert_eq!(report["reason"]["position"], 24);
    assert_eq!(report["findings"][0]["code"], "spf.syntax");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silent_upstream_gives_temperror_within_the_deadline() {
    let server = TestDns::start(&[Path::new(SOME_TEST)]).await;
    server.add_fault("some.test", FaultTypes::All, FaultKind::NoAnswer);
    let started = Instant::now();
    let out = mailvet_line(&format!("spf --ip 192.0.2.1 --mail-from user@some.test --dns {} --format json --dns-timeout 5s --deadline 700ms", server.dns_arg()))
    .await;
    let elapsed = started.elapsed();
    let report = json(&out);
    assert_eq!(report["result"], "temperror");
    assert_eq!(report["findings"][0]["code"], "spf.dns_error");
    assert_eq!(report["findings"][0]["severity"], "warning");
    assert!(elapsed < Duration::from_secs(4), "took {elapsed:?}");
    // A DNS failure is a warning, not an error: the default --fail-on passes it.
    assert_eq!(out.status.code(), Some(0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn offline_with_a_zone_previews_an_unpublished_change() {
    let out = mailvet_line("spf --ip 203.0.113.7 --mail-from news@some.test --offline --zone fixtures/zones/some.test.proposed.zone --format json --trace")
    .await;
    let report = json(&out);
    assert_eq!(report["result"], "pass");
    assert_eq!(report["dns"]["upstream_queries"], 0);
    let trace = report["dns"]["trace"].as_array().unwrap();
    assert!(trace.iter().all(|t| t["source"] == "overlay"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn text_output_explains_and_bad_input_exits_2() {
    let server = TestDns::start(&[Path::new(SOME_TEST)]).await;
    let out = mailvet_line(&format!(
        "spf --ip 192.0.2.1 --mail-from user@some.test --dns {}",
        server.dns_arg()
    ))
    .await;
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.contains("FAIL SPF fail for user@some.test from 192.0.2.1"),
        "{text}"
    );
    assert!(text.contains("spf.fail"), "{text}");
    assert!(text.contains("why:") && text.contains("fix:"), "{text}");
    assert!(!text.contains('\x1b'), "NO_COLOR is respected");

    let bad_ip = mailvet_line("spf --ip not-an-ip --helo x.test --offline").await;
    assert_eq!(bad_ip.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad_ip.stderr).contains("not-an-ip"));

    let no_identity = mailvet_line("spf --ip 192.0.2.1 --offline").await;
    assert_eq!(no_identity.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&no_identity.stderr).contains("MAIL FROM"));

    let bad_zone =
        mailvet_line("spf --ip 192.0.2.1 --helo x.test --offline --zone Cargo.toml").await;
    assert_eq!(bad_zone.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad_zone.stderr).contains("Cargo.toml:"));
}
