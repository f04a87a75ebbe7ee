//! The options of a DKIM signature a sender should know about, whatever
//! its verdict, from the signature's tags as [`super::signatures`] read
//! them (the one reading of each `DKIM-Signature` the report makes):
//!
//! - `dkim.body_length_tag` when it carries `l=` (RFC 6376 §8.2): what is
//!   appended after the signed length is not signed;
//! - `dkim.from_not_oversigned` when `h=` names `from` fewer than twice
//!   (§5.4.2, §8.15): a second From could be added to a signed copy.
//!
//! A signature whose tag list breaks the grammar (§3.2), with `v=` other
//! than 1, or with `d=`, `s=`, `b=`, `bh=` or `h=` missing or empty (§3.5)
//! gets neither: its verdict reports it. The message report lists these
//! findings before the verdicts' ([`super::DkimVerification::options`]).

use super::signatures::{Tag, WrittenTags};
use crate::findings::{Finding, catalog};

/// The findings on one signature's options, from its tags as
/// [`super::signatures`] read them; none when the tag list does not parse.
pub(super) fn findings(tags: &WrittenTags) -> Vec<Finding> {
    Options::read(tags).map_or_else(Vec::new, |options| options.findings())
}

/// The tags of a DKIM-Signature that matter here.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Options {
    domain: String,
    selector: String,
    /// The `l=` value as written.
    body_length: Option<String>,
    /// The `h=` header names, as written, white space removed.
    signed: Vec<String>,
    /// The tag list, with `b=` and `bh=` shortened, for evidence.
    summary: String,
}

impl Options {
    /// `None` when the tag list does not parse: a field that is not `name=value`, an
    /// invalid or repeated tag name (§3.2 makes the whole list invalid),
    /// `v=` other than 1, or one of `d=`, `s=`, `b=`, `bh=`, `h=` missing or
    /// empty (§3.5). Empty tag-specs (`;;`) are passed over.
    fn read(written: &WrittenTags) -> Option<Options> {
        if written.broken {
            return None;
        }
        let tag = |name: &str| written.get(name);
        if tag("v").is_some_and(|v| v != "1") {
            return None;
        }
        let required = ["d", "s", "b", "bh", "h"];
        if required
            .iter()
            .any(|name| tag(name).is_none_or(|v| v.is_empty()))
        {
            return None;
        }
        let summary = written
            .tags
            .iter()
            .map(|Tag { name, value }| {
                let value: String = value.chars().filter(|c| !c.is_whitespace()).collect();
                if (name == "b" || name == "bh") && value.chars().count() > 12 {
                    let head: String = value.chars().take(12).collect();
                    format!("{name}={head}…")
                } else {
                    format!("{name}={value}")
                }
            })
            .collect::<Vec<_>>()
            .join("; ");
        Some(Options {
            domain: tag("d").unwrap_or_default().to_string(),
            selector: tag("s").unwrap_or_default().to_string(),
            body_length: tag("l").map(str::to_string),
            signed: tag("h")
                .unwrap_or_default()
                .split(':')
                .map(|n| n.chars().filter(|c| !c.is_whitespace()).collect::<String>())
                .filter(|n| !n.is_empty())
                .collect(),
            summary,
        })
    }

    fn findings(&self) -> Vec<Finding> {
        let who = format!("d={} s={}", self.domain, self.selector);
        let evidence = format!("DKIM-Signature: {}", self.summary);
        let mut findings = Vec::new();
        if let Some(length) = &self.body_length {
            findings.push(
                Finding::new(
                    catalog::DKIM_BODY_LENGTH_TAG,
                    format!(
                        "The DKIM signature {who} carries l={length}: it covers only the \
                         first {length} bytes of the canonicalized body, and anything \
                         appended after them is unsigned."
                    ),
                )
                .with_evidence([evidence.clone()]),
            );
        }
        let from_count = self
            .signed
            .iter()
            .filter(|n| n.eq_ignore_ascii_case("from"))
            .count();
        if from_count < 2 {
            let listed = match from_count {
                0 => "does not list From in h= at all",
                _ => "lists From only once in h=",
            };
            let others: Vec<&str> = self
                .signed
                .iter()
                .filter(|n| !n.eq_ignore_ascii_case("from"))
                .map(String::as_str)
                .collect();
            let mut h = vec!["from", "from"];
            h.extend(others);
            findings.push(
                Finding::new(
                    catalog::DKIM_FROM_NOT_OVERSIGNED,
                    format!(
                        "The DKIM signature {who} {listed} (h={}): a second From header \
                         could be added to a signed copy without breaking the signature.",
                        self.signed.join(":")
                    ),
                )
                .with_fix(format!(
                    "Configure the signer to list From twice in h= (oversigning), for \
                     this signature: h={}",
                    h.join(":")
                ))
                .with_evidence([evidence]),
            );
        }
        findings
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::message::dkim::{parse, signatures::signature_headers, wire_form};
    use crate::message::limits::Budget;

    /// The codes of a DKIM-Signature value.
    fn codes(value: &str) -> Vec<&'static str> {
        findings(&WrittenTags::read(value.as_bytes()))
            .iter()
            .map(|f| f.code)
            .collect()
    }

    /// The findings of a whole message's signatures, read as the report
    /// reads them.
    fn of_message(raw: &[u8]) -> Vec<Finding> {
        let wire = wire_form(raw);
        let message = parse(&wire).expect("a message");
        signature_headers(&message, &Budget::default())
            .iter()
            .flat_map(|header| findings(&header.tags))
            .collect()
    }

    fn fixture(name: &str) -> Vec<u8> {
        let path = format!("{}/fixtures/messages/{name}", env!("CARGO_MANIFEST_DIR"));
        std::fs::read(path).expect("fixture")
    }

    const SIG: &str = "v=1; a=rsa-sha256; c=relaxed/relaxed; d=example.com;\r\n\
                       \ts=s1; h=from:from:to:subject:date:message-id;\r\n\
                       \tbh=47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=;\r\n\
                       \tb=dGVzdHNpZ25hdHVyZXRlc3RzaWduYXR1cmU=\r\n";

    #[test]
    fn oversigned_signature_without_l_is_clean() {
        assert!(codes(SIG).is_empty());
    }

    #[test]
    fn body_length_tag_is_reported() {
        let sig = SIG.replace("s=s1;", "s=s1; l=1200;");
        let f = findings(&WrittenTags::read(sig.as_bytes()));
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].code, "dkim.body_length_tag");
        assert!(f[0].detail.contains("d=example.com s=s1 carries l=1200"));
        assert!(
            f[0].evidence[0].contains("b=dGVzdHNpZ25h…"),
            "{:?}",
            f[0].evidence
        );
    }

    #[test]
    fn from_signed_once_is_not_oversigned() {
        let sig = SIG.replace("h=from:from:", "h=From:");
        let f = findings(&WrittenTags::read(sig.as_bytes()));
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].code, "dkim.from_not_oversigned");
        assert!(f[0].detail.contains("only once"), "{}", f[0].detail);
        assert!(f[0].fix.ends_with("h=from:from:to:subject:date:message-id"));
        // Folding white space inside h= does not hide the names.
        let spaced = SIG.replace("h=from:from:", "h=from :\r\n\t from:");
        assert!(codes(&spaced).is_empty());
    }

    #[test]
    fn unparsable_signatures_are_left_to_the_verdict() {
        for broken in [
            SIG.replace("d=example.com;", ""),
            SIG.replace("v=1;", "v=2;"),
            SIG.replace("s=s1;", "s=s1; s=s2; l=5;"),
            SIG.replace("c=relaxed/relaxed;", "garbage; l=5;"),
            SIG.replace("h=from:from:", "h=;x=")
                .replace("to:subject", ""),
            String::new(),
        ] {
            assert!(codes(&broken).is_empty(), "{broken}");
        }
    }

    #[test]
    fn signature_tags_parse_tolerantly() {
        let read = |value: &str| Options::read(&WrittenTags::read(value.as_bytes()));
        let sig = read(" d = example.com ;s=a ; h = from : to ; bh=x; b=y;").expect("parses");
        assert_eq!(sig.domain, "example.com");
        assert_eq!(sig.signed, ["from", "to"]);
        assert_eq!(read("d=x; 1s=a; h=from; bh=x; b=y"), None);
        assert_eq!(read("d=x; s=a; s=b; h=from; bh=x; b=y"), None);
        assert!(read(";d=x;; s=a; h=from; bh=x; b=y").is_some());
    }

    #[test]
    fn the_fixtures_give_their_code() {
        let length = of_message(&fixture("dkim.body_length_tag.eml"));
        assert_eq!(length.len(), 1);
        let f = &length[0];
        assert_eq!(f.code, "dkim.body_length_tag");
        assert!(
            f.detail.contains("d=example.com s=s2025 carries l=42"),
            "{}",
            f.detail
        );
        assert_eq!(f.severity, crate::findings::Severity::Warning);

        let once = of_message(&fixture("dkim.from_not_oversigned.eml"));
        assert_eq!(once.len(), 1);
        let f = &once[0];
        assert_eq!(f.code, "dkim.from_not_oversigned");
        assert_eq!(f.severity, crate::findings::Severity::Info);
        assert!(
            f.fix.contains("h=from:from:to:subject:date:message-id"),
            "{}",
            f.fix
        );
    }
}
