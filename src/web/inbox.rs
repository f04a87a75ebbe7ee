//! The send-a-test pages: the offer on `/` and `/test`, the page of one
//! test address (`/inboxes/{token}`) while it waits and once it expired,
//! and the receiver's own section of a report that came in by SMTP.
//!
//! This module decides what a person sending a test sees. The address is
//! shown as text to select, with a copy button where the script runs.
//! A waiting page must notice the message without anyone reloading it:
//! a `<meta http-equiv="refresh">` reloads it every [`REFRESH_SECONDS`]
//! (the Content-Security-Policy governs no refresh), and with JavaScript
//! the static script [`assets::INBOX`] asks for the page every
//! [`POLL_MILLISECONDS`] and moves on as soon as it no longer waits. The
//! refresh is not inside `<noscript>`: a browser told not to run scripts
//! by automation (Playwright, the tests) still parses `<noscript>` as if
//! it did, so the refresh would never act there, and no script can cancel
//! a refresh once scheduled; the reload costs a waiting page nothing. Both
//! read the state from the `data-inbox-state` attribute of the page's
//! status, one of `waiting`, `received` (its report is gone) and
//! `expired`; a received address whose report is kept is not a page of
//! its own: the route sends the browser to the report.

use super::assets;
use super::layout::page_with_head;
use super::report::shown;
use super::view::Smtp;
use crate::domain::transport::version_name;
use maud::{Markup, html};

/// How often a waiting page reloads itself without JavaScript.
pub const REFRESH_SECONDS: u32 = 5;

/// How often the script asks whether the message came. Shown nowhere;
/// kept here beside the reload so the two are read together.
pub const POLL_MILLISECONDS: u32 = 2000;

/// Where the offer's form makes a new address.
pub const CREATE_PATH: &str = "/inboxes";

/// The page of the test address `token`.
pub fn path(token: &str) -> String {
    format!("{CREATE_PATH}/{token}")
}

/// The form that makes a test address: one button.
pub fn offer() -> Markup {
    html! {
        form.check #send-test method="post" action=(CREATE_PATH) {
            h2 { "Send a test message" }
            p { "Get a one-time address, send your real campaign to it from your own \
                 mail system, and see the report with the envelope it really arrived with: \
                 the sending IP, HELO, MAIL FROM, TLS and the SMTP conversation." }
            button type="submit" { "Send a test message" }
        }
    }
}

/// `/test`: the offer alone, or why this server makes no test addresses.
pub fn test_page(enabled: bool) -> String {
    page_with_head(
        "Send a test message",
        html! {},
        html! {
            h1 { "Send a test message" }
            @if enabled {
                (offer())
            } @else {
                p.problem {
                    "This server makes no test addresses: it was started without \
                     --inbox-domain (and --smtp to receive their mail)."
                }
                p { a href="/" { "Check a domain or a message" } }
            }
        },
    )
}

/// The page of an address still waiting for its message, which stops
/// accepting one at `expires_at` (seconds since the Unix epoch).
pub fn waiting(address: &str, expires_at: u64) -> String {
    let head = html! {
        meta http-equiv="refresh" content=(REFRESH_SECONDS);
        script src=(assets::INBOX.path) data-poll=(POLL_MILLISECONDS) defer {}
    };
    page_with_head(
        "Waiting for your test message",
        head,
        html! {
            h1 { "Send your test message to this address" }
            pre #test-address data-copy="address" { (shown(address)) }
            p { "Send one message to it, as you send your real mail: from the same system, \
                 with the same From domain. It accepts one message until "
                (super::message::utc(expires_at)) " (UTC)." }
            p.verdict.v-unknown #inbox-state role="status" data-inbox-state="waiting" {
                "Waiting for the message… this page shows the report as soon as it arrives."
            }
            p.muted { "This page checks for it by itself every few seconds; keep it open." }
        },
    )
}

/// The page of an address that expired without a message.
pub fn expired(address: &str, expires_at: u64) -> String {
    state_page(
        "This test address has expired",
        "expired",
        address,
        &format!(
            "No message came before it expired at {} (UTC); it accepts none now.",
            super::message::utc(expires_at)
        ),
    )
}

/// The page of an address whose message came, once its report is gone.
pub fn report_gone(address: &str, received_at: u64) -> String {
    state_page(
        "This test message's report is gone",
        "received",
        address,
        &format!(
            "Its message arrived at {} (UTC), but reports are kept for a limited time, or it \
             was deleted.",
            super::message::utc(received_at)
        ),
    )
}

fn state_page(heading: &str, state: &str, address: &str, detail: &str) -> String {
    page_with_head(
        heading,
        html! {},
        html! {
            h1 { (heading) }
            p.problem #inbox-state role="status" data-inbox-state=(state) { (detail) }
            p { "The address was " code { (shown(address)) } "." }
            (offer())
        },
    )
}

/// What only the receiver saw of a message that came by SMTP: the
/// client, its names, TLS, size, time and the conversation.
pub fn arrival(smtp: &Smtp) -> Markup {
    let tls = match &smtp.tls {
        Some(tls) => format!(
            "STARTTLS, {} with {}",
            version_name(&tls.version),
            tls.cipher
        ),
        None => "none: the message came in the clear".to_string(),
    };
    html! {
        section #smtp aria-labelledby="smtp-h" {
            h2 #smtp-h { "How it arrived" }
            dl.facts {
                dt { "Client" } dd { code { (shown(&smtp.client_ip)) } }
                dt { (if smtp.esmtp { "EHLO" } else { "HELO" }) } dd { code { (shown(&smtp.helo)) } }
                dt { "MAIL FROM" } dd { code { "<" (shown(&smtp.mail_from)) ">" } }
                dt { "RCPT TO" } dd { code { "<" (shown(&smtp.rcpt_to)) ">" } }
                dt { "TLS" } dd { (shown(&tls)) }
                dt { "Size" } dd { (smtp.size) " bytes as sent (before the Received header this server adds)" }
                dt { "Time" } dd { (smtp.elapsed_ms) " ms from connect to the report" }
            }
            details {
                summary { "The SMTP conversation (without the message)" }
                pre #transcript {
                    @for entry in &smtp.transcript.lines {
                        (if entry.side == "client" { "C: " } else { "S: " })
                        (shown(&entry.line)) "\n"
                    }
                    @if smtp.transcript.omitted > 0 {
                        "… " (smtp.transcript.omitted) " more lines not kept"
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_waiting_page_reloads_itself() {
        let page = waiting("t-00@inbox.example", 0);
        let refresh = format!("<meta http-equiv=\"refresh\" content=\"{REFRESH_SECONDS}\">");
        assert!(page.contains(&refresh), "{page}");
        assert!(page.contains(r#"data-inbox-state="waiting""#));
        assert!(page.contains(assets::INBOX.path));
        assert!(!expired("a", 0).contains("refresh"));
    }

    #[test]
    fn the_tls_version_is_shown_as_people_write_it() {
        let smtp = Smtp {
            tls: Some(super::super::view::SmtpTls {
                version: "TLSv1_3".into(),
                cipher: "TLS13_AES_128_GCM_SHA256".into(),
            }),
            ..Smtp::default()
        };
        let section = arrival(&smtp).into_string();
        assert!(
            section.contains("STARTTLS, TLS 1.3 with TLS13_AES_128_GCM_SHA256"),
            "{section}"
        );
    }
}
