//! One CLI invocation as a batch, run as the real binary against the test
//! DNS server: the files or domains of one run share its DNS cache (each
//! question asked once, by the server's query log), `--format jsonl`
//! writes a line per input as each finishes, naming it, an input that
//! cannot be read is reported on its own while the rest still run (exit
//! 2), and a batch on a pipe gets no progress bar.

use crate::support;
use crate::support::scratch::ScratchDir;

use serde_json::Value;
use std::collections::BTreeMap;
use std::path::Path;
use std::process::Output;
use std::time::Duration;
use support::{FaultKind, FaultTypes, TestDns};

async fn mailvet(args: &[&str]) -> Output {
    let run = tokio::process::Command::new(env!("CARGO_BIN_EXE_mailvet"))
        .args(args)
        .env("NO_COLOR", "1")
        .env_remove("MAILVET_DNS")
        .kill_on_drop(true)
        .output();
    tokio::time::timeout(Duration::from_secs(30), run)
        .await
        .unwrap_or_else(|_| panic!("mailvet {args:?} hung"))
        .expect("run mailvet")
}

/// The JSON lines of standard output.
fn lines(out: &Output) -> Vec<Value> {
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not a JSON line ({e}): {l}")))
        .collect()
}

/// Four copies of the newsletter (one behind 8 KiB of trace fields), a
/// note that is not a message, and a file of `name: value` lines that is
/// not one either (no From field).
fn message_dir(test: &str) -> ScratchDir {
    let dir = ScratchDir::new(&format!("batch-{test}"));
    let newsletter = std::fs::read("fixtures/messages/msg-test-newsletter.eml").unwrap();
    for name in ["a.eml", "b.eml", "c-without-ending"] {
        std::fs::write(dir.join(name), &newsletter).unwrap();
    }
    // Relayed many times: its From field comes after 8 KiB of trace.
    let mut relayed = Vec::new();
    for hop in 0..200 {
        relayed.extend_from_slice(
            format!(
                "Received: from relay{hop}.example by relay{}.example; 3 Dec 2026\r\n",
                hop + 1
            )
            .as_bytes(),
        );
    }
    assert!(relayed.len() > 8192);
    relayed.extend_from_slice(&newsletter);
    std::fs::write(dir.join("d-relayed"), relayed).unwrap();
    std::fs::write(dir.join("notes.txt"), "not a message, no header field\n").unwrap();
    std::fs::write(
        dir.join("passwd"),
        "root:x:0:0:root:/root:/bin/bash\ndaemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\n",
    )
    .unwrap();
    dir
}

const ENVELOPE: [&str; 6] = [
    "--ip",
    "192.0.2.10",
    "--helo",
    "mail.msg.test",
    "--mail-from",
    "bounce@msg.test",
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_messages_of_one_run_ask_each_question_once() {
    let dns = TestDns::start(&[Path::new("fixtures/messages/messages.zone")]).await;
    let dir = message_dir("once");
    let dir_arg = dir.display().to_string();
    let server = dns.dns_arg();
    let mut args = vec![
        "message",
        dir_arg.as_str(),
        "--dns",
        &server,
        "--format",
        "jsonl",
    ];
    args.extend(ENVELOPE);
    let out = mailvet(&args).await;
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines = lines(&out);
    let mut inputs: Vec<String> = lines
        .iter()
        .map(|l| l["input"].as_str().unwrap().to_string())
        .collect();
    inputs.sort();
    let expected: Vec<String> = ["a.eml", "b.eml", "c-without-ending", "d-relayed"]
        .iter()
        .map(|n| dir.join(n).display().to_string())
        .collect();
    assert_eq!(
        inputs, expected,
        "every message file of the directory, no other"
    );
    for line in &lines {
        assert_eq!(line["report"]["spf"]["result"], "pass", "{line}");
    }
    let mut asked: BTreeMap<(String, String, &str), usize> = BTreeMap::new();
    for q in dns.queries() {
        *asked
            .entry((q.name, q.rtype.to_string(), q.protocol))
            .or_default() += 1;
    }
    assert!(asked.len() >= 3, "{asked:?}");
    let again: Vec<_> = asked.iter().filter(|(_, n)| **n > 1).collect();
    assert!(
        again.is_empty(),
        "asked more than once in one run: {again:?}"
    );
}

/// Lines come as audits finish: a domain whose DNS answers late is
/// written last though given first; and a batch that runs for over a
/// second on a pipe writes nothing to standard error.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jsonl_lines_come_in_completion_order_and_a_pipe_gets_no_bar() {
    let dns = TestDns::start(&[
        Path::new("fixtures/audit/healthy.zone"),
        Path::new("fixtures/audit/dmarc.zone"),
    ])
    .await;
    dns.add_fault(
        "_dmarc.healthy.test",
        FaultTypes::All,
        FaultKind::Latency(Duration::from_millis(1500)),
    );
    let server = dns.dns_arg();
    let out = mailvet(&[
        "domain",
        "healthy.test",
        "none.dmarc.test",
        "--dns",
        &server,
        "--dns-timeout",
        "5s",
        "--deadline",
        "10s",
        "--format",
        "jsonl",
    ])
    .await;
    let lines = lines(&out);
    let order: Vec<&str> = lines.iter().map(|l| l["input"].as_str().unwrap()).collect();
    assert_eq!(order, ["none.dmarc.test", "healthy.test"]);
    assert_eq!(
        lines[1]["report"]["dmarc"]["status"], "ok",
        "the late answer was waited for"
    );
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreadable_file_is_reported_alone_and_the_rest_still_run() {
    let dns = TestDns::start(&[Path::new("fixtures/messages/messages.zone")]).await;
    let dir = message_dir("unreadable");
    let good = dir.join("a.eml").display().to_string();
    let missing = dir.join("gone.eml").display().to_string();
    let server = dns.dns_arg();

    let mut args = vec!["message", missing.as_str(), good.as_str(), "--dns", &server];
    args.extend(ENVELOPE);
    let out = mailvet(&args).await;
    assert_eq!(out.status.code(), Some(2));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stdout.contains(&good) && stdout.contains("SPF"), "{stdout}");
    assert!(
        stderr.contains(&missing) && stderr.contains("cannot read the message"),
        "{stderr}"
    );

    // Two inputs are an array, though one had no report.
    let mut json_args = args.clone();
    json_args.extend(["--format", "json"]);
    let out = mailvet(&json_args).await;
    assert_eq!(out.status.code(), Some(2));
    let reports: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(reports.as_array().map(Vec::len), Some(1), "{reports}");

    // JUnit lists the unread input as a suite whose case errs.
    let mut junit_args = args.clone();
    junit_args.extend(["--format", "junit"]);
    let out = mailvet(&junit_args).await;
    assert_eq!(out.status.code(), Some(2));
    let junit = String::from_utf8_lossy(&out.stdout);
    let unread = junit
        .split("<testsuite ")
        .find(|suite| suite.contains("input.unread"))
        .unwrap_or_else(|| panic!("no suite for the unread input: {junit}"));
    assert!(unread.contains(r#"errors="1""#), "{unread}");
    assert!(unread.contains("cannot read the message"), "{unread}");

    args.extend(["--format", "jsonl"]);
    let out = mailvet(&args).await;
    assert_eq!(out.status.code(), Some(2));
    let lines = lines(&out);
    assert_eq!(lines.len(), 2, "{lines:?}");
    let by_input: BTreeMap<&str, &Value> = lines
        .iter()
        .map(|l| (l["input"].as_str().unwrap(), l))
        .collect();
    assert!(
        by_input[missing.as_str()]["error"]
            .as_str()
            .unwrap()
            .contains("cannot read the message")
    );
    assert!(by_input[missing.as_str()].get("report").is_none());
    assert!(by_input[good.as_str()]["report"].is_object());
}

/// A domain given twice, in any case, is audited and written once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_domain_given_twice_is_audited_once() {
    let dns = TestDns::start(&[Path::new("fixtures/audit/healthy.zone")]).await;
    let server = dns.dns_arg();
    let out = mailvet(&[
        "domain",
        "healthy.test",
        "HEALTHY.test.",
        "--dns",
        &server,
        "--format",
        "jsonl",
    ])
    .await;
    let lines = lines(&out);
    let inputs: Vec<&str> = lines.iter().map(|l| l["input"].as_str().unwrap()).collect();
    assert_eq!(inputs, ["healthy.test"]);
}

/// An empty file is no message: refused with exit 2 naming it, as `POST
/// /v1/messages` refuses an empty body, never verified as one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_empty_message_file_is_refused() {
    let dir = ScratchDir::new("batch-empty");
    let empty = dir.join("empty.eml");
    std::fs::write(&empty, "").unwrap();
    let path = empty.display().to_string();
    let out = mailvet(&["message", &path, "--offline", "--ip", "192.0.2.1"]).await;
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("empty.eml") && stderr.contains("the message is empty"),
        "{stderr}"
    );
    assert!(out.stdout.is_empty(), "no report for it");
}
