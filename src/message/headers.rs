//! Header checks of a message: is it well-formed enough to be accepted
//! (RFC 5322 §3.6), does it meet the bulk-sender unsubscribe rules, and do
//! its DKIM signatures use risky options. No DNS: everything here is read
//! from the message itself.
//!
//! This module decides:
//!
//! - `msg.multiple_from`: more than one From header, or one From holding
//!   several addresses. RFC 5322 §3.6.2 allows several authors when a
//!   Sender is present, but DMARC (RFC 7489 §6.6.1) needs a single author
//!   domain and the Gmail sender rules require one From address, so any
//!   second address counts.
//! - `msg.missing_header`: no Date, no From, or no Message-ID (RFC 5322
//!   §3.6: Date and From are required; Message-ID is expected and the
//!   providers require it). A header that is present but blank counts as
//!   missing. One finding per missing header.
//! - `bulk.no_list_unsubscribe` and `bulk.no_one_click` (RFC 2369 §3.2,
//!   RFC 8058 §3.1), only for bulk mail: mail that looks bulk (a List-Id,
//!   a List-Unsubscribe, `Precedence: bulk` or `list`, a Feedback-ID), or
//!   that the caller declares bulk; the caller can also declare it not bulk.
//!
//! Header fields are split by mail-parser, and From addresses are read with
//! its address parser, as mail-auth reads them for DMARC, so the From
//! domain seen here is the one DMARC evaluates. Parsing never fails: a
//! message without a header section simply has no headers.

use crate::findings::Checked;
use crate::findings::Finding;
use crate::findings::catalog;
use mail_parser::{Header, Message, MessageParser};
use serde::Serialize;

/// The one value RFC 8058 §3.1 allows in List-Unsubscribe-Post.
const ONE_CLICK: &str = "List-Unsubscribe=One-Click";

/// Header fields RFC 5322 §3.6 allows at most once in a message.
const SINGLE_INSTANCE: &[&str] = &[
    "Date",
    "From",
    "Sender",
    "Reply-To",
    "To",
    "Cc",
    "Bcc",
    "Message-ID",
    "In-Reply-To",
    "References",
    "Subject",
];

/// Why a message is taken for bulk mail.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum BulkSign {
    /// A List-Id header (RFC 2919): sent through a mailing list.
    ListId,
    /// A List-Unsubscribe header (RFC 2369): the sender offers unsubscribing.
    ListUnsubscribe,
    /// `Precedence: bulk` or `Precedence: list`.
    Precedence,
    /// A Feedback-ID header: Gmail's feedback loop identifier for campaigns.
    FeedbackId,
}

impl BulkSign {
    /// How the sign reads in a finding's detail.
    fn describe(self) -> &'static str {
        match self {
            BulkSign::ListId => "a List-Id header",
            BulkSign::ListUnsubscribe => "a List-Unsubscribe header",
            BulkSign::Precedence => "a Precedence: bulk/list header",
            BulkSign::FeedbackId => "a Feedback-ID header",
        }
    }
}

/// Whether the bulk rules apply, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BulkStatus {
    /// What the caller declared: `Some(true)` bulk, `Some(false)` not bulk.
    pub declared: Option<bool>,
    /// The headers that make the message look bulk, whatever was declared.
    pub signs: Vec<BulkSign>,
    /// Whether the message looks bulk by its headers.
    pub looks_bulk: bool,
    /// Whether the `bulk.*` checks ran: the declaration if given, else
    /// `looks_bulk`.
    pub applies: bool,
}

/// The `headers` section of a message report: what was seen.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HeadersSection {
    /// Number of header fields in the header section.
    pub header_count: usize,
    /// Number of From header fields.
    pub from_headers: usize,
    /// Every address of every From header, in order, as written.
    pub from: Vec<String>,
    /// The domain of each address in `from`, lower-case, in the same order;
    /// empty where an address has no domain.
    pub from_domains: Vec<String>,
    /// The RFC5322.From domain, when there is exactly one From address.
    pub from_domain: Option<String>,
    /// The Date header, unfolded.
    pub date: Option<String>,
    /// Whether the Date header is a date mail-parser can read.
    pub date_valid: bool,
    /// The Message-ID header, unfolded.
    pub message_id: Option<String>,
    /// The Subject, with encoded words decoded.
    pub subject: Option<String>,
    /// The URIs of the List-Unsubscribe header(s), in order.
    pub list_unsubscribe: Vec<String>,
    /// The List-Unsubscribe-Post header, unfolded.
    pub list_unsubscribe_post: Option<String>,
    /// Whether RFC 8058 one-click unsubscribe is offered: an https URI and
    /// `List-Unsubscribe-Post: List-Unsubscribe=One-Click`.
    pub one_click: bool,
    pub list_id: Option<String>,
    pub precedence: Option<String>,
    pub feedback_id: Option<String>,
    pub bulk: BulkStatus,
    /// Header fields that RFC 5322 §3.6 allows once but occur more often.
    pub repeated: Vec<String>,
}

/// Checks the headers of a raw message. `bulk` is the caller's declaration:
/// `Some(true)` applies the bulk rules, `Some(false)` turns them off, `None`
/// applies them when the message looks bulk.
pub fn check(raw: &[u8], bulk: Option<bool>) -> Checked<HeadersSection> {
    check_fields(&fields(&parse(raw)), bulk)
}

/// The header section of a raw message, parsed once for the header checks
/// and the envelope (`None` without one).
pub fn parse(raw: &[u8]) -> Option<Message<'_>> {
    MessageParser::new().parse_headers(raw)
}

/// The header fields of a [`parse`]d message, in order.
pub fn fields<'m>(parsed: &'m Option<Message<'_>>) -> Vec<Header<'m>> {
    parsed
        .as_ref()
        .map(|message| message.root().headers().iter().collect())
        .unwrap_or_default()
}

/// [`check`] on header fields already read.
pub fn check_fields(headers: &[Header<'_>], bulk: Option<bool>) -> Checked<HeadersSection> {
    let mut findings = Vec::new();

    let authors = Authors::read(headers);
    findings.extend(authors.multiple_from(headers));

    let date = first_value(headers, "Date");
    let message_id = first_value(headers, "Message-ID");
    for (name, value) in [
        ("Date", &date),
        ("From", &authors.first_value),
        ("Message-ID", &message_id),
    ] {
        if let Some(finding) = missing(headers, name, value.as_deref()) {
            findings.push(finding);
        }
    }

    let list = ListHeaders::read(headers);
    let signs = bulk_signs(headers);
    let looks_bulk = !signs.is_empty();
    let applies = bulk.unwrap_or(looks_bulk);
    if applies {
        findings.extend(list.bulk_findings(&signs, bulk));
    }

    let section = HeadersSection {
        header_count: headers.len(),
        from_headers: authors.headers,
        from_domains: authors.addresses.iter().map(|a| domain_of(a)).collect(),
        from_domain: authors.single_domain(),
        from: authors.addresses,
        date_valid: named(headers, "Date")
            .next()
            .is_some_and(|h| h.value().as_datetime().is_some()),
        date,
        message_id,
        subject: named(headers, "Subject").next().map(|h| {
            h.value()
                .as_text()
                .map_or_else(|| unfold(h.raw_value()), str::to_string)
        }),
        one_click: list.one_click(),
        list_unsubscribe: list.uris,
        list_unsubscribe_post: list.post,
        list_id: first_value(headers, "List-Id"),
        precedence: first_value(headers, "Precedence"),
        feedback_id: first_value(headers, "Feedback-ID"),
        bulk: BulkStatus {
            declared: bulk,
            signs,
            looks_bulk,
            applies,
        },
        repeated: SINGLE_INSTANCE
            .iter()
            .filter(|name| named(headers, name).count() > 1)
            .map(|name| name.to_string())
            .collect(),
    };
    Checked { section, findings }
}

/// The RFC5322.From domain (lower-case) that DMARC evaluates: `None`
/// unless the message has exactly one From header holding exactly one
/// address with a domain (RFC 7489 §6.6.1 leaves the other cases to the
/// receiver, and they get `msg.multiple_from` or `msg.missing_header`).
pub fn from_domain(raw: &[u8]) -> Option<String> {
    Authors::read(&fields(&parse(raw))).single_domain()
}

/// Whether the message looks bulk by its headers (List-Id,
/// List-Unsubscribe, `Precedence: bulk|list`, Feedback-ID).
pub fn looks_bulk(raw: &[u8]) -> bool {
    !bulk_signs(&fields(&parse(raw))).is_empty()
}

/// Why `raw` is no message at all, for a person who pasted text: a
/// message starts with its header fields (RFC 5322 §2.1), each a name of
/// printable US-ASCII other than `:` and then a colon (§2.2; §4.5 allows
/// white space before it). `None` when its first line is one. The checks
/// above read any bytes as a message, so the API and the CLI report on
/// such text; the web form, where people paste, refuses it.
pub fn not_a_message(raw: &[u8]) -> Option<String> {
    let line = raw.split(|&b| b == b'\n').next().unwrap_or_default();
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    if line.iter().all(u8::is_ascii_whitespace) {
        return Some("it starts with a blank line, so it has no header fields".into());
    }
    let name = line
        .iter()
        .position(|&b| b == b':')
        .map(|colon| line[..colon].trim_ascii_end())
        .unwrap_or_default();
    if !name.is_empty() && name.iter().all(|&b| (33..=126).contains(&b)) {
        return None;
    }
    Some(format!(
        "line 1 is {}, not a header field",
        crate::untrusted::echoed(&String::from_utf8_lossy(line))
    ))
}

/// The header fields with this name, in message order. Names compare
/// case-insensitively (RFC 5322 §1.2.2).
fn named<'a, 'm>(
    headers: &'a [Header<'m>],
    name: &'a str,
) -> impl Iterator<Item = &'a Header<'m>> + 'a {
    headers
        .iter()
        .filter(move |h| h.raw_name().eq_ignore_ascii_case(name))
}

/// A header value as text: line breaks of folding removed (RFC 5322
/// §2.2.3), surrounding white space trimmed, invalid UTF-8 replaced.
pub(crate) fn unfold(raw: &[u8]) -> String {
    String::from_utf8_lossy(raw)
        .chars()
        .filter(|c| *c != '\r' && *c != '\n')
        .collect::<String>()
        .trim()
        .to_string()
}

/// The first non-blank value of a header, unfolded.
fn first_value(headers: &[Header<'_>], name: &str) -> Option<String> {
    named(headers, name)
        .map(|h| unfold(h.raw_value()))
        .find(|v| !v.is_empty())
}

/// A header as it reads in evidence: `Name: value`, unfolded.
fn evidence_line(header: &Header<'_>) -> String {
    format!("{}: {}", header.raw_name(), unfold(header.raw_value()))
}

/// The domain of an address, lower-case; empty when it has none.
fn domain_of(address: &str) -> String {
    address
        .rsplit_once('@')
        .map(|(_, domain)| domain.trim().to_lowercase())
        .unwrap_or_default()
}

/// What the From headers say.
struct Authors {
    headers: usize,
    /// Every mailbox address of every From header, as written.
    addresses: Vec<String>,
    /// The first non-blank From value, for the missing-header check.
    first_value: Option<String>,
    /// The message has a Sender header (RFC 5322 §3.6.2).
    has_sender: bool,
}

impl Authors {
    fn read(headers: &[Header<'_>]) -> Authors {
        let mut addresses = Vec::new();
        for header in named(headers, "From") {
            if let Some(list) = header.value().as_address() {
                addresses.extend(
                    list.mailboxes()
                        .filter_map(|m| m.address())
                        .map(str::trim)
                        .filter(|a| !a.is_empty())
                        .map(str::to_string),
                );
            }
        }
        Authors {
            headers: named(headers, "From").count(),
            addresses,
            first_value: first_value(headers, "From"),
            has_sender: named(headers, "Sender").next().is_some(),
        }
    }

    fn single_domain(&self) -> Option<String> {
        match self.addresses.as_slice() {
            [only] if self.headers == 1 => Some(domain_of(only)).filter(|d| !d.is_empty()),
            _ => None,
        }
    }

    fn multiple_from(&self, headers: &[Header<'_>]) -> Option<Finding> {
        if self.headers <= 1 && self.addresses.len() <= 1 {
            return None;
        }
        let listed = if self.addresses.is_empty() {
            "no usable address".to_string()
        } else {
            self.addresses.join(", ")
        };
        let mut detail = if self.headers > 1 {
            format!("The message has {} From headers ({listed}).", self.headers)
        } else {
            format!(
                "The From header holds {} addresses: {listed}.",
                self.addresses.len()
            )
        };
        if self.has_sender && self.headers == 1 {
            // RFC 5322 allows this shape; say why it is still reported.
            detail.push_str(
                " RFC 5322 allows several authors with a Sender header, but DMARC and the \
                 Gmail sender rules need a single From address.",
            );
        }
        Some(
            Finding::new(catalog::MSG_MULTIPLE_FROM, detail)
                .with_evidence(named(headers, "From").map(evidence_line)),
        )
    }
}

/// `msg.missing_header` for one required header, when it is absent or blank.
fn missing(headers: &[Header<'_>], name: &str, value: Option<&str>) -> Option<Finding> {
    if value.is_some() {
        return None;
    }
    let present: Vec<String> = named(headers, name).map(evidence_line).collect();
    let detail = if present.is_empty() {
        format!("The message has no {name} header.")
    } else {
        format!("The {name} header is empty.")
    };
    Some(Finding::new(catalog::MSG_MISSING_HEADER, detail).with_evidence(present))
}

/// The headers that make a message look bulk, in a fixed order.
fn bulk_signs(headers: &[Header<'_>]) -> Vec<BulkSign> {
    let mut signs = Vec::new();
    if first_value(headers, "List-Id").is_some() {
        signs.push(BulkSign::ListId);
    }
    if first_value(headers, "List-Unsubscribe").is_some() {
        signs.push(BulkSign::ListUnsubscribe);
    }
    let bulk_precedence = named(headers, "Precedence").any(|h| {
        let value = unfold(h.raw_value());
        value.eq_ignore_ascii_case("bulk") || value.eq_ignore_ascii_case("list")
    });
    if bulk_precedence {
        signs.push(BulkSign::Precedence);
    }
    if first_value(headers, "Feedback-ID").is_some() {
        signs.push(BulkSign::FeedbackId);
    }
    signs
}

/// List-Unsubscribe and List-Unsubscribe-Post, as the bulk rules read them.
struct ListHeaders {
    /// The List-Unsubscribe header lines, for evidence; empty when absent.
    lines: Vec<String>,
    /// The URIs inside angle brackets (RFC 2369 §2), in order.
    uris: Vec<String>,
    /// The first List-Unsubscribe-Post value.
    post: Option<String>,
    /// Whether any List-Unsubscribe-Post holds exactly the one-click pair.
    post_is_one_click: bool,
}

impl ListHeaders {
    fn read(headers: &[Header<'_>]) -> ListHeaders {
        let unsubscribe: Vec<&Header<'_>> = named(headers, "List-Unsubscribe")
            .filter(|h| !unfold(h.raw_value()).is_empty())
            .collect();
        ListHeaders {
            lines: unsubscribe.iter().map(|h| evidence_line(h)).collect(),
            uris: unsubscribe
                .iter()
                .flat_map(|h| bracketed_uris(&unfold(h.raw_value())))
                .collect(),
            post: first_value(headers, "List-Unsubscribe-Post"),
            // RFC 8058 §3.1 names one exact key/value pair; case is
            // forgiven because receivers post the value back verbatim.
            post_is_one_click: named(headers, "List-Unsubscribe-Post")
                .any(|h| unfold(h.raw_value()).eq_ignore_ascii_case(ONE_CLICK)),
        }
    }

    fn has_https(&self) -> bool {
        self.uris.iter().any(|u| is_https(u))
    }

    fn one_click(&self) -> bool {
        !self.lines.is_empty() && self.has_https() && self.post_is_one_click
    }

    /// The `bulk.*` findings of a message the bulk rules apply to.
    fn bulk_findings(&self, signs: &[BulkSign], declared: Option<bool>) -> Vec<Finding> {
        let why_bulk = if declared == Some(true) {
            "The message was declared bulk".to_string()
        } else {
            let named: Vec<&str> = signs.iter().map(|s| s.describe()).collect();
            format!("The message looks bulk ({})", named.join(", "))
        };
        if self.lines.is_empty() {
            return vec![Finding::new(
                catalog::BULK_NO_LIST_UNSUBSCRIBE,
                format!("{why_bulk} but has no List-Unsubscribe header."),
            )];
        }
        if self.one_click() {
            return Vec::new();
        }
        let mut lacks = Vec::new();
        let mut fixes = Vec::new();
        if !self.has_https() {
            lacks.push(if self.uris.is_empty() {
                "List-Unsubscribe holds no URI in angle brackets".to_string()
            } else {
                format!(
                    "List-Unsubscribe offers no https URI (only {})",
                    self.uris.join(", ")
                )
            });
            let mut uris = vec!["<https://example.com/unsub/opaque-token>".to_string()];
            uris.extend(self.uris.iter().map(|u| format!("<{u}>")));
            fixes.push(format!(
                "add an https URI that unsubscribes on a POST request: List-Unsubscribe: {}",
                uris.join(", ")
            ));
        }
        if !self.post_is_one_click {
            lacks.push(match &self.post {
                None => "there is no List-Unsubscribe-Post header".to_string(),
                Some(post) => format!("List-Unsubscribe-Post is `{post}` instead of `{ONE_CLICK}`"),
            });
            fixes.push(format!("add the header List-Unsubscribe-Post: {ONE_CLICK}"));
        }
        let mut evidence = self.lines.clone();
        if let Some(post) = &self.post {
            evidence.push(format!("List-Unsubscribe-Post: {post}"));
        }
        vec![
            Finding::new(
                catalog::BULK_NO_ONE_CLICK,
                format!("{why_bulk}, but {}.", lacks.join(", and ")),
            )
            .with_fix(format!(
                "To offer one-click unsubscribe (RFC 8058), {}; cover both headers with \
                 your DKIM signature.",
                fixes.join(", and ")
            ))
            .with_evidence(evidence),
        ]
    }
}

/// The URIs of an RFC 2369 list header: each between `<` and `>`, white
/// space inside removed (§2 allows folding inside a URI), comments and
/// anything outside brackets skipped.
fn bracketed_uris(value: &str) -> Vec<String> {
    let mut uris = Vec::new();
    let mut depth = 0usize;
    let mut current: Option<String> = None;
    for c in value.chars() {
        match (c, current.as_mut()) {
            ('>', Some(uri)) => {
                if !uri.is_empty() {
                    uris.push(std::mem::take(uri));
                }
                current = None;
            }
            (c, Some(uri)) if !c.is_whitespace() => uri.push(c),
            (_, Some(_)) => {}
            ('(', None) => depth += 1,
            (')', None) => depth = depth.saturating_sub(1),
            ('<', None) if depth == 0 => current = Some(String::new()),
            _ => {}
        }
    }
    uris
}

fn is_https(uri: &str) -> bool {
    uri.get(..6)
        .is_some_and(|scheme| scheme.eq_ignore_ascii_case("https:"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn codes(raw: &[u8], bulk: Option<bool>) -> Vec<&'static str> {
        check(raw, bulk).findings.iter().map(|f| f.code).collect()
    }

    const BASIC: &str = "From: News <news@example.com>\r\n\
                         To: ann@example.net\r\n\
                         Date: Tue, 1 Jul 2025 10:00:00 +0000\r\n\
                         Message-ID: <20250701100000.a1b2@example.com>\r\n\
                         Subject: Hello\r\n\r\nBody\r\n";

    fn with(extra: &str) -> Vec<u8> {
        format!("{extra}{BASIC}").into_bytes()
    }

    /// RFC 5322 §2.2 field names, §4.5 (obsolete syntax) white space before
    /// the colon.
    #[test]
    fn a_message_starts_with_a_header_field() {
        assert_eq!(not_a_message(BASIC.as_bytes()), None);
        assert_eq!(not_a_message(b"From : news@example.com\r\n\r\nhi"), None);
        assert_eq!(not_a_message(b"X-Odd-!#$%:\n"), None);
        assert_eq!(
            not_a_message(b"Dear team: the campaign\n").as_deref(),
            Some("line 1 is `Dear team: the campaign`, not a header field")
        );
        assert_eq!(
            not_a_message(b":no name\n").as_deref(),
            Some("line 1 is `:no name`, not a header field")
        );
        assert!(not_a_message(b"").unwrap().contains("blank line"));
    }

    #[test]
    fn plain_personal_message_is_clean() {
        let checked = check(BASIC.as_bytes(), None);
        assert!(checked.findings.is_empty(), "{:?}", checked.findings);
        let s = checked.section;
        assert_eq!(s.from, vec!["news@example.com"]);
        assert_eq!(s.from_domain.as_deref(), Some("example.com"));
        assert!(s.date_valid);
        assert_eq!(s.subject.as_deref(), Some("Hello"));
        assert!(!s.bulk.looks_bulk && !s.bulk.applies);
    }

    #[test]
    fn two_from_headers_are_multiple_from() {
        let checked = check(&with("From: other@example.org\r\n"), None);
        let codes: Vec<_> = checked.findings.iter().map(|f| f.code).collect();
        assert_eq!(codes, ["msg.multiple_from"]);
        assert_eq!(checked.findings[0].evidence.len(), 2);
        assert!(checked.section.from_domain.is_none());
    }

    #[test]
    fn several_addresses_in_one_from_are_multiple_from_even_with_sender() {
        let raw = BASIC.replace(
            "From: News <news@example.com>",
            "From: a@example.com, \"Doe, B\" <b@example.org>\r\nSender: a@example.com",
        );
        let checked = check(raw.as_bytes(), None);
        let f = &checked.findings;
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].code, "msg.multiple_from");
        assert!(f[0].detail.contains("2 addresses"), "{}", f[0].detail);
        assert!(f[0].detail.contains("Sender"));
        assert_eq!(checked.section.from_domains, ["example.com", "example.org"]);
    }

    #[test]
    fn a_group_with_one_member_is_one_address() {
        let raw = BASIC.replace(
            "From: News <news@example.com>",
            "From: Team: a@example.com;",
        );
        assert!(codes(raw.as_bytes(), None).is_empty());
        assert_eq!(from_domain(raw.as_bytes()).as_deref(), Some("example.com"));
    }

    #[test]
    fn each_missing_header_is_named() {
        let checked = check(b"Subject: hi\r\n\r\nbody\r\n", None);
        let details: Vec<_> = checked
            .findings
            .iter()
            .map(|f| (f.code, f.detail.as_str()))
            .collect();
        assert_eq!(
            details,
            [
                ("msg.missing_header", "The message has no Date header."),
                ("msg.missing_header", "The message has no From header."),
                (
                    "msg.missing_header",
                    "The message has no Message-ID header."
                ),
            ]
        );
    }

    #[test]
    fn blank_header_counts_as_missing() {
        let raw = BASIC.replace("Date: Tue, 1 Jul 2025 10:00:00 +0000", "Date:   ");
        let checked = check(raw.as_bytes(), None);
        assert_eq!(checked.findings.len(), 1);
        assert_eq!(checked.findings[0].detail, "The Date header is empty.");
    }

    #[test]
    fn header_names_match_in_any_case() {
        let raw = BASIC
            .replace("Date:", "DATE:")
            .replace("Message-ID:", "message-id:");
        assert!(codes(raw.as_bytes(), None).is_empty());
    }

    #[test]
    fn bulk_rules_apply_only_to_bulk_mail() {
        // A personal message: no bulk codes unless declared.
        assert!(codes(BASIC.as_bytes(), None).is_empty());
        assert!(codes(BASIC.as_bytes(), Some(false)).is_empty());
        assert_eq!(
            codes(BASIC.as_bytes(), Some(true)),
            ["bulk.no_list_unsubscribe"]
        );
    }

    #[test]
    fn each_bulk_sign_makes_a_message_bulk() {
        for (header, sign) in [
            ("List-Id: News <news.example.com>\r\n", BulkSign::ListId),
            ("Precedence: bulk\r\n", BulkSign::Precedence),
            ("Precedence: List\r\n", BulkSign::Precedence),
            ("Feedback-ID: c1:news:esp\r\n", BulkSign::FeedbackId),
        ] {
            let checked = check(&with(header), None);
            assert_eq!(checked.section.bulk.signs, [sign], "{header}");
            let codes: Vec<_> = checked.findings.iter().map(|f| f.code).collect();
            assert_eq!(codes, ["bulk.no_list_unsubscribe"], "{header}");
            assert!(codes_off(&with(header)), "{header}");
        }
        // `Precedence: junk` is an auto-reply hint, not bulk.
        assert!(codes(&with("Precedence: junk\r\n"), None).is_empty());
    }

    fn codes_off(raw: &[u8]) -> bool {
        codes(raw, Some(false)).is_empty()
    }

    #[test]
    fn one_click_needs_https_and_the_post_header() {
        let full = "List-Unsubscribe: <https://example.com/u/t1>, <mailto:u@example.com>\r\n\
                    List-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n";
        let checked = check(&with(full), None);
        assert!(checked.findings.is_empty(), "{:?}", checked.findings);
        assert!(checked.section.one_click);
        assert_eq!(
            checked.section.list_unsubscribe,
            ["https://example.com/u/t1", "mailto:u@example.com"]
        );

        let no_post = "List-Unsubscribe: <https://example.com/u/t1>\r\n";
        let f = check(&with(no_post), None).findings;
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].code, "bulk.no_one_click");
        assert!(
            f[0].detail.contains("no List-Unsubscribe-Post"),
            "{}",
            f[0].detail
        );

        let mailto_only = "List-Unsubscribe: <mailto:u@example.com>\r\n\
                           List-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n";
        let f = check(&with(mailto_only), None).findings;
        assert_eq!(f.len(), 1);
        assert!(f[0].detail.contains("no https URI"), "{}", f[0].detail);
        assert!(f[0].fix.contains("<mailto:u@example.com>"), "{}", f[0].fix);

        let http = "List-Unsubscribe: <http://example.com/u>\r\n\
                    List-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n";
        assert_eq!(codes(&with(http), None), ["bulk.no_one_click"]);

        let wrong_post = "List-Unsubscribe: <https://example.com/u>\r\n\
                          List-Unsubscribe-Post: List-Unsubscribe=Yes\r\n";
        let f = check(&with(wrong_post), None).findings;
        assert!(
            f[0].detail.contains("`List-Unsubscribe=Yes`"),
            "{}",
            f[0].detail
        );

        let unbracketed = "List-Unsubscribe: https://example.com/u\r\n\
                           List-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n";
        let f = check(&with(unbracketed), None).findings;
        assert!(
            f[0].detail.contains("no URI in angle brackets"),
            "{}",
            f[0].detail
        );
    }

    #[test]
    fn declared_not_bulk_silences_unsubscribe_rules() {
        let no_post = "List-Unsubscribe: <mailto:u@example.com>\r\n";
        assert!(codes(&with(no_post), Some(false)).is_empty());
    }

    #[test]
    fn list_uris_skip_comments_and_unfold() {
        assert_eq!(
            bracketed_uris("(Use this: <nope>) <https://ex.com/\t a>, <mailto:x@ex.com>"),
            ["https://ex.com/a", "mailto:x@ex.com"]
        );
        assert!(bracketed_uris("<unterminated").is_empty());
    }

    #[test]
    fn repeated_single_instance_headers_are_listed() {
        let raw = with("Subject: again\r\nX-Tag: a\r\nX-Tag: b\r\n");
        assert_eq!(check(&raw, None).section.repeated, ["Subject"]);
    }

    #[test]
    fn from_domain_is_lower_case_and_single() {
        let raw = BASIC.replace("news@example.com", "News@Mail.Example.COM");
        assert_eq!(
            from_domain(raw.as_bytes()).as_deref(),
            Some("mail.example.com")
        );
        assert_eq!(from_domain(&with("From: x@example.org\r\n")), None);
        assert_eq!(from_domain(b"Subject: no from\r\n\r\n"), None);
        assert_eq!(from_domain(b"From: undisclosed-recipients:;\r\n\r\n"), None);
        assert_eq!(from_domain(b"From: bogus\r\n\r\n"), None);
        assert_eq!(from_domain(b""), None);
    }

    #[test]
    fn looks_bulk_reads_headers() {
        assert!(looks_bulk(&with("List-Id: <news.example.com>\r\n")));
        assert!(!looks_bulk(BASIC.as_bytes()));
        assert!(!looks_bulk(b""));
    }

    #[test]
    fn hostile_input_gives_findings_not_panics() {
        let inputs: Vec<Vec<u8>> = vec![
            Vec::new(),
            b"\r\n\r\n".to_vec(),
            b"no header section at all".to_vec(),
            b"From: a@\xff\xfe.com\r\nDate: \x00\x00\r\n\r\n\xff".to_vec(),
            b"From: a@x.com\nDate: Tue, 1 Jul 2025\n folded\nMessage-ID: <a@x>\n\nbody".to_vec(),
            b"From: a@x.com\rDate: x\r\r\n".to_vec(),
            b"Content-Type: multipart/mixed; boundary=\"b\"\r\n\r\n--b\r\nbroken".to_vec(),
            b"DKIM-Signature: ;;;===;;\r\nList-Unsubscribe: <<<>>>\r\n\r\n".to_vec(),
            b":\r\n:\r\n : \r\n\t\r\n".to_vec(),
            vec![0u8; 300],
            (0u8..=255).cycle().take(4096).collect(),
        ];
        for raw in inputs {
            let checked = check(&raw, Some(true));
            assert!(
                checked
                    .findings
                    .iter()
                    .any(|f| f.code == "msg.missing_header")
                    || checked.section.from_headers > 0,
                "{:?}",
                String::from_utf8_lossy(&raw)
            );
            let _ = from_domain(&raw);
            let _ = looks_bulk(&raw);
        }
    }

    #[test]
    fn bare_lf_and_folded_headers_read_like_crlf() {
        let lf = BASIC
            .replace("\r\n", "\n")
            .replace("Subject: Hello", "Subject: Hello\n world");
        let checked = check(lf.as_bytes(), None);
        assert!(checked.findings.is_empty(), "{:?}", checked.findings);
        assert_eq!(checked.section.subject.as_deref(), Some("Hello world"));
    }
}
