//! The per-request query trace: every DNS question a report relied on,
//! with what came back, how long it took and where the answer came from.
//!
//! Reports always carry the count (`dns.queries`) and carry the entries
//! themselves when the caller asks (`--trace`, `?trace=true`).

use hickory_proto::rr::{RData, Record, RecordType};
use serde::{Deserialize, Serialize};

/// Where an answer came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    /// A `--zone` file (or, with `--offline`, the overlay's NXDOMAIN for a
    /// name outside every zone).
    Overlay,
    /// A query sent to an upstream server.
    Upstream,
    /// Reused: asked before in this request, or from the shared cache.
    Cache,
    /// Not asked: the request's question budget was spent.
    NotSent,
    /// Not asked: the request's deadline had passed.
    Late,
}

impl Source {
    pub fn as_str(self) -> &'static str {
        match self {
            Source::Overlay => "overlay",
            Source::Upstream => "upstream",
            Source::Cache => "cache",
            Source::NotSent => "not_sent",
            Source::Late => "late",
        }
    }
}

/// One question and its outcome; the pages read it back from a saved
/// report.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TraceEntry {
    pub name: String,
    #[serde(rename = "type")]
    pub rtype: String,
    /// `NOERROR`, `NXDOMAIN`, `SERVFAIL`, `REFUSED`, `TIMEOUT`, `DEADLINE`,
    /// `BUDGET`…
    pub rcode: String,
    /// Answer records in presentation form (`TXT "v=spf1 -all"`).
    pub answers: Vec<String>,
    pub ms: f64,
    pub source: Source,
    /// The upstream server that answered, when one did.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub server: Option<String>,
}

/// The `dns` section of every report.
#[derive(Debug, Clone, Serialize)]
pub struct DnsSummary {
    /// Questions the report relied on (entries of the trace).
    pub queries: usize,
    /// Of those, how many were sent to an upstream server.
    pub upstream_queries: usize,
    /// Questions went unasked because the request's budget of upstream
    /// questions (`--max-dns-questions`) was spent: their checks are
    /// unknown.
    pub budget_exhausted: bool,
    /// Questions went unasked because the request's DNS deadline had
    /// passed: their checks are unknown.
    pub deadline_passed: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub trace: Option<Vec<TraceEntry>>,
    /// Each question's source and response code, for counting (the
    /// service's metrics); never serialized, and cheap where `trace` is not.
    #[serde(skip)]
    pub outcomes: Vec<(Source, String)>,
}

/// Presentation form of a record's type and data.
pub fn present(record: &Record) -> String {
    let rtype = type_name(record.record_type());
    match &record.data {
        RData::TXT(txt) => {
            let strings: Vec<String> = txt.txt_data.iter().map(|s| quote(s)).collect();
            format!("{rtype} {}", strings.join(" "))
        }
        RData::Unknown { rdata, .. } if u16::from(record.record_type()) == 99 => {
            format!("{rtype} {}", quote_wire_strings(&rdata.anything))
        }
        data => format!("{rtype} {data}"),
    }
}

/// Type mnemonic, including the historic SPF type hickory does not name.
pub fn type_name(rtype: RecordType) -> String {
    match u16::from(rtype) {
        99 => "SPF".to_string(),
        _ => rtype.to_string(),
    }
}

/// A character-string as a zone file would show it.
fn quote(bytes: &[u8]) -> String {
    let mut out = String::from("\"");
    for &b in bytes {
        match b {
            b'"' | b'\\' => {
                out.push('\\');
                out.push(b as char);
            }
            0x20..=0x7e => out.push(b as char),
            _ => out.push_str(&format!("\\{b:03}")),
        }
    }
    out.push('"');
    out
}

fn quote_wire_strings(mut wire: &[u8]) -> String {
    let mut parts = Vec::new();
    while let Some((&len, rest)) = wire.split_first() {
        let len = usize::from(len).min(rest.len());
        parts.push(quote(&rest[..len]));
        wire = &rest[len..];
    }
    parts.join(" ")
}
