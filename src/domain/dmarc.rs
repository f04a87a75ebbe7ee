//! DMARC in the domain audit: which record applies to the domain, what it
//! asks receivers to do, and whether its reports can arrive (RFC 9989
//! "DMARCbis"; RFC 7489 for the historic `pct`, `ri` and `rf` tags and for
//! external report authorization, §7.1).
//!
//! This module decides:
//!
//! - **Discovery** (RFC 9989 §4.10, §4.10.1). The record at
//!   `_dmarc.<domain>` settles the policy on the first query. Without one,
//!   the DNS tree walk asks `_dmarc.` + each shorter parent: a name of eight
//!   or more labels is cut to its last seven after the first query, so the
//!   walk never takes more than eight queries; it stops early at a record
//!   carrying `psd=y` or `psd=n`. The Organizational Domain is the name of a
//!   `psd=n` record, else the name one label below a `psd=y` record, else the
//!   highest name with a record (§4.10.2); the policy that applies is that
//!   domain's record, or, when it has none, the public suffix operator's.
//!   At each name, TXT records not starting with `v=DMARC1` are not DMARC
//!   records; two or more that do are discarded by receivers.
//! - **What the audit reports.** The first name that holds anything
//!   DMARC-like decides: two or more records give `dmarc.multiple_records`
//!   only, one that does not parse `dmarc.syntax` only, a failed query
//!   `dmarc.dns_error` only, nothing along the whole walk `dmarc.missing`.
//!   Codes about a record's content fire only for exactly one valid record:
//!   with none, or several, there is no one content to judge.
//! - **Strict parsing** of every tag: `v` first and exactly `DMARC1`, `p`,
//!   `sp`, `np`, `adkim`, `aspf`, `fo`, `rua`, `ruf`, `psd`, `t`, and the
//!   historic `pct`, `ri`, `rf`. Unknown tags are ignored (RFC 9989 §4.7)
//!   but listed. A missing `p` is allowed and read as `none`.
//! - **The effective policy**: `p` for a domain with its own record; for an
//!   inherited record `sp` (falling back to `p`), or `np` (falling back to
//!   `sp`, then `p`) when the domain does not exist. `t=y` asks receivers to
//!   apply one step less (reject → quarantine → none); the applied policy
//!   reflects that.
//! - **External report authorization**: a `mailto:` report address whose
//!   domain has another organizational domain (Public Suffix List) than the
//!   domain the record was found at needs `<that domain>._report._dmarc.
//!   <report domain>` to hold a `v=DMARC1` record. All such queries run
//!   concurrently; a failed one is "unknown", never "unauthorized".
//! - **A stray record at the apex**: a `v=DMARC1` TXT at the domain itself.

use super::AuditContext;
use crate::dns::{DnsError, Rcode, Resolver};
use crate::findings::Checked;
use crate::findings::Finding;
use crate::findings::catalog;
use futures_util::future::join_all;
use hickory_proto::rr::{Name, RecordType};
use serde::Serialize;

/// RFC 9989 §4.10: a walk never needs more than eight queries.
const MAX_WALK_QUERIES: usize = 8;
/// The report address a computed fix proposes when the record has none.
const REPORT_MAILBOX: &str = "dmarc-reports";
/// Spaces and tabs: the only whitespace the record grammar allows (WSP).
const WSP: [char; 2] = [' ', '\t'];

// ---------------------------------------------------------------------------
// The record
// ---------------------------------------------------------------------------

/// A requested handling policy: the `p`, `sp` and `np` tags.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Policy {
    None,
    Quarantine,
    Reject,
}

impl Policy {
    pub fn as_str(self) -> &'static str {
        match self {
            Policy::None => "none",
            Policy::Quarantine => "quarantine",
            Policy::Reject => "reject",
        }
    }

    /// The values are ABNF literals, so case does not matter (RFC 5234 §2.3).
    fn parse(value: &str) -> Option<Policy> {
        match value.to_ascii_lowercase().as_str() {
            "none" => Some(Policy::None),
            "quarantine" => Some(Policy::Quarantine),
            "reject" => Some(Policy::Reject),
            _ => None,
        }
    }

    /// Whether failing mail is acted upon.
    pub fn enforces(self) -> bool {
        self != Policy::None
    }

    /// What a receiver applies under `t=y` (RFC 9989 §4.7).
    fn one_step_less(self) -> Policy {
        match self {
            Policy::Reject => Policy::Quarantine,
            _ => Policy::None,
        }
    }
}

impl std::fmt::Display for Policy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Identifier alignment mode: `adkim` and `aspf`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Alignment {
    #[serde(rename = "r")]
    Relaxed,
    #[serde(rename = "s")]
    Strict,
}

/// The `psd` tag: whether the name is a public suffix domain.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Psd {
    #[serde(rename = "y")]
    Yes,
    #[serde(rename = "n")]
    No,
    #[serde(rename = "u")]
    Unspecified,
}

/// One URI of `rua` or `ruf`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReportUri {
    /// As written, without a size limit.
    pub uri: String,
    /// For `mailto:`, the lower-case A-label domain of the address.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub domain: Option<String>,
    /// A `!size` suffix (RFC 7489 §6.2); RFC 9989 receivers ignore it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub size_limit: Option<String>,
}

/// A parsed DMARC record. Absent tags are `None` (or empty), so a report
/// shows what was written; the defaults are applied where policy is
/// computed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DmarcRecord {
    pub p: Option<Policy>,
    pub sp: Option<Policy>,
    pub np: Option<Policy>,
    pub adkim: Option<Alignment>,
    pub aspf: Option<Alignment>,
    pub fo: Vec<String>,
    pub rua: Vec<ReportUri>,
    pub ruf: Vec<ReportUri>,
    pub psd: Option<Psd>,
    /// `t=y`: the owner is testing the policy.
    pub t: Option<bool>,
    /// Historic (RFC 7489 §6.3), still honoured by some receivers.
    pub pct: Option<u8>,
    /// Historic: aggregate report interval in seconds.
    pub ri: Option<u32>,
    /// Historic: failure report formats.
    pub rf: Vec<String>,
    /// Tags this module does not know, ignored as RFC 9989 requires.
    pub unknown_tags: Vec<String>,
    /// Every tag as written, in order, for computing corrected records.
    #[serde(skip)]
    written: TagList,
}

impl DmarcRecord {
    pub fn testing(&self) -> bool {
        self.t == Some(true)
    }

    /// `pct`, 100 when absent.
    pub fn percent(&self) -> u8 {
        self.pct.unwrap_or(100)
    }

    fn psd_flag(&self) -> Psd {
        self.psd.unwrap_or(Psd::Unspecified)
    }
}

/// One problem that makes a record unusable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyntaxProblem {
    /// The tag at fault (lower case), when the problem is one tag's.
    pub tag: Option<String>,
    /// Index of the `;`-separated segment at fault, when one is (a record
    /// that does not start with `v=DMARC1` blames no segment).
    segment: Option<usize>,
    pub message: String,
}

impl std::fmt::Display for SyntaxProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.tag {
            Some(tag) => write!(f, "tag `{tag}`: {}", self.message),
            None => f.write_str(&self.message),
        }
    }
}

/// The tags of a record as written: (name as written, value), in order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct TagList(Vec<(String, String)>);

impl TagList {
    fn position(&self, name: &str) -> Option<usize> {
        self.0
            .iter()
            .position(|(n, _)| n.eq_ignore_ascii_case(name))
    }

    /// Sets a tag, in place when present, else after `after` (or at the end).
    fn set(&mut self, name: &str, value: &str, after: &[&str]) {
        if let Some(i) = self.position(name) {
            self.0[i].1 = value.to_string();
            return;
        }
        let at = after
            .iter()
            .filter_map(|a| self.position(a))
            .max()
            .map_or(self.0.len(), |i| i + 1);
        self.0.insert(at, (name.to_string(), value.to_string()));
    }

    fn remove(&mut self, name: &str) {
        self.0.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
    }

    fn render(&self) -> String {
        self.0
            .iter()
            .map(|(n, v)| format!("{n}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }
}

/// Whether a TXT record is a DMARC record: it starts with `v=DMARC1`
/// (RFC 9989 §4.7: `"v" *WSP "=" *WSP %s"DMARC1"`, the value case-sensitive).
pub fn is_dmarc1(text: &str) -> bool {
    let Some(rest) = text.strip_prefix(['v', 'V']) else {
        return false;
    };
    let Some(rest) = rest.trim_start_matches(WSP).strip_prefix('=') else {
        return false;
    };
    let Some(rest) = rest.trim_start_matches(WSP).strip_prefix("DMARC1") else {
        return false;
    };
    rest.is_empty() || rest.starts_with([';', ' ', '\t'])
}

/// Whether a TXT record was meant as DMARC although receivers will not read
/// it as one: a `v=DMARC…` tag anywhere, in any case, or after whitespace.
fn looks_like_dmarc(text: &str) -> bool {
    text.split(';').any(|segment| {
        segment.split_once('=').is_some_and(|(name, value)| {
            name.trim_matches(WSP).eq_ignore_ascii_case("v")
                && value
                    .trim_matches(WSP)
                    .get(..5)
                    .is_some_and(|v| v.eq_ignore_ascii_case("dmarc"))
        })
    })
}

/// Parses a DMARC record strictly. Every problem is returned, each naming
/// its tag, so the report can list them all and a fix can correct them all.
pub fn parse(text: &str) -> Result<DmarcRecord, Vec<SyntaxProblem>> {
    let mut record = DmarcRecord {
        p: None,
        sp: None,
        np: None,
        adkim: None,
        aspf: None,
        fo: Vec::new(),
        rua: Vec::new(),
        ruf: Vec::new(),
        psd: None,
        t: None,
        pct: None,
        ri: None,
        rf: Vec::new(),
        unknown_tags: Vec::new(),
        written: TagList::default(),
    };
    let mut problems = Vec::new();
    let mut seen: Vec<String> = Vec::new();
    let segments: Vec<&str> = text.split(';').collect();
    for (index, raw) in segments.iter().enumerate() {
        let at = |tag: Option<&str>, message: String| SyntaxProblem {
            tag: tag.map(str::to_string),
            segment: Some(index),
            message,
        };
        let segment = raw.trim_matches(WSP);
        if segment.is_empty() {
            if index == 0 {
                problems.push(at(Some("v"), "the record must start with v=DMARC1".into()));
            }
            // A trailing `;` is allowed; an empty tag between two is
            // harmless and every receiver skips it.
            continue;
        }
        let Some((name, value)) = segment.split_once('=') else {
            let message = if index == 0 {
                format!("the record must start with v=DMARC1, not `{segment}`")
            } else {
                format!("`{segment}` is not a tag: write name=value")
            };
            problems.push(at(if index == 0 { Some("v") } else { None }, message));
            continue;
        };
        let (name, value) = (name.trim_matches(WSP), value.trim_matches(WSP));
        let valid_name = name.starts_with(|c: char| c.is_ascii_alphabetic())
            && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !valid_name {
            problems.push(at(
                None,
                format!("`{name}` is not a tag name (in `{segment}`)"),
            ));
            continue;
        }
        let key = name.to_ascii_lowercase();
        record.written.0.push((name.to_string(), value.to_string()));
        if index == 0 && key != "v" {
            // The tag itself is still read: only its place is wrong.
            problems.push(SyntaxProblem {
                tag: Some("v".into()),
                segment: None,
                message: format!("the record must start with v=DMARC1, not `{segment}`"),
            });
        } else if index == 0 {
            if value != "DMARC1" {
                let message = if value.eq_ignore_ascii_case("DMARC1") {
                    format!("`{value}` must be written DMARC1, in capitals")
                } else if value.starts_with("DMARC1") {
                    format!("`{value}`: tags must be separated by `;`")
                } else {
                    format!("`{value}` is not DMARC1")
                };
                problems.push(at(Some("v"), message));
            }
            seen.push(key);
            continue;
        }
        let known = matches!(
            key.as_str(),
            "v" | "p"
                | "sp"
                | "np"
                | "adkim"
                | "aspf"
                | "fo"
                | "rua"
                | "ruf"
                | "psd"
                | "t"
                | "pct"
                | "ri"
                | "rf"
        );
        if !known {
            record.unknown_tags.push(name.to_string());
            continue;
        }
        if key == "v" {
            problems.push(at(
                Some("v"),
                "v=DMARC1 must appear once, as the first tag".into(),
            ));
            continue;
        }
        if seen.contains(&key) {
            problems.push(at(Some(&key), "the tag appears more than once".into()));
            continue;
        }
        seen.push(key.clone());
        if value.is_empty() {
            problems.push(at(Some(&key), "the tag has no value".into()));
            continue;
        }
        let outcome = parse_value(&key, value, &mut record);
        if let Err(message) = outcome {
            problems.push(at(Some(&key), message));
        }
    }
    if problems.is_empty() {
        Ok(record)
    } else {
        Err(problems)
    }
}

/// Reads one known tag's value into the record.
fn parse_value(key: &str, value: &str, record: &mut DmarcRecord) -> Result<(), String> {
    let policy = |value: &str| {
        Policy::parse(value).ok_or_else(|| format!("`{value}` is not none, quarantine or reject"))
    };
    let alignment = |value: &str| match value.to_ascii_lowercase().as_str() {
        "r" => Ok(Alignment::Relaxed),
        "s" => Ok(Alignment::Strict),
        _ => Err(format!("`{value}` is not r (relaxed) or s (strict)")),
    };
    match key {
        "p" => record.p = Some(policy(value)?),
        "sp" => record.sp = Some(policy(value)?),
        "np" => record.np = Some(policy(value)?),
        "adkim" => record.adkim = Some(alignment(value)?),
        "aspf" => record.aspf = Some(alignment(value)?),
        "psd" => {
            record.psd = Some(match value.to_ascii_lowercase().as_str() {
                "y" => Psd::Yes,
                "n" => Psd::No,
                "u" => Psd::Unspecified,
                _ => return Err(format!("`{value}` is not y, n or u")),
            })
        }
        "t" => {
            record.t = Some(match value.to_ascii_lowercase().as_str() {
                "y" => true,
                "n" => false,
                _ => return Err(format!("`{value}` is not y or n")),
            })
        }
        "fo" => {
            for option in value.split(':').map(|o| o.trim_matches(WSP)) {
                if !matches!(option.to_ascii_lowercase().as_str(), "0" | "1" | "d" | "s") {
                    return Err(format!(
                        "`{option}` is not a failure reporting option (0, 1, d or s, separated by :)"
                    ));
                }
                record.fo.push(option.to_ascii_lowercase());
            }
        }
        "rua" | "ruf" => {
            let uris = value
                .split(',')
                .map(|u| parse_uri(u.trim_matches(WSP)))
                .collect::<Result<Vec<_>, _>>()?;
            if key == "rua" {
                record.rua = uris;
            } else {
                record.ruf = uris;
            }
        }
        "pct" => {
            let pct = value
                .parse::<u8>()
                .ok()
                .filter(|p| {
                    *p <= 100 && value.len() <= 3 && value.bytes().all(|b| b.is_ascii_digit())
                })
                .ok_or_else(|| format!("`{value}` is not a whole number from 0 to 100"))?;
            record.pct = Some(pct);
        }
        "ri" => {
            let ri = value
                .parse::<u32>()
                .ok()
                .filter(|_| value.bytes().all(|b| b.is_ascii_digit()))
                .ok_or_else(|| format!("`{value}` is not a number of seconds"))?;
            record.ri = Some(ri);
        }
        "rf" => {
            for format in value.split(':').map(|f| f.trim_matches(WSP)) {
                let keyword = format.starts_with(|c: char| c.is_ascii_alphabetic())
                    && format
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '-');
                if !keyword {
                    return Err(format!("`{format}` is not a report format name"));
                }
                record.rf.push(format.to_ascii_lowercase());
            }
        }
        _ => {}
    }
    Ok(())
}

/// One DMARC URI (RFC 9989 §4.7; RFC 7489 §6.4 for the `!size` suffix).
fn parse_uri(text: &str) -> Result<ReportUri, String> {
    if text.is_empty() {
        return Err("an empty report address (two commas, or a trailing comma)".into());
    }
    // `!` 1*DIGIT [ "k" / "m" / "g" / "t" ]
    let size = text.rsplit_once('!').filter(|(_, size)| {
        let digits = size
            .strip_suffix(['k', 'm', 'g', 't', 'K', 'M', 'G', 'T'])
            .unwrap_or(size);
        !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit())
    });
    let (uri, size_limit) = match size {
        Some((uri, size)) => (uri, Some(size.to_string())),
        None => (text, None),
    };
    let Some((scheme, rest)) = uri.split_once(':') else {
        return Err(format!("`{uri}` is not a URI: write mailto:address@domain"));
    };
    let scheme_ok = scheme.starts_with(|c: char| c.is_ascii_alphabetic())
        && scheme
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
    if !scheme_ok || rest.is_empty() || rest.contains(WSP) {
        return Err(format!("`{uri}` is not a URI: write mailto:address@domain"));
    }
    let domain = if scheme.eq_ignore_ascii_case("mailto") {
        let address = rest.split('?').next().unwrap_or(rest);
        let Some((local, host)) = address.rsplit_once('@') else {
            return Err(format!("`{uri}` has no @domain"));
        };
        let host = host.trim_end_matches('.');
        let ascii = idna::domain_to_ascii_strict(host)
            .ok()
            .filter(|h| !local.is_empty() && h.contains('.') && valid_hostname(h))
            .ok_or_else(|| format!("`{uri}` is not a valid mail address"))?;
        Some(ascii)
    } else {
        None
    };
    Ok(ReportUri {
        uri: uri.to_string(),
        domain,
        size_limit,
    })
}

fn valid_hostname(host: &str) -> bool {
    host.len() <= 253
        && host.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        })
}

// ---------------------------------------------------------------------------
// Discovery
// ---------------------------------------------------------------------------

/// A TXT answer reduced to what DMARC needs.
#[derive(Debug, Clone)]
pub(crate) struct TxtSet {
    /// The name asked, without the final dot.
    pub(crate) name: String,
    pub(crate) nxdomain: bool,
    /// Each record's strings joined (RFC 7489 §6.6.3: concatenated).
    pub(crate) texts: Vec<String>,
}

impl TxtSet {
    fn evidence(&self, only: impl Fn(&str) -> bool) -> Vec<String> {
        let shown: Vec<String> = self
            .texts
            .iter()
            .filter(|t| only(t))
            .map(|t| format!("{}. TXT \"{}\"", self.name, t))
            .collect();
        if !shown.is_empty() {
            shown
        } else if self.nxdomain {
            vec![format!("{}. TXT: NXDOMAIN", self.name)]
        } else {
            vec![format!("{}. TXT: no DMARC record", self.name)]
        }
    }
}

/// Asks for the TXT records at a name. A name too long to exist in the DNS
/// cannot hold a record, so it is answered as not existing.
pub(crate) async fn fetch_txt(resolver: &Resolver, name: &str) -> Result<TxtSet, DnsError> {
    let Ok(fqdn) = Name::from_ascii(format!("{name}.")) else {
        return Ok(TxtSet {
            name: name.to_string(),
            nxdomain: true,
            texts: Vec::new(),
        });
    };
    let answer = resolver.lookup(&fqdn, RecordType::TXT).await?;
    let texts = answer
        .txt()
        .iter()
        .map(|strings| {
            let bytes: Vec<u8> = strings.concat();
            String::from_utf8_lossy(&bytes).into_owned()
        })
        .collect();
    Ok(TxtSet {
        name: name.to_string(),
        nxdomain: answer.rcode == Rcode::NXDomain,
        texts,
    })
}

/// What one `_dmarc` name holds.
#[derive(Debug, Clone)]
enum Holding {
    /// No record that is or looks like DMARC.
    Nothing,
    /// Exactly one `v=DMARC1` record, parsed.
    Record(Box<DmarcRecord>, String),
    /// Exactly one `v=DMARC1` record that does not parse, or (with none
    /// starting with `v=DMARC1`) records that look meant as DMARC.
    Invalid(String, Vec<SyntaxProblem>),
    /// Two or more `v=DMARC1` records: receivers discard them all.
    Multiple(Vec<String>),
}

fn classify(set: &TxtSet) -> Holding {
    let dmarc: Vec<&String> = set.texts.iter().filter(|t| is_dmarc1(t)).collect();
    match dmarc.as_slice() {
        [] => match set.texts.iter().find(|t| looks_like_dmarc(t)) {
            Some(text) => {
                let problems = parse(text).err().unwrap_or_else(|| {
                    vec![SyntaxProblem {
                        tag: Some("v".into()),
                        segment: None,
                        message: "the record must start with v=DMARC1, with nothing before it"
                            .into(),
                    }]
                });
                Holding::Invalid(text.clone(), problems)
            }
            None => Holding::Nothing,
        },
        [one] => match parse(one) {
            Ok(record) => Holding::Record(Box::new(record), (*one).clone()),
            Err(problems) => Holding::Invalid((*one).clone(), problems),
        },
        many => Holding::Multiple(many.iter().map(|t| (*t).clone()).collect()),
    }
}

/// The names the tree walk asks after the domain's own, in order
/// (RFC 9989 §4.10 steps 3–7): a name of eight or more labels is cut to its
/// last seven, then one label goes at a time, down to the top-level label.
pub(crate) fn walk_parents(domain: &str) -> Vec<String> {
    let labels: Vec<&str> = domain.split('.').filter(|l| !l.is_empty()).collect();
    let count = labels.len();
    let mut keep = if count >= MAX_WALK_QUERIES {
        MAX_WALK_QUERIES - 1
    } else {
        count.saturating_sub(1)
    };
    let mut parents = Vec::new();
    while keep >= 1 {
        parents.push(labels[count - keep..].join("."));
        keep -= 1;
    }
    parents
}

/// The Organizational Domain from the records a walk collected, longest
/// name first (RFC 9989 §4.10.2): a `psd=n` record's name; else the name
/// one label below a `psd=y` record (on the path from `start`); else the
/// highest name with a record; else `start`.
pub(crate) fn organizational_domain(collected: &[(String, Psd)], start: &str) -> String {
    for (name, psd) in collected {
        match psd {
            Psd::No => return name.clone(),
            Psd::Yes if name != start => return one_label_below(name, start),
            _ => {}
        }
    }
    collected
        .last()
        .map_or_else(|| start.to_string(), |(name, _)| name.clone())
}

fn one_label_below(parent: &str, start: &str) -> String {
    let depth = parent.split('.').count() + 1;
    let labels: Vec<&str> = start.split('.').collect();
    labels[labels.len().saturating_sub(depth)..].join(".")
}

/// The registrable domain by the Public Suffix List; a name that is itself
/// a public suffix stands for itself.
fn psl_organizational(name: &str) -> String {
    let name = name.trim_end_matches('.').to_ascii_lowercase();
    psl::domain_str(&name).map_or_else(|| name.clone(), str::to_string)
}

// ---------------------------------------------------------------------------
// The report section
// ---------------------------------------------------------------------------

/// How DMARC discovery ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DmarcStatus {
    /// Exactly one valid record applies.
    Ok,
    Missing,
    MultipleRecords,
    Syntax,
    DnsError,
}

/// What one query of the discovery found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StepOutcome {
    /// One valid record.
    Record,
    /// The name exists but holds no DMARC record.
    NoRecord,
    Nxdomain,
    /// Two or more `v=DMARC1` records (receivers discard them).
    MultipleRecords,
    /// A DMARC record that does not parse (receivers discard it).
    Invalid,
    DnsError,
}

/// One query of the discovery, in the order asked.
#[derive(Debug, Clone, Serialize)]
pub struct WalkStep {
    /// The name asked: `_dmarc.<domain>`.
    pub query: String,
    pub outcome: StepOutcome,
    /// The DMARC (or DMARC-like) records found there.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub records: Vec<String>,
}

/// Whether a report domain accepts this domain's reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AuthorizationStatus {
    /// Same organizational domain: no authorization needed.
    SameOrganization,
    Authorized,
    Unauthorized,
    /// The query failed; receivers would retry later.
    Unknown,
}

/// One report domain named in `rua` or `ruf`.
#[derive(Debug, Clone, Serialize)]
pub struct ReportDestination {
    pub domain: String,
    /// The URIs that point there, each prefixed with its tag (`rua=…`).
    pub uris: Vec<String>,
    pub status: AuthorizationStatus,
    /// The name that must hold `v=DMARC1`, for an outside domain.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub query: Option<String>,
}

/// The DMARC section of the audit report.
#[derive(Debug, Clone, Serialize)]
pub struct DmarcSection {
    /// `ok`, `missing`, `multiple_records`, `syntax`, `dns_error`.
    pub status: DmarcStatus,
    /// The record that applies (or the offending one).
    pub record: Option<String>,
    /// Where it was found: `_dmarc.<found_at>`.
    pub record_name: Option<String>,
    pub found_at: Option<String>,
    /// The record came from a parent, not from `_dmarc.<domain>`.
    pub inherited: bool,
    /// The parsed tags of the record that applies.
    pub tags: Option<DmarcRecord>,
    /// The policy receivers apply to the domain's failing mail, `t=y`
    /// taken into account.
    pub policy: Option<Policy>,
    /// The tag that sets it: `p`, `sp` or `np`, as published.
    pub policy_tag: Option<&'static str>,
    /// The value of that tag (`none` when `p` is absent), before `t=y`.
    pub published_policy: Option<Policy>,
    /// For existing subdomains of `found_at`: `sp`, else `p`.
    pub subdomain_policy: Option<Policy>,
    /// For non-existent subdomains: `np`, else `sp`, else `p`.
    pub nonexistent_subdomain_policy: Option<Policy>,
    /// `pct`, 100 when absent.
    pub pct: Option<u8>,
    /// `t=y`.
    pub testing: bool,
    /// Whether the domain itself exists in the DNS (its TXT query was not
    /// NXDOMAIN); decides between `sp` and `np` for an inherited record.
    pub domain_exists: Option<bool>,
    /// The Organizational Domain by the RFC 9989 tree walk, when a walk ran.
    pub organizational_domain: Option<String>,
    /// The organizational domain by the Public Suffix List (used to decide
    /// which report addresses are at another organization).
    pub psl_organizational_domain: String,
    /// Every discovery query, in order.
    pub walk: Vec<WalkStep>,
    pub report_destinations: Vec<ReportDestination>,
    /// `v=DMARC1` records published at the domain itself, where no
    /// receiver looks.
    pub apex_records: Vec<String>,
    /// Facts worth knowing that are not findings.
    pub notes: Vec<String>,
}

impl DmarcSection {
    /// What a failed lookup left undecided, in a few words; `None` when
    /// every question this check rests on was answered.
    pub fn undecided(&self) -> Option<String> {
        if let Some(step) = self
            .walk
            .iter()
            .find(|s| s.outcome == StepOutcome::DnsError)
        {
            return Some(format!("the TXT lookup for {} failed", step.query));
        }
        let destination = self
            .report_destinations
            .iter()
            .find(|d| d.status == AuthorizationStatus::Unknown)?;
        Some(format!(
            "the report authorization lookup for {} failed",
            destination.query.as_deref().unwrap_or(&destination.domain)
        ))
    }

    /// The policy receivers apply to the domain's failing mail, with `t=y`
    /// taken into account (p=reject; t=y is quarantine), and `pct` (100
    /// when absent). `None` when no usable record applies.
    pub fn enforcement(&self) -> Option<(Policy, u8)> {
        if self.status != DmarcStatus::Ok {
            return None;
        }
        Some((self.policy?, self.pct.unwrap_or(100)))
    }

    fn empty(domain: &str) -> DmarcSection {
        DmarcSection {
            status: DmarcStatus::Missing,
            record: None,
            record_name: None,
            found_at: None,
            inherited: false,
            tags: None,
            policy: None,
            policy_tag: None,
            published_policy: None,
            subdomain_policy: None,
            nonexistent_subdomain_policy: None,
            pct: None,
            testing: false,
            domain_exists: None,
            organizational_domain: None,
            psl_organizational_domain: psl_organizational(domain),
            walk: Vec::new(),
            report_destinations: Vec::new(),
            apex_records: Vec::new(),
            notes: Vec::new(),
        }
    }
}

// ---------------------------------------------------------------------------
// The check
// ---------------------------------------------------------------------------

/// Where discovery ended.
enum Discovery {
    /// A valid record applies.
    Found {
        found_at: String,
        text: String,
        record: Box<DmarcRecord>,
        evidence: Vec<String>,
    },
    Invalid {
        found_at: String,
        text: String,
        problems: Vec<SyntaxProblem>,
        evidence: Vec<String>,
    },
    Multiple {
        found_at: String,
        texts: Vec<String>,
        evidence: Vec<String>,
    },
    Missing {
        evidence: Vec<String>,
    },
    Failed {
        name: String,
        error: DnsError,
    },
}

/// Audits the domain's DMARC setup.
pub async fn check(cx: &AuditContext<'_>) -> Checked<DmarcSection> {
    let domain = cx.domain.ascii.as_str();
    let mut section = DmarcSection::empty(domain);
    let own_name = cx.domain.child("_dmarc");
    let (own, apex) = tokio::join!(
        fetch_txt(cx.resolver, &own_name),
        fetch_txt(cx.resolver, domain)
    );
    match &apex {
        Ok(set) => {
            section.domain_exists = Some(!set.nxdomain);
            section.apex_records = set
                .texts
                .iter()
                .filter(|t| is_dmarc1(t) || looks_like_dmarc(t))
                .cloned()
                .collect();
        }
        Err(e) => section.notes.push(format!(
            "The TXT query for {domain} failed ({e}), so a stray v=DMARC1 record there could \
             not be looked for."
        )),
    }

    let discovery = discover(cx.resolver, domain, own, &mut section).await;
    let mut findings = Vec::new();
    match discovery {
        Discovery::Failed { name, error } => {
            section.status = DmarcStatus::DnsError;
            findings.push(
                Finding::new(
                    catalog::DMARC_DNS_ERROR,
                    format!(
                        "The TXT query for {name} failed: {error}. Whether {domain} has a DMARC \
                         policy is unknown."
                    ),
                )
                .with_fix(format!(
                    "Check that every authoritative name server answers TXT queries for {name} \
                     quickly and consistently, then run the check again. If the failure \
                     persists, contact your DNS provider."
                ))
                .with_evidence([format!("{name}. TXT: {}", error.rcode_word())]),
            );
            // A failed lookup gives dns_error alone.
            return Checked { section, findings };
        }
        Discovery::Missing { evidence } => {
            section.status = DmarcStatus::Missing;
            findings.push(missing_finding(domain, &section.apex_records, evidence));
        }
        Discovery::Multiple {
            found_at,
            texts,
            evidence,
        } => {
            section.status = DmarcStatus::MultipleRecords;
            locate(&mut section, domain, &found_at);
            findings.push(
                Finding::new(
                    catalog::DMARC_MULTIPLE_RECORDS,
                    format!(
                        "_dmarc.{found_at} holds {} v=DMARC1 records; receivers discard them all{}.",
                        texts.len(),
                        if found_at == domain {
                            String::new()
                        } else {
                            format!(" (it is where {domain} would inherit its policy from)")
                        }
                    ),
                )
                .with_fix(format!(
                    "Keep a single TXT record at _dmarc.{found_at} with all the tags you need \
                     and delete the others. For example keep: {}",
                    texts[0]
                ))
                .with_evidence(evidence),
            );
        }
        Discovery::Invalid {
            found_at,
            text,
            problems,
            evidence,
        } => {
            section.status = DmarcStatus::Syntax;
            locate(&mut section, domain, &found_at);
            findings.push(syntax_finding(&found_at, &text, &problems, evidence));
            section.record = Some(text);
        }
        Discovery::Found {
            found_at,
            text,
            record,
            evidence,
        } => {
            section.status = DmarcStatus::Ok;
            locate(&mut section, domain, &found_at);
            section.record = Some(text);
            describe(&mut section, &record);
            findings.extend(content_findings(
                domain, &found_at, &section, &record, &evidence,
            ));
            section.report_destinations =
                report_destinations(&found_at, &record, &mut section.notes);
            authorize(cx.resolver, &mut section.report_destinations).await;
            findings.extend(authorization_findings(
                &found_at,
                &section.report_destinations,
            ));
            section.tags = Some(*record);
        }
    }
    if !section.apex_records.is_empty() {
        findings.push(apex_finding(domain, &section, &apex));
    }
    Checked { section, findings }
}

/// Records where the record (or the offending set) was found.
fn locate(section: &mut DmarcSection, domain: &str, found_at: &str) {
    section.record_name = Some(format!("_dmarc.{found_at}"));
    section.found_at = Some(found_at.to_string());
    section.inherited = found_at != domain;
}

/// Finds the record that applies: the domain's own, else by the tree walk.
async fn discover(
    resolver: &Resolver,
    domain: &str,
    own: Result<TxtSet, DnsError>,
    section: &mut DmarcSection,
) -> Discovery {
    let own = match own {
        Ok(set) => set,
        Err(error) => {
            let name = format!("_dmarc.{domain}");
            section
                .walk
                .push(step(&name, StepOutcome::DnsError, Vec::new()));
            return Discovery::Failed { name, error };
        }
    };
    let holding = classify(&own);
    section.walk.push(step_of(&own, &holding));
    // The domain's own set decides on the first query (RFC 9989 §4.10.1).
    match holding {
        Holding::Record(record, text) => {
            return Discovery::Found {
                found_at: domain.to_string(),
                evidence: own.evidence(is_dmarc1),
                text,
                record,
            };
        }
        Holding::Invalid(text, problems) => {
            return Discovery::Invalid {
                found_at: domain.to_string(),
                evidence: own.evidence(|t| t == text),
                text,
                problems,
            };
        }
        Holding::Multiple(texts) => {
            return Discovery::Multiple {
                found_at: domain.to_string(),
                evidence: own.evidence(is_dmarc1),
                texts,
            };
        }
        Holding::Nothing => {}
    }

    // The walk: each step depends on the last (it may stop at psd=y/n), so
    // the queries go one after another.
    let mut evidence = own.evidence(|_| false);
    // Valid records found: (name, record, text), longest name first.
    let mut collected: Vec<(String, DmarcRecord, String)> = Vec::new();
    // The first set receivers discard (two records, or one that does not
    // parse): reported when no valid record applies.
    let mut discarded: Option<(String, Holding)> = None;
    for parent in walk_parents(domain) {
        let name = format!("_dmarc.{parent}");
        let set = match fetch_txt(resolver, &name).await {
            Ok(set) => set,
            Err(error) => {
                section
                    .walk
                    .push(step(&name, StepOutcome::DnsError, Vec::new()));
                return Discovery::Failed { name, error };
            }
        };
        let holding = classify(&set);
        section.walk.push(step_of(&set, &holding));
        evidence.extend(set.evidence(|t| is_dmarc1(t) || looks_like_dmarc(t)));
        match holding {
            Holding::Record(record, text) => {
                let stop = record.psd_flag() != Psd::Unspecified;
                collected.push((parent, *record, text));
                if stop {
                    break;
                }
            }
            Holding::Nothing => {}
            other => {
                section.notes.push(match &other {
                    Holding::Multiple(_) => format!(
                        "{name} holds more than one v=DMARC1 record; receivers discard them \
                         and continue the walk."
                    ),
                    _ => format!(
                        "{name} holds a DMARC record that does not parse; receivers discard \
                         it and continue the walk."
                    ),
                });
                discarded.get_or_insert((parent, other));
            }
        }
    }

    let flags: Vec<(String, Psd)> = collected
        .iter()
        .map(|(name, record, ..)| (name.clone(), record.psd_flag()))
        .collect();
    let org = organizational_domain(&flags, domain);
    section.organizational_domain = Some(org.clone());
    // The Organizational Domain's record, else (under a public suffix
    // operator's psd=y) the highest one found.
    let chosen = collected
        .iter()
        .position(|(name, ..)| *name == org)
        .or_else(|| collected.len().checked_sub(1));
    if let Some(index) = chosen {
        let (found_at, record, text) = collected.swap_remove(index);
        if record.psd_flag() == Psd::Yes && found_at != org {
            section.notes.push(format!(
                "{org} has no DMARC record of its own, so the public suffix operator's record \
                 at _dmarc.{found_at} (psd=y) applies."
            ));
        }
        return Discovery::Found {
            found_at,
            text,
            record: Box::new(record),
            evidence,
        };
    }
    // Nothing usable along the walk: a discarded set is the closest thing
    // to a record the owner published, and the real problem to report.
    if let Some((found_at, holding)) = discarded {
        return match holding {
            Holding::Multiple(texts) => Discovery::Multiple {
                found_at,
                texts,
                evidence,
            },
            Holding::Invalid(text, problems) => Discovery::Invalid {
                found_at,
                text,
                problems,
                evidence,
            },
            _ => Discovery::Missing { evidence },
        };
    }
    Discovery::Missing { evidence }
}

fn step(query: &str, outcome: StepOutcome, records: Vec<String>) -> WalkStep {
    WalkStep {
        query: query.to_string(),
        outcome,
        records,
    }
}

fn step_of(set: &TxtSet, holding: &Holding) -> WalkStep {
    let (outcome, records) = match holding {
        Holding::Record(_, text) => (StepOutcome::Record, vec![text.clone()]),
        Holding::Invalid(text, _) => (StepOutcome::Invalid, vec![text.clone()]),
        Holding::Multiple(texts) => (StepOutcome::MultipleRecords, texts.clone()),
        Holding::Nothing if set.nxdomain => (StepOutcome::Nxdomain, Vec::new()),
        Holding::Nothing => (StepOutcome::NoRecord, Vec::new()),
    };
    step(&set.name, outcome, records)
}

/// Fills the policy fields and notes from the record that applies.
fn describe(section: &mut DmarcSection, record: &DmarcRecord) {
    let p = record.p.unwrap_or(Policy::None);
    let (tag, published) = if !section.inherited {
        ("p", p)
    } else if section.domain_exists == Some(false) {
        match (record.np, record.sp) {
            (Some(np), _) => ("np", np),
            (None, Some(sp)) => ("sp", sp),
            (None, None) => ("p", p),
        }
    } else {
        match record.sp {
            Some(sp) => ("sp", sp),
            None => ("p", p),
        }
    };
    section.policy_tag = Some(tag);
    section.published_policy = Some(published);
    section.policy = Some(if record.testing() {
        published.one_step_less()
    } else {
        published
    });
    section.subdomain_policy = Some(record.sp.unwrap_or(p));
    section.nonexistent_subdomain_policy = Some(record.np.or(record.sp).unwrap_or(p));
    section.pct = Some(record.percent());
    section.testing = record.testing();

    let notes = &mut section.notes;
    if record.p.is_none() {
        notes.push(if record.rua.is_empty() {
            "The record has no p= tag. RFC 9989 allows that and reads it as p=none, but with \
             no valid rua= either, receivers apply no DMARC processing at all (RFC 9989 \
             §4.10.1)."
                .to_string()
        } else {
            "The record has no p= tag; RFC 9989 allows that and receivers treat it as p=none."
                .to_string()
        });
    }
    if section.inherited && section.domain_exists == Some(false) {
        notes.push(
            "The domain does not exist in the DNS (NXDOMAIN), so the policy for non-existent \
             subdomains applies to it (np=, falling back to sp= and then p=)."
                .to_string(),
        );
    }
    if record.testing() {
        notes.push(format!(
            "t=y (testing): receivers apply one step less than {tag}={published}, that is \
             {}.",
            published.one_step_less()
        ));
    }
    let historic: Vec<&str> = [
        ("pct", record.pct.is_some()),
        ("ri", record.ri.is_some()),
        ("rf", !record.rf.is_empty()),
    ]
    .iter()
    .filter(|(_, present)| *present)
    .map(|(tag, _)| *tag)
    .collect();
    if !historic.is_empty() {
        notes.push(format!(
            "Historic tags ({}): receivers following RFC 9989 ignore them; RFC 7489 receivers \
             still honour them.",
            historic.join(", ")
        ));
    }
    if !record.unknown_tags.is_empty() {
        notes.push(format!(
            "Unknown tags, ignored by receivers: {}.",
            record.unknown_tags.join(", ")
        ));
    }
    if record.psd_flag() == Psd::Yes && !section.inherited {
        notes.push(
            "psd=y: the record declares this domain a public suffix domain; its policy \
             applies to organizations below it that publish none."
                .to_string(),
        );
    }
    if record
        .rua
        .iter()
        .chain(&record.ruf)
        .any(|u| u.size_limit.is_some())
    {
        notes.push(
            "A report address carries a !size limit; RFC 9989 receivers ignore it.".to_string(),
        );
    }
    if !record.fo.is_empty() && record.ruf.is_empty() {
        notes.push("fo= has no effect without a ruf= address.".to_string());
    }
}

/// The codes about the content of a usable record.
fn content_findings(
    domain: &str,
    found_at: &str,
    section: &DmarcSection,
    record: &DmarcRecord,
    evidence: &[String],
) -> Vec<Finding> {
    let mut findings = Vec::new();
    let name = format!("_dmarc.{found_at}");
    let tag = section.policy_tag.unwrap_or("p");
    let published = section.published_policy.unwrap_or(Policy::None);
    let with_evidence = |f: Finding| f.with_evidence(evidence.iter().cloned());
    let report_to = format!("mailto:{REPORT_MAILBOX}@{found_at}");

    if section.inherited {
        let own = {
            let mut own = TagList(vec![
                ("v".into(), "DMARC1".into()),
                (
                    "p".into(),
                    section
                        .policy
                        .filter(|p| p.enforces())
                        .unwrap_or(Policy::Quarantine)
                        .to_string(),
                ),
            ]);
            // The organization's own report addresses; never a public
            // suffix operator's, nor none.
            let rua: Vec<&str> = record.rua.iter().map(|u| u.uri.as_str()).collect();
            own.set(
                "rua",
                &if rua.is_empty() || record.psd_flag() == Psd::Yes {
                    format!("mailto:{REPORT_MAILBOX}@{domain}")
                } else {
                    rua.join(",")
                },
                &[],
            );
            own.render()
        };
        findings.push(with_evidence(
            Finding::new(
                catalog::DMARC_INHERITED,
                format!(
                    "{domain} has no DMARC record of its own (_dmarc.{domain}); the record at \
                     {name} applies to it through its {tag}= policy ({tag}={published})."
                ),
            )
            .with_fix(format!(
                "No change is needed if the inherited policy is right. To give {domain} its \
                 own policy, publish a TXT record at _dmarc.{domain}, for example: {own}"
            )),
        ));
    }

    if section.policy == Some(Policy::None) {
        let mut fixed = record.written.clone();
        fixed.remove("t");
        let detail = if record.testing() && published.enforces() {
            format!(
                "{name} sets {tag}={published} with t=y (testing), so receivers apply none: \
                 mail that fails DMARC is delivered as usual."
            )
        } else {
            fixed.set(tag, "quarantine", &["v", "p"]);
            if record.p.is_none() && tag == "p" {
                format!(
                    "{name} has no p= tag, which receivers read as p=none: mail that fails \
                     DMARC is delivered as usual."
                )
            } else if section.inherited {
                format!(
                    "{domain} inherits {tag}=none from {name}: mail that fails DMARC is \
                     delivered as usual."
                )
            } else {
                format!("{name} sets p=none: mail that fails DMARC is delivered as usual.")
            }
        };
        if record.rua.is_empty() {
            fixed.set("rua", &report_to, &[]);
        }
        let record_text = fixed.render();
        let reject = {
            let mut r = fixed.clone();
            r.set(tag, "reject", &["v", "p"]);
            r.render()
        };
        findings.push(with_evidence(
            Finding::new(catalog::DMARC_POLICY_NONE, detail).with_fix(format!(
                "Once aggregate reports show that all your legitimate mail passes DMARC, \
                 publish at {name}: {record_text} — and later, to block spoofed mail outright: \
                 {reject}"
            )),
        ));
    }

    let p_enforces = record.p.is_some_and(Policy::enforces);
    let lax: Vec<&str> = [("sp", record.sp), ("np", record.np)]
        .iter()
        .filter(|(_, v)| *v == Some(Policy::None))
        .map(|(t, _)| *t)
        .collect();
    if p_enforces && !lax.is_empty() {
        let mut fixed = record.written.clone();
        for t in &lax {
            fixed.remove(t);
        }
        let p = record.p.unwrap_or(Policy::None);
        let set: Vec<String> = lax.iter().map(|t| format!("{t}=none")).collect();
        findings.push(with_evidence(
            Finding::new(
                catalog::DMARC_SUBDOMAIN_POLICY_NONE,
                format!(
                    "{name} sets {} while p={p}: mail that fails DMARC from {} is delivered \
                     as usual.",
                    set.join(" and "),
                    match lax.as_slice() {
                        ["np"] => format!("non-existent subdomains of {found_at}"),
                        ["sp"] => format!("subdomains of {found_at}"),
                        _ => format!("subdomains of {found_at}, existing or not"),
                    }
                ),
            )
            .with_fix(format!(
                "Remove {} so subdomains follow p={p}; publish at {name}: {}. If one \
                 subdomain really needs monitoring only, give it its own _dmarc record.",
                set.join(" and "),
                fixed.render()
            )),
        ));
    }

    if record.percent() < 100 {
        let mut fixed = record.written.clone();
        fixed.remove("pct");
        findings.push(with_evidence(
            Finding::new(
                catalog::DMARC_PCT_PARTIAL,
                format!(
                    "{name} sets pct={}: receivers that honour it apply {tag}={published} to \
                     only {}% of failing mail.",
                    record.percent(),
                    record.percent()
                ),
            )
            .with_fix(format!(
                "Remove pct= (the default is 100) once reports show your legitimate mail \
                 passes; publish at {name}: {}",
                fixed.render()
            )),
        ));
    }

    if record.rua.is_empty() {
        let mut fixed = record.written.clone();
        fixed.set("rua", &report_to, &[]);
        findings.push(with_evidence(
            Finding::new(
                catalog::DMARC_NO_RUA,
                format!("{name} has no rua= tag, so no aggregate reports are sent."),
            )
            .with_fix(format!(
                "Add a rua tag pointing to a mailbox or report-processing service; publish at \
                 {name}: {}",
                fixed.render()
            )),
        ));
    }
    findings
}

/// Groups the report URIs by domain and decides which need authorization.
fn report_destinations(
    found_at: &str,
    record: &DmarcRecord,
    notes: &mut Vec<String>,
) -> Vec<ReportDestination> {
    let own_org = psl_organizational(found_at);
    let mut destinations: Vec<ReportDestination> = Vec::new();
    let tagged = record
        .rua
        .iter()
        .map(|u| ("rua", u))
        .chain(record.ruf.iter().map(|u| ("ruf", u)));
    for (tag, uri) in tagged {
        let Some(domain) = &uri.domain else {
            notes.push(format!(
                "{tag}={}: only mailto: report addresses are checked.",
                uri.uri
            ));
            continue;
        };
        let shown = format!("{tag}={}", uri.uri);
        if let Some(d) = destinations.iter_mut().find(|d| d.domain == *domain) {
            d.uris.push(shown);
            continue;
        }
        let external = psl_organizational(domain) != own_org;
        destinations.push(ReportDestination {
            domain: domain.clone(),
            uris: vec![shown],
            status: if external {
                AuthorizationStatus::Unknown
            } else {
                AuthorizationStatus::SameOrganization
            },
            query: external.then(|| format!("{found_at}._report._dmarc.{domain}")),
        });
    }
    destinations
}

/// Asks every outside report domain for its authorization, concurrently
/// (RFC 7489 §7.1): at least one `v=DMARC1` TXT record authorizes.
async fn authorize(resolver: &Resolver, destinations: &mut [ReportDestination]) {
    let queries = destinations.iter().map(|d| async move {
        match &d.query {
            Some(name) => Some(fetch_txt(resolver, name).await),
            None => None,
        }
    });
    let answers = join_all(queries).await;
    for (destination, answer) in destinations.iter_mut().zip(answers) {
        destination.status = match answer {
            None => AuthorizationStatus::SameOrganization,
            Some(Ok(set)) if set.texts.iter().any(|t| is_dmarc1(t)) => {
                AuthorizationStatus::Authorized
            }
            Some(Ok(_)) => AuthorizationStatus::Unauthorized,
            Some(Err(_)) => AuthorizationStatus::Unknown,
        };
    }
}

fn authorization_findings(found_at: &str, destinations: &[ReportDestination]) -> Vec<Finding> {
    destinations
        .iter()
        .filter(|d| d.status == AuthorizationStatus::Unauthorized)
        .filter_map(|d| {
            let query = d.query.as_ref()?;
            Some(
                Finding::new(
                    catalog::DMARC_RUA_UNAUTHORIZED,
                    format!(
                        "{} point{} to {}, another organizational domain than {found_at}, and \
                         {query} holds no v=DMARC1 record, so receivers send no reports there.",
                        d.uris.join(" and "),
                        if d.uris.len() == 1 { "s" } else { "" },
                        d.domain
                    ),
                )
                .with_fix(format!(
                    "Ask the operator of {} to publish this TXT record: {query}. IN TXT \
                     \"v=DMARC1\" (report services usually do this when you sign up), or use a \
                     report address at {found_at}.",
                    d.domain
                ))
                .with_evidence([format!("{query}. TXT: no v=DMARC1 record")]),
            )
        })
        .collect()
}

fn missing_finding(domain: &str, apex: &[String], evidence: Vec<String>) -> Finding {
    let start = format!("v=DMARC1; p=none; rua=mailto:{REPORT_MAILBOX}@{domain}");
    let fix = match apex.first() {
        Some(stray) => format!(
            "Move the v=DMARC1 record published at {domain} itself to _dmarc.{domain}: \
             {stray} — receivers only look there. Without a record of your own, start with: \
             {start}"
        ),
        None => format!(
            "Publish a TXT record at _dmarc.{domain}: {start} — then, once aggregate reports \
             show that all your legitimate mail passes, change p=none to p=quarantine, and \
             finally to p=reject."
        ),
    };
    Finding::new(
        catalog::DMARC_MISSING,
        format!(
            "No DMARC record at _dmarc.{domain} nor at any parent domain the RFC 9989 tree \
             walk asked."
        ),
    )
    .with_fix(fix)
    .with_evidence(evidence)
}

fn syntax_finding(
    found_at: &str,
    text: &str,
    problems: &[SyntaxProblem],
    evidence: Vec<String>,
) -> Finding {
    let listed: Vec<String> = problems.iter().map(ToString::to_string).collect();
    Finding::new(
        catalog::DMARC_SYNTAX,
        format!(
            "The record at _dmarc.{found_at} does not parse, so receivers ignore it: {}. \
             Record: {text}",
            listed.join("; ")
        ),
    )
    .with_fix(format!(
        "Publish at _dmarc.{found_at}: {}",
        corrected(text, problems)
    ))
    .with_evidence(evidence)
}

/// The record with its problems corrected: tags glued together without `;`
/// separated again, a bad `p` replaced by `p=none`, other offending tags
/// dropped, and `v=DMARC1` first. When separating glued tags does not give
/// a valid record, every offending segment is handled as a whole instead.
fn corrected(text: &str, problems: &[SyntaxProblem]) -> String {
    let attempt = |separate: bool| {
        let mut tags = TagList::default();
        for (index, segment) in text.split(';').enumerate() {
            let bad = problems.iter().find(|p| p.segment == Some(index));
            let words: Vec<&str> = segment.split(WSP).filter(|w| !w.is_empty()).collect();
            let glued = separate
                && bad.is_some()
                && words.len() > 1
                && words.iter().all(|w| w.contains('='));
            let parts: Vec<(&str, &str)> = if glued {
                words.iter().filter_map(|w| w.split_once('=')).collect()
            } else {
                segment.split_once('=').into_iter().collect()
            };
            for (name, value) in parts {
                let (name, value) = (name.trim_matches(WSP), value.trim_matches(WSP));
                if name.eq_ignore_ascii_case("v") || tags.position(name).is_some() {
                    continue;
                }
                match bad.filter(|_| !glued).map(|p| p.tag.as_deref()) {
                    Some(Some("p")) => tags.set("p", "none", &[]),
                    Some(_) => {}
                    None => tags.0.push((name.to_string(), value.to_string())),
                }
            }
        }
        tags.0.insert(0, ("v".into(), "DMARC1".into()));
        if tags.position("p").is_none() {
            tags.set("p", "none", &["v"]);
        }
        tags.render()
    };
    let separated = attempt(true);
    if parse(&separated).is_ok() {
        separated
    } else {
        attempt(false)
    }
}

fn apex_finding(domain: &str, section: &DmarcSection, apex: &Result<TxtSet, DnsError>) -> Finding {
    let evidence = match apex {
        Ok(set) => set.evidence(|t| is_dmarc1(t) || looks_like_dmarc(t)),
        Err(_) => Vec::new(),
    };
    let stray = section.apex_records.first().cloned().unwrap_or_default();
    let fix = if section.status == DmarcStatus::Ok && !section.inherited {
        format!(
            "Delete the TXT record at {domain} that starts with v=DMARC1 ({stray}); the record \
             at _dmarc.{domain} is the one receivers read."
        )
    } else {
        format!(
            "Publish the record at _dmarc.{domain} instead: {stray} — and delete the TXT \
             record at {domain} that starts with v=DMARC1."
        )
    };
    Finding::new(
        catalog::DMARC_RECORD_AT_APEX,
        format!(
            "{domain} itself publishes a v=DMARC1 TXT record; receivers only read \
             _dmarc.{domain}, so it has no effect."
        ),
    )
    .with_fix(fix)
    .with_evidence(evidence)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(text: &str) -> DmarcRecord {
        parse(text).unwrap_or_else(|e| panic!("{text:?}: {e:?}"))
    }

    fn bad_tags(text: &str) -> Vec<Option<String>> {
        parse(text)
            .expect_err(text)
            .into_iter()
            .map(|p| p.tag)
            .collect()
    }

    // RFC 9989 §4.7: v is first and exactly DMARC1; the "v" *WSP "=" *WSP
    // allows spaces around "=".
    #[test]
    fn version_is_first_exact_and_case_sensitive() {
        assert!(is_dmarc1("v=DMARC1; p=none"));
        assert!(is_dmarc1("v=DMARC1"));
        assert!(is_dmarc1("v = DMARC1 ;p=none"));
        assert!(is_dmarc1("V=DMARC1; p=none"));
        assert!(!is_dmarc1("v=dmarc1; p=none"));
        assert!(!is_dmarc1("v=DMARC1x; p=none"));
        assert!(!is_dmarc1(" v=DMARC1; p=none"));
        assert!(!is_dmarc1("p=none; v=DMARC1"));
        assert!(looks_like_dmarc("p=none; v=DMARC1"));
        assert!(looks_like_dmarc("v=dmarc1; p=none"));
        assert!(!looks_like_dmarc("google-site-verification=abc"));
        assert!(!looks_like_dmarc("v=spf1 -all"));
        assert_eq!(bad_tags("v=dmarc1; p=none"), [Some("v".to_string())]);
        assert_eq!(
            bad_tags("p=none; v=DMARC1"),
            [Some("v".into()), Some("v".into())]
        );
        assert_eq!(bad_tags("v=DMARC1 p=reject"), [Some("v".to_string())]);
    }

    #[test]
    fn every_tag_is_read() {
        let r = ok(
            "v=DMARC1; p=Reject; sp=quarantine; np=none; adkim=s; aspf=r; fo=1:d; \
                    rua=mailto:a@example.com, mailto:b@reports.example!10m; \
                    ruf=mailto:f@example.com; psd=n; t=y; pct=50; ri=3600; rf=afrf; x_new=1;",
        );
        assert_eq!(
            (r.p, r.sp, r.np),
            (
                Some(Policy::Reject),
                Some(Policy::Quarantine),
                Some(Policy::None)
            )
        );
        assert_eq!(
            (r.adkim, r.aspf),
            (Some(Alignment::Strict), Some(Alignment::Relaxed))
        );
        assert_eq!(r.fo, ["1", "d"]);
        assert_eq!(r.rua.len(), 2);
        assert_eq!(r.rua[1].domain.as_deref(), Some("reports.example"));
        assert_eq!(r.rua[1].size_limit.as_deref(), Some("10m"));
        assert_eq!(r.rua[1].uri, "mailto:b@reports.example");
        assert_eq!(
            (r.psd, r.t, r.pct, r.ri),
            (Some(Psd::No), Some(true), Some(50), Some(3600))
        );
        assert_eq!(r.rf, ["afrf"]);
        assert_eq!(r.unknown_tags, ["x_new"]);
    }

    #[test]
    fn unknown_tags_are_listed_not_errors() {
        let r = ok("v=DMARC1; p=none; foo=bar; future_tag=x");
        assert_eq!(r.unknown_tags, ["foo", "future_tag"]);
    }

    // RFC 9989 §4.7: p may be absent (read as none); an invalid value is an
    // error that names the tag.
    #[test]
    fn bad_values_name_their_tag() {
        assert_eq!(ok("v=DMARC1").p, None);
        assert_eq!(bad_tags("v=DMARC1; p=maybe"), [Some("p".to_string())]);
        assert_eq!(
            bad_tags("v=DMARC1; p=none; sp=strict"),
            [Some("sp".to_string())]
        );
        assert_eq!(
            bad_tags("v=DMARC1; p=none; adkim=x"),
            [Some("adkim".to_string())]
        );
        assert_eq!(
            bad_tags("v=DMARC1; p=none; pct=150"),
            [Some("pct".to_string())]
        );
        assert_eq!(
            bad_tags("v=DMARC1; p=none; pct=-1"),
            [Some("pct".to_string())]
        );
        assert_eq!(
            bad_tags("v=DMARC1; p=none; ri=soon"),
            [Some("ri".to_string())]
        );
        assert_eq!(bad_tags("v=DMARC1; p=none; fo=2"), [Some("fo".to_string())]);
        assert_eq!(
            bad_tags("v=DMARC1; p=none; t=maybe"),
            [Some("t".to_string())]
        );
        assert_eq!(
            bad_tags("v=DMARC1; p=none; psd=x"),
            [Some("psd".to_string())]
        );
        assert_eq!(
            bad_tags("v=DMARC1; p=none; rua=dmarc@example.com"),
            [Some("rua".to_string())]
        );
        assert_eq!(
            bad_tags("v=DMARC1; p=none; rua=mailto:nobody"),
            [Some("rua".to_string())]
        );
        assert_eq!(
            bad_tags("v=DMARC1; p=none; rua="),
            [Some("rua".to_string())]
        );
        assert_eq!(
            bad_tags("v=DMARC1; p=none; p=reject"),
            [Some("p".to_string())]
        );
        assert_eq!(
            bad_tags("v=DMARC1; p=reject sp=none"),
            [Some("p".to_string())]
        );
        assert_eq!(bad_tags("v=DMARC1; p=none; junk"), [None]);
    }

    #[test]
    fn a_corrected_record_keeps_the_good_tags() {
        let text = "v=DMARC1; p=rejct; pct=150; rua=mailto:d@example.com";
        let problems = parse(text).unwrap_err();
        assert_eq!(
            corrected(text, &problems),
            "v=DMARC1; p=none; rua=mailto:d@example.com"
        );
        let text = "p=reject; v=DMARC1; rua=mailto:d@example.com";
        let problems = parse(text).unwrap_err();
        assert_eq!(
            corrected(text, &problems),
            "v=DMARC1; p=reject; rua=mailto:d@example.com"
        );
        // Tags glued together without `;` are separated again.
        let text = "v=DMARC1 p=reject; rua=mailto:d@example.com";
        let problems = parse(text).unwrap_err();
        assert_eq!(
            corrected(text, &problems),
            "v=DMARC1; p=reject; rua=mailto:d@example.com"
        );
        let text = "v=DMARC1; p=reject sp=none";
        let problems = parse(text).unwrap_err();
        assert_eq!(corrected(text, &problems), "v=DMARC1; p=reject; sp=none");
        // Glued pieces that are still wrong: the bad tag is replaced.
        let text = "v=DMARC1; p=reject sp=nothing";
        let problems = parse(text).unwrap_err();
        assert_eq!(corrected(text, &problems), "v=DMARC1; p=none");
    }

    // RFC 9989 §4.10 steps 3-7: at most eight queries in all.
    #[test]
    fn the_walk_cuts_long_names_to_seven_labels() {
        assert_eq!(walk_parents("mail.example.com"), ["example.com", "com"]);
        assert_eq!(walk_parents("example.com"), ["com"]);
        let long = "a.b.c.d.e.f.g.h.i.j.k.example.com";
        assert_eq!(
            walk_parents(long),
            [
                "g.h.i.j.k.example.com",
                "h.i.j.k.example.com",
                "i.j.k.example.com",
                "j.k.example.com",
                "k.example.com",
                "example.com",
                "com"
            ]
        );
        // Seven labels: no cut, six parents, seven queries in all.
        assert_eq!(walk_parents("a.b.c.d.e.example.com").len(), 6);
        assert_eq!(walk_parents("a.b.c.d.e.f.example.com").len(), 7);
    }

    // RFC 9989 §4.10.2 and its examples in Appendix B.4.
    #[test]
    fn organizational_domain_follows_psd() {
        let walk = |steps: &[(&str, Psd)]| -> Vec<(String, Psd)> {
            steps.iter().map(|(n, p)| (n.to_string(), *p)).collect()
        };
        let plain = walk(&[
            ("b.example.com", Psd::Unspecified),
            ("example.com", Psd::Unspecified),
        ]);
        assert_eq!(
            organizational_domain(&plain, "a.b.example.com"),
            "example.com"
        );
        let psd_n = walk(&[("b.example.com", Psd::No)]);
        assert_eq!(
            organizational_domain(&psd_n, "a.b.example.com"),
            "b.example.com"
        );
        let psd_y = walk(&[
            ("giant.bank.example", Psd::Unspecified),
            ("bank.example", Psd::Yes),
        ]);
        assert_eq!(
            organizational_domain(&psd_y, "mail.giant.bank.example"),
            "giant.bank.example"
        );
        let only_psd = walk(&[("bank.example", Psd::Yes)]);
        assert_eq!(
            organizational_domain(&only_psd, "x.y.bank.example"),
            "y.bank.example"
        );
        // A walk that starts at a psd=y name: that name is its own.
        let own = walk(&[("bank.example", Psd::Yes)]);
        assert_eq!(organizational_domain(&own, "bank.example"), "bank.example");
        assert_eq!(organizational_domain(&[], "a.example.com"), "a.example.com");
    }

    #[test]
    fn the_public_suffix_list_decides_outside_domains() {
        assert_eq!(psl_organizational("mail.example.co.uk"), "example.co.uk");
        assert_eq!(psl_organizational("none.dmarc.test"), "dmarc.test");
        assert_eq!(
            psl_organizational("Dmarc-Reports.test."),
            "dmarc-reports.test"
        );
        assert_eq!(psl_organizational("co.uk"), "co.uk");
    }

    #[test]
    fn tag_lists_edit_in_place() {
        let mut t = ok("v=DMARC1; p=none; rua=mailto:a@example.com").written;
        t.set("p", "quarantine", &["v"]);
        t.set("sp", "reject", &["v", "p"]);
        assert_eq!(
            t.render(),
            "v=DMARC1; p=quarantine; sp=reject; rua=mailto:a@example.com"
        );
        t.remove("sp");
        t.set("pct", "100", &[]);
        assert_eq!(
            t.render(),
            "v=DMARC1; p=quarantine; rua=mailto:a@example.com; pct=100"
        );
    }

    #[test]
    fn t_y_applies_one_step_less() {
        assert_eq!(Policy::Reject.one_step_less(), Policy::Quarantine);
        assert_eq!(Policy::Quarantine.one_step_less(), Policy::None);
        assert_eq!(Policy::None.one_step_less(), Policy::None);
    }
}
