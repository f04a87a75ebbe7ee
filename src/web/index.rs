//! `/`: the two forms — check a domain, check a message — shown again
//! with what was typed and the reason when a submission was refused, and
//! between them the offer of a test address when the server makes them.
//!
//! The forms are plain HTML: the domain form is a GET to `/domains`
//! (`domain`, `selector`, and `probe=smtp` from the "Test TLS" checkbox,
//! shown only when the server allows the probe), the message form a POST to `/messages`
//! (`message`, `ip`, `helo`, `mail_from`, and `bulk=true` from the "Bulk
//! mail" checkbox), so both work with JavaScript off.

use super::layout::page;
use maud::{Markup, html};

/// A message echoed back into its form no larger than this; a larger one
/// would make the error page heavier than the paste is worth keeping.
pub const ECHO_LIMIT: usize = 1024 * 1024;

/// What the domain form holds.
#[derive(Debug, Clone, Default)]
pub struct DomainForm {
    pub domain: String,
    pub selector: String,
    /// The "Test TLS at each mail server" box is ticked.
    pub probe: bool,
    /// The server allows the probe (`serve --allow-probe`): the box is
    /// shown.
    pub probe_allowed: bool,
    /// Why the last submission was refused.
    pub problem: Option<String>,
}

/// What the message form holds.
#[derive(Debug, Clone, Default)]
pub struct MessageForm {
    pub message: String,
    pub ip: String,
    pub helo: String,
    pub mail_from: String,
    /// The "Bulk mail" box is ticked: the bulk-sender rules apply, whatever
    /// the headers say (unticked, the headers decide).
    pub bulk: bool,
    /// Why the last submission was refused.
    pub problem: Option<String>,
}

/// The page with both forms, and the offer of a test address when the
/// server makes them (`test_inbox`).
pub fn index(domain: &DomainForm, message: &MessageForm, test_inbox: bool) -> String {
    page(
        "Check your email authentication",
        html! {
            h1 { "Will your mail authenticate and reach the inbox?" }
            p { "Check a sending domain's DNS, or paste a message as it was received. Each \
                 report says what receivers will do, why, and the exact DNS records to fix it; \
                 share its link with whoever runs your DNS." }
            (domain_form(domain))
            @if test_inbox { (super::inbox::offer()) }
            (message_form(message))
        },
    )
}

fn problem(id: &str, problem: Option<&str>) -> Markup {
    html! {
        @if let Some(problem) = problem {
            p.problem id=(id) role="alert" { (problem) }
        }
    }
}

fn domain_form(form: &DomainForm) -> Markup {
    let invalid = form.problem.is_some().then_some("true");
    html! {
        form.check #check-domain method="get" action="/domains" {
            h2 { "Check a domain" }
            (problem("domain-problem", form.problem.as_deref()))
            label for="domain" { "Domain" span.hint { " — the part after @ in your From address" } }
            input #domain type="text" name="domain" value=(form.domain) required
                autocomplete="off" autocapitalize="none" spellcheck="false"
                placeholder="example.com" aria-invalid=[invalid]
                aria-describedby=[invalid.map(|_| "domain-problem")];
            label for="selector" {
                "DKIM selector" span.hint { " — optional; several separated by spaces" }
            }
            input #selector type="text" name="selector" value=(form.selector)
                autocomplete="off" autocapitalize="none" spellcheck="false" placeholder="s1";
            @if form.probe_allowed {
                label.check-box for="probe" {
                    input #probe type="checkbox" name="probe" value="smtp" checked[form.probe];
                    " Test TLS at each mail server " span.hint { "(takes seconds)" }
                }
            }
            button type="submit" { "Check domain" }
        }
    }
}

fn message_form(form: &MessageForm) -> Markup {
    let invalid = form.problem.is_some().then_some("true");
    let echoed = if form.message.len() <= ECHO_LIMIT {
        form.message.as_str()
    } else {
        ""
    };
    html! {
        form.check #check-message method="post" action="/messages" {
            h2 { "Check a message" }
            (problem("message-problem", form.problem.as_deref()))
            label for="message" {
                "Message" span.hint { " — the whole message as received, headers included \
                                       (in Gmail: Show original, then Copy to clipboard; \
                                       elsewhere: view source)" }
            }
            textarea #message name="message" rows="12" required spellcheck="false"
                aria-invalid=[invalid] aria-describedby=[invalid.map(|_| "message-problem")] {
                (echoed)
            }
            p.muted { "The report is saved for a limited time under a link only you know; \
                       the message itself is not kept." }
            div.fields {
                div {
                    label for="ip" { "Sending IP" span.hint { " — optional" } }
                    input #ip type="text" name="ip" value=(form.ip) autocomplete="off"
                        spellcheck="false" placeholder="192.0.2.1";
                }
                div {
                    label for="helo" { "HELO name" span.hint { " — optional" } }
                    input #helo type="text" name="helo" value=(form.helo) autocomplete="off"
                        spellcheck="false" placeholder="mail.example.com";
                }
                div {
                    label for="mail_from" { "MAIL FROM" span.hint { " — optional" } }
                    input #mail_from type="text" name="mail_from" value=(form.mail_from)
                        autocomplete="off" spellcheck="false" placeholder="bounce@example.com";
                }
            }
            p.muted { "Without the envelope, it is read from the message's Received and \
                       Return-Path headers." }
            label.check-box for="bulk" {
                input #bulk type="checkbox" name="bulk" value="true" checked[form.bulk];
                " Bulk mail " span.hint { "(a newsletter or campaign: Gmail's and Yahoo's \
                                          bulk-sender rules apply)" }
            }
            button type="submit" { "Check message" }
        }
    }
}
