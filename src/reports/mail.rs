//! The report inside a report email, as a receiver mails it: RFC 7489
//! §7.2.1.1 (aggregate reports: a MIME message with the gzip — or, from
//! some receivers, zip or plain XML — report as one part) and RFC 8460
//! §5.3 (TLS reports: `multipart/report; report-type=tlsrpt` with an
//! `application/tlsrpt+gzip` or `application/tlsrpt+json` part).
//!
//! The part is found by content, not by name or announced type, because
//! reporters label the same gzip `application/gzip`, `application/x-gzip`
//! or `application/octet-stream`: the first non-text part (in document
//! order, nested `message/rfc822` parts included, so a forwarded report
//! email works) whose decoded bytes sniff as gzip, zip, XML or JSON. Text
//! parts count only when their type says XML or JSON (`text/xml`), so the
//! human-readable `text/plain` or HTML part is never taken for the report.

use super::ReportError;
use super::container::{Format, sniff};
use mail_parser::{MessageParser, PartKind};

/// Nested containers a report email may have (multiparts and messages).
const MAX_DEPTH: usize = 8;
/// Parts a report email may have; more are left unparsed.
const MAX_PARTS: usize = 64;

/// The decoded bytes of the report part of a report email.
pub fn report_attachment(message: &[u8]) -> Result<Vec<u8>, ReportError> {
    let parsed = MessageParser::new()
        .max_depth(MAX_DEPTH)
        .max_parts(MAX_PARTS)
        .parse(message)
        .ok_or_else(|| ReportError::Mail("not a MIME message".into()))?;
    for part in parsed.parts() {
        let candidate = match part.kind() {
            PartKind::Binary | PartKind::InlineBinary => true,
            PartKind::Text => part.content_type().is_some_and(|ct| {
                ct.subtype().is_some_and(|sub| {
                    let sub = sub.to_ascii_lowercase();
                    sub.contains("xml") || sub.contains("json")
                })
            }),
            PartKind::Html | PartKind::Multipart | PartKind::Message(_) => false,
        };
        if !candidate {
            continue;
        }
        let decoded = part.decoded();
        if matches!(
            sniff(&decoded),
            Some(Format::Gzip | Format::Zip | Format::Xml | Format::Json)
        ) {
            return Ok(decoded.into_owned());
        }
    }
    Err(ReportError::Mail(
        "no report attachment: expected a gzip, zip, XML or JSON part \
         (RFC 7489 §7.2.1.1, RFC 8460 §5.3)"
            .into(),
    ))
}
