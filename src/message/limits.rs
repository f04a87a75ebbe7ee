//! What verifying one message may cost, and what each limit answers.
//!
//! A message comes from anyone, and its cost grows with its shape more than
//! with its size: parsers spend memory per header field, every distinct
//! body canonicalization, hash and `l=` among the signatures is one more
//! pass over the body (RFC 6376 §3.7), and every signature is a DNS
//! question and a public-key operation. Four limits bound that, each a flag
//! of `mailvet message` and `mailvet serve`:
//!
//! | limit | default | when a message goes over it |
//! |---|---|---|
//! | header fields | 5,000 | refused ([`HeaderLimit`]) |
//! | header-section bytes | 1 MiB | refused ([`HeaderLimit`]) |
//! | DKIM signatures judged | 20 | the first 20 `DKIM-Signature` fields in header order are judged, the others listed as not evaluated (`dkim.not_evaluated`) |
//! | distinct body hashes | 4 | a signature that would need another is not evaluated; an ARC chain that would need another fails |
//!
//! **The header limits** are checked by [`check`], one pass over the raw
//! bytes before any parser runs. A message over them is refused, not
//! verified in part: DKIM picks the signed fields from the bottom of the
//! header section up (RFC 6376 §5.4.2), so a verifier that kept only part
//! of it would hash other fields than the signer did, and the From, Date
//! and Received checks would judge a header section that is not the
//! message's. Receivers refuse such messages too: Gmail rejects mail with
//! more than 5,000 header fields or 500 KB of header section, incoming mail
//! included; Postfix keeps `header_size_limit` bytes of it (100 KiB by
//! default) and discards the rest. The defaults are at or above those, so
//! a deliverable message never reaches them.
//!
//! **The signature limits** are applied by [`Budget`]. A real message
//! carries a few signatures (an ESP's and the author domain's, perhaps an
//! Ed25519 one beside an RSA one, RFC 8463 §3) sharing one or two body
//! hashes, and ARC chains rarely grow past a handful of hops; RFC 8617
//! §4.2.1 caps them at 50 sets, which the ARC module enforces. mail-auth
//! computes the body hash of every `DKIM-Signature` and
//! `ARC-Message-Signature` it parses, before anyone can choose among them,
//! so the budget decides first: it splits the header section exactly as
//! mail-auth does ([`fields`]), reads each signature with mail-auth's own
//! parser to learn the body hash it needs, and renames each field it
//! leaves out in the bytes mail-auth will parse: the first letter of the
//! name becomes `X` (same length, same offsets), so mail-auth neither
//! parses it nor hashes the body for it. Signatures over the count whose
//! body hash is needed anyway stay visible and are dropped from mail-auth's
//! list before it asks DNS ([`Budget::retain`]).
//!
//! A signature that signs a field the budget renamed (an `h=` naming
//! `DKIM-Signature` or `ARC-Message-Signature`) cannot be verified over the
//! renamed bytes, so it is not evaluated either, and an ARC chain whose
//! newest `ARC-Message-Signature` does so fails.

use crate::findings::Finding;
use crate::findings::catalog;
use mail_auth::AuthenticatedMessage;
use mail_auth::crypto::HashAlgorithm;
use mail_auth::dkim::{Canonicalization, DkimError};
use serde::Serialize;
use std::borrow::Cow;

pub const DEFAULT_MAX_HEADER_FIELDS: usize = 5_000;
pub const DEFAULT_MAX_HEADER_BYTES: usize = 1024 * 1024;
pub const DEFAULT_MAX_DKIM_SIGNATURES: usize = 20;
pub const DEFAULT_MAX_BODY_HASHES: usize = 4;

/// The most left-out signatures a report lists one by one; the rest are
/// counted.
const LISTED: usize = 20;

/// The limits of one message (see the module doc).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MessageLimits {
    /// Most header fields.
    pub header_fields: usize,
    /// Most bytes of header section, the blank line that ends it included.
    pub header_bytes: usize,
    /// Most `DKIM-Signature` fields judged.
    pub dkim_signatures: usize,
    /// Most distinct (body canonicalization, hash, `l=`) body hashes.
    pub body_hashes: usize,
}

impl Default for MessageLimits {
    fn default() -> MessageLimits {
        MessageLimits {
            header_fields: DEFAULT_MAX_HEADER_FIELDS,
            header_bytes: DEFAULT_MAX_HEADER_BYTES,
            dkim_signatures: DEFAULT_MAX_DKIM_SIGNATURES,
            body_hashes: DEFAULT_MAX_BODY_HASHES,
        }
    }
}

/// A header section over a limit: the message is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HeaderLimit {
    #[error(
        "the header section has more than {limit} fields, the most this server verifies \
         (max-header-fields); Gmail refuses messages with more than 5000"
    )]
    Fields { limit: usize },
    #[error(
        "the header section is larger than {limit} bytes, the most this server verifies \
         (max-header-bytes); Gmail refuses messages with more than 500 KB of headers"
    )]
    Bytes { limit: usize },
}

// ---------------------------------------------------------------------------
// The header section, split as mail-auth splits it

/// One header field: byte ranges into the message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Field {
    /// Where the field starts (its name).
    pub start: usize,
    /// The colon after the name; `None` for a line without one, which
    /// mail-auth keeps as a field with an empty value.
    pub colon: Option<usize>,
    /// Just past the line feed that ends the field.
    pub end: usize,
}

impl Field {
    pub fn name<'m>(&self, message: &'m [u8]) -> &'m [u8] {
        message
            .get(self.start..self.colon.unwrap_or(self.end))
            .unwrap_or_default()
    }

    pub fn value<'m>(&self, message: &'m [u8]) -> &'m [u8] {
        match self.colon {
            Some(colon) => message.get(colon + 1..self.end).unwrap_or_default(),
            None => &[],
        }
    }
}

/// The header fields of a message, in order, as mail-auth 0.15's parser
/// draws their boundaries (so that the budget and mail-auth see the same
/// fields; the fuzz target `header_flood` holds the two to it):
///
/// - a field is a name up to the first colon, then the value up to a line
///   feed not followed by a space or tab (folding, RFC 5322 §2.2.3);
/// - a line without a colon ends the section when it is empty or ends in
///   CR LF; a bare-LF line without one is a field of its own, unless the
///   next line is folded into it;
/// - the section also ends where the bytes do: a last field without its
///   line feed is not a field.
///
/// [`Fields::body`] is then where the body starts (the message's length
/// when there is none).
pub(crate) fn fields(message: &[u8]) -> Fields<'_> {
    Fields {
        message,
        start: 0,
        body: None,
    }
}

pub(crate) struct Fields<'m> {
    message: &'m [u8],
    start: usize,
    body: Option<usize>,
}

impl Fields<'_> {
    /// Where the body starts; known once the iterator is exhausted.
    pub fn body(&self) -> usize {
        self.body.unwrap_or(self.message.len())
    }

    /// The end of the line-feed-terminated run starting at `from` whose
    /// continuation lines begin with a space or tab.
    fn unfolded_end(&self, mut from: usize) -> Option<usize> {
        loop {
            let lf = from + memchr::memchr(b'\n', self.message.get(from..)?)?;
            match self.message.get(lf + 1) {
                Some(b' ' | b'\t') => from = lf + 1,
                _ => return Some(lf + 1),
            }
        }
    }
}

impl Iterator for Fields<'_> {
    type Item = Field;

    fn next(&mut self) -> Option<Field> {
        if self.body.is_some() {
            return None;
        }
        let start = self.start;
        let mut from = start;
        while let Some(at) = self
            .message
            .get(from..)
            .and_then(|rest| memchr::memchr2(b':', b'\n', rest))
        {
            let at = from + at;
            if self.message.get(at) == Some(&b':') {
                let Some(end) = self.unfolded_end(at + 1) else {
                    break;
                };
                self.start = end;
                return Some(Field {
                    start,
                    colon: Some(at),
                    end,
                });
            }
            // A line feed before any colon.
            let after_cr = at > from && self.message.get(at - 1) == Some(&b'\r');
            if after_cr || at == start {
                self.body = Some(at + 1);
                return None;
            }
            match self.message.get(at + 1) {
                Some(b' ' | b'\t') => from = at + 1,
                _ => {
                    self.start = at + 1;
                    return Some(Field {
                        start,
                        colon: None,
                        end: at + 1,
                    });
                }
            }
        }
        self.body = Some(self.message.len());
        None
    }
}

/// The size of a header section within the limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HeaderSection {
    pub fields: usize,
    /// Bytes up to where the body starts.
    pub bytes: usize,
    /// `DKIM-Signature`, `ARC-Message-Signature` and `ARC-Seal` fields:
    /// each may cost a public-key operation.
    pub signatures: usize,
}

/// Counts the header section against the limits, reading no further than
/// one byte past the byte limit. Runs before any parser.
pub fn check(raw: &[u8], limits: &MessageLimits) -> Result<HeaderSection, HeaderLimit> {
    // Past the byte limit nothing can change the answer: a section that
    // has not ended by then is too large.
    let window = raw
        .get(..limits.header_bytes.saturating_add(1))
        .unwrap_or(raw);
    let mut split = fields(window);
    let mut count = 0usize;
    let mut signatures = 0usize;
    for field in split.by_ref() {
        count += 1;
        let name = field.name(window);
        signatures += usize::from(signature_kind(name).is_some() || is_arc_seal(name));
        if count > limits.header_fields {
            return Err(HeaderLimit::Fields {
                limit: limits.header_fields,
            });
        }
    }
    let bytes = split.body();
    if bytes > limits.header_bytes {
        return Err(HeaderLimit::Bytes {
            limit: limits.header_bytes,
        });
    }
    Ok(HeaderSection {
        fields: count,
        bytes,
        signatures,
    })
}

// ---------------------------------------------------------------------------
// The signature budget

/// The two kinds of field mail-auth computes a body hash for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SignatureKind {
    Dkim,
    ArcMessage,
}

impl SignatureKind {
    fn name(self) -> &'static str {
        match self {
            SignatureKind::Dkim => "dkim-signature",
            SignatureKind::ArcMessage => "arc-message-signature",
        }
    }
}

/// Whether a field name is `DKIM-Signature` or `ARC-Message-Signature`,
/// white space (folding included) ignored and letters in any case. This
/// takes in every name mail-auth parses as one, and a few odd ones it does
/// not.
pub(crate) fn signature_kind(name: &[u8]) -> Option<SignatureKind> {
    [SignatureKind::Dkim, SignatureKind::ArcMessage]
        .into_iter()
        .find(|kind| letters(name).eq(kind.name().bytes()))
}

/// Whether a field name is `ARC-Seal`, read as [`signature_kind`] reads.
fn is_arc_seal(name: &[u8]) -> bool {
    letters(name).eq(b"arc-seal".iter().copied())
}

/// A field name without its white space, lower-case.
fn letters(name: &[u8]) -> impl Iterator<Item = u8> + '_ {
    name.iter()
        .filter(|b| !matches!(b, b' ' | b'\t' | b'\r' | b'\n'))
        .map(u8::to_ascii_lowercase)
}

/// The body hash a signature needs, as mail-auth keys it.
type BodyHash = (Canonicalization, HashAlgorithm, u64);

/// Why a DKIM signature is not evaluated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LeftOutBecause {
    /// It comes after the first `max-dkim-signatures` in header order.
    SignatureLimit,
    /// Its body hash would be one more than `max-body-hashes`.
    BodyHashLimit,
    /// It signs a header field left out by one of those limits.
    SignsLeftOutField,
}

impl LeftOutBecause {
    fn describe(self, limits: &MessageLimits) -> String {
        match self {
            LeftOutBecause::SignatureLimit => format!(
                "came after the first {}, the most judged per message (max-dkim-signatures)",
                limits.dkim_signatures
            ),
            LeftOutBecause::BodyHashLimit => format!(
                "needed a body hash (c=, a=, l=) beyond the {} computed per message \
                 (max-body-hashes)",
                limits.body_hashes
            ),
            LeftOutBecause::SignsLeftOutField => "signed a DKIM-Signature or \
                 ARC-Message-Signature field left out by those limits"
                .to_string(),
        }
    }
}

/// A DKIM signature the budget left out, for the report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LeftOutSignature {
    /// 1 for the first `DKIM-Signature` field of the header section.
    pub position: usize,
    /// `d=`, when the signature parses.
    pub domain: Option<String>,
    /// `s=`, when the signature parses.
    pub selector: Option<String>,
    pub because: LeftOutBecause,
}

/// The `not_evaluated` section of a message report: the DKIM signatures
/// the limits left out.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NotEvaluated {
    /// How many `DKIM-Signature` fields were not judged.
    pub dkim_signatures: usize,
    /// The first of them, in header order (at most 20).
    pub dkim: Vec<LeftOutSignature>,
}

/// What one `DKIM-Signature` or `ARC-Message-Signature` field needs.
struct Signed {
    kind: SignatureKind,
    /// The field's name offset and value range in the message.
    field: Field,
    /// `None` when mail-auth cannot parse it (then it computes nothing).
    hash: Option<BodyHash>,
    /// `h=`, lower-case.
    signs: Vec<String>,
    /// `i=` of an ARC-Message-Signature.
    instance: u32,
    domain: Option<String>,
    selector: Option<String>,
}

impl Signed {
    fn read(kind: SignatureKind, field: Field, message: &[u8]) -> Signed {
        let value = field.value(message);
        let mut signed = Signed {
            kind,
            field,
            hash: None,
            signs: Vec::new(),
            instance: 0,
            domain: None,
            selector: None,
        };
        let lower = |h: &[String]| h.iter().map(|n| n.to_ascii_lowercase()).collect();
        match kind {
            SignatureKind::Dkim => {
                if let Ok(s) = mail_auth::dkim::Signature::parse(value) {
                    signed.hash = Some((s.cb, HashAlgorithm::from(s.a), s.l));
                    signed.signs = lower(&s.h);
                    signed.domain = Some(s.d.to_ascii_lowercase());
                    signed.selector = Some(s.s);
                }
            }
            SignatureKind::ArcMessage => {
                if let Ok(s) = mail_auth::arc::Signature::parse(value) {
                    signed.hash = Some((s.cb, HashAlgorithm::from(s.a), s.l));
                    signed.signs = lower(&s.h);
                    signed.instance = s.i;
                }
            }
        }
        signed
    }
}

/// Which signatures of one message are judged, and the bytes mail-auth
/// parses (see the module doc). `Budget::default()` judges everything.
#[derive(Debug, Clone, Default)]
pub struct Budget {
    limits: MessageLimits,
    /// The `DKIM-Signature` fields not judged, in header order, each with
    /// the offset of its value in the message.
    left_out: Vec<(usize, LeftOutSignature)>,
    /// Why the ARC chain is not verified, when it is not.
    arc: Option<String>,
}

impl Budget {
    /// Decides for a message in wire form (CR LF line ends) and returns the
    /// bytes to hand mail-auth: `wire` itself, with the left-out fields
    /// renamed when there are any.
    pub fn new<'w>(wire: Cow<'w, [u8]>, limits: &MessageLimits) -> (Budget, Cow<'w, [u8]>) {
        let found: Vec<(SignatureKind, Field)> = fields(&wire)
            .filter_map(|f| signature_kind(f.name(&wire)).map(|k| (k, f)))
            .collect();
        let dkim = found
            .iter()
            .filter(|(k, _)| *k == SignatureKind::Dkim)
            .count();
        // Few enough that nothing can be left out (each needs at most one
        // body hash): no need to read them. The common case.
        if dkim <= limits.dkim_signatures && found.len() <= limits.body_hashes {
            return (
                Budget {
                    limits: *limits,
                    ..Budget::default()
                },
                wire,
            );
        }
        let signed: Vec<Signed> = found
            .into_iter()
            .map(|(k, f)| Signed::read(k, f, &wire))
            .collect();
        let (dkim, arc): (Vec<&Signed>, Vec<&Signed>) =
            signed.iter().partition(|s| s.kind == SignatureKind::Dkim);
        let mut plan = Plan {
            limits,
            hashes: Vec::new(),
            renamed: Vec::new(),
            left_out: Vec::new(),
        };
        let judged = plan.dkim(&dkim);
        let mut arc_left_out = plan.arc(&arc);

        // A signature that signs a renamed field would be verified over
        // bytes its signer did not sign.
        let renamed_kinds: Vec<&str> = signed
            .iter()
            .filter(|s| plan.renamed.contains(&s.field.start))
            .map(|s| s.kind.name())
            .collect();
        let signs_renamed =
            |s: &Signed| s.signs.iter().any(|n| renamed_kinds.contains(&n.as_str()));
        for (position, s) in judged {
            if signs_renamed(s) {
                plan.leave_out(s, position, LeftOutBecause::SignsLeftOutField);
            }
        }
        let newest = arc.iter().max_by_key(|s| s.instance);
        if arc_left_out.is_none() && newest.is_some_and(|s| signs_renamed(s)) {
            arc_left_out = Some(
                "not verified: its newest ARC-Message-Signature signs a DKIM-Signature \
                 field left out by the signature limits"
                    .to_string(),
            );
        }
        plan.left_out.sort_by_key(|(_, l)| l.position);
        let budget = Budget {
            limits: *limits,
            left_out: plan.left_out,
            arc: arc_left_out,
        };
        if plan.renamed.is_empty() {
            return (budget, wire);
        }
        let mut view = wire;
        let bytes = view.to_mut();
        for start in plan.renamed {
            // Every name mail-auth recognises begins with a letter other
            // than X, white space aside.
            if let Some(first) = bytes
                .get_mut(start..)
                .and_then(|name| name.iter_mut().find(|b| !b.is_ascii_whitespace()))
            {
                *first = b'X';
            }
        }
        (budget, view)
    }

    /// Drops from mail-auth's list the parsed DKIM signatures this budget
    /// leaves out, before mail-auth verifies anything (and so before any
    /// DNS question for them). Call it on the message parsed from the
    /// bytes [`Budget::new`] returned.
    pub fn retain(&self, message: &mut AuthenticatedMessage<'_>) {
        if self.left_out.is_empty() {
            return;
        }
        let base = message.raw_message().as_ptr() as usize;
        let keep: Vec<bool> = message
            .dkim_signatures()
            .iter()
            .map(|h| self.judges(h.value.as_ptr() as usize - base))
            .collect();
        let mut keep = keep.into_iter();
        // Vec::retain visits each element once, in order.
        message.retain_dkim_signatures(|_| match keep.next() {
            Some(false) => Err(DkimError::SignatureExpired),
            _ => Ok(()),
        });
    }

    /// Whether the `DKIM-Signature` field whose value starts at this offset
    /// is judged.
    pub(crate) fn judges(&self, value_offset: usize) -> bool {
        !self.left_out.iter().any(|(at, _)| *at == value_offset)
    }

    /// Why the ARC chain is not verified, when it is not.
    pub(crate) fn arc_left_out(&self) -> Option<&str> {
        self.arc.as_deref()
    }

    /// The signatures left out, for the report; `None` when every one is
    /// judged.
    pub fn not_evaluated(&self) -> Option<NotEvaluated> {
        if self.left_out.is_empty() {
            return None;
        }
        Some(NotEvaluated {
            dkim_signatures: self.left_out.len(),
            dkim: self
                .left_out
                .iter()
                .take(LISTED)
                .map(|(_, l)| l.clone())
                .collect(),
        })
    }

    /// `dkim.not_evaluated`, when signatures were left out: how many, why,
    /// and the first few as evidence.
    pub(crate) fn finding(&self) -> Option<Finding> {
        if self.left_out.is_empty() {
            return None;
        }
        let reasons: Vec<String> = [
            LeftOutBecause::SignatureLimit,
            LeftOutBecause::BodyHashLimit,
            LeftOutBecause::SignsLeftOutField,
        ]
        .into_iter()
        .filter_map(|because| {
            let n = self
                .left_out
                .iter()
                .filter(|(_, l)| l.because == because)
                .count();
            (n > 0).then(|| format!("{n} {}", because.describe(&self.limits)))
        })
        .collect();
        let evidence = self.left_out.iter().take(5).map(|(_, l)| {
            format!(
                "DKIM-Signature #{}: d={} s={}",
                l.position,
                l.domain.as_deref().unwrap_or("?"),
                l.selector.as_deref().unwrap_or("?")
            )
        });
        Some(
            Finding::new(
                catalog::DKIM_NOT_EVALUATED,
                format!(
                    "{} of the message's DKIM signatures were not verified: {}. The report \
                     judges the others only (not_evaluated lists the first {LISTED}).",
                    self.left_out.len(),
                    reasons.join("; ")
                ),
            )
            .with_evidence(evidence),
        )
    }
}

/// The decisions of [`Budget::new`] while it makes them.
struct Plan<'l> {
    limits: &'l MessageLimits,
    /// The body hashes mail-auth will compute.
    hashes: Vec<BodyHash>,
    /// Where the fields to rename start.
    renamed: Vec<usize>,
    left_out: Vec<(usize, LeftOutSignature)>,
}

impl Plan<'_> {
    /// Takes the DKIM signatures in header order: the first
    /// `dkim_signatures` are judged while their body hashes fit. Returns
    /// the judged ones with their positions.
    fn dkim<'s>(&mut self, dkim: &[&'s Signed]) -> Vec<(usize, &'s Signed)> {
        let mut judged = Vec::new();
        for (position, &s) in dkim.iter().enumerate() {
            let counted = position < self.limits.dkim_signatures;
            let hashed = match s.hash {
                // mail-auth cannot parse it, so it computes nothing for it.
                None => true,
                Some(h) if self.hashes.contains(&h) => true,
                Some(h) if counted && self.hashes.len() < self.limits.body_hashes => {
                    self.hashes.push(h);
                    true
                }
                Some(_) => false,
            };
            if !hashed {
                self.renamed.push(s.field.start);
            }
            match (counted, hashed) {
                (true, true) => judged.push((position, s)),
                (true, false) => self.leave_out(s, position, LeftOutBecause::BodyHashLimit),
                (false, _) => self.leave_out(s, position, LeftOutBecause::SignatureLimit),
            }
        }
        judged
    }

    /// The ARC chain is verified when the body hashes of all its
    /// ARC-Message-Signatures fit beside the DKIM ones (mail-auth hashes
    /// the body for each it parses, though RFC 8617 §5.2 needs only the
    /// newest); else its fields that need one are renamed and the reason is
    /// returned.
    fn arc(&mut self, arc: &[&Signed]) -> Option<String> {
        let mut needed: Vec<BodyHash> = Vec::new();
        for h in arc.iter().filter_map(|s| s.hash) {
            if !self.hashes.contains(&h) && !needed.contains(&h) {
                needed.push(h);
            }
        }
        if self.hashes.len() + needed.len() <= self.limits.body_hashes {
            self.hashes.extend(needed);
            return None;
        }
        self.renamed.extend(
            arc.iter()
                .filter(|s| s.hash.is_some_and(|h| !self.hashes.contains(&h)))
                .map(|s| s.field.start),
        );
        Some(format!(
            "not verified: its ARC-Message-Signatures need {} body hash(es) (c=, a=, l=) \
             beside the DKIM signatures', more than the {} computed per message \
             (max-body-hashes)",
            needed.len(),
            self.limits.body_hashes
        ))
    }

    fn leave_out(&mut self, s: &Signed, position: usize, because: LeftOutBecause) {
        let value = s.field.colon.map_or(s.field.end, |c| c + 1);
        self.left_out.push((
            value,
            LeftOutSignature {
                position: position + 1,
                domain: s.domain.clone(),
                selector: s.selector.clone(),
                because,
            },
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Header sections that probe every rule of [`fields`].
    const SHAPES: &[&[u8]] = &[
        b"From: a@b.test\r\nTo: c@d.test\r\n\r\nbody\r\n",
        b"From: a@b.test\nTo: c@d.test\n\nbody\n",
        b"Subject: folded\r\n over\r\n\tlines\r\nX: y\r\n\r\n",
        b"no colon here\nX: y\n\nbody",
        b"no colon, CR LF\r\nX: y\r\n\r\nbody",
        b"folded\n name: value\nX: y\n\n",
        b"X: y\r\nlast without line feed",
        b"X: y\r\nZ: no line feed",
        b" leading: space\r\n\r\n",
        b"\r\nbody only",
        b"\nbody only",
        b"X:\r\n\r\n",
        b"DKIM-Signature : v=1\r\nDKIM-Sig\r\n nature: v=1\r\n\r\n",
        b"a\rb: c\r\n\r\n",
        b"no line feed at all",
    ];

    #[test]
    fn fields_are_split_where_mail_auth_splits_them() {
        for &message in SHAPES {
            let mut split = fields(message);
            let ours: Vec<(&[u8], &[u8])> = split
                .by_ref()
                .map(|f| (f.name(message), f.value(message)))
                .collect();
            let Some(theirs) = AuthenticatedMessage::parse_with_opts(message, None, false) else {
                assert!(ours.is_empty(), "{:?}", String::from_utf8_lossy(message));
                continue;
            };
            assert_eq!(
                ours,
                theirs.headers(),
                "{:?}",
                String::from_utf8_lossy(message)
            );
            assert_eq!(
                split.body(),
                theirs.body_offset(),
                "{:?}",
                String::from_utf8_lossy(message)
            );
        }
    }

    fn limits(header_fields: usize, header_bytes: usize) -> MessageLimits {
        MessageLimits {
            header_fields,
            header_bytes,
            ..MessageLimits::default()
        }
    }

    #[test]
    fn the_header_limits_refuse_a_flood_at_its_first_bytes() {
        let mut flood = b"From: a@b.test\r\n".to_vec();
        flood.extend(b"X:v\r\n".repeat(100));
        flood.extend(b"\r\nbody\r\n");
        let section = check(&flood, &limits(101, 1000)).expect("within");
        assert_eq!(section.fields, 101);
        assert_eq!(section.bytes, 16 + 500 + 2);
        assert_eq!(
            check(&flood, &limits(100, 1000)),
            Err(HeaderLimit::Fields { limit: 100 })
        );
        // The blank line counts: 518 bytes fit in 518, not in 517.
        assert!(check(&flood, &limits(1000, 518)).is_ok());
        assert_eq!(
            check(&flood, &limits(1000, 517)),
            Err(HeaderLimit::Bytes { limit: 517 })
        );
        // One unending field: refused without reading to its end.
        let mut long = b"X: ".to_vec();
        long.extend(vec![b'v'; 10_000_000]);
        assert_eq!(
            check(&long, &limits(10, 1024)),
            Err(HeaderLimit::Bytes { limit: 1024 })
        );
        // A body of any size is not the header section's.
        let mut big_body = b"From: a@b.test\r\n\r\n".to_vec();
        big_body.extend(vec![b'x'; 1_000_000]);
        assert_eq!(check(&big_body, &limits(10, 100)).map(|s| s.bytes), Ok(18));
    }

    #[test]
    fn signature_names_are_read_as_mail_auth_reads_them() {
        for name in [
            &b"DKIM-Signature"[..],
            b"dkim-signature",
            b"DKIM-Signature ",
            b"DKIM-Sig\r\n nature",
        ] {
            assert_eq!(signature_kind(name), Some(SignatureKind::Dkim), "{name:?}");
        }
        assert_eq!(
            signature_kind(b"ARC-Message-Signature"),
            Some(SignatureKind::ArcMessage)
        );
        for name in [&b"XKIM-Signature"[..], b"DKIM-Signatures", b"ARC-Seal", b""] {
            assert_eq!(signature_kind(name), None, "{name:?}");
        }
    }

    /// A DKIM-Signature that parses, with its own selector and `l=`.
    fn signature(selector: &str, l: Option<u64>, h: &str) -> String {
        let l = l.map(|l| format!(" l={l};")).unwrap_or_default();
        format!(
            "DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed; d=example.test; \
             s={selector};{l} h={h}; bh=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=; b=AAAA\r\n"
        )
    }

    fn message(headers: &[String]) -> Vec<u8> {
        let mut m = headers.concat().into_bytes();
        m.extend(b"From: a@example.test\r\n\r\nbody\r\n");
        m
    }

    /// The distinct body hashes mail-auth computes for what it parsed.
    fn hashes_computed(view: &[u8]) -> usize {
        let message = AuthenticatedMessage::parse_with_opts(view, None, false).expect("parses");
        let mut seen: Vec<BodyHash> = Vec::new();
        let dkim = message
            .dkim_signatures()
            .iter()
            .map(|h| (h.header.cb, HashAlgorithm::from(h.header.a), h.header.l));
        let arc = message
            .arc_message_signatures()
            .iter()
            .map(|h| (h.header.cb, HashAlgorithm::from(h.header.a), h.header.l));
        for h in dkim.chain(arc) {
            if !seen.contains(&h) {
                seen.push(h);
            }
        }
        seen.len()
    }

    #[test]
    fn signatures_past_the_count_are_left_out_and_dropped_before_dns() {
        let headers: Vec<String> = (0..25)
            .map(|i| signature(&format!("s{i}"), None, "from"))
            .collect();
        let raw = message(&headers);
        let (budget, view) = Budget::new(Cow::Borrowed(&raw[..]), &MessageLimits::default());
        // One body hash for all: nothing renamed, nothing copied.
        assert!(matches!(view, Cow::Borrowed(_)));
        let listed = budget.not_evaluated().expect("left out");
        assert_eq!(listed.dkim_signatures, 5);
        assert_eq!(listed.dkim[0].position, 21);
        assert_eq!(listed.dkim[0].selector.as_deref(), Some("s20"));
        assert!(
            listed
                .dkim
                .iter()
                .all(|l| l.because == LeftOutBecause::SignatureLimit)
        );
        let mut parsed = AuthenticatedMessage::parse_with_opts(&view, None, false).expect("parses");
        assert_eq!(parsed.dkim_signatures().len(), 25);
        budget.retain(&mut parsed);
        let kept: Vec<&str> = parsed
            .dkim_signatures()
            .iter()
            .map(|h| h.header.s.as_str())
            .collect();
        assert_eq!(kept, (0..20).map(|i| format!("s{i}")).collect::<Vec<_>>());
        let finding = budget.finding().expect("finding");
        assert_eq!(finding.code, "dkim.not_evaluated");
        assert!(
            finding.detail.contains("5 came after the first 20"),
            "{}",
            finding.detail
        );
    }

    #[test]
    fn body_hashes_past_the_limit_are_never_computed() {
        let headers: Vec<String> = (0..2000u64)
            .map(|i| signature(&format!("s{i}"), Some(i + 1), "from"))
            .collect();
        let raw = message(&headers);
        let limits = MessageLimits::default();
        let (budget, view) = Budget::new(Cow::Borrowed(&raw[..]), &limits);
        assert_eq!(hashes_computed(&view), limits.body_hashes);
        let listed = budget.not_evaluated().expect("left out");
        assert_eq!(listed.dkim_signatures, 2000 - 4);
        assert_eq!(listed.dkim.len(), LISTED);
        assert_eq!(listed.dkim[0].because, LeftOutBecause::BodyHashLimit);
        assert_eq!(listed.dkim[0].position, 5);
        assert!(
            listed
                .dkim
                .iter()
                .skip(16)
                .all(|l| l.because == LeftOutBecause::SignatureLimit)
        );
        // The judged four are the first four; the renamed fields keep
        // their length, so every offset still holds.
        assert_eq!(view.len(), raw.len());
        let parsed = AuthenticatedMessage::parse_with_opts(&view, None, false).expect("parses");
        let judged: Vec<u64> = parsed
            .dkim_signatures()
            .iter()
            .map(|h| h.header.l)
            .collect();
        assert_eq!(judged, [1, 2, 3, 4]);
    }

    #[test]
    fn a_signature_over_a_renamed_field_is_left_out_too() {
        let mut headers: Vec<String> = (0..5u64)
            .map(|i| signature(&format!("s{i}"), Some(i + 1), "from"))
            .collect();
        headers.insert(0, signature("signs-all", None, "from:dkim-signature"));
        let raw = message(&headers);
        let limits = MessageLimits {
            body_hashes: 2,
            ..MessageLimits::default()
        };
        let (budget, view) = Budget::new(Cow::Borrowed(&raw[..]), &limits);
        let listed = budget.not_evaluated().expect("left out");
        let why: Vec<(usize, LeftOutBecause)> = listed
            .dkim
            .iter()
            .map(|l| (l.position, l.because))
            .collect();
        assert_eq!(
            why,
            [
                (1, LeftOutBecause::SignsLeftOutField),
                (3, LeftOutBecause::BodyHashLimit),
                (4, LeftOutBecause::BodyHashLimit),
                (5, LeftOutBecause::BodyHashLimit),
                (6, LeftOutBecause::BodyHashLimit),
            ]
        );
        assert_eq!(hashes_computed(&view), 2);
        // The first field signs the renamed ones; the second (s0) is judged.
        let value = |field: usize| headers[..field].concat().len() + "DKIM-Signature:".len();
        assert!(!budget.judges(value(0)));
        assert!(budget.judges(value(1)));
        assert!(!budget.judges(value(2)));
    }

    fn ams(instance: u32, l: u64) -> String {
        format!(
            "ARC-Message-Signature: i={instance}; a=rsa-sha256; c=relaxed/relaxed; \
             d=example.test; s=arc; l={l}; h=from; \
             bh=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=; b=AAAA\r\n"
        )
    }

    #[test]
    fn a_chain_needing_too_many_body_hashes_is_not_verified() {
        let within: Vec<String> = (1..=4).map(|i| ams(i, 10)).collect();
        let (budget, _) = Budget::new(Cow::Owned(message(&within)), &MessageLimits::default());
        assert_eq!(budget.arc_left_out(), None);

        let beyond: Vec<String> = (1..=50).map(|i| ams(i, u64::from(i))).collect();
        let raw = message(&beyond);
        let (budget, view) = Budget::new(Cow::Borrowed(&raw[..]), &MessageLimits::default());
        let why = budget.arc_left_out().expect("left out");
        assert!(why.contains("max-body-hashes"), "{why}");
        assert_eq!(hashes_computed(&view), 0);
        assert!(budget.not_evaluated().is_none());
    }
}
