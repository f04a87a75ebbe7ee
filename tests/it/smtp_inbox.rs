//! The send-a-test inbox over SMTP: a real client on a real socket
//! delivers to a receiver that asks the test DNS server and saves into a
//! real store, and the API shows what arrived.
//!
//! A message to a live test address gets the report `mailvet message`
//! gives with the same envelope, plus what only the receiver saw; every
//! refusal (a relay attempt, an unknown or used address, an oversized
//! message, too many bad commands, too many sessions or messages, a
//! silent client) gets its exact reply and leaves nothing stored. Behind
//! a balancer, the client a trusted PROXY header names is the one judged;
//! 100 sessions at once all arrive; replicas sharing a database receive
//! each other's addresses.

use crate::on_both_back_ends;
use crate::support;

use mail_auth::crypto::Ed25519Key;
use mail_auth::dkim::DkimSigner;
use mail_auth::headers::HeaderWriter;
use mailvet::message::Clock;
use mailvet::message::envelope::Envelope;
use mailvet::message::limits::MessageLimits;
use mailvet::message::report::{MessageRequest, report};
use mailvet::smtp::tls::{self, Certificate};
use mailvet::smtp::{SmtpLimits, proxy};
use std::sync::Arc;
use std::time::Duration;
use support::TestDns;
use support::inbox::{INBOX_DOMAIN, SmtpClient, TestInbox};
use support::store::{Backend, TempDir, TestDatabase};

/// The sending host of msg.test: in its SPF record, PTR mail.msg.test.
const SENDER_IP: &str = "192.0.2.10";
const HELO: &str = "mail.msg.test";
const BOUNCE: &str = "bounce@msg.test";

/// The newsletter fixture signed by msg.test (ed25519, selector `ed`),
/// and the fixture zones with that key published.
async fn signed_newsletter() -> (Vec<u8>, TestDns) {
    let pkcs8 = Ed25519Key::generate_pkcs8().unwrap();
    let key = Ed25519Key::from_pkcs8_der(&pkcs8).unwrap();
    let public = support::base64(&key.public_key());
    let message =
        String::from_utf8(std::fs::read("fixtures/messages/msg-test-newsletter.eml").unwrap())
            .unwrap()
            .replace("\r\n", "\n")
            .replace('\n', "\r\n");
    let signature = DkimSigner::from_key(key)
        .domain("msg.test")
        .selector("ed")
        .headers(["From", "To", "Subject", "Date", "Message-ID"])
        .sign(message.as_bytes())
        .unwrap();
    let signed = format!("{}{message}", signature.to_header());
    let mut zone = std::fs::read_to_string("fixtures/messages/messages.zone").unwrap();
    zone.push_str(&format!(
        "\ned._domainkey.msg.test. IN TXT \"v=DKIM1; k=ed25519; p={public}\"\n"
    ));
    let reverse = std::fs::read_to_string("fixtures/messages/reverse.zone").unwrap();
    let dns = TestDns::start_with_texts(&[&zone, &reverse]).await;
    (signed.into_bytes(), dns)
}

/// The fixture zones, for tests that send unsigned mail.
async fn fixture_dns() -> TestDns {
    TestDns::start(&[std::path::Path::new("fixtures/messages/messages.zone")]).await
}

fn tiny_message() -> &'static [u8] {
    b"From: <news@msg.test>\r\nTo: <ann@example.net>\r\nSubject: hi\r\n\r\nhello\r\n"
}

/// The report `mailvet message` gives `message` with the envelope the
/// tests send with, from `ip`.
async fn message_report(dns: &TestDns, message: &[u8], ip: &str) -> serde_json::Value {
    let request = MessageRequest {
        raw: message.to_vec(),
        envelope: Envelope {
            ip: Some(ip.parse().unwrap()),
            helo: Some(HELO.into()),
            mail_from: Some(BOUNCE.into()),
        },
        bulk: None,
        authserv_id: "mailvet".into(),
        clock: Clock::system(),
        limits: MessageLimits::default(),
        blocklists: mailvet::message::blocklists::Blocklists::none(),
    };
    serde_json::to_value(report(&dns.layer(), &request, false).await.unwrap()).unwrap()
}

/// EHLO, MAIL FROM and RCPT TO, each accepted.
async fn open_transaction(client: &mut SmtpClient, address: &str) {
    assert_eq!(client.command(&format!("EHLO {HELO}")).await.code, 250);
    open_transaction_after_ehlo(client, address).await;
}

/// MAIL FROM and RCPT TO, each accepted.
async fn open_transaction_after_ehlo(client: &mut SmtpClient, address: &str) {
    let mail = client.command(&format!("MAIL FROM:<{BOUNCE}>")).await;
    assert_eq!(mail.status(), "250 2.1.0", "{mail:?}");
    let rcpt = client.command(&format!("RCPT TO:<{address}>")).await;
    assert_eq!(rcpt.status(), "250 2.1.5", "{rcpt:?}");
}

async fn a_test_message_is_reported_with_its_real_envelope(db: TestDatabase) {
    let (message, dns) = signed_newsletter().await;
    let inbox = TestInbox::start(&dns, db.open().await, SmtpLimits::default()).await;
    let (token, address) = inbox.new_address().await;
    assert!(address.starts_with("t-") && address.ends_with(&format!("@{INBOX_DOMAIN}")));
    assert_eq!(inbox.inbox(&token).await["status"], "waiting");

    let (mut client, greeting) = inbox.connect().await;
    assert_eq!(greeting.code, 220, "{greeting:?}");
    let ehlo = client.command(&format!("EHLO {HELO}")).await;
    assert!(ehlo.text.contains("250-SIZE 26214400"), "{}", ehlo.text);
    assert!(!ehlo.text.contains("AUTH"), "{}", ehlo.text);
    client.command("RSET").await;
    open_transaction(&mut client, &address).await;
    let done = client.data(&message).await;
    assert_eq!(done.status(), "250 2.0.0", "{done:?}");
    assert_eq!(client.command("QUIT").await.status(), "221 2.0.0");

    let shown = inbox.inbox(&token).await;
    assert_eq!(shown["status"], "received", "{shown}");
    assert!(shown["received_at"].is_string());
    let saved = &shown["report"];
    let smtp = &saved["smtp"];
    assert_eq!(smtp["client_ip"], "127.0.0.1");
    assert_eq!(smtp["helo"], HELO);
    assert_eq!(smtp["esmtp"], true);
    assert_eq!(smtp["mail_from"], BOUNCE);
    assert_eq!(smtp["rcpt_to"], address.as_str());
    assert_eq!(smtp["starttls"], false);
    assert_eq!(smtp["size"], message.len());
    assert!(smtp["elapsed_ms"].is_u64());
    assert!(smtp["received"].as_str().unwrap().starts_with(&format!(
        "Received: from {HELO} ([127.0.0.1])\r\n\tby {INBOX_DOMAIN} with ESMTP\r\n"
    )));
    let transcript = smtp["transcript"]["lines"].to_string();
    assert!(
        transcript.contains(&format!("MAIL FROM:<{BOUNCE}>")),
        "{transcript}"
    );
    assert!(transcript.contains("354 end data"), "{transcript}");
    assert!(
        !transcript.contains("July offers"),
        "no body in the transcript"
    );

    // The same verdicts as the message report with that envelope.
    let direct = message_report(&dns, &message, "127.0.0.1").await;
    for path in [
        "/verdict",
        "/spf/result",
        "/dkim/0/result",
        "/dkim/0/domain",
        "/dmarc/result",
        "/dmarc/policy",
        "/envelope",
    ] {
        assert_eq!(saved.pointer(path), direct.pointer(path), "{path}");
    }
    assert_eq!(saved.pointer("/dkim/0/result").unwrap(), "pass");
    let codes = crate::support::api::finding_codes;
    assert_eq!(codes(saved), codes(&direct));

    // The address took its one message.
    let (mut again, _) = inbox.connect().await;
    assert_eq!(again.command(&format!("EHLO {HELO}")).await.code, 250);
    assert_eq!(again.command("MAIL FROM:<>").await.code, 250);
    let refused = again.command(&format!("RCPT TO:<{address}>")).await;
    assert_eq!(refused.status(), "550 5.1.1", "{refused:?}");
    assert_eq!(db.count("message_reports").await, 1);
    let id = saved["id"].as_str().unwrap().parse().unwrap();
    let store = db.open().await;
    assert_eq!(
        store.raw_message(&id).await.unwrap(),
        None,
        "not kept unless asked"
    );

    // With keep_raw the message is kept as delivered.
    let (token, address) = inbox.new_address_with("?keep_raw=true").await;
    let (mut client, _) = inbox.connect().await;
    open_transaction(&mut client, &address).await;
    assert_eq!(client.data(&message).await.status(), "250 2.0.0");
    let saved = &inbox.inbox(&token).await["report"];
    let id = saved["id"].as_str().unwrap().parse().unwrap();
    let kept = store.raw_message(&id).await.unwrap().unwrap();
    let received = saved["smtp"]["received"].as_str().unwrap();
    assert_eq!(kept, [received.as_bytes(), &message].concat());
}

on_both_back_ends!(a_test_message_is_reported_with_its_real_envelope);

#[tokio::test]
async fn nothing_but_a_live_test_address_is_accepted() {
    let dns = fixture_dns().await;
    let db = TestDatabase::new(Backend::Sqlite).await;
    let inbox = TestInbox::start(&dns, db.open().await, SmtpLimits::default()).await;
    let (_, address) = inbox.new_address().await;
    let (mut client, _) = inbox.connect().await;

    let early = client.command(&format!("MAIL FROM:<{BOUNCE}>")).await;
    assert_eq!(early.status(), "503 5.5.1", "MAIL before EHLO");
    assert_eq!(client.command(&format!("EHLO {HELO}")).await.code, 250);
    let early = client.command(&format!("RCPT TO:<{address}>")).await;
    assert_eq!(early.status(), "503 5.5.1", "RCPT before MAIL");
    assert_eq!(client.command("DATA").await.status(), "503 5.5.1");
    assert_eq!(
        client.command("AUTH PLAIN AGFAYg==").await.status(),
        "502 5.5.1"
    );
    assert_eq!(
        client.command(&format!("MAIL FROM:<{BOUNCE}>")).await.code,
        250
    );
    let unknown = format!("t-{}@{INBOX_DOMAIN}", "0".repeat(32));
    for relay in [
        "victim@example.com",
        "postmaster@elsewhere.test",
        "",
        unknown.as_str(),
        &address.replace(INBOX_DOMAIN, "elsewhere.test"),
        &format!("{address}.example.com"),
    ] {
        let refused = client.command(&format!("RCPT TO:<{relay}>")).await;
        assert_eq!(refused.status(), "550 5.1.1", "{relay}: {refused:?}");
    }
    assert_eq!(client.command("DATA").await.status(), "503 5.5.1");
    assert_eq!(
        client.command(&format!("RCPT TO:<{address}>")).await.code,
        250
    );
    let second = client.command("RCPT TO:<victim@example.com>").await;
    assert_eq!(second.status(), "452 4.5.3", "one recipient per message");
    assert_eq!(client.command("RSET").await.status(), "250 2.0.0");
    assert_eq!(
        client.command("DATA").await.status(),
        "503 5.5.1",
        "RSET ended it"
    );
    assert_eq!(client.command("QUIT").await.code, 221);
    assert_eq!(db.count("message_reports").await, 0);
}

#[tokio::test]
async fn oversized_messages_are_refused_and_not_stored() {
    let dns = fixture_dns().await;
    let db = TestDatabase::new(Backend::Sqlite).await;
    let limits = SmtpLimits {
        max_message_size: 2000,
        ..SmtpLimits::default()
    };
    let inbox = TestInbox::start(&dns, db.open().await, limits).await;
    let (token, address) = inbox.new_address().await;
    let (mut client, _) = inbox.connect().await;
    let ehlo = client.command(&format!("EHLO {HELO}")).await;
    assert!(ehlo.text.contains("SIZE 2000"), "{}", ehlo.text);
    let declared = client
        .command(&format!("MAIL FROM:<{BOUNCE}> SIZE=5000"))
        .await;
    assert_eq!(declared.status(), "552 5.3.4", "{declared:?}");
    open_transaction_after_ehlo(&mut client, &address).await;
    let mut big = tiny_message().to_vec();
    big.extend(std::iter::repeat_n(b"0123456789012345678901234567890123456789\r\n", 60).flatten());
    let refused = client.data(&big).await;
    assert_eq!(refused.status(), "552 5.3.4", "{refused:?}");
    assert_eq!(inbox.inbox(&token).await["status"], "waiting");
    assert_eq!(db.count("message_reports").await, 0);

    // The session goes on, and a message within the limit arrives.
    open_transaction_after_ehlo(&mut client, &address).await;
    assert_eq!(client.data(tiny_message()).await.status(), "250 2.0.0");
    assert_eq!(inbox.inbox(&token).await["status"], "received");
}

/// A SIZE too large to be a number is over the limit, BODY=BINARYMIME
/// (CHUNKING is not offered) is refused, and mail to the postmaster (RFC
/// 5321 §4.5.1) is taken, dropped, and counted like any other message.
#[tokio::test]
async fn mail_parameters_and_the_postmaster_are_answered_as_the_rfcs_say() {
    let dns = fixture_dns().await;
    let db = TestDatabase::new(Backend::Sqlite).await;
    let limits = SmtpLimits {
        messages_per_minute: 2,
        ..SmtpLimits::default()
    };
    let inbox = TestInbox::start(&dns, db.open().await, limits).await;
    let (mut client, _) = inbox.connect().await;
    let ehlo = client.command(&format!("EHLO {HELO}")).await;
    assert!(ehlo.text.contains("8BITMIME"), "{}", ehlo.text);
    assert!(!ehlo.text.contains("CHUNKING"), "{}", ehlo.text);
    for (parameter, status) in [
        ("SIZE=999999999999999999999", "552 5.3.4"),
        ("SIZE=18446744073709551616", "552 5.3.4"),
        ("size=30000000", "552 5.3.4"),
        ("BODY=BINARYMIME", "555 5.5.4"),
        ("body=binarymime", "555 5.5.4"),
    ] {
        let refused = client
            .command(&format!("MAIL FROM:<{BOUNCE}> {parameter}"))
            .await;
        assert_eq!(refused.status(), status, "{parameter}: {refused:?}");
    }

    let mail = client
        .command(&format!("MAIL FROM:<{BOUNCE}> BODY=8BITMIME SIZE=300"))
        .await;
    assert_eq!(mail.status(), "250 2.1.0", "{mail:?}");
    let rcpt = client.command("RCPT TO:<Postmaster>").await;
    assert_eq!(rcpt.status(), "250 2.1.5", "{rcpt:?}");
    let taken = client.data(tiny_message()).await;
    assert_eq!(taken.status(), "250 2.0.0", "{taken:?}");

    let mail = client
        .command(&format!("MAIL FROM:<{BOUNCE}> body=7bit"))
        .await;
    assert_eq!(mail.status(), "250 2.1.0", "{mail:?}");
    let rcpt = client
        .command(&format!("RCPT TO:<POSTMASTER@{INBOX_DOMAIN}>"))
        .await;
    assert_eq!(rcpt.status(), "250 2.1.5", "{rcpt:?}");
    assert_eq!(client.command("RSET").await.code, 250);
    let again = client.command(&format!("MAIL FROM:<{BOUNCE}>")).await;
    assert_eq!(again.status(), "450 4.7.1", "the per-client limit holds");
    assert_eq!(db.count("message_reports").await, 0, "nothing is kept");
}

#[tokio::test]
async fn too_many_bad_commands_or_commands_end_the_session() {
    let dns = fixture_dns().await;
    let db = TestDatabase::new(Backend::Sqlite).await;
    let inbox = TestInbox::start(&dns, db.open().await, SmtpLimits::default()).await;
    let (mut client, _) = inbox.connect().await;
    for _ in 0..20 {
        assert_eq!(client.command("XYZZY").await.status(), "500 5.5.2");
    }
    let last = client.command("XYZZY").await;
    assert_eq!(last.status(), "421 4.7.0", "{last:?}");
    assert_eq!(client.reply().await.code, 0, "closed");

    let (mut client, _) = inbox.connect().await;
    for _ in 0..mailvet::smtp::session::MAX_COMMANDS {
        assert_eq!(client.command("NOOP").await.status(), "250 2.0.0");
    }
    let last = client.command("NOOP").await;
    assert_eq!(last.status(), "421 4.7.0", "{last:?}");
    assert_eq!(client.reply().await.code, 0, "closed");

    let (mut client, _) = inbox.connect().await;
    let long = format!("EHLO {}", "a".repeat(5000));
    assert_eq!(client.command(&long).await.status(), "500 5.5.6");
    assert_eq!(client.command("NOOP").await.status(), "250 2.0.0");
}

#[tokio::test]
async fn sessions_and_messages_are_limited_per_client() {
    let dns = fixture_dns().await;
    let db = TestDatabase::new(Backend::Sqlite).await;
    let limits = SmtpLimits {
        sessions_per_client: 2,
        messages_per_minute: 1,
        ..SmtpLimits::default()
    };
    let inbox = TestInbox::start(&dns, db.open().await, limits).await;
    let (mut first, _) = inbox.connect().await;
    let (_second, greeting) = inbox.connect().await;
    assert_eq!(greeting.code, 220);
    let (mut third, refused) = inbox.connect().await;
    assert_eq!(refused.status(), "421 4.7.0", "{refused:?}");
    assert_eq!(third.reply().await.code, 0, "closed");

    assert_eq!(first.command(&format!("EHLO {HELO}")).await.code, 250);
    assert_eq!(
        first.command(&format!("MAIL FROM:<{BOUNCE}>")).await.code,
        250
    );
    assert_eq!(first.command("RSET").await.code, 250);
    let again = first.command(&format!("MAIL FROM:<{BOUNCE}>")).await;
    assert_eq!(again.status(), "450 4.7.1", "{again:?}");
}

#[tokio::test]
async fn a_silent_client_is_timed_out() {
    let dns = fixture_dns().await;
    let db = TestDatabase::new(Backend::Sqlite).await;
    let limits = SmtpLimits {
        command_timeout: Duration::from_millis(300),
        ..SmtpLimits::default()
    };
    let inbox = TestInbox::start(&dns, db.open().await, limits).await;
    let (mut client, _) = inbox.connect().await;
    assert_eq!(client.reply().await.status(), "421 4.4.2");
    assert_eq!(client.reply().await.code, 0, "closed");
}

#[tokio::test]
async fn starttls_is_offered_and_recorded() {
    let dns = fixture_dns().await;
    let db = TestDatabase::new(Backend::Sqlite).await;
    let made = rcgen::generate_simple_self_signed(vec![INBOX_DOMAIN.to_string()]).unwrap();
    let dir = TempDir::new("smtp-tls");
    let (chain, key) = (dir.0.join("cert.pem"), dir.0.join("key.pem"));
    std::fs::write(&chain, made.cert.pem()).unwrap();
    std::fs::write(&key, made.signing_key.serialize_pem()).unwrap();
    let config = tls::server_config(Certificate::Files {
        chain: &chain,
        key: &key,
    })
    .unwrap();
    let inbox = TestInbox::start_with(&dns, db.open().await, |mut receiver| {
        receiver.tls = Some(Arc::clone(&config));
        receiver
    })
    .await;
    let (token, address) = inbox.new_address().await;
    let (mut client, _) = inbox.connect().await;
    let ehlo = client.command(&format!("EHLO {HELO}")).await;
    assert!(ehlo.text.contains("STARTTLS"), "{}", ehlo.text);
    // RFC 3207 §4: no parameters allowed, 501.
    let with_parameter = client.command("STARTTLS extra").await;
    assert_eq!(with_parameter.status(), "501 5.5.4", "{with_parameter:?}");
    let mut roots = rustls::RootCertStore::empty();
    roots.add(made.cert.der().clone()).unwrap();
    let mut client = client.start_tls(roots, INBOX_DOMAIN).await;
    let early = client.command(&format!("MAIL FROM:<{BOUNCE}>")).await;
    assert_eq!(early.status(), "503 5.5.1", "EHLO again after STARTTLS");
    let ehlo = client.command(&format!("EHLO {HELO}")).await;
    assert!(!ehlo.text.contains("STARTTLS"), "{}", ehlo.text);
    open_transaction_after_ehlo(&mut client, &address).await;
    assert_eq!(client.data(tiny_message()).await.status(), "250 2.0.0");

    let smtp = &inbox.inbox(&token).await["report"]["smtp"];
    assert_eq!(smtp["starttls"], true);
    assert_eq!(smtp["tls"]["version"], "TLSv1_3");
    assert!(
        smtp["tls"]["cipher"]
            .as_str()
            .unwrap()
            .starts_with("TLS13_")
    );
    assert!(smtp["received"].as_str().unwrap().contains("with ESMTPS"));
}

#[tokio::test]
async fn a_quoted_local_part_is_kept_as_written() {
    let dns = fixture_dns().await;
    let db = TestDatabase::new(Backend::Sqlite).await;
    let inbox = TestInbox::start(&dns, db.open().await, SmtpLimits::default()).await;
    let (token, address) = inbox.new_address().await;
    let (mut client, _) = inbox.connect().await;
    assert_eq!(client.command(&format!("EHLO {HELO}")).await.code, 250);
    let sender = r#""john \"doe\" <x>"@msg.test"#;
    let mail = client.command(&format!("MAIL FROM:<{sender}>")).await;
    assert_eq!(mail.status(), "250 2.1.0", "{mail:?}");
    let rcpt = client.command(&format!("RCPT TO:<{address}>")).await;
    assert_eq!(rcpt.status(), "250 2.1.5", "{rcpt:?}");
    assert_eq!(client.data(tiny_message()).await.status(), "250 2.0.0");

    let report = &inbox.inbox(&token).await["report"];
    assert_eq!(report["smtp"]["mail_from"], sender, "{report:#}");
    assert_eq!(
        report["envelope"]["mail_from"]["value"], sender,
        "{report:#}"
    );
    // Shown escaped in the Received-SPF header (a quoted-string).
    let received_spf = report["received_spf"].as_str().unwrap();
    assert!(
        received_spf.contains(r#"envelope-from="\"john \\\"doe\\\" <x>\"@msg.test";"#),
        "{received_spf}"
    );
}

/// A self-signed certificate is made when none is given.
#[test]
fn a_self_signed_certificate_is_made_without_files() {
    assert!(tls::server_config(Certificate::SelfSigned { host: INBOX_DOMAIN }).is_ok());
}

/// A receiver behind a balancer on 127.0.0.1, which it trusts to send
/// PROXY headers.
async fn behind_a_balancer(dns: &TestDns, store: mailvet::store::Store) -> TestInbox {
    TestInbox::start_with(dns, store, |mut receiver| {
        receiver.proxy_from = vec!["127.0.0.0/8".parse().unwrap()];
        receiver
    })
    .await
}

async fn a_proxied_message_is_judged_by_the_client_the_header_names(db: TestDatabase) {
    let (message, dns) = signed_newsletter().await;
    let inbox = behind_a_balancer(&dns, db.open().await).await;
    let (token, address) = inbox.new_address().await;
    let header = proxy::v2_header(SENDER_IP.parse().unwrap(), "198.51.100.25".parse().unwrap());
    let (mut client, greeting) = SmtpClient::connect_with(inbox.smtp, &header).await;
    assert_eq!(greeting.code, 220, "{greeting:?}");
    open_transaction(&mut client, &address).await;
    assert_eq!(client.data(&message).await.status(), "250 2.0.0");

    let saved = &inbox.inbox(&token).await["report"];
    assert_eq!(saved["smtp"]["client_ip"], SENDER_IP);
    assert!(
        saved["smtp"]["received"]
            .as_str()
            .unwrap()
            .contains(&format!("([{SENDER_IP}])"))
    );
    let direct = message_report(&dns, &message, SENDER_IP).await;
    for path in [
        "/spf/result",
        "/dkim/0/result",
        "/dmarc/result",
        "/iprev/result",
        "/verdict",
    ] {
        assert_eq!(saved.pointer(path), direct.pointer(path), "{path}");
    }
    assert_eq!(
        saved["spf"]["result"], "pass",
        "192.0.2.10 is in msg.test's SPF"
    );
    assert_eq!(saved["dmarc"]["result"], "pass");
}

on_both_back_ends!(a_proxied_message_is_judged_by_the_client_the_header_names);

#[tokio::test]
async fn proxy_headers_come_from_trusted_peers_only() {
    let dns = fixture_dns().await;
    let db = TestDatabase::new(Backend::Sqlite).await;
    let trusting = behind_a_balancer(&dns, db.open().await).await;

    // Version 1 names the client too.
    let (mut client, greeting) = SmtpClient::connect_with(
        trusting.smtp,
        b"PROXY TCP4 192.0.2.10 198.51.100.25 49152 25\r\n",
    )
    .await;
    assert_eq!(greeting.code, 220);
    assert_eq!(client.command("QUIT").await.code, 221);
    // A trusted peer must send one.
    let (mut client, refused) = SmtpClient::connect_with(trusting.smtp, b"EHLO x\r\n").await;
    assert_eq!(refused.status(), "421 4.7.0", "{refused:?}");
    assert_eq!(client.reply().await.code, 0, "closed");

    // Anyone else may not.
    let plain = TestInbox::start(&dns, db.open().await, SmtpLimits::default()).await;
    let (mut client, greeting) = plain.connect().await;
    assert_eq!(greeting.code, 220);
    let forged = client
        .command("PROXY TCP4 192.0.2.10 198.51.100.25 49152 25")
        .await;
    assert_eq!(forged.status(), "421 4.7.0", "{forged:?}");
    assert_eq!(client.reply().await.code, 0, "closed");
}

/// Replicas sharing a database: an address made through one is received
/// by the other's receiver, and its report read back through the first.
async fn an_address_made_by_one_replica_is_received_by_another(db: TestDatabase) {
    let dns = fixture_dns().await;
    let one = TestInbox::start(&dns, db.open().await, SmtpLimits::default()).await;
    let two = TestInbox::start(&dns, db.open().await, SmtpLimits::default()).await;
    let (token, address) = one.new_address().await;
    let (mut client, _) = two.connect().await;
    open_transaction(&mut client, &address).await;
    assert_eq!(client.data(tiny_message()).await.status(), "250 2.0.0");
    let shown = one.inbox(&token).await;
    assert_eq!(shown["status"], "received");
    assert_eq!(shown["report"]["smtp"]["rcpt_to"], address.as_str());
}

on_both_back_ends!(an_address_made_by_one_replica_is_received_by_another);

/// 100 sessions at once, from 100 clients a balancer names (so no
/// per-client limit applies: 50 sessions from one address is the
/// default), each delivering to its own address: every reply is the one
/// of a message accepted, with no retry, so a limit hit or a store too
/// busy to answer fails the test instead of hiding behind a retry. All
/// 100 hold their transaction open (RCPT TO accepted) before any sends
/// its message, so they are truly open at once, and the 100 reports and
/// claims then race each other.
#[tokio::test]
async fn a_hundred_sessions_at_once() {
    let dns = fixture_dns().await;
    let db = TestDatabase::new(Backend::Sqlite).await;
    let inbox = Arc::new(behind_a_balancer(&dns, db.open().await).await);
    let mut addresses = Vec::new();
    for _ in 0..100 {
        addresses.push(inbox.new_address().await);
    }
    let all_open = Arc::new(tokio::sync::Barrier::new(addresses.len()));
    let mut sessions = tokio::task::JoinSet::new();
    for (i, (token, address)) in addresses.into_iter().enumerate() {
        let inbox = Arc::clone(&inbox);
        let all_open = Arc::clone(&all_open);
        sessions.spawn(async move {
            let source = format!("198.51.100.{}", i + 1);
            let header = proxy::v2_header(source.parse().unwrap(), "203.0.113.25".parse().unwrap());
            let (mut client, greeting) = SmtpClient::connect_with(inbox.smtp, &header).await;
            assert_eq!(greeting.code, 220, "{source}: {greeting:?}");
            assert_eq!(client.command(&format!("EHLO {HELO}")).await.code, 250);
            open_transaction_after_ehlo(&mut client, &address).await;
            all_open.wait().await;
            let done = client.data(tiny_message()).await;
            assert_eq!(done.status(), "250 2.0.0", "{source}: {done:?}");
            (token, source)
        });
    }
    while let Some(done) = sessions.join_next().await {
        let (token, source) = done.unwrap();
        let shown = inbox.inbox(&token).await;
        assert_eq!(shown["report"]["smtp"]["client_ip"], source.as_str());
    }
    assert_eq!(db.count("message_reports").await, 100);
}

// ---------------------------------------------------------------------------
// Report addresses (`--report-address`)
// ---------------------------------------------------------------------------

/// The report address the tests configure.
const REPORT_ADDRESS: &str = "dmarc-reports@reports.test";

/// A fixture email with CRLF line ends, as it goes over SMTP.
fn report_email(name: &str) -> Vec<u8> {
    std::fs::read_to_string(format!("fixtures/reports/mail/{name}"))
        .unwrap()
        .replace("\r\n", "\n")
        .replace('\n', "\r\n")
        .into_bytes()
}

/// A gzip aggregate report email mailed to a report address is imported
/// as `mailvet reports import` imports it, and counted once however often
/// it is mailed; a message that is no report is refused after its data
/// and leaves nothing stored; test addresses still work beside it, and
/// other addresses at the report domain are still refused.
async fn a_report_mailed_to_a_report_address_is_imported_once(db: TestDatabase) {
    use mailvet::reports::{Limits, ingest};
    use mailvet::smtp::intake::ReportIntake;
    let dns = fixture_dns().await;
    let inbox = TestInbox::start_with(&dns, db.open().await, |mut receiver| {
        receiver.reports = ReportIntake::new(&[REPORT_ADDRESS.into()], Limits::default());
        receiver
    })
    .await;
    let email = report_email("aggregate-report.eml");
    let expected = ingest::prepare(&email[..], &Limits::default(), crate::support::now()).unwrap();
    let expected = expected.overview();

    let (mut client, _) = inbox.connect().await;
    assert_eq!(client.command(&format!("EHLO {HELO}")).await.code, 250);
    let mail = client.command(&format!("MAIL FROM:<{BOUNCE}>")).await;
    assert_eq!(mail.status(), "250 2.1.0", "{mail:?}");
    let rcpt = client
        .command(&format!(
            "RCPT TO:<{}>",
            REPORT_ADDRESS.to_ascii_uppercase()
        ))
        .await;
    assert_eq!(
        rcpt.text,
        "250 2.1.5 recipient OK: DMARC and TLS reports are imported here"
    );
    let imported = client.data(&email).await;
    assert_eq!(
        imported.text,
        format!(
            "250 2.0.0 aggregate report imported: {} records, {} messages",
            expected.records, expected.messages
        )
    );
    open_transaction_after_ehlo(&mut client, REPORT_ADDRESS).await;
    assert_eq!(
        client.data(&email).await.text,
        "250 2.0.0 this report is already kept; it is not counted again"
    );
    open_transaction_after_ehlo(&mut client, REPORT_ADDRESS).await;
    assert_eq!(
        client.data(&report_email("no-report.eml")).await.text,
        "550 5.6.0 not a report this server reads: its report attachment cannot be found or read"
    );
    let mail = client.command(&format!("MAIL FROM:<{BOUNCE}>")).await;
    assert_eq!(mail.status(), "250 2.1.0");
    let other = client.command("RCPT TO:<abuse@reports.test>").await;
    assert_eq!(other.status(), "550 5.1.1", "{other:?}");
    // The report domain's postmaster is taken (RFC 5321 §4.5.1).
    let postmaster = client.command("RCPT TO:<Postmaster@reports.test>").await;
    assert_eq!(postmaster.status(), "250 2.1.5", "{postmaster:?}");
    assert_eq!(client.command("QUIT").await.code, 221);
    assert_eq!(db.count("received_reports").await, 1);

    let request = axum::http::Request::get(format!("/v1/reports/dmarc/{}", expected.domain))
        .body(axum::body::Body::empty())
        .unwrap();
    let (status, _, summary) = support::api::call(inbox.api.clone(), request).await;
    assert_eq!(status, 200, "{summary}");
    assert_eq!(summary["reports"], 1);
    assert_eq!(summary["records"], expected.records);
    assert_eq!(summary["messages"], expected.messages);
    assert_eq!(summary["reporters"][0], expected.org_name.as_str());

    // A test address on the same receiver is unaffected.
    let (token, address) = inbox.new_address().await;
    let (mut client, _) = inbox.connect().await;
    open_transaction(&mut client, &address).await;
    assert_eq!(client.data(tiny_message()).await.status(), "250 2.0.0");
    assert_eq!(inbox.inbox(&token).await["status"], "received");
}

on_both_back_ends!(a_report_mailed_to_a_report_address_is_imported_once);
