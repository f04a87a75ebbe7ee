//! Zone files: reading BIND master files (RFC 1035 §5) into DNS records.
//!
//! This module decides what a `--zone FILE` means: which records it holds,
//! on which line each was written, and which origin the file is
//! authoritative for (its `$ORIGIN`, or the owner of its SOA record).
//!
//! The lexer is our own because hickory's zone lexer has no quoted-string
//! state inside `( … )`: a DKIM key written as `TXT ( "v=DKIM1; k=rsa; "
//! "p=…" )`, as BIND and most DNS providers print it, comes out with the
//! quotes kept and `;` read as a comment. It also keeps the line of every
//! record (for reports that point into the file) and reads the historic SPF
//! type (99) and RFC 3597 `TYPEnnn \# len hex` records, which hickory's
//! parser rejects. Record data of the usual mail types is built here; data
//! of any other type is handed, one record at a time, to hickory's parser.
//!
//! Supported: `$ORIGIN`, `$TTL`, `@`, relative and absolute names, omitted
//! owner (previous owner), TTL and class in either order, `;` comments,
//! `( … )` across lines, quoted strings with `\DDD` and `\X` escapes.
//! `$INCLUDE` is refused with a clear error (a zone overlay is one file),
//! and so are `$GENERATE` and any other `$` directive.
//!
//! The file is read through [`crate::local_file`]: a regular file of at most
//! [`ZONE_FILE_LIMIT`] bytes of UTF-8 text. An error quotes at most a short,
//! escaped excerpt of the token it is about ([`crate::untrusted::quoted`]),
//! so a file that is no zone file is not copied into the message; only
//! the data of a record of a known type may be quoted by the error of
//! hickory's parser, given whole.

use crate::local_file::{self, FileError};
use crate::untrusted::{escape_controls, excerpt, quoted};
use hickory_proto::rr::rdata::{A, AAAA, CNAME, MX, NS, NULL, PTR, SOA, TXT};
use hickory_proto::rr::{DNSClass, Name, RData, Record, RecordType};
use std::path::{Path, PathBuf};

/// The record type number of the historic SPF RR type (RFC 4408 §3.1.1).
pub const SPF_RR_TYPE: u16 = 99;

/// The largest zone file read (4 MiB: tens of thousands of records).
pub const ZONE_FILE_LIMIT: u64 = 4 * 1024 * 1024;

/// One record as written in a zone file.
#[derive(Debug, Clone)]
pub struct ZoneRecord {
    pub record: Record,
    /// 1-based line on which the record starts.
    pub line: usize,
}

/// A parsed zone file.
#[derive(Debug, Clone)]
pub struct Zone {
    /// Where the zone came from (for messages and report locations).
    pub path: Option<PathBuf>,
    /// The name at and below which this zone is authoritative.
    pub origin: Name,
    pub records: Vec<ZoneRecord>,
}

/// Why a zone file could not be read; always names the line.
#[derive(Debug, thiserror::Error)]
pub enum ZoneError {
    #[error(transparent)]
    File(#[from] FileError),
    #[error("{file}:{line}: {message}")]
    Syntax {
        file: String,
        line: usize,
        message: String,
    },
    /// Two files for one zone: which one answers would depend on the
    /// order they were given in.
    #[error("{first} and {second} are both zone files for {origin}; put its records in one file")]
    SameOrigin {
        origin: String,
        first: String,
        second: String,
    },
}

impl Zone {
    /// Reads and parses a zone file from disk.
    pub fn load(path: &Path) -> Result<Zone, ZoneError> {
        let text = local_file::read_text(path, "zone file", ZONE_FILE_LIMIT)?;
        parse(&text, Some(path))
    }

    /// The file's path as messages show it (`<zone>` for text given
    /// without one).
    pub fn shown_path(&self) -> String {
        shown(self.path.as_deref())
    }

    /// Whether this zone is authoritative for `name` (at or below its origin).
    pub fn covers(&self, name: &Name) -> bool {
        self.origin.zone_of(name)
    }

    /// The line of the zone's SOA record (at its origin: a file holds
    /// one), where a record the zone lacks would be added.
    pub fn soa_line(&self) -> Option<usize> {
        self.line_of(&self.origin, RecordType::SOA)
    }

    /// The line of the first record written for this owner and type, so a
    /// report can point into the file.
    pub fn line_of(&self, owner: &Name, rtype: RecordType) -> Option<usize> {
        let owner = hickory_proto::rr::LowerName::new(owner);
        self.records
            .iter()
            .find(|zr| {
                zr.record.record_type() == rtype
                    && hickory_proto::rr::LowerName::new(&zr.record.name) == owner
            })
            .map(|zr| zr.line)
    }
}

fn shown(path: Option<&Path>) -> String {
    path.map_or_else(
        || "<zone>".to_string(),
        |p| escape_controls(&p.display().to_string()).into_owned(),
    )
}

/// Parses zone-file text. The origin is the owner of the SOA record (a
/// file holds one zone: a second SOA is an error) or, in a file without
/// one, its first `$ORIGIN`. The SOA decides where it is written, so a
/// file dumped by BIND, which starts with `$ORIGIN .`, covers its zone
/// rather than the whole DNS.
pub fn parse(text: &str, path: Option<&Path>) -> Result<Zone, ZoneError> {
    let file = shown(path);
    let err = |line: usize, message: String| ZoneError::Syntax {
        file: file.clone(),
        line,
        message,
    };
    let mut origin: Option<Name> = None;
    let mut first_origin: Option<Name> = None;
    let mut soa_owner: Option<Name> = None;
    let mut default_ttl: Option<u32> = None;
    let mut last_owner: Option<Name> = None;
    let mut last_ttl: Option<u32> = None;
    let mut records = Vec::new();

    for entry in lex(text).map_err(|(line, m)| err(line, m))? {
        let line = entry.line;
        let mut tokens = entry.tokens.into_iter().peekable();
        let Some(first) = tokens.peek() else { continue };
        if !entry.indented
            && let Token::Word(w) = first
        {
            match w.to_ascii_uppercase().as_str() {
                "$ORIGIN" => {
                    tokens.next();
                    let name = word(tokens.next(), "a domain name after $ORIGIN")
                        .map_err(|m| err(line, m))?;
                    let name = parse_name(&name, None).map_err(|m| err(line, m))?;
                    first_origin.get_or_insert_with(|| name.clone());
                    origin = Some(name);
                    continue;
                }
                "$TTL" => {
                    tokens.next();
                    let ttl = word(tokens.next(), "a TTL after $TTL").map_err(|m| err(line, m))?;
                    default_ttl = Some(parse_ttl(&ttl).map_err(|m| err(line, m))?);
                    continue;
                }
                "$INCLUDE" => {
                    return Err(err(
                        line,
                        "$INCLUDE is not supported: pass each file with its own --zone".into(),
                    ));
                }
                "$GENERATE" => {
                    return Err(err(
                        line,
                        "$GENERATE is not supported: write out the records it would make".into(),
                    ));
                }
                other if other.starts_with('$') => {
                    return Err(err(
                        line,
                        format!(
                            "{} is not a directive mailvet reads ($ORIGIN and $TTL are)",
                            quoted(w)
                        ),
                    ));
                }
                _ => {}
            }
        }
        let owner = if entry.indented {
            last_owner
                .clone()
                .ok_or_else(|| err(line, "record without an owner name".into()))?
        } else {
            let raw = word(tokens.next(), "an owner name").map_err(|m| err(line, m))?;
            parse_name(&raw, origin.as_ref()).map_err(|m| err(line, m))?
        };
        last_owner = Some(owner.clone());

        // [ttl] [class] type, with ttl and class in either order.
        let mut ttl = None;
        let rtype = loop {
            let w = word(tokens.next(), "a record type").map_err(|m| err(line, m))?;
            let upper = w.to_ascii_uppercase();
            if ttl.is_none() && upper.starts_with(|c: char| c.is_ascii_digit()) {
                ttl = Some(parse_ttl(&w).map_err(|m| err(line, m))?);
            } else if upper == "IN" {
                continue;
            } else if matches!(upper.as_str(), "CH" | "HS" | "CS") {
                return Err(err(line, format!("class {upper} is not supported; use IN")));
            } else {
                break upper;
            }
        };
        let ttl = ttl
            .or(default_ttl)
            .or(last_ttl)
            .ok_or_else(|| err(line, "no TTL on the record and no $TTL before it".into()))?;
        last_ttl = Some(ttl);
        let rest: Vec<Token> = tokens.collect();
        let data = parse_rdata(&RecordText {
            rtype: &rtype,
            tokens: &rest,
            origin: origin.as_ref(),
        })
        .map_err(|m| err(line, m))?;
        if matches!(data, RData::SOA(_)) {
            if let Some(first) = &soa_owner {
                return Err(err(
                    line,
                    format!(
                        "a second SOA record (for {owner}; the first is for {first}): a zone \
                         file holds one zone, so put each in a file of its own"
                    ),
                ));
            }
            soa_owner = Some(owner.clone());
        }
        let mut record = Record::from_rdata(owner, ttl, data);
        record.dns_class = DNSClass::IN;
        records.push(ZoneRecord { record, line });
    }
    let origin = soa_owner.or(first_origin).ok_or_else(|| {
        err(
            1,
            "the zone has neither $ORIGIN nor an SOA record, so its origin is unknown; \
             add a line such as `$ORIGIN example.com.`"
                .into(),
        )
    })?;
    // A primary ignores data outside its zone; a user who wrote it expects
    // it to count, so say so instead.
    if let Some(outside) = records.iter().find(|r| !origin.zone_of(&r.record.name)) {
        return Err(err(
            outside.line,
            format!(
                "{} is outside this zone ({}); put it in a zone file of its own",
                outside.record.name, origin
            ),
        ));
    }
    Ok(Zone {
        path: path.map(Path::to_path_buf),
        origin,
        records,
    })
}

/// A token of a zone file: a bare word (escapes kept, for names) or the
/// bytes of a quoted string (escapes decoded).
#[derive(Debug, Clone, PartialEq)]
enum Token {
    Word(String),
    Quoted(Vec<u8>),
}

/// One logical entry: the tokens of a line, parentheses joined.
struct Entry {
    line: usize,
    indented: bool,
    tokens: Vec<Token>,
}

impl Entry {
    fn new(line: usize, indented: bool) -> Entry {
        Entry {
            line,
            indented,
            tokens: Vec::new(),
        }
    }
}

fn lex(text: &str) -> Result<Vec<Entry>, (usize, String)> {
    let bytes = text.as_bytes();
    let mut entries = Vec::new();
    let mut line = 1;
    let mut i = 0;
    let mut depth = 0usize;
    let mut current: Option<Entry> = None;
    let mut open_line = 0;
    while i < bytes.len() {
        let c = bytes[i];
        match c {
            b'\n' => {
                if depth == 0
                    && let Some(e) = current.take()
                {
                    entries.push(e);
                }
                line += 1;
                i += 1;
            }
            b';' => {
                while i < bytes.len() && bytes[i] != b'\n' {
                    i += 1;
                }
            }
            b' ' | b'\t' | b'\r' => {
                if current.is_none() && depth == 0 && (i == 0 || bytes[i - 1] == b'\n') {
                    current = Some(Entry::new(line, true));
                }
                i += 1;
            }
            b'(' => {
                if depth == 0 {
                    open_line = line;
                }
                depth += 1;
                current.get_or_insert_with(|| Entry::new(line, false));
                i += 1;
            }
            b')' => {
                if depth == 0 {
                    return Err((line, "`)` without a matching `(`".into()));
                }
                depth -= 1;
                i += 1;
            }
            b'"' => {
                let start_line = line;
                let mut out = Vec::new();
                i += 1;
                loop {
                    match bytes.get(i) {
                        None => {
                            return Err((
                                start_line,
                                "unterminated quoted string: the file ends before its closing `\"`"
                                    .into(),
                            ));
                        }
                        Some(b'"') => {
                            i += 1;
                            break;
                        }
                        Some(b'\\') => {
                            let (byte, used) = unescape(&bytes[i..])
                                .ok_or((line, "bad escape in quoted string".to_string()))?;
                            line += escaped_newline(&bytes[i..]);
                            out.push(byte);
                            i += used;
                        }
                        // As BIND reads it: a quote left open at the end of
                        // its line is an error, not a string that goes on
                        // to eat the next record (a line break inside
                        // quotes is written `\010`).
                        Some(b'\n') => {
                            return Err((
                                start_line,
                                "unterminated quoted string: the line ends before its closing `\"`"
                                    .into(),
                            ));
                        }
                        Some(&b) => {
                            out.push(b);
                            i += 1;
                        }
                    }
                }
                push_token(&mut current, line, Token::Quoted(out));
            }
            _ => {
                let start = i;
                while i < bytes.len() {
                    let b = bytes[i];
                    if b == b'\\' {
                        line += escaped_newline(&bytes[i..]);
                        i += 2;
                        continue;
                    }
                    if matches!(b, b' ' | b'\t' | b'\r' | b'\n' | b';' | b'(' | b')' | b'"') {
                        break;
                    }
                    i += 1;
                }
                let end = i.min(bytes.len());
                let word = String::from_utf8_lossy(&bytes[start..end]).into_owned();
                push_token(&mut current, line, Token::Word(word));
            }
        }
    }
    if depth > 0 {
        return Err((open_line, "`(` is never closed".into()));
    }
    if let Some(e) = current.take() {
        entries.push(e);
    }
    entries.retain(|e| !e.tokens.is_empty());
    Ok(entries)
}

/// 1 when the escape at the start of `s` is a backslash before a line
/// break, which is the escaped character and still ends a line of the
/// file; else 0.
fn escaped_newline(s: &[u8]) -> usize {
    usize::from(s.get(1) == Some(&b'\n'))
}

fn push_token(current: &mut Option<Entry>, line: usize, token: Token) {
    current
        .get_or_insert_with(|| Entry::new(line, false))
        .tokens
        .push(token);
}

/// Decodes `\DDD` (decimal) or `\X` at the start of `s`; returns the byte
/// and the number of input bytes used.
fn unescape(s: &[u8]) -> Option<(u8, usize)> {
    let digits = s.get(1..4).filter(|d| d.iter().all(u8::is_ascii_digit));
    match digits {
        Some(d) => {
            let value = d.iter().fold(0u32, |v, b| v * 10 + u32::from(b - b'0'));
            u8::try_from(value).ok().map(|b| (b, 4))
        }
        None => s.get(1).map(|&b| (b, 2)),
    }
}

fn word(token: Option<Token>, what: &str) -> Result<String, String> {
    match token {
        Some(Token::Word(w)) => Ok(w),
        Some(Token::Quoted(_)) => Err(format!("expected {what}, found a quoted string")),
        None => Err(format!("expected {what}, found the end of the record")),
    }
}

fn parse_ttl(s: &str) -> Result<u32, String> {
    hickory_proto::serialize::txt::parse_ttl(s)
        .map_err(|_| format!("{} is not a valid TTL", quoted(s)))
}

/// Parses a domain name as written in a zone file: `@`, relative to the
/// origin, or absolute with a final dot. Labels may hold any byte (written
/// as `\DDD` or `\X`), as the DNS allows.
pub(crate) fn parse_name(s: &str, origin: Option<&Name>) -> Result<Name, String> {
    if s == "@" {
        return origin
            .cloned()
            .ok_or_else(|| "`@` used before any $ORIGIN".to_string());
    }
    if s == "." {
        return Ok(Name::root());
    }
    let bytes = s.as_bytes();
    let mut labels: Vec<Vec<u8>> = vec![Vec::new()];
    let mut absolute = false;
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => {
                let (b, used) = unescape(&bytes[i..])
                    .ok_or_else(|| format!("bad escape in name {}", quoted(s)))?;
                if let Some(l) = labels.last_mut() {
                    l.push(b)
                }
                i += used;
            }
            b'.' => {
                if i + 1 == bytes.len() {
                    absolute = true;
                } else {
                    labels.push(Vec::new());
                }
                i += 1;
            }
            b => {
                if let Some(l) = labels.last_mut() {
                    l.push(b)
                }
                i += 1;
            }
        }
    }
    if labels.iter().any(Vec::is_empty) {
        return Err(format!("name {} has an empty label", quoted(s)));
    }
    if let Some(long) = labels.iter().find(|l| l.len() > super::MAX_LABEL) {
        return Err(format!(
            "name {} has a label of {} octets (at most {})",
            quoted(s),
            long.len(),
            super::MAX_LABEL
        ));
    }
    let mut name = Name::from_labels(labels.iter().map(Vec::as_slice))
        .map_err(|e| format!("invalid name {}: {}", quoted(s), excerpt(&e.to_string())))?;
    if !absolute {
        let origin = origin.ok_or_else(|| {
            format!(
                "relative name {} before any $ORIGIN; write it with a final dot",
                quoted(s)
            )
        })?;
        name = name.append_domain(origin).map_err(|e| {
            format!(
                "name {} is too long: {}",
                quoted(s),
                excerpt(&e.to_string())
            )
        })?;
    }
    name.set_fqdn(true);
    Ok(name)
}

/// One record's data as written: its type, its tokens and the origin
/// its relative names are under.
#[derive(Clone, Copy)]
struct RecordText<'a> {
    rtype: &'a str,
    tokens: &'a [Token],
    origin: Option<&'a Name>,
}

fn parse_rdata(record: &RecordText<'_>) -> Result<RData, String> {
    let RecordText {
        rtype,
        tokens,
        origin,
    } = *record;
    let words = || -> Result<Vec<&str>, String> {
        tokens
            .iter()
            .map(|t| match t {
                Token::Word(w) => Ok(w.as_str()),
                Token::Quoted(_) => Err(format!("unexpected quoted string in {rtype} data")),
            })
            .collect()
    };
    let one_name = || -> Result<Name, String> {
        match words()?.as_slice() {
            [n] => parse_name(n, origin),
            _ => Err(format!("{rtype} takes exactly one domain name")),
        }
    };
    Ok(match rtype {
        "A" => match words()?.as_slice() {
            [a] => RData::A(A(a
                .parse()
                .map_err(|_| format!("{} is not an IPv4 address", quoted(a)))?)),
            _ => return Err("A takes exactly one IPv4 address".into()),
        },
        "AAAA" => match words()?.as_slice() {
            [a] => RData::AAAA(AAAA(
                a.parse()
                    .map_err(|_| format!("{} is not an IPv6 address", quoted(a)))?,
            )),
            _ => return Err("AAAA takes exactly one IPv6 address".into()),
        },
        "CNAME" => RData::CNAME(CNAME(one_name()?)),
        "NS" => RData::NS(NS(one_name()?)),
        "PTR" => RData::PTR(PTR(one_name()?)),
        "MX" => match words()?.as_slice() {
            [pref, exchange] => RData::MX(MX::new(
                pref.parse().map_err(|_| {
                    format!("MX preference {} is not a number 0-65535", quoted(pref))
                })?,
                parse_name(exchange, origin)?,
            )),
            _ => return Err("MX takes a preference and an exchange name".into()),
        },
        "SOA" => match words()?.as_slice() {
            [mname, rname, serial, refresh, retry, expire, minimum] => RData::SOA(SOA::new(
                parse_name(mname, origin)?,
                parse_name(rname, origin)?,
                serial
                    .parse()
                    .map_err(|_| format!("SOA serial {} is not a number", quoted(serial)))?,
                parse_ttl(refresh)? as i32,
                parse_ttl(retry)? as i32,
                parse_ttl(expire)? as i32,
                parse_ttl(minimum)?,
            )),
            _ => return Err("SOA takes mname rname serial refresh retry expire minimum".into()),
        },
        "TXT" => RData::TXT(character_strings(tokens)?),
        "SPF" => RData::Unknown {
            code: RecordType::from(SPF_RR_TYPE),
            rdata: NULL::with(txt_wire(&character_strings(tokens)?)),
        },
        _ if tokens.first() == Some(&Token::Word("\\#".into())) => {
            let code = type_number(rtype)?;
            RData::Unknown {
                code: RecordType::from(code),
                rdata: NULL::with(generic_rdata(&words()?[1..])?),
            }
        }
        _ if rtype.parse::<RecordType>().is_err() => {
            return Err(format!(
                "unknown record type {}; write a type mailvet does not know in the RFC 3597 \
                 form `TYPEnnn \\# LENGTH HEX`",
                quoted(rtype)
            ));
        }
        _ => delegate_to_hickory(record)?,
    })
}

/// TXT (and SPF) data: one or more character-strings, quoted or bare.
fn character_strings(tokens: &[Token]) -> Result<TXT, String> {
    if tokens.is_empty() {
        return Err("TXT needs at least one character-string".into());
    }
    let strings: Vec<&[u8]> = tokens
        .iter()
        .map(|t| match t {
            Token::Word(w) => w.as_bytes(),
            Token::Quoted(q) => q.as_slice(),
        })
        .collect();
    Ok(TXT::from_bytes(strings))
}

/// Wire form of character-strings (length-prefixed), for type 99 data.
fn txt_wire(txt: &TXT) -> Vec<u8> {
    let mut out = Vec::new();
    for s in txt.txt_data.iter() {
        out.push(u8::try_from(s.len()).unwrap_or(u8::MAX));
        out.extend_from_slice(&s[..s.len().min(255)]);
    }
    out
}

fn type_number(rtype: &str) -> Result<u16, String> {
    rtype
        .strip_prefix("TYPE")
        .and_then(|n| n.parse().ok())
        .or_else(|| {
            rtype
                .parse::<RecordType>()
                .ok()
                .map(u16::from)
                .filter(|_| !rtype.starts_with("TYPE"))
        })
        .ok_or_else(|| format!("unknown record type {}", quoted(rtype)))
}

/// RFC 3597 §5: `\# <length> <hex>...`.
fn generic_rdata(words: &[&str]) -> Result<Vec<u8>, String> {
    let (len, hex) = words
        .split_first()
        .ok_or("`\\#` must be followed by the data length")?;
    let len: usize = len
        .parse()
        .map_err(|_| format!("{} is not a data length", quoted(len)))?;
    let hex: String = hex.concat();
    if !hex.len().is_multiple_of(2) || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err("generic record data must be hexadecimal".into());
    }
    let data: Vec<u8> = (0..hex.len())
        .step_by(2)
        .filter_map(|i| u8::from_str_radix(&hex[i..i + 2], 16).ok())
        .collect();
    if data.len() != len {
        return Err(format!(
            "generic record data is {} octets, not the {len} announced",
            data.len()
        ));
    }
    Ok(data)
}

/// Record data of types this module does not build itself (SRV, CAA, TLSA,
/// DS, …) goes through hickory's parser as a one-record zone. Its error is
/// given whole (escaped): it says what is wrong with data the user wrote
/// as a record of a known type.
fn delegate_to_hickory(record: &RecordText<'_>) -> Result<RData, String> {
    let RecordText {
        rtype,
        tokens,
        origin,
    } = *record;
    let mut text = String::new();
    if let Some(o) = origin {
        text.push_str(&format!("$ORIGIN {}\n", o.to_ascii()));
    }
    text.push_str("mailvet-overlay-record. 0 IN ");
    text.push_str(rtype);
    for t in tokens {
        text.push(' ');
        match t {
            Token::Word(w) => text.push_str(w),
            Token::Quoted(q) => {
                text.push('"');
                for &b in q {
                    match b {
                        b'"' | b'\\' => text.push_str(&format!("\\{}", b as char)),
                        0x20..=0x7e => text.push(b as char),
                        _ => text.push_str(&format!("\\{b:03}")),
                    }
                }
                text.push('"');
            }
        }
    }
    let parsed = hickory_proto::serialize::txt::Parser::new(text, None, origin.cloned())
        .parse()
        .map_err(|e| {
            format!(
                "{} record not understood: {}",
                quoted(rtype),
                escape_controls(&e.to_string())
            )
        })?;
    parsed
        .1
        .into_values()
        .flat_map(|set| set.records_without_rrsigs().cloned().collect::<Vec<_>>())
        .next()
        .map(|r| r.data)
        .ok_or_else(|| format!("{} record not understood", quoted(rtype)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn txt_of(zone: &Zone, owner: &str) -> Vec<Vec<u8>> {
        let owner = Name::from_ascii(owner).unwrap();
        zone.records
            .iter()
            .find(|r| r.record.name == owner && r.record.record_type() == RecordType::TXT)
            .map(|r| match &r.record.data {
                RData::TXT(t) => t.txt_data.iter().map(|s| s.to_vec()).collect(),
                _ => unreachable!(),
            })
            .expect("record present")
    }

    #[test]
    fn txt_in_parentheses_keeps_quoted_semicolons_and_spaces() {
        let zone = parse(
            "$ORIGIN example.com.\n$TTL 300\n\
             sel._domainkey IN TXT ( \"v=DKIM1; k=rsa; \"\n   \"p=MIIBIjAN\" ; key\n )\n\
             next IN TXT \"one\"\n",
            None,
        )
        .unwrap();
        assert_eq!(
            txt_of(&zone, "sel._domainkey.example.com."),
            vec![b"v=DKIM1; k=rsa; ".to_vec(), b"p=MIIBIjAN".to_vec()]
        );
        assert_eq!(txt_of(&zone, "next.example.com."), vec![b"one".to_vec()]);
        assert_eq!(zone.records[1].line, 6);
    }

    #[test]
    fn origin_ttl_relative_absolute_and_inherited_owner() {
        let zone = parse(
            "$TTL 1h\n@ IN SOA ns1 hostmaster 1 3600 600 86400 300\n  IN MX 10 mx.other.test.\n\
             www 60 IN A 192.0.2.1\n",
            None,
        );
        // No $ORIGIN: `@` cannot be resolved.
        assert!(zone.is_err());
        let zone = parse(
            "$ORIGIN example.com.\n$TTL 1h\n@ IN SOA ns1 hostmaster 1 3600 600 86400 300\n  \
             IN MX 10 mx.other.test.\nwww 60 IN A 192.0.2.1\nwww IN 120 AAAA 2001:db8::1\n",
            None,
        )
        .unwrap();
        assert_eq!(zone.origin, Name::from_ascii("example.com.").unwrap());
        let mx = &zone.records[1].record;
        assert_eq!(mx.name, Name::from_ascii("example.com.").unwrap());
        assert_eq!(mx.ttl, 3600);
        assert!(
            matches!(&mx.data, RData::MX(m) if m.exchange == Name::from_ascii("mx.other.test.").unwrap())
        );
        assert_eq!(zone.records[2].record.ttl, 60);
        assert_eq!(zone.records[3].record.ttl, 120);
    }

    #[test]
    fn spf_type_decimal_escapes_and_generic_types() {
        let zone = parse(
            "$ORIGIN .\n$TTL 300\n. IN SOA ns. host. 1 1 1 1 1\n\
             a.test. IN SPF \"v=spf1 \\194\\128 -all\"\n\
             b.test. IN TYPE65534 \\# 2 0a0B\n\
             c.test. IN CAA 0 issue \"ca.example\"\n",
            None,
        )
        .unwrap();
        let spf = &zone.records[1].record;
        assert_eq!(spf.record_type(), RecordType::from(99));
        match &spf.data {
            RData::Unknown { rdata, .. } => {
                assert_eq!(
                    rdata.anything.as_ref() as &[u8],
                    b"\x0ev=spf1 \xc2\x80 -all"
                )
            }
            other => panic!("unexpected {other:?}"),
        }
        assert_eq!(
            zone.records[2].record.record_type(),
            RecordType::from(65534)
        );
        assert_eq!(zone.records[3].record.record_type(), RecordType::CAA);
    }

    #[test]
    fn directives_other_than_origin_and_ttl_are_named_as_unsupported() {
        let e = parse(
            "$ORIGIN example.com.\n$TTL 300\n$GENERATE 1-3 host$ A 192.0.2.1\n",
            None,
        )
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "<zone>:3: $GENERATE is not supported: write out the records it would make"
        );
        let e = parse("$ORIGIN example.com.\n$ttl 300\n$frob x\n", None).unwrap_err();
        assert_eq!(
            e.to_string(),
            "<zone>:3: `$frob` is not a directive mailvet reads ($ORIGIN and $TTL are)"
        );
    }

    #[test]
    fn a_record_that_cannot_be_read_is_named_once_with_the_whole_reason() {
        let e = parse("$ORIGIN example.com.\n$TTL 300\nx IN FOO 1 2 3\n", None).unwrap_err();
        assert_eq!(
            e.to_string(),
            "<zone>:3: unknown record type `FOO`; write a type mailvet does not know in the \
             RFC 3597 form `TYPEnnn \\# LENGTH HEX`"
        );
        let e = parse(
            "$ORIGIN example.com.\n$TTL 300\n_sip._tcp IN SRV 1 2 port host\n",
            None,
        )
        .unwrap_err()
        .to_string();
        assert_eq!(e.matches("<zone>:3").count(), 1, "{e}");
        let reason = e
            .strip_prefix("<zone>:3: `SRV` record not understood: ")
            .unwrap_or_else(|| panic!("{e}"));
        let hickory = hickory_proto::serialize::txt::Parser::new(
            "x.example.com. 0 IN SRV 1 2 port host.example.com.",
            None,
            None,
        )
        .parse()
        .unwrap_err()
        .to_string();
        assert_eq!(reason, hickory, "the parser's reason, not cut short");
    }

    #[test]
    fn errors_name_the_line() {
        let e = parse("$ORIGIN example.com.\n$TTL 300\nwww IN A 999.1.1.1\n", None).unwrap_err();
        assert_eq!(
            e.to_string(),
            "<zone>:3: `999.1.1.1` is not an IPv4 address"
        );
        // Tokens are quoted only as short, escaped excerpts.
        let secret = format!("\x1b[2J\x07{}", "s3cret".repeat(50));
        for text in [
            format!("{secret} 300 IN TXT \"a\"\n"),
            format!("$ORIGIN example.com.\nwww 300 IN A {secret}\n"),
            format!("$ORIGIN example.com.\nwww 300 IN {secret} x\n"),
        ] {
            let e = parse(&text, None).unwrap_err().to_string();
            let lower = e.to_lowercase();
            assert!(!lower.contains(&secret[10..60]), "{e}");
            assert!(lower.contains("`\\u{1b}[2j\\u{7}s3cret"), "{e}");
            assert!(!e.chars().any(crate::untrusted::is_unsafe), "{e}");
        }
        // A quote left open does not run on into the next record.
        let e = parse(
            "$ORIGIN example.com.\n@ TXT \"v=spf1 -all\n_dmarc TXT \"v=DMARC1; p=reject\"\n",
            None,
        )
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "<zone>:2: unterminated quoted string: the line ends before its closing `\"`"
        );
        let e = parse("$ORIGIN example.com.\nx 300 IN TXT ( \"a\"\n", None).unwrap_err();
        assert!(e.to_string().starts_with("<zone>:2:"), "{e}");
        let e = parse("x.test. 300 IN TXT \"a\"\n", None).unwrap_err();
        assert!(e.to_string().contains("$ORIGIN"), "{e}");
        let e = parse("$ORIGIN a.test.\n$TTL 1\n@ TXT x\nb.test. TXT y\n", None).unwrap_err();
        assert_eq!(
            e.to_string(),
            "<zone>:4: b.test. is outside this zone (a.test.); put it in a zone file of its own"
        );
    }

    /// The SOA record's owner is the zone, wherever `$ORIGIN` stood
    /// before it: BIND's dumps start with `$ORIGIN .`, and a file may name
    /// a subdomain's records under an `$ORIGIN` of their own first.
    #[test]
    fn the_soa_owner_is_the_origin_whatever_origin_came_first() {
        let dump = "$ORIGIN .\n$TTL 300\nweak.test IN SOA ns1.weak.test. h.weak.test. 1 1 1 1 1\n\
                    weak.test TXT \"v=spf1 -all\"\n$ORIGIN weak.test.\nwww A 192.0.2.1\n";
        let zone = parse(dump, None).unwrap();
        assert_eq!(zone.origin, Name::from_ascii("weak.test.").unwrap());
        assert!(!zone.covers(&Name::from_ascii("esp.test.").unwrap()));

        let keys_first = "$TTL 300\n$ORIGIN _domainkey.good.test.\ns1 TXT \"v=DKIM1; p=\"\n\
                          $ORIGIN good.test.\n@ SOA ns1 h 1 1 1 1 1\n@ TXT \"v=spf1 -all\"\n";
        let zone = parse(keys_first, None).unwrap();
        assert_eq!(zone.origin, Name::from_ascii("good.test.").unwrap());
        assert_eq!(zone.records.len(), 3);

        // Without an SOA the first $ORIGIN still says what the file covers.
        let zone = parse(
            "$ORIGIN a.test.\n$TTL 1\n@ TXT x\n$ORIGIN b.a.test.\n@ TXT y\n",
            None,
        )
        .unwrap();
        assert_eq!(zone.origin, Name::from_ascii("a.test.").unwrap());

        let two = "$ORIGIN .\n$TTL 1\na.test SOA ns h 1 1 1 1 1\nb.test SOA ns h 1 1 1 1 1\n";
        assert_eq!(
            parse(two, None).unwrap_err().to_string(),
            "<zone>:4: a second SOA record (for b.test.; the first is for a.test.): a zone file \
             holds one zone, so put each in a file of its own"
        );
    }

    /// A backslash before a line break escapes it, and the next line is
    /// still the next line: later errors name the line they are on.
    #[test]
    fn an_escaped_line_break_still_counts_as_a_line() {
        for text in [
            "$ORIGIN a.test.\n$TTL 300\n@ TXT \"line one \\\ncontinued\"\n@ TXT ok\nwww A 999.1.1.1\n",
            "$ORIGIN a.test.\n$TTL 300\n@ TXT word\\\nnext\n@ TXT ok\nwww A 999.1.1.1\n",
        ] {
            let e = parse(text, None).unwrap_err().to_string();
            assert!(e.starts_with("<zone>:6: "), "{text:?}: {e}");
        }
    }
}
