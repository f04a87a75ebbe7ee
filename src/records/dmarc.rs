//! DMARC records (RFC 9989 "DMARCbis"; RFC 7489 §6.3 for the historic
//! `pct`, `ri` and `rf` tags and §6.4 for the `!size` suffix of report
//! URIs): what a `_dmarc` TXT record says and where receivers look for it,
//! read the same way by the domain audit and by the message report.
//!
//! - **Is it DMARC**: a record starts with `v=DMARC1` (RFC 9989 §4.7),
//!   [`is_dmarc1`]; one that only looks meant as DMARC is parsed to say why
//!   receivers ignore it.
//! - **Strict parsing** of every tag on the shared tag-list tokenizer
//!   ([`Syntax::DMARC`]: WSP around names, values and `;`): `v` first and
//!   exactly `DMARC1`, `p`, `sp`, `np`, `adkim`, `aspf`, `fo`, `rua`, `ruf`,
//!   `psd`, `t`, and the historic `pct`, `ri`, `rf`. Names are compared
//!   without case. Unknown tags are ignored (RFC 9989 §4.7) but listed; a
//!   missing `p` is allowed. An empty tag-spec (`;;`, a trailing `;`) is
//!   skipped, except as the first, where `v=DMARC1` must be; a known tag
//!   given twice or with no value is a problem. Every problem is returned,
//!   each naming its tag.
//! - **Invalid historic tags are ignored, not fatal.** A bad value of `pct`,
//!   `ri` or `rf` leaves the rest of the record in force: RFC 7489 §6.3 has
//!   receivers ignore a tag whose value is invalid, and RFC 9989 removed
//!   those tags, so its receivers ignore them whatever they say. The tag is
//!   listed in [`DmarcRecord::ignored_tags`] for the report to warn about.
//!   Other tags stay strict: an RFC 9989 receiver may void the record for
//!   them.
//! - **Where the record lives** (RFC 9989 §4.10): the names the tree walk
//!   asks after the domain's own, and the Organizational Domain its records
//!   give (§4.10.2).

use crate::dns::{DnsError, Rcode, Resolver};
use crate::records::tag_list::{Kind, Syntax, TagList};
use hickory_proto::rr::{Name, RecordType};
use serde::{Deserialize, Serialize};

/// RFC 9989 §4.10: a walk never needs more than eight queries.
pub const MAX_WALK_QUERIES: usize = 8;
/// Spaces and tabs: the only whitespace the record grammar allows (WSP).
pub const WSP: [char; 2] = [' ', '\t'];

/// A requested handling policy: the `p`, `sp` and `np` tags.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
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
    pub fn parse(value: &str) -> Option<Policy> {
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
    pub fn one_step_less(self) -> Policy {
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
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
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
    /// Historic tags (`pct`, `ri`, `rf`) whose value is invalid, and so
    /// ignored while the rest of the record applies.
    pub ignored_tags: Vec<IgnoredTag>,
    /// Every tag as written, in order, for computing corrected records.
    #[serde(skip)]
    pub written: WrittenTags,
}

impl DmarcRecord {
    pub fn testing(&self) -> bool {
        self.t == Some(true)
    }

    /// `pct`, 100 when absent.
    pub fn percent(&self) -> u8 {
        self.pct.unwrap_or(100)
    }

    pub fn psd_flag(&self) -> Psd {
        self.psd.unwrap_or(Psd::Unspecified)
    }
}

/// A tag receivers ignore because its value is invalid (RFC 7489 §6.3).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct IgnoredTag {
    /// The tag, in lower case.
    pub tag: String,
    /// The value as written.
    pub value: String,
    /// What is wrong with it.
    pub problem: String,
}

/// The tags RFC 9989 removed (Appendix A.6): an invalid value of one makes
/// receivers ignore the tag, never the record.
pub const HISTORIC_TAGS: [&str; 3] = ["pct", "ri", "rf"];

/// One problem that makes a record unusable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyntaxProblem {
    /// The tag at fault (lower case), when the problem is one tag's.
    pub tag: Option<String>,
    /// Index of the `;`-separated segment at fault, when one is (a record
    /// that does not start with `v=DMARC1` blames no segment).
    pub segment: Option<usize>,
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
pub struct WrittenTags(pub Vec<(String, String)>);

impl WrittenTags {
    pub fn position(&self, name: &str) -> Option<usize> {
        self.0
            .iter()
            .position(|(n, _)| n.eq_ignore_ascii_case(name))
    }

    /// Sets a tag, in place when present, else after `after` (or at the end).
    pub fn set(&mut self, name: &str, value: &str, after: &[&str]) {
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

    pub fn remove(&mut self, name: &str) {
        self.0.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
    }

    pub fn render(&self) -> String {
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
pub fn looks_like_dmarc(text: &str) -> bool {
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
        ignored_tags: Vec::new(),
        written: WrittenTags::default(),
    };
    let mut problems = Vec::new();
    let mut seen: Vec<String> = Vec::new();
    for spec in TagList::split(text, Syntax::DMARC).specs {
        let index = spec.index;
        let segment = spec.text;
        let at = |tag: Option<&str>, message: String| SyntaxProblem {
            tag: tag.map(str::to_string),
            segment: Some(index),
            message,
        };
        let (name, value) = match spec.kind {
            Kind::Empty => {
                if index == 0 {
                    problems.push(at(Some("v"), "the record must start with v=DMARC1".into()));
                }
                // A trailing `;` is allowed; an empty tag between two is
                // harmless and every receiver skips it.
                continue;
            }
            Kind::NotATag => {
                let message = if index == 0 {
                    format!("the record must start with v=DMARC1, not `{segment}`")
                } else {
                    format!("`{segment}` is not a tag: write name=value")
                };
                problems.push(at(if index == 0 { Some("v") } else { None }, message));
                continue;
            }
            Kind::BadName(tag) => {
                problems.push(at(
                    None,
                    format!("`{}` is not a tag name (in `{segment}`)", tag.name),
                ));
                continue;
            }
            Kind::Tag(tag) => (tag.name, tag.value),
        };
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
        let outcome = if value.is_empty() {
            Err("the tag has no value".to_string())
        } else {
            parse_value(&key, value, &mut record)
        };
        match outcome {
            Ok(()) => {}
            Err(problem) if HISTORIC_TAGS.contains(&key.as_str()) => {
                record.ignored_tags.push(IgnoredTag {
                    tag: key,
                    value: value.to_string(),
                    problem,
                });
            }
            Err(message) => problems.push(at(Some(&key), message)),
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
            // Read whole before it is kept: an invalid rf is ignored entirely.
            let formats = value
                .split(':')
                .map(|f| f.trim_matches(WSP))
                .map(|format| {
                    let keyword = format.starts_with(|c: char| c.is_ascii_alphabetic())
                        && format
                            .chars()
                            .all(|c| c.is_ascii_alphanumeric() || c == '-');
                    if keyword {
                        Ok(format.to_ascii_lowercase())
                    } else {
                        Err(format!("`{format}` is not a report format name"))
                    }
                })
                .collect::<Result<Vec<_>, _>>()?;
            record.rf = formats;
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

/// A TXT answer reduced to what DMARC needs.
#[derive(Debug, Clone)]
pub struct TxtSet {
    /// The name asked, without the final dot.
    pub name: String,
    pub nxdomain: bool,
    /// Each record's strings joined (RFC 7489 §6.6.3: concatenated).
    pub texts: Vec<String>,
}

impl TxtSet {
    pub fn evidence(&self, only: impl Fn(&str) -> bool) -> Vec<String> {
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
pub async fn fetch_txt(resolver: &Resolver, name: &str) -> Result<TxtSet, DnsError> {
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

/// The names the tree walk asks after the domain's own, in order
/// (RFC 9989 §4.10 steps 3–7): a name of eight or more labels is cut to its
/// last seven, then one label goes at a time, down to the top-level label.
pub fn walk_parents(domain: &str) -> Vec<String> {
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
pub fn organizational_domain(collected: &[(String, Psd)], start: &str) -> String {
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

#[cfg(test)]
mod tests;
