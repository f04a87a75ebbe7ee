//! The `mailvet` binary as a user runs it, against the test DNS server.

use crate::support;
use crate::support::scratch::ScratchDir;

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
async fn spf_jsonl_is_one_line_naming_the_identity_checked() {
    let server = TestDns::start(&[Path::new(SOME_TEST)]).await;
    let dns = server.dns_arg();
    let out = mailvet_line(&format!(
        "spf --ip 192.0.2.1 --mail-from user@some.test --dns {dns} --format jsonl"
    ))
    .await;
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect();
    assert_eq!(lines.len(), 1, "{text}");
    assert_eq!(lines[0]["input"], "user@some.test", "{text}");
    assert_eq!(lines[0]["report"]["result"], "fail", "{text}");

    let helo = mailvet_line(&format!(
        "spf --ip 192.0.2.1 --helo mail.some.test --dns {dns} --format jsonl"
    ))
    .await;
    let line: Value = serde_json::from_slice(&helo.stdout).expect("one JSON line");
    assert_eq!(line["input"], "postmaster@mail.some.test", "{line}");
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
    // A DNS failure is a warning finding, and the check is undecided: exit
    // 3 (run again), never the 0 of a pass, whatever --fail-on says.
    assert_eq!(out.status.code(), Some(3));
}

/// A --dns address where nothing listens fails every question the same
/// way; the reports say each lookup failed, and standard error says the
/// server never answered and names the flag to check. A server that
/// answers gets no such line.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dns_server_that_never_answers_is_named_with_its_flag() {
    let closed = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let address = closed.local_addr().unwrap();
    drop(closed);
    let out = mailvet_line(&format!(
        "spf --ip 192.0.2.1 --mail-from user@some.test --dns {address} --dns-timeout 300ms"
    ))
    .await;
    assert_eq!(out.status.code(), Some(3));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.starts_with("mailvet: no DNS server answered any question (last: network error: ")
            && stderr.contains(&format!("check --dns {address}, or check offline")),
        "{stderr}"
    );

    let server = TestDns::start(&[Path::new(SOME_TEST)]).await;
    let out = mailvet_line(&format!(
        "spf --ip 192.0.2.1 --mail-from user@some.test --dns {}",
        server.dns_arg()
    ))
    .await;
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
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

/// Runs mailvet with these arguments and environment, at most 20 s (a
/// file that makes it hang fails the test instead of stalling it).
async fn mailvet_args(args: &[&str], env: &[(&str, &str)]) -> Output {
    let run = tokio::process::Command::new(env!("CARGO_BIN_EXE_mailvet"))
        .args(args)
        .env("NO_COLOR", "1")
        .env_remove("MAILVET_DNS")
        .envs(env.iter().copied())
        .kill_on_drop(true)
        .output();
    tokio::time::timeout(Duration::from_secs(20), run)
        .await
        .unwrap_or_else(|_| panic!("mailvet {args:?} hung"))
        .expect("run mailvet")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_zone_that_is_a_secret_is_refused_without_quoting_it() {
    let dir = ScratchDir::new("secret-zone");
    let environ = dir.join("environ.zone");
    std::os::unix::fs::symlink("/proc/self/environ", &environ).unwrap();
    let secret = "hunter2-do-not-print-me";
    let env = [("MAILVET_TEST_SECRET", secret)];
    for args in [
        vec!["domain", "x.test", "--offline", "--zone"],
        vec![
            "spf",
            "--ip",
            "192.0.2.1",
            "--helo",
            "x.test",
            "--offline",
            "--zone",
        ],
        vec![
            "check",
            "--config",
            "fixtures/check/good.toml",
            "--offline",
            "--zone",
        ],
    ] {
        let mut args = args.clone();
        args.push(environ.to_str().unwrap());
        let out = mailvet_args(&args, &env).await;
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(!stderr.contains(secret), "{stderr}");
        assert!(!stderr.contains("PATH="), "{stderr}");
        assert!(stderr.contains("holds a NUL byte"), "{stderr}");
    }

    // A file that is text but no zone: only a short excerpt of it.
    let dotenv = dir.join("dotenv.zone");
    std::fs::write(&dotenv, format!("TOKEN={secret}{secret}{secret}\x1b[2J\n")).unwrap();
    let out = mailvet_args(
        &[
            "domain",
            "x.test",
            "--offline",
            "--zone",
            dotenv.to_str().unwrap(),
        ],
        &[],
    )
    .await;
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr.contains("dotenv.zone:1:"), "{stderr}");
    assert!(!stderr.contains(&format!("{secret}{secret}")), "{stderr}");
    assert!(!stderr.contains('\x1b'), "{stderr}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn devices_pipes_and_huge_files_are_refused_at_once() {
    let dir = ScratchDir::new("devices");
    let fifo = dir.join("pipe");
    assert!(
        std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap()
            .success()
    );
    let fifo = fifo.to_str().unwrap();
    let big_zone = dir.join("big.zone");
    let mut text = String::from("$ORIGIN big.test.\n$TTL 60\n");
    while text.len() <= 4 * 1024 * 1024 {
        text.push_str("a IN TXT \"0123456789012345678901234567890123456789\"\n");
    }
    std::fs::write(&big_zone, text).unwrap();
    let big_zone = big_zone.to_str().unwrap();
    let big_config = dir.join("big.toml");
    std::fs::write(&big_config, "# padding\n".repeat(110_000)).unwrap();
    let big_config = big_config.to_str().unwrap();
    let message = dir.join("big.eml");
    std::fs::write(&message, vec![b'x'; 2048]).unwrap();
    let message = message.to_str().unwrap();

    let cases: Vec<(Vec<&str>, &str)> = vec![
        (
            vec!["domain", "x.test", "--offline", "--zone", "/dev/zero"],
            "character device",
        ),
        (
            vec!["domain", "x.test", "--offline", "--zone", fifo],
            "named pipe",
        ),
        (
            vec!["domain", "x.test", "--offline", "--zone", big_zone],
            "larger than 4 MiB",
        ),
        (
            vec!["domain", "--offline", "--file", "/dev/zero"],
            "character device",
        ),
        (vec!["domain", "--offline", "--file", fifo], "named pipe"),
        (
            vec!["domain", "x.test", "--offline", "--ca-file", "/dev/zero"],
            "character device",
        ),
        (
            vec!["check", "--offline", "--config", "/dev/zero"],
            "character device",
        ),
        (vec!["check", "--offline", "--config", fifo], "named pipe"),
        (
            vec!["check", "--offline", "--config", big_config],
            "larger than 1 MiB",
        ),
        (
            vec!["message", "--offline", "/dev/zero"],
            "character device",
        ),
        (vec!["message", "--offline", fifo], "named pipe"),
        (
            vec![
                "message",
                "--offline",
                "--max-message-size",
                "1024",
                message,
            ],
            "larger than 1 KiB",
        ),
        (
            vec!["message", "--offline", "--zone", "/", message],
            "a directory",
        ),
    ];
    for (args, says) in cases {
        let out = mailvet_args(&args, &[]).await;
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(says), "{args:?}: {stderr}");
    }

    // Standard input is capped the same way.
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_mailvet"))
        .args(["message", "--offline", "--max-message-size", "1024", "-"])
        .stdin(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    // More than the cap, and the pipe stays open: mailvet must stop reading.
    tokio::io::AsyncWriteExt::write_all(&mut stdin, &[b'x'; 4096])
        .await
        .unwrap();
    let out = tokio::time::timeout(Duration::from_secs(20), child.wait_with_output())
        .await
        .expect("stopped reading at the cap")
        .unwrap();
    drop(stdin);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("standard input"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn errors_about_bad_files_show_control_characters_escaped() {
    let dir = ScratchDir::new("escaped-errors");
    let config = dir.join("m.toml");
    std::fs::write(
        &config,
        "[[domain]]\nname = \"ex.test\"\n[domain.dmarc]\npolicy = \"\\u001b]0;owned\\u0007\\u001b[2J\"\n",
    )
    .unwrap();
    let zone = dir.join("z.zone");
    std::fs::write(&zone, "$ORIGIN z.test.\n$TTL 60\nwww A 1.2.3.4\x1b[2J\n").unwrap();
    let list = dir.join("domains.txt");
    std::fs::write(&list, "ok.test\nbad\x1b]0;title\x07.test\n").unwrap();
    for (args, says) in [
        (
            vec!["check", "--offline", "--config", config.to_str().unwrap()],
            "`\\u{1b}]0;owned\\u{7}\\u{1b}[2J` is not a DMARC policy",
        ),
        (
            vec![
                "domain",
                "z.test",
                "--offline",
                "--zone",
                zone.to_str().unwrap(),
            ],
            "`1.2.3.4\\u{1b}[2J` is not an IPv4 address",
        ),
        (
            vec!["domain", "--offline", "--file", list.to_str().unwrap()],
            "domains.txt:2: `bad\\u{1b}]0;title\\u{7}.test` is not a domain name",
        ),
        (
            vec!["domain", "--offline", "bad\x1b[2J.test"],
            "`bad\\u{1b}[2J.test` is not a domain name",
        ),
    ] {
        let out = mailvet_args(&args, &[]).await;
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{stderr}");
        assert!(stderr.contains(says), "{stderr}");
        assert!(
            !stderr.trim_end().chars().any(mailvet::untrusted::is_unsafe),
            "{stderr:?}"
        );
    }
}

/// Flag values are read as people write them, or refused saying what to
/// write: a size takes a unit (1KiB is 1024 bytes, and a larger message is
/// refused under it), a count is digits only, an address to listen on is
/// an address and a port.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn flag_values_are_read_as_written_or_taught() {
    let dir = ScratchDir::new("flag-values");
    let message = dir.join("big.eml");
    let body = "x".repeat(2000);
    std::fs::write(&message, format!("From: a@b.test\r\n\r\n{body}\r\n")).unwrap();
    let message = message.to_str().unwrap();
    let out = mailvet_args(
        &[
            "message",
            "--offline",
            "--max-message-size",
            "1KiB",
            message,
        ],
        &[],
    )
    .await;
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("--max-message-size sets the limit"),
        "{stderr}"
    );
    let out = mailvet_args(
        &[
            "message",
            "--offline",
            "--max-message-size",
            "1MiB",
            message,
        ],
        &[],
    )
    .await;
    assert!(
        !String::from_utf8_lossy(&out.stderr).contains("limit"),
        "{out:?}"
    );

    for (args, says) in [
        (
            vec!["domain", "a.test", "--max-dns-questions", "10,000"],
            "`10,000` is not a whole number from 1 to 1000000; write digits only, e.g. 10000",
        ),
        (
            vec!["serve", "--listen", "8081"],
            "`8081` is a port alone; write an address and the port, e.g. 127.0.0.1:8081",
        ),
        (
            vec!["message", "--ip", "mail.web.test", message],
            "`mail.web.test` is not an IP address",
        ),
        (
            vec!["spf", "--ip", "192.0.2.1", "--helo", "mail\x1b[2J.test"],
            "is not a HELO name: it contains a control character",
        ),
    ] {
        let out = mailvet_args(&args, &[]).await;
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{stderr}");
        assert!(stderr.contains(says), "{stderr}");
    }
}

/// A --file listing no domain (empty, or comments only) is named as such,
/// not told to give --file.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_domain_list_without_domains_is_named() {
    let dir = ScratchDir::new("empty-list");
    let list = dir.join("domains.txt");
    std::fs::write(&list, "# to fill in\n\n").unwrap();
    let out = mailvet_args(
        &["domain", "--offline", "--file", list.to_str().unwrap()],
        &[],
    )
    .await;
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        format!(
            "mailvet: {}: the file lists no domain; write one domain per line (# starts a \
             comment)\n",
            list.display()
        )
    );
}

/// `mailvet reports import` on a scratch store (`--data-dir`), with the
/// input given on standard input when `stdin` is some.
async fn reports(args: &[&str], data: &Path, stdin: Option<Vec<u8>>) -> Output {
    let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_mailvet"));
    command
        .arg("reports")
        .args(args)
        .arg("--data-dir")
        .arg(data)
        .env("NO_COLOR", "1")
        .env_remove("MAILVET_DATABASE")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true);
    let mut child = command.spawn().expect("run mailvet");
    let mut input = child.stdin.take().unwrap();
    if let Some(bytes) = stdin {
        tokio::io::AsyncWriteExt::write_all(&mut input, &bytes)
            .await
            .unwrap();
    }
    drop(input);
    tokio::time::timeout(Duration::from_secs(30), child.wait_with_output())
        .await
        .unwrap_or_else(|_| panic!("mailvet reports {args:?} hung"))
        .unwrap()
}

fn files(value: &Value, list: &str) -> Vec<String> {
    value[list]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["file"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reports_import_counts_each_report_once_and_names_what_it_refused() {
    let dir = ScratchDir::new("reports-import");
    let data = dir.join("data");
    let inputs = dir.join("inputs");
    std::fs::create_dir_all(inputs.join("nested")).unwrap();
    for (from, to) in [
        ("aggregate/rfc7489-google.xml", "google.xml"),
        ("aggregate/rfc7489-google.xml.gz", "nested/google-again.gz"),
        ("aggregate/rfc9990.xml", "rfc9990.xml"),
        ("tls/microsoft.json", "nested/microsoft.json"),
        ("bad/truncated.xml", "truncated.xml"),
        ("bad/tls-without-report-id.json", "nested/no-id.json"),
    ] {
        std::fs::copy(Path::new("fixtures/reports").join(from), inputs.join(to)).unwrap();
    }
    let dir_arg = inputs.to_str().unwrap();
    let out = reports(&["import", dir_arg, "--format", "json"], &data, None).await;
    assert_eq!(out.status.code(), Some(2), "an input was refused");
    let v = json(&out);
    let shown = |name: &str| inputs.join(name).display().to_string();
    assert_eq!(
        files(&v, "imported"),
        [
            shown("google.xml"),
            shown("nested/microsoft.json"),
            shown("rfc9990.xml")
        ]
    );
    assert_eq!(files(&v, "duplicates"), [shown("nested/google-again.gz")]);
    assert_eq!(
        files(&v, "errors"),
        [shown("nested/no-id.json"), shown("truncated.xml")]
    );
    let google = &v["imported"][0];
    assert_eq!(google["kind"], "aggregate");
    assert_eq!(google["org_name"], "google.com");
    assert_eq!(google["report_id"], "6217466853112741101");
    assert_eq!(google["domain"], "example.com");
    assert_eq!(google["begin"], 1_764_288_000);
    assert_eq!(google["end"], 1_764_374_399);
    assert_eq!(google["records"], 3);
    assert_eq!(google["messages"], 162);
    let microsoft = &v["imported"][1];
    assert_eq!(microsoft["kind"], "tls");
    assert_eq!(
        (
            microsoft["records"].as_u64(),
            microsoft["messages"].as_u64()
        ),
        (Some(2), Some(15))
    );
    assert!(
        v["errors"][1]["error"]
            .as_str()
            .unwrap()
            .contains("the document ends before </feedback>"),
        "{}",
        v["errors"][1]
    );
    assert!(
        v["errors"][0]["error"]
            .as_str()
            .unwrap()
            .contains("no report-id")
    );

    // Again, and the same report from standard input: all duplicates.
    let again = reports(
        &["import", shown("google.xml").as_str(), "-"],
        &data,
        Some(std::fs::read("fixtures/reports/mail/aggregate-report.eml").unwrap()),
    )
    .await;
    assert_eq!(
        again.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&again.stderr)
    );
    let text = String::from_utf8(again.stdout).unwrap();
    assert!(
        text.contains("google.xml: duplicate, already stored: aggregate report from google.com"),
        "{text}"
    );
    assert!(text.contains("-: duplicate"), "{text}");
    assert!(
        text.ends_with("0 imported, 2 duplicates, 0 refused\n"),
        "{text}"
    );
}

/// Each import line says what the report held in words ("1 policy,
/// 5,629 sessions"); an empty input is refused as empty.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reports_import_words_what_each_report_held() {
    let dir = ScratchDir::new("reports-words");
    let data = dir.join("data");
    let out = reports(
        &["import", "fixtures/reports/tls/rfc8460.json"],
        &data,
        None,
    )
    .await;
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains(": 1 policy, 5,629 sessions\n"), "{text}");

    let empty = reports(&["import", "-"], &data, Some(Vec::new())).await;
    assert_eq!(empty.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&empty.stderr);
    assert!(
        stderr.contains("-: not a DMARC aggregate or TLS report: the input is empty"),
        "{stderr}"
    );
}

/// A report dated years ahead, one about several domains and one whose
/// policy domain is markup are refused, each named with the reason, and
/// the import exits 2 having stored none of them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reports_import_refuses_what_no_report_can_be() {
    let dir = ScratchDir::new("reports-unfit");
    let data = dir.join("data");
    let xml = std::fs::read_to_string("fixtures/reports/aggregate/rfc9990.xml").unwrap();
    let (begin, end) = (xml.find("<begin>").unwrap(), xml.find("</end>").unwrap());
    let year_9999 = format!(
        "{}<begin>253402214400</begin><end>253402300799{}",
        &xml[..begin],
        &xml[end..]
    );
    std::fs::write(dir.join("9999.xml"), year_9999).unwrap();
    let mut multi: Value =
        serde_json::from_slice(&std::fs::read("fixtures/reports/tls/rfc8460.json").unwrap())
            .unwrap();
    let mut other = multi["policies"][0].clone();
    other["policy"]["policy-domain"] = "other.example".into();
    multi["policies"].as_array_mut().unwrap().insert(0, other);
    std::fs::write(dir.join("multi.json"), multi.to_string()).unwrap();
    multi["policies"] = serde_json::json!([multi["policies"][1].clone()]);
    multi["policies"][0]["policy"]["policy-domain"] = "<script>alert(1)</script>".into();
    std::fs::write(dir.join("script.json"), multi.to_string()).unwrap();

    let path = |name: &str| dir.join(name).display().to_string();
    let (a, b, c) = (path("9999.xml"), path("multi.json"), path("script.json"));
    let out = reports(&["import", &a, &b, &c], &data, None).await;
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    for line in [
        format!(
            "mailvet: {a}: the report's period, 9999-12-31T00:00:00Z to 9999-12-31T23:59:59Z, \
             ends more than a day after it was received ("
        ),
        format!("mailvet: {b}: the TLS report has policies for `other.example` and `example.com`"),
        format!(
            "mailvet: {c}: the report's policy domain `<script>alert(1)</script>` is not a \
             domain name"
        ),
    ] {
        assert!(stderr.contains(&line), "{line}\n{stderr}");
    }
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.ends_with("0 imported, 0 duplicates, 3 refused\n"),
        "{stdout}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reports_import_refuses_pipes_at_once_and_skips_links_inside_directories() {
    let dir = ScratchDir::new("reports-pipes-links");
    let data = dir.join("data");
    let fifo = dir.join("f.xml");
    assert!(
        std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap()
            .success()
    );
    // Named on the command line, a pipe without a writer is refused, not
    // waited on.
    let out = tokio::time::timeout(
        Duration::from_secs(10),
        reports(&["import", fifo.to_str().unwrap()], &data, None),
    )
    .await
    .expect("a named pipe is refused at once");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("the report must be a regular file, and this is a named pipe"),
        "{stderr}"
    );

    // Inside a directory: a link out of the tree and a pipe are skipped,
    // and said to be; the regular file is imported.
    let tree = dir.join("tree");
    std::fs::create_dir_all(&tree).unwrap();
    let outside = dir.join("outside.xml");
    std::fs::copy("fixtures/reports/aggregate/rfc7489-google.xml", &outside).unwrap();
    std::os::unix::fs::symlink(&outside, tree.join("link.xml")).unwrap();
    std::fs::rename(&fifo, tree.join("pipe.xml")).unwrap();
    std::fs::copy(
        "fixtures/reports/aggregate/rfc9990.xml",
        tree.join("own.xml"),
    )
    .unwrap();
    let out = reports(
        &["import", tree.to_str().unwrap(), "--format", "json"],
        &data,
        None,
    )
    .await;
    assert_eq!(out.status.code(), Some(0));
    let v = json(&out);
    let shown = |name: &str| tree.join(name).display().to_string();
    assert_eq!(files(&v, "imported"), [shown("own.xml")]);
    assert_eq!(files(&v, "skipped"), [shown("link.xml"), shown("pipe.xml")]);
    assert!(
        v["skipped"][0]["reason"]
            .as_str()
            .unwrap()
            .starts_with("a symbolic link, not followed inside a directory"),
        "{}",
        v["skipped"][0]
    );
    assert_eq!(
        v["skipped"][1]["reason"],
        "a named pipe, not a regular file"
    );
    let text = reports(&["import", tree.to_str().unwrap()], &data, None).await;
    let text = String::from_utf8(text.stdout).unwrap();
    assert!(
        text.contains(&format!("{}: skipped, a symbolic link", shown("link.xml"))),
        "{text}"
    );
    assert!(
        text.ends_with("0 imported, 1 duplicates, 0 refused, 2 skipped\n"),
        "{text}"
    );

    // The link named on the command line is followed.
    let link = shown("link.xml");
    let out = reports(&["import", link.as_str(), "--format", "json"], &data, None).await;
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(files(&json(&out), "imported"), [link]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reports_import_refuses_a_zip_of_two_reports_and_stores_neither() {
    use support::zip::{ZipEntry, zip_archive};
    let dir = ScratchDir::new("reports-zip-two");
    let data = dir.join("data");
    let a = std::fs::read("fixtures/reports/aggregate/rfc9990.xml").unwrap();
    let b = std::fs::read("fixtures/reports/aggregate/rfc7489-google.xml").unwrap();
    let archive = dir.join("two.zip");
    std::fs::write(
        &archive,
        zip_archive(&[ZipEntry::stored("a.xml", &a), ZipEntry::stored("b.xml", &b)]),
    )
    .unwrap();
    let out = reports(&["import", archive.to_str().unwrap()], &data, None).await;
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stdout}{stderr}");
    assert!(
        stderr.contains("holds 2 reports (entries 1, 2)"),
        "{stderr}"
    );
    assert!(
        stdout.ends_with("0 imported, 0 duplicates, 1 refused\n"),
        "{stdout}"
    );
    // Neither report was stored: both import as new on their own.
    let out = reports(
        &[
            "import",
            "fixtures/reports/aggregate/rfc9990.xml",
            "fixtures/reports/aggregate/rfc7489-google.xml",
        ],
        &data,
        None,
    )
    .await;
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.ends_with("2 imported, 0 duplicates, 0 refused\n"),
        "{stdout}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reports_import_refuses_a_gzip_bomb_and_stores_nothing_of_it() {
    use std::io::Write;
    let dir = ScratchDir::new("reports-bomb");
    let data = dir.join("data");
    // One record repeated for 64 MiB: a few hundred KiB of gzip, over
    // the 50 MiB cap and far past the ratio of honest reports.
    let xml = std::fs::read_to_string("fixtures/reports/aggregate/rfc9990.xml").unwrap();
    let (start, end) = (
        xml.find("<record>").unwrap(),
        xml.find("</record>").unwrap() + "</record>".len(),
    );
    let bomb = dir.join("bomb.xml.gz");
    let mut encoder = flate2::write::GzEncoder::new(
        std::fs::File::create(&bomb).unwrap(),
        flate2::Compression::best(),
    );
    encoder.write_all(&xml.as_bytes()[..start]).unwrap();
    let record = &xml.as_bytes()[start..end];
    let mut written = 0;
    while written < 64 * 1024 * 1024 {
        encoder.write_all(record).unwrap();
        written += record.len();
    }
    encoder.write_all(&xml.as_bytes()[end..]).unwrap();
    encoder.finish().unwrap();
    assert!(std::fs::metadata(&bomb).unwrap().len() < 2 * 1024 * 1024);
    let good = "fixtures/reports/aggregate/quirks.xml";
    let out = reports(
        &["import", bomb.to_str().unwrap(), good, "--format", "json"],
        &data,
        None,
    )
    .await;
    assert_eq!(out.status.code(), Some(2));
    let v = json(&out);
    assert_eq!(files(&v, "imported"), [good]);
    let error = v["errors"][0]["error"].as_str().unwrap();
    assert!(
        error.contains("decompression bomb") || error.contains("once decompressed"),
        "{error}"
    );
    let summary = reports(
        &["summary", "example.com", "--offline", "--format", "json"],
        &data,
        None,
    )
    .await;
    assert_eq!(summary.status.code(), Some(0));
    let s = json(&summary);
    assert_eq!(s["reports"], 1, "only the good report is stored");
    assert_eq!(s["messages"], 5);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reports_summary_reads_the_period_back() {
    let dir = ScratchDir::new("reports-summary");
    let data = dir.join("data");
    // Before anything is imported there is no database to read: said,
    // exit 2, and none is created (a mistyped path is no empty store).
    let out = reports(&["summary", "brand.example", "--offline"], &data, None).await;
    assert_eq!(out.status.code(), Some(2));
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(said.contains("there is no database at "), "{said}");
    assert!(!data.exists(), "a read created the data directory");
    let imported = reports(
        &["import", "fixtures/reports/month", "--format", "json"],
        &data,
        None,
    )
    .await;
    assert_eq!(imported.status.code(), Some(0));
    let messages: u64 = json(&imported)["imported"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["messages"].as_u64().unwrap())
        .sum();
    let out = reports(
        &["summary", "brand.example", "--format", "json", "--offline"],
        &data,
        None,
    )
    .await;
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v = json(&out);
    assert_eq!(v["domain"], "brand.example");
    assert_eq!(v["messages"], messages);
    assert_eq!(v["days"].as_array().unwrap().len(), 30);
    assert_eq!(v["enforcement"]["reject"]["verdict"], "not_ready");
    let since = reports(
        &[
            "summary",
            "brand.example",
            "--since",
            "2026-11-16",
            "--format",
            "json",
            "--offline",
        ],
        &data,
        None,
    )
    .await;
    let v = json(&since);
    assert_eq!(v["days"][0]["day"], "2026-11-16");
    assert_eq!(v["previous_period"], true);
    let text = reports(
        &[
            "summary",
            "brand.example",
            "--offline",
            "--rua",
            "mailto:d@brand.example",
        ],
        &data,
        None,
    )
    .await;
    assert_eq!(text.status.code(), Some(0));
    let text = String::from_utf8(text.stdout).unwrap();
    assert!(text.contains("Ready for enforcement?"), "{text}");
    assert!(text.contains("in the way: SendGrid"), "{text}");
    assert!(text.contains("rua=mailto:d@brand.example"), "{text}");
    // 581 of 770 is 75.45 %, rounded once from the counts: not the 75.4 %
    // of a share rounded to 0.7545 first.
    assert!(text.contains("  2026-11-19         770   75.5 %"), "{text}");
    // A source nothing of whose mail authenticates is called spoofing.
    assert!(
        text.contains(
            "  198.18.7.7: 210 messages, 0.0 % pass DMARC, unauthenticated, looks like spoofing\n"
        ),
        "{text}"
    );
    let bad = reports(
        &["summary", "brand.example", "--since", "last week"],
        &data,
        None,
    )
    .await;
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("is not a date"));
}

/// A source whose mail carried the domain's own DKIM signature, broken on
/// the way, is forwarding, not spoofing; one day of reports is "1 day".
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reports_summary_does_not_call_a_forwarder_spoofing() {
    let dir = ScratchDir::new("summary-forwarder");
    let data = dir.join("data");
    let report = "fixtures/reports/aggregate/rfc9990.xml";
    let imported = reports(&["import", report], &data, None).await;
    assert_eq!(imported.status.code(), Some(0));
    let out = reports(&["summary", "example.org", "--offline"], &data, None).await;
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.contains("  198.51.100.7: 4 messages, 0.0 % pass DMARC, forwarded\n"),
        "{text}"
    );
    assert!(!text.contains("spoofing"), "{text}");
    assert!(
        text.contains("not enough data — 1 day and 1,004 messages of reports"),
        "{text}"
    );
}

/// One report is "1 aggregate report from 1 reporter"; with two DMARC
/// records published (receivers ignore both) the live record is invalid:
/// no record to publish is printed, the next step says to mend it, and
/// the exit code is 1, a problem found (3 is for a lookup that failed,
/// which running again may mend).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reports_summary_with_two_live_records_suggests_none_and_exits_1() {
    let dir = ScratchDir::new("summary-unreadable");
    let data = dir.join("data");
    let report = "fixtures/reports/month/google.com!brand.example!1793491200!1793577599.xml";
    let imported = reports(&["import", report], &data, None).await;
    assert_eq!(imported.status.code(), Some(0));
    let zone = dir.join("brand.example.zone");
    std::fs::write(
        &zone,
        "$ORIGIN brand.example.\n$TTL 3600\n@ IN SOA ns1 hostmaster 1 3600 600 86400 300\n\
         @ IN NS ns1\nns1 IN A 192.0.2.53\n\
         _dmarc IN TXT \"v=DMARC1; p=none; rua=mailto:a@brand.example\"\n\
         _dmarc IN TXT \"v=DMARC1; p=reject\"\n",
    )
    .unwrap();
    let out = reports(
        &[
            "summary",
            "brand.example",
            "--offline",
            "--zone",
            zone.to_str().unwrap(),
        ],
        &data,
        None,
    )
    .await;
    let text = String::from_utf8(out.stdout).unwrap();
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(
        text.contains("  1 aggregate report from 1 reporter: "),
        "{text}"
    );
    assert!(
        text.contains(
            "  published now: none that receivers use (2 DMARC records are \
             published at _dmarc.brand.example, so receivers ignore them all)"
        ),
        "{text}"
    );
    assert!(
        text.contains("  next: mend the DMARC record published now first (2 DMARC records"),
        "{text}"
    );
    assert!(!text.contains("publish: _dmarc"), "{text}");
}

/// When the lookup of the live record fails, nothing is suggested either,
/// and the exit code is 3: the DNS left it undecided, run it again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reports_summary_whose_live_record_lookup_fails_exits_3() {
    let dir = ScratchDir::new("summary-servfail");
    let data = dir.join("data");
    let report = "fixtures/reports/month/google.com!brand.example!1793491200!1793577599.xml";
    let imported = reports(&["import", report], &data, None).await;
    assert_eq!(imported.status.code(), Some(0));
    let dns = TestDns::start(&[Path::new("fixtures/reports/reverse.zone")]).await;
    dns.add_fault("_dmarc.brand.example", FaultTypes::All, FaultKind::ServFail);
    let out = reports(
        &["summary", "brand.example", "--dns", &dns.dns_arg()],
        &data,
        None,
    )
    .await;
    let text = String::from_utf8(out.stdout).unwrap();
    assert_eq!(out.status.code(), Some(3), "{text}");
    assert!(
        text.contains("  published now: unknown, the record could not be read (the DNS lookup of _dmarc.brand.example TXT failed"),
        "{text}"
    );
    assert!(!text.contains("publish: _dmarc"), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn domain_with_a_database_asks_the_selectors_reports_named() {
    let dir = ScratchDir::new("domain-learned");
    let data = dir.join("data");
    let report = "fixtures/reports/month/google.com!brand.example!1793491200!1793577599.xml";
    let imported = reports(&["import", report], &data, None).await;
    assert_eq!(imported.status.code(), Some(0));
    let url = mailvet::store::Store::default_url(&data);
    let zone = "fixtures/reports/brand.example.zone";
    let audit = |with_store: bool| {
        let mut args = vec![
            "domain",
            "brand.example",
            "--zone",
            zone,
            "--offline",
            "--format",
            "json",
        ];
        if with_store {
            args.extend(["--database", url.as_str()]);
        }
        args.iter().map(|a| a.to_string()).collect::<Vec<_>>()
    };
    let guessed = mailvet_args(
        &audit(false).iter().map(String::as_str).collect::<Vec<_>>(),
        &[],
    )
    .await;
    assert_eq!(json(&guessed)["dkim"]["status"], "unknown");
    let learned = mailvet_args(
        &audit(true).iter().map(String::as_str).collect::<Vec<_>>(),
        &[],
    )
    .await;
    let v = json(&learned);
    assert_eq!(v["dkim"]["status"], "found", "{}", v["dkim"]);
    assert_eq!(
        v["dkim"]["selectors_checked"],
        serde_json::json!(["google", "ses2026"])
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_record_written_twice_in_a_zone_file_is_one_record() {
    let dir = ScratchDir::new("twice-zone");
    let zone = dir.join("web.test.zone");
    std::fs::write(
        &zone,
        "$ORIGIN web.test.\n$TTL 300\n@ IN TXT \"v=spf1 mx -all\"\n@ IN TXT \"v=spf1 mx -all\"\n",
    )
    .unwrap();
    let zone = zone.display().to_string();
    let out = mailvet_args(
        &[
            "spf",
            "--ip",
            "192.0.2.1",
            "--mail-from",
            "a@web.test",
            "--offline",
            "--zone",
            &zone,
            "--format",
            "json",
        ],
        &[],
    )
    .await;
    let report = json(&out);
    assert_eq!(report["result"], "fail", "{report:#}");
    assert_eq!(
        support::api::finding_codes(&report),
        ["spf.fail"],
        "{report:#}"
    );
}

/// Zone files as a DNS provider's export or BIND's dump writes them: a
/// byte-order mark, `$ORIGIN .` before the SOA, a key split over
/// strings. The SOA owner is the zone, so names outside it still go to
/// DNS; two files for one zone are refused whatever their order.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn zone_files_are_read_as_a_server_would_load_them() {
    let server = TestDns::start(&[Path::new(SOME_TEST)]).await;
    let dns = server.dns_arg();
    let dir = ScratchDir::new("dump-zone");
    let write = |name: &str, text: &str| {
        let path = dir.join(name);
        std::fs::write(&path, text).unwrap();
        path.display().to_string()
    };
    let dump = write(
        "dump.zone",
        "\u{FEFF}$ORIGIN .\n$TTL 300\nweb.test IN SOA ns1.web.test. h.web.test. 1 1 1 1 1\n\
         web.test IN TXT \"v=spf1 include:some.test -all\"\n$ORIGIN web.test.\nwww A 192.0.2.9\n",
    );
    let spf = |zones: Vec<String>| {
        let dns = dns.clone();
        async move {
            let mut args = vec![
                "spf".to_string(),
                "--ip".into(),
                "192.0.2.1".into(),
                "--mail-from".into(),
                "a@web.test".into(),
                "--dns".into(),
                dns,
                "--format".into(),
                "json".into(),
            ];
            for zone in zones {
                args.extend(["--zone".to_string(), zone]);
            }
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            mailvet_args(&args, &[]).await
        }
    };
    // some.test is asked of the DNS server, not answered NXDOMAIN by a
    // zone that would cover the whole DNS.
    let out = spf(vec![dump.clone()]).await;
    let report = json(&out);
    assert_ne!(report["result"], "permerror", "{report:#}");
    assert!(
        !support::api::finding_codes(&report).contains(&"spf.include_missing".to_string()),
        "{report:#}"
    );

    let other = write(
        "other.zone",
        "$ORIGIN web.test.\n$TTL 300\n@ TXT \"v=spf1 +all\"\n",
    );
    for zones in [
        vec![dump.clone(), other.clone()],
        vec![other.clone(), dump.clone()],
    ] {
        let out = spf(zones).await;
        assert_eq!(out.status.code(), Some(2));
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.contains("are both zone files for web.test.; put its records in one file"),
            "{stderr}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_file_that_cannot_be_read_is_named_once() {
    let missing = ScratchDir::new("missing-message").join("nonexistent.eml");
    let path = missing.display().to_string();
    let out = mailvet_args(&["message", &path, "--offline"], &[]).await;
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.starts_with(&format!("mailvet: {path}: cannot read the message: ")),
        "{stderr}"
    );
    assert_eq!(stderr.matches(path.as_str()).count(), 1, "{stderr}");

    let out = mailvet_args(&["message", &path, "--offline", "--format", "jsonl"], &[]).await;
    let line: Value = serde_json::from_slice(&out.stdout).expect("one JSON line");
    assert_eq!(line["input"], path.as_str());
    let error = line["error"].as_str().unwrap();
    assert!(error.starts_with("cannot read the message: "), "{error}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_spf_fix_never_lists_a_client_address_that_is_not_public() {
    let dir = support::store::TempDir::new("spf-fix");
    let zone = dir.0.join("nospf.test.zone");
    std::fs::write(
        &zone,
        "$ORIGIN nospf.test.\n$TTL 3600\n@ IN SOA ns1 hostmaster 1 3600 600 86400 300\n\
         @ IN NS ns1\nns1 IN A 192.0.2.53\n",
    )
    .unwrap();
    let server = TestDns::start(&[Path::new(SOME_TEST), &zone]).await;
    let dns = server.dns_arg();
    // (client IP, envelope sender, the SPF finding, the term a fix may list)
    let cases = [
        ("10.1.2.3", "user@some.test", "spf.fail", None),
        ("127.0.0.1", "user@nospf.test", "spf.missing", None),
        ("100.64.0.9", "user@some.test", "spf.fail", None),
        ("fe80::1", "user@nospf.test", "spf.missing", None),
        ("0.0.0.0", "user@some.test", "spf.fail", None),
        (
            "192.0.2.1",
            "user@some.test",
            "spf.fail",
            Some("ip4:192.0.2.1"),
        ),
        (
            "2001:db8::7",
            "user@nospf.test",
            "spf.missing",
            Some("ip6:2001:db8::7"),
        ),
    ];
    for (ip, mail_from, code, term) in cases {
        let out = mailvet_line(&format!(
            "message fixtures/messages/clean-bulk.eml --ip {ip} --mail-from {mail_from} \
             --dns {dns} --format json"
        ))
        .await;
        let report = json(&out);
        let finding = report["findings"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["code"] == code)
            .unwrap_or_else(|| panic!("{ip}: no {code} in {report:#}"));
        let fix = finding["fix"].as_str().unwrap();
        match term {
            Some(term) => assert!(fix.contains(term), "{ip}: {fix}"),
            None => {
                assert!(
                    !fix.contains("ip4:") && !fix.contains("ip6:"),
                    "{ip}: {fix}"
                );
                assert!(
                    fix.contains(&format!("{ip} is not a public address"))
                        && fix.contains("send it through your real outgoing server"),
                    "{ip}: {fix}"
                );
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reports_tls_url_prints_one_url_per_domain_until_replaced() {
    let dir = ScratchDir::new("reports-tls-url");
    let data = dir.join("data");
    let ask = |extra: &'static [&'static str]| {
        let data = data.clone();
        async move {
            let mut args = vec![
                "tls-url",
                "Example.COM.",
                "--base-url",
                "https://Mailvet.Example:8443/",
            ];
            args.extend_from_slice(extra);
            let out = reports(&args, &data, None).await;
            assert_eq!(
                out.status.code(),
                Some(0),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
            out
        }
    };
    let first = json(&ask(&["--format", "json"]).await);
    assert_eq!(first["domain"], "example.com");
    assert_eq!(first["name"], "_smtp._tls.example.com");
    let url = first["url"].as_str().unwrap();
    let token = url
        .strip_prefix("https://mailvet.example:8443/v1/reports/tls/")
        .unwrap_or_else(|| panic!("{url}"));
    assert_eq!(token.len(), 32, "{url}");
    assert!(token.bytes().all(|b| b.is_ascii_hexdigit()), "{url}");
    assert_eq!(first["record"], format!("v=TLSRPTv1; rua={url}"));
    assert_eq!(json(&ask(&["--format", "json"]).await), first, "stable");

    let text = String::from_utf8(ask(&[]).await.stdout).unwrap();
    assert_eq!(
        text,
        format!(
            "TLS reports about example.com are taken at {url}\n\
             Publish: _smtp._tls.example.com. IN TXT \"v=TLSRPTv1; rua={url}\"\n"
        )
    );

    let replaced = json(&ask(&["--replace", "--format", "json"]).await);
    assert_ne!(replaced["url"], first["url"]);
    assert_eq!(json(&ask(&["--format", "json"]).await), replaced, "kept");

    for base in [
        "http://mailvet.example",
        "https://mailvet.example/reports",
        "mailvet.example",
        "https://user@mailvet.example",
    ] {
        let out = reports(&["tls-url", "example.com", "--base-url", base], &data, None).await;
        assert_eq!(out.status.code(), Some(2), "{base}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains("https://mailvet.example.com"), "{stderr}");
    }
    // `serve --base-url` takes the same URLs: it refuses to start.
    let serve = mailvet_line("serve --listen 127.0.0.1:0 --base-url http://mailvet.example").await;
    assert_eq!(serve.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&serve.stderr);
    assert!(stderr.contains("is not https://"), "{stderr}");
    // An address is printed, with a warning that no reporter reaches it.
    let local = reports(
        &[
            "tls-url",
            "example.com",
            "--base-url",
            "https://127.0.0.1:8443",
        ],
        &data,
        None,
    )
    .await;
    assert_eq!(local.status.code(), Some(0));
    let stderr = String::from_utf8_lossy(&local.stderr);
    assert!(
        stderr.starts_with("mailvet: warning: 127.0.0.1 is an address or a local name"),
        "{stderr}"
    );
    assert!(String::from_utf8_lossy(&ask(&[]).await.stderr).is_empty());
}

/// `--offline` sends nothing to the network, so what would connect out
/// is refused with it at once: the SMTP probe, and a server that lets
/// requests ask for it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn what_connects_out_cannot_be_asked_for_offline() {
    for (args, said) in [
        (
            &["domain", "some.test", "--offline", "--probe-smtp"][..],
            "the argument '--offline' cannot be used with '--probe-smtp'",
        ),
        (
            &[
                "serve",
                "--listen",
                "127.0.0.1:0",
                "--offline",
                "--allow-probe",
            ][..],
            "--allow-probe lets requests connect to MX hosts, and --offline sends nothing to \
             the network: give one of them",
        ),
    ] {
        let out = mailvet_args(args, &[]).await;
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(said), "{args:?}: {stderr}");
    }
}

/// `serve` warns at startup when `--base-url` names an address or a local
/// name, which no reporter on the internet could post to over HTTPS; a
/// public name starts without a warning.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_warns_at_startup_about_a_base_url_no_reporter_reaches() {
    let warnings = |server: &crate::hostile::Server| -> Vec<Value> {
        server
            .startup
            .iter()
            .filter(|event| event["level"] == "WARN")
            .cloned()
            .collect()
    };
    for (base, host) in [
        ("https://10.1.2.3:8443", Some("10.1.2.3")),
        ("https://[2001:db8::7]", Some("2001:db8::7")),
        ("https://mailvet", Some("mailvet")),
        ("https://mailvet.example.com", None),
    ] {
        let dns = TestDns::start(&[Path::new(SOME_TEST)]).await;
        let flags = ["--base-url".to_string(), base.to_string()];
        let server = crate::hostile::Server::start(dns, &flags).await;
        let warned = warnings(&server);
        match host {
            Some(host) => {
                assert_eq!(warned.len(), 1, "{base}: {warned:?}");
                assert_eq!(warned[0]["host"], host, "{base}: {warned:?}");
                let message = warned[0]["message"].as_str().unwrap_or_default();
                assert!(
                    message.starts_with("--base-url names an address or a local name"),
                    "{base}: {message}"
                );
            }
            None => assert!(warned.is_empty(), "{base}: {warned:?}"),
        }
    }
}

/// A store that cannot be opened stops startup with exit 2, naming the
/// flag that chose it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_store_that_cannot_be_opened_names_the_flag_that_chose_it() {
    let scratch = ScratchDir::new("store-flag");
    let file = scratch.join("a-file");
    std::fs::write(&file, "not a directory").unwrap();
    let data_dir = format!("--data-dir={}", file.display());
    let database = format!("--database=sqlite://{}", file.join("mailvet.db").display());
    for (flags, named) in [
        (vec![data_dir.as_str()], "--data-dir: "),
        (vec![database.as_str()], "--database: "),
        (vec![data_dir.as_str(), database.as_str()], "--database: "),
    ] {
        let out = mailvet_args(
            &[&["serve", "--listen", "127.0.0.1:0"], flags.as_slice()].concat(),
            &[],
        )
        .await;
        assert_eq!(out.status.code(), Some(2), "{flags:?}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(named), "{flags:?}: {stderr}");
        assert!(stderr.contains("a-file"), "{flags:?}: {stderr}");
    }
    let out = mailvet_args(
        &["serve", "--listen", "127.0.0.1:0"],
        &[("HOME", file.to_str().unwrap()), ("XDG_DATA_HOME", "")],
    )
    .await;
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("the default database (--data-dir, --database): "),
        "{stderr}"
    );
}

/// `--offline` answers NXDOMAIN outside the `--zone` files; a domain
/// named there is audited all the same (it is what `--offline` means), and
/// standard error says why its records read as missing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn offline_warns_about_a_domain_outside_every_zone() {
    let offline = |domains: &'static [&'static str]| async move {
        let mut args = vec!["domain"];
        args.extend_from_slice(domains);
        args.extend(["--offline", "--zone", "fixtures/audit/healthy.zone"]);
        mailvet_args(&args, &[]).await
    };
    let out = offline(&["example.org", "healthy.test"]).await;
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        stderr,
        "mailvet: warning: example.org is in no --zone file, and --offline asks no DNS server: \
         every name there is NXDOMAIN, so its records read as missing\n"
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("healthy.test"), "{stdout}");
    let covered = offline(&["healthy.test"]).await;
    assert!(covered.stderr.is_empty(), "{covered:?}");
}

/// A `--zone` file holding no name of the domains checked is named on
/// standard error, online or not: a wrong $ORIGIN or a misspelled domain
/// otherwise passes silently, checking live DNS instead of the change.
/// A zone at or under a checked domain is not named.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_zone_holding_no_checked_name_is_named() {
    let out = mailvet_args(
        &[
            "domain",
            "example.org",
            "--offline",
            "--zone",
            "fixtures/audit/healthy.zone",
        ],
        &[],
    )
    .await;
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.starts_with(
            "mailvet: warning: fixtures/audit/healthy.zone (origin healthy.test.) holds no \
             name of example.org: its records are read only where a checked record points \
             into it (an include: or MX target); check its $ORIGIN, or the domain you name\n"
        ),
        "{stderr}"
    );
    let dir = ScratchDir::new("zone-under-domain");
    let under = dir.join("dmarc.zone");
    std::fs::write(
        &under,
        "$ORIGIN _dmarc.healthy.test.\n@ 300 IN SOA ns h 1 3600 600 86400 300\n\
         @ 300 IN TXT \"v=DMARC1; p=none\"\n",
    )
    .unwrap();
    let under = under.to_str().unwrap();
    let out = mailvet_args(
        &[
            "domain",
            "healthy.test",
            "--offline",
            "--zone",
            "fixtures/audit/healthy.zone",
            "--zone",
            under,
        ],
        &[],
    )
    .await;
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A reader that leaves (`| head`) ends the run quietly with the report's
/// exit code; a standard output that cannot be written (a full disk) is
/// said, exit 2; neither panics, in any format.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn standard_output_that_fails_is_no_panic() {
    let healthy = "fixtures/audit/healthy.zone";
    for format in ["text", "json", "jsonl", "junit", "sarif"] {
        let args = [
            "domain",
            "healthy.test",
            "--offline",
            "--zone",
            healthy,
            "--format",
            format,
        ];
        let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_mailvet"))
            .args(args)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        drop(child.stdout.take());
        let left = tokio::time::timeout(Duration::from_secs(20), child.wait_with_output())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(left.status.code(), Some(0), "{format}");
        assert_eq!(String::from_utf8_lossy(&left.stderr), "", "{format}");

        let full = std::process::Command::new(env!("CARGO_BIN_EXE_mailvet"))
            .args(args)
            .stdout(std::fs::File::create("/dev/full").unwrap())
            .output()
            .unwrap();
        assert_eq!(full.status.code(), Some(2), "{format}");
        let said = String::from_utf8_lossy(&full.stderr);
        assert_eq!(
            said.trim_end(),
            "mailvet: cannot write to standard output: No space left on device (os error 28)",
            "{format}"
        );
    }
}

/// --offline fetches no MTA-STS policy by choice: the audit is judged on
/// the rest and says so, where it was undecided and exited 3 ("run it
/// again", which can never help); a check expecting the policy's mode
/// stays unknown, saying to run online.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_offline_audit_judges_mta_sts_on_its_record() {
    let zone = "fixtures/audit/mta-sts.zone";
    let audit = format!("domain healthy.mta-sts.test --offline --zone {zone}");
    let out = mailvet_line(&audit).await;
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(
        text.contains("MTA-STS  valid record; its policy is not fetched (--offline)"),
        "{text}"
    );
    let report = json(&mailvet_line(&format!("{audit} --format json")).await);
    assert_eq!(report["mta_sts"]["policy"]["status"], "not_fetched");
    assert_eq!(report["undecided"], serde_json::json!([]));

    let dir = ScratchDir::new("offline-sts");
    let config = dir.join("sts.toml");
    std::fs::write(
        &config,
        "[[domain]]\nname = \"healthy.mta-sts.test\"\nmta_sts = \"enforce\"\n",
    )
    .unwrap();
    let out = mailvet_line(&format!(
        "check --config {} --offline --zone {zone}",
        config.display()
    ))
    .await;
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(3), "{text}");
    assert!(
        text.contains("is not fetched under --offline; run without it to judge its mode"),
        "{text}"
    );
    assert!(!text.contains("retry"), "{text}");
}

/// RFC 8616 §4: a MAIL FROM or HELO domain in Unicode is looked up as its
/// A-label, as the domain audit already did.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_unicode_envelope_domain_is_looked_up_as_its_a_label() {
    let dir = ScratchDir::new("idn-spf");
    let zone = dir.join("idn.zone");
    std::fs::write(
        &zone,
        "$ORIGIN xn--bcher-kva.test.\n$TTL 300\n\
         @ IN SOA ns.test. h.test. 1 3600 600 86400 300\n\
         @ IN TXT \"v=spf1 ip4:192.0.2.1 -all\"\n",
    )
    .unwrap();
    let zone = zone.to_str().unwrap();
    for identity in ["--mail-from news@bücher.test", "--helo Bücher.test"] {
        let out = mailvet_line(&format!(
            "spf --ip 192.0.2.1 {identity} --zone {zone} --offline --format json"
        ))
        .await;
        let report = json(&out);
        assert_eq!(report["result"], "pass", "{report:#}");
        assert_eq!(report["domain"], "xn--bcher-kva.test");
    }
}

/// A value refused that came from a MAILVET_* variable names the
/// variable, not a flag the command line does not hold.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_value_from_the_environment_names_its_variable() {
    let spf = [
        "spf",
        "--ip",
        "192.0.2.1",
        "--mail-from",
        "a@x.test",
        "--offline",
    ];
    let out = mailvet_args(&spf, &[("MAILVET_DNS", "bogus")]).await;
    assert_eq!(out.status.code(), Some(2));
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(
        said.contains("for 'MAILVET_DNS (the environment variable of --dns <IP[:PORT]>)'"),
        "{said}"
    );
    // Given on the command line too, the flag's value is the one refused.
    let mut flagged = spf.to_vec();
    flagged.extend(["--dns", "also-bogus"]);
    let out = mailvet_args(&flagged, &[("MAILVET_DNS", "bogus")]).await;
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(said.contains("for '--dns <IP[:PORT]>'"), "{said}");
}

/// RFC 1035 §2.3.4: below a domain near the 253-octet limit, `_mta-sts.`,
/// `_smtp._tls.`, `default._bimi.` and the DKIM key names are too long to
/// exist, so nothing is published there: missing, never a lookup that
/// failed and an audit to run again (exit 3).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn names_too_long_to_exist_hold_no_record() {
    let domain = format!(
        "{}.{}.{}.{}.test",
        "a".repeat(63),
        "b".repeat(63),
        "c".repeat(63),
        "d".repeat(48)
    );
    assert_eq!(domain.len(), 245);
    let dir = ScratchDir::new("long-name");
    let zone = dir.join("long.zone");
    std::fs::write(
        &zone,
        format!(
            "$ORIGIN {domain}.\n$TTL 300\n@ IN SOA ns.test. h.test. 1 3600 600 86400 300\n\
             @ IN TXT \"v=spf1 -all\"\n@ IN MX 0 .\n\
             _dmarc IN TXT \"v=DMARC1; p=reject; rua=mailto:d@{domain}\"\n"
        ),
    )
    .unwrap();
    let out = mailvet_line(&format!(
        "domain {domain} --offline --zone {} --format json",
        zone.display()
    ))
    .await;
    let report = json(&out);
    assert_eq!(report["undecided"], serde_json::json!([]), "{report:#}");
    for section in ["mta_sts", "tls_rpt", "bimi"] {
        assert_eq!(report[section]["status"], "missing", "{section}");
    }
    // Unknown only as without a selector given: no lookup failed.
    let dkim = report["dkim"]["summary"].as_str().unwrap();
    assert!(
        dkim.contains("no DKIM key at the 27 common selectors"),
        "{dkim}"
    );
    assert_eq!(out.status.code(), Some(0), "{report:#}");
}
