//! Content checks: what spam filters and mailbox providers judge in a
//! message beyond its authentication, read from its body.
//!
//! This module decides the content findings and their thresholds:
//!
//! - `content.no_text_part`: an HTML body without a text/plain version
//!   (RFC 2046 §5.1.4 multipart/alternative).
//! - `content.image_only`: an HTML body with at least one `<img>` and fewer
//!   than [`TEXT_CHARS_PER_IMAGE`] characters of visible text per image,
//!   unless it has [`ENOUGH_TEXT`] characters or more: what shows when a
//!   recipient's client blocks images is next to nothing.
//! - `content.link_not_aligned`: links whose registrable domain is not the
//!   From domain's ([`links`]).
//! - `content.url_shortener`: links through a public URL shortener (only
//!   this code for them: where they lead is unknown, so not "unaligned").
//! - `content.html_clipped`: an HTML body over [`GMAIL_CLIP_BYTES`]
//!   (Gmail shows "[Message clipped]" and hides the rest, the unsubscribe
//!   link at the bottom included).
//! - `content.too_large`: a message over [`LARGE_MESSAGE_BYTES`].
//!
//! Missing List-Unsubscribe is the header checks' `bulk.*` codes, not
//! repeated here.
//!
//! Every input is bounded: mail-parser (the parse mail-auth's own parser
//! shares) with at most [`MAX_PARTS`] parts and [`MAX_DEPTH`] levels of
//! nesting; at most [`MAX_BODY_PARTS`] text and HTML parts read, each
//! decoded (quoted-printable, base64, charset) only up to [`SCAN_BYTES`];
//! then one linear pass per part ([`html`], [`links`]).

pub mod html;
pub mod links;

use crate::findings::catalog;
use crate::findings::{Checked, Finding};
use links::{LinkHost, Links};
use mail_parser::{MessageParser, PartKind};
use serde::Serialize;

/// Below this many visible characters of text per image, HTML is image
/// only (or nearly).
pub const TEXT_CHARS_PER_IMAGE: usize = 100;
/// HTML with at least this much visible text is never image only.
pub const ENOUGH_TEXT: usize = 1_000;
/// Gmail clips an HTML body larger than about 102 KB.
pub const GMAIL_CLIP_BYTES: usize = 102 * 1024;
/// Messages larger than this are refused or truncated by some receivers
/// (many corporate gateways stop at 10 MB) and are slow everywhere.
pub const LARGE_MESSAGE_BYTES: usize = 10 * 1024 * 1024;

/// The most MIME parts parsed.
pub const MAX_PARTS: usize = 200;
/// The most nested containers.
pub const MAX_DEPTH: usize = 10;
/// The most text and HTML body parts read.
pub const MAX_BODY_PARTS: usize = 8;
/// The most decoded bytes of one body part read.
pub const SCAN_BYTES: usize = 1024 * 1024;

/// The `content` section of a message report.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ContentSection {
    /// The whole message, in bytes.
    pub size: usize,
    /// A text/plain body part is present.
    pub text_part: bool,
    /// A text/html body part is present.
    pub html_part: bool,
    /// Decoded bytes of the HTML body (at most [`SCAN_BYTES`] per part
    /// are counted).
    pub html_bytes: usize,
    /// Visible characters of text in the HTML body.
    pub html_text_chars: usize,
    /// `<img>` tags in the HTML body.
    pub images: usize,
    /// Links looked at (at most 2,000).
    pub links: usize,
    /// The hosts the links point at (at most 50), in order of appearance.
    pub link_hosts: Vec<LinkHost>,
    /// A limit stopped the reading: parts past [`MAX_BODY_PARTS`] or bytes
    /// past [`SCAN_BYTES`] were not read.
    pub truncated: bool,
}

/// Reads the body of `raw` and judges it; `from_domain` is the single
/// From domain, when there is one.
pub fn check(raw: &[u8], from_domain: Option<&str>) -> Checked<ContentSection> {
    let mut section = ContentSection {
        size: raw.len(),
        ..ContentSection::default()
    };
    let mut links = Links::default();
    let parser = MessageParser::new()
        .max_parts(MAX_PARTS)
        .max_depth(MAX_DEPTH);
    if let Some(message) = parser.parse(raw) {
        let mut read = 0;
        let mut read_part = |part: &mail_parser::MessagePart<'_>| -> Option<String> {
            if read >= MAX_BODY_PARTS {
                section.truncated = true;
                return None;
            }
            read += 1;
            let text = part.text_prefix_bytes(SCAN_BYTES)?;
            if text.len() >= SCAN_BYTES {
                section.truncated = true;
            }
            Some(text.into_owned())
        };
        let texts: Vec<String> = message
            .text_body()
            .filter(|p| matches!(p.kind(), PartKind::Text))
            .filter_map(|p| read_part(&p))
            .collect();
        let htmls: Vec<String> = message
            .html_body()
            .filter(|p| matches!(p.kind(), PartKind::Html))
            .filter_map(|p| read_part(&p))
            .collect();
        section.text_part = !texts.is_empty();
        section.html_part = !htmls.is_empty();
        for text in &texts {
            links.add_from_text(text);
        }
        for body in &htmls {
            section.html_bytes += body.len();
            let scan = html::scan(body, &mut links);
            section.html_text_chars += scan.text_chars;
            section.images += scan.images;
        }
    }
    links.align(from_domain);
    section.links = links.seen();
    section.link_hosts = links.into_hosts();
    let findings = findings(&section, from_domain);
    Checked { section, findings }
}

fn findings(s: &ContentSection, from_domain: Option<&str>) -> Vec<Finding> {
    let mut findings = Vec::new();
    if s.html_part && !s.text_part {
        findings.push(Finding::new(
            catalog::CONTENT_NO_TEXT_PART,
            "the message has an HTML body and no text/plain version",
        ));
    }
    if s.images > 0
        && s.html_text_chars < ENOUGH_TEXT
        && s.html_text_chars < TEXT_CHARS_PER_IMAGE * s.images
    {
        findings.push(Finding::new(
            catalog::CONTENT_IMAGE_ONLY,
            format!(
                "the HTML body has {} image(s) and {} characters of visible text \
                 (fewer than {TEXT_CHARS_PER_IMAGE} per image)",
                s.images, s.html_text_chars
            ),
        ));
    }
    let foreign: Vec<&LinkHost> = s
        .link_hosts
        .iter()
        .filter(|h| h.aligned == Some(false) && !h.shortener)
        .collect();
    if let (Some(from), false) = (from_domain, foreign.is_empty()) {
        findings.push(
            Finding::new(
                catalog::CONTENT_LINK_NOT_ALIGNED,
                format!(
                    "{} link(s) point at {} host(s) outside {}, the From domain's \
                     organization: {}",
                    foreign.iter().map(|h| h.links).sum::<usize>(),
                    foreign.len(),
                    crate::records::name::registrable_domain(from),
                    host_list(&foreign)
                ),
            )
            .with_evidence(
                foreign
                    .iter()
                    .map(|h| format!("{} ({} links)", h.host, h.links)),
            ),
        );
    }
    let shorteners: Vec<&LinkHost> = s.link_hosts.iter().filter(|h| h.shortener).collect();
    if !shorteners.is_empty() {
        findings.push(
            Finding::new(
                catalog::CONTENT_URL_SHORTENER,
                format!(
                    "links go through the URL shortener(s) {}",
                    host_list(&shorteners)
                ),
            )
            .with_evidence(
                shorteners
                    .iter()
                    .map(|h| format!("{} ({} links)", h.host, h.links)),
            ),
        );
    }
    if s.html_bytes > GMAIL_CLIP_BYTES {
        findings.push(Finding::new(
            catalog::CONTENT_HTML_CLIPPED,
            format!(
                "the HTML body is {} bytes{}, over Gmail's {GMAIL_CLIP_BYTES}",
                s.html_bytes,
                if s.truncated { " or more" } else { "" }
            ),
        ));
    }
    if s.size > LARGE_MESSAGE_BYTES {
        findings.push(Finding::new(
            catalog::CONTENT_TOO_LARGE,
            format!(
                "the message is {} bytes, over {LARGE_MESSAGE_BYTES}",
                s.size
            ),
        ));
    }
    findings
}

/// At most ten hosts, comma-separated.
fn host_list(hosts: &[&LinkHost]) -> String {
    let mut list: Vec<&str> = hosts.iter().take(10).map(|h| h.host.as_str()).collect();
    if hosts.len() > 10 {
        list.push("…");
    }
    list.join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn codes(raw: &str, from: Option<&str>) -> Vec<&'static str> {
        check(raw.as_bytes(), from)
            .findings
            .iter()
            .map(|f| f.code)
            .collect()
    }

    const ALTERNATIVE: &str = "From: a@example.com\r\nMIME-Version: 1.0\r\n\
        Content-Type: multipart/alternative; boundary=b\r\n\r\n--b\r\n\
        Content-Type: text/plain\r\n\r\nHello, see https://example.com/x\r\n--b\r\n\
        Content-Type: text/html\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n\
        <p>Hello, see <a href=3D\"https://www.example.com/x\">this</a></p>\r\n--b--\r\n";

    #[test]
    fn a_plain_alternative_with_aligned_links_has_no_finding() {
        let c = check(ALTERNATIVE.as_bytes(), Some("example.com"));
        assert!(c.findings.is_empty(), "{:?}", c.findings);
        assert!(c.section.text_part && c.section.html_part);
        assert_eq!(c.section.links, 2);
        assert_eq!(c.section.link_hosts.len(), 2);
    }

    #[test]
    fn html_only_image_only_is_two_findings() {
        let raw = "From: a@example.com\r\nContent-Type: text/html\r\n\r\n\
                   <img src=\"https://example.com/a.png\"><p>Sale</p>";
        assert_eq!(
            codes(raw, Some("example.com")),
            ["content.no_text_part", "content.image_only"]
        );
    }

    #[test]
    fn without_a_from_domain_links_are_not_judged_for_alignment() {
        let raw =
            "From: x\r\nContent-Type: text/plain\r\n\r\nhttps://other.example/ https://bit.ly/a";
        assert_eq!(codes(raw, None), ["content.url_shortener"]);
    }

    #[test]
    fn a_body_that_is_not_mime_is_no_problem() {
        assert!(codes("no header here", Some("example.com")).is_empty());
        assert!(codes("", None).is_empty());
    }
}
