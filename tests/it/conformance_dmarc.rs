//! DMARC conformance: public suites run against mailvet's DMARC evaluation
//! (`mailvet::message::dmarc`), with every DNS answer served over the wire
//! by the test DNS server and read through the resolver layer and the
//! mail-auth bridge, as in production.
//!
//! - **mailauth** (postalsys/mailauth `test/dmarc`, 88 cases). Each case
//!   calls `verify` (From address, SPF and DKIM domains that passed) or
//!   `get-dmarc-record` (a domain) with a stub resolver; the stub's answers
//!   (`zone`, or `probed_dns` as recorded from the stub) become a zone, and
//!   a stub that fails every query becomes a name that never answers. The
//!   call runs through `dmarc::evaluate`; its result is shown in mailauth's
//!   shape (`status.result`, `policy`, `domain`, tags, `alignment.*`) and the
//!   case's chai assertions are checked against it. A thrown DNS error of
//!   `get-dmarc-record` is our `temperror`; a list of queries is checked
//!   against what the DNS server received.
//! - **OpenDMARC tables** (46 rows). Alignment rows run through `evaluate`
//!   with a passing DKIM `d=`; RFC 9989 finds the Organizational Domain by
//!   the DNS tree walk, so the zone publishes the From domain's record where
//!   its owner would, at its registrable domain. Org-domain rows run the
//!   same way and check the walk's answer. Record-parse rows publish the
//!   record and ask whether it applies (a passing aligned DKIM gives `pass`
//!   exactly when it does). From-address parsing belongs to the header
//!   checks and is not run here.
//! - **authentication-headers** (13 messages). The DMARC cases run through
//!   `dmarc::verify`: the From domain is read from the message, DKIM results
//!   come from mail-auth's `verify_dkim` over the same DNS where the case
//!   checks DKIM, else from the case's earlier Authentication-Results.
//!
//! A case passes or is listed in `fixtures/conformance/dmarc/allowlist.txt`
//! with the RFC section that explains the difference; an allowlisted case
//! that passes fails this test, and so does a stale entry.

use crate::support;

use mail_auth::AuthenticatedMessage;
use mailvet::dns::bridge::Bridge;
use mailvet::dns::{Dns, Resolver, Settings, UpstreamChoice};
use mailvet::message::dmarc::{self, DmarcEvaluation, DmarcResult, IdentifierResult, WhatIf};
use mailvet::message::{Clock, MessageContext};
use serde_json::{Map, Value, json};
use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use support::{FaultKind, FaultTypes, TestDns};

const DIR: &str = "fixtures/conformance/dmarc";
const ALLOWLIST: &str = "fixtures/conformance/dmarc/allowlist.txt";
const SOA: &str =
    ". 300 IN SOA ns.dmarc-suite.invalid. hostmaster.dmarc-suite.invalid. 1 3600 600 86400 300";

fn read_json(name: &str) -> Value {
    let path = Path::new(DIR).join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).expect("valid JSON")
}

/// The rows of one OpenDMARC table, each with its case id
/// (`<prefix>/01`, `<prefix>/02`, …).
fn table_rows<'a>(
    tables: &'a Value,
    table: &str,
    prefix: &'a str,
) -> impl Iterator<Item = (String, &'a Value)> {
    tables[table]["rows"]
        .as_array()
        .expect("rows")
        .iter()
        .enumerate()
        .map(move |(i, row)| (format!("{prefix}/{:02}", i + 1), row))
}

/// A case id without spaces: the suite, then the case name in lower case
/// with every run of other characters turned into one `-`.
fn slug(suite: &str, name: &str) -> String {
    let mut out = String::new();
    for c in name.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.ends_with('-') {
            out.push('-');
        }
    }
    format!("{suite}/{}", out.trim_matches('-'))
}

#[derive(Debug)]
enum Outcome {
    Pass,
    Fail(String),
    /// The case tests something outside this API; it is not run.
    NotApplicable(String),
}

struct Tally {
    /// (suite, id, outcome), in run order.
    cases: Vec<(&'static str, String, Outcome)>,
}

impl Tally {
    fn add(&mut self, suite: &'static str, id: String, outcome: Outcome) {
        assert!(
            !self.cases.iter().any(|(_, i, _)| *i == id),
            "duplicate case id {id}"
        );
        self.cases.push((suite, id, outcome));
    }
}

// ---------------------------------------------------------------------------
// DNS: zones and the evaluation over them
// ---------------------------------------------------------------------------

/// One record of a converted zone.
#[derive(Debug, Clone)]
enum Rec {
    Txt(Vec<String>),
    A(String),
    Aaaa(String),
    Mx(u64, String),
}

/// A zone file quoting: `"` and `\` escaped, anything else outside
/// printable ASCII as `\DDD`, strings split at 255 octets.
fn quoted(s: &str) -> String {
    let bytes = s.as_bytes();
    let chunks: Vec<&[u8]> = if bytes.is_empty() {
        vec![&[][..]]
    } else {
        bytes.chunks(255).collect()
    };
    chunks
        .iter()
        .map(|chunk| {
            let mut out = String::from("\"");
            for &b in *chunk {
                match b {
                    b'"' => out.push_str("\\\""),
                    b'\\' => out.push_str("\\\\"),
                    32..=126 => out.push(b as char),
                    _ => out.push_str(&format!("\\{b:03}")),
                }
            }
            out.push('"');
            out
        })
        .collect::<Vec<_>>()
        .join(" ")
}

fn zone_text(records: &[(String, Rec)]) -> String {
    let mut text = format!("$ORIGIN .\n$TTL 300\n{SOA}\n");
    for (name, rec) in records {
        let owner = format!("{}.", name.trim_end_matches('.'));
        let data = match rec {
            Rec::Txt(strings) => format!(
                "TXT {}",
                strings
                    .iter()
                    .map(|s| quoted(s))
                    .collect::<Vec<_>>()
                    .join(" ")
            ),
            Rec::A(ip) => format!("A {ip}"),
            Rec::Aaaa(ip) => format!("AAAA {ip}"),
            Rec::Mx(pref, host) => format!("MX {pref} {}.", host.trim_end_matches('.')),
        };
        text.push_str(&format!("{owner} 300 IN {data}\n"));
    }
    text
}

/// A served zone and a resolver layer over it.
struct Env {
    server: TestDns,
    dns: Arc<Dns>,
}

impl Env {
    async fn start(records: &[(String, Rec)]) -> Env {
        let server = TestDns::start_with_texts(&[&zone_text(records)]).await;
        let dns = Dns::new(
            Settings {
                upstream: UpstreamChoice::Servers(vec![server.addr]),
                query_timeout: Duration::from_millis(300),
                attempts: 1,
                deadline: Duration::from_secs(5),
                cache_capacity: 0,
                max_questions: mailvet::dns::DEFAULT_MAX_QUESTIONS,
            },
            Vec::new(),
        )
        .expect("resolver layer");
        Env { server, dns }
    }

    /// A fresh request: resolver, bridge and authenticator over it.
    async fn request(&self) -> (Resolver, Bridge, mail_auth::MessageAuthenticator) {
        let resolver = self.dns.resolver();
        let bridge = Bridge::start(resolver.clone()).await.expect("bridge");
        let authenticator = bridge
            .authenticator(Duration::from_secs(5))
            .expect("authenticator");
        (resolver, bridge, authenticator)
    }

    async fn evaluate(&self, input: &WhatIf) -> Result<DmarcEvaluation, dmarc::WhatIfError> {
        let (resolver, _bridge, authenticator) = self.request().await;
        let evaluation = dmarc::evaluate(&resolver, &authenticator, input).await;
        if let Ok(e) = &evaluation {
            agrees_with_mail_auth(e);
        }
        evaluation
    }

    /// The `_dmarc` TXT names the server was asked, in order.
    fn dmarc_queries(&self) -> Vec<String> {
        self.server
            .queries()
            .iter()
            .filter(|q| q.rtype == hickory_proto::rr::RecordType::TXT)
            .map(|q| q.name.trim_end_matches('.').to_string())
            .filter(|n| n.starts_with("_dmarc."))
            .collect()
    }
}

/// mailvet's own reading of the records (needed for the DKIM side, which
/// mail-auth cannot be asked about) must never contradict mail-auth's
/// verdict; the evaluation says so in a note when it does.
fn agrees_with_mail_auth(e: &DmarcEvaluation) {
    let disagreements: Vec<&String> = e
        .notes
        .iter()
        .filter(|n| n.contains("follows mail-auth") || n.contains("could not be asked"))
        .collect();
    assert!(
        disagreements.is_empty(),
        "{:?}: {disagreements:?}",
        e.from_domain
    );
}

fn what_if(from: &str, spf: Option<&str>, dkim: &[&str]) -> WhatIf {
    WhatIf {
        from_domain: from.to_string(),
        spf: spf.map(|d| IdentifierResult {
            domain: d.to_string(),
            result: "pass".into(),
        }),
        dkim: dkim
            .iter()
            .map(|d| IdentifierResult {
                domain: d.to_string(),
                result: "pass".into(),
            })
            .collect(),
    }
}

// ---------------------------------------------------------------------------
// mailauth
// ---------------------------------------------------------------------------

/// A stub resolver as a zone: its records, the names that fail, and, when
/// the stub fails every query, that failure.
struct Stub {
    records: Vec<(String, Rec)>,
    faults: Vec<(String, FaultKind)>,
    fails_everything: Option<FaultKind>,
}

fn fault_of(code: &str) -> Option<FaultKind> {
    match code {
        "ETIMEOUT" => Some(FaultKind::NoAnswer),
        "ESERVFAIL" => Some(FaultKind::ServFail),
        // ENOTFOUND, ENODATA: no such record, which an empty zone says.
        _ => None,
    }
}

fn records_of(name: &str, rtype: &str, answers: &Value) -> Vec<(String, Rec)> {
    let list = answers.as_array().cloned().unwrap_or_default();
    list.iter()
        .filter_map(|a| {
            let rec = match rtype {
                "TXT" => Rec::Txt(
                    a.as_array()?
                        .iter()
                        .filter_map(|s| s.as_str().map(String::from))
                        .collect(),
                ),
                "A" => Rec::A(a.as_str()?.to_string()),
                "AAAA" => Rec::Aaaa(a.as_str()?.to_string()),
                "MX" => Rec::Mx(a["priority"].as_u64()?, a["exchange"].as_str()?.to_string()),
                _ => return None,
            };
            Some((name.to_string(), rec))
        })
        .collect()
}

fn stub(resolver: &Value) -> Result<Stub, String> {
    let mut out = Stub {
        records: Vec::new(),
        faults: Vec::new(),
        fails_everything: None,
    };
    if let Some(zone) = resolver["zone"].as_object() {
        for (name, types) in zone {
            for (rtype, answers) in types.as_object().into_iter().flatten() {
                out.records.extend(records_of(name, rtype, answers));
            }
        }
        return Ok(out);
    }
    let Some(probed) = resolver["probed_dns"].as_object() else {
        return Err("the stub resolver has neither a zone nor recorded answers".into());
    };
    for (name, types) in probed {
        for (rtype, entry) in types.as_object().into_iter().flatten() {
            // `nonexistent.invalid` records what the stub says for any name
            // it does not single out.
            let any_name = name == "nonexistent.invalid";
            if let Some(code) = entry["error"].as_str() {
                if let Some(kind) = fault_of(code) {
                    if any_name {
                        out.fails_everything.get_or_insert(kind);
                    } else {
                        out.faults.push((name.clone(), kind));
                    }
                }
            } else if let Some(answers) = entry.get("answer") {
                let found = records_of(name, rtype, answers);
                if any_name && !found.is_empty() && rtype == "TXT" {
                    return Err(
                        "the stub answers every name with the same record, which no zone \
                         publishes"
                            .into(),
                    );
                }
                if !any_name {
                    out.records.extend(found);
                }
            }
        }
    }
    Ok(out)
}

/// The domain of a From value: after the last `@`, or the whole value.
fn domain_of_address(address: &str) -> String {
    address
        .rsplit_once('@')
        .map_or(address, |(_, d)| d)
        .to_string()
}

fn domains(list: &Value) -> Vec<String> {
    list.as_array()
        .into_iter()
        .flatten()
        .filter_map(|d| {
            d.as_str()
                .or_else(|| d["domain"].as_str())
                .map(String::from)
        })
        .collect()
}

/// A verify call's arguments as a what-if.
fn verify_input(args: &Value) -> Result<WhatIf, String> {
    let from = match &args["headerFrom"] {
        Value::String(s) => domain_of_address(s),
        Value::Array(list) if list.len() == 1 => {
            domain_of_address(list[0].as_str().unwrap_or_default())
        }
        other => return Err(format!("headerFrom {other} is not one address")),
    };
    let spf = domains(&args["spfDomains"]);
    if spf.len() > 1 {
        return Err("several SPF domains".into());
    }
    let dkim = domains(&args["dkimDomains"]);
    let dkim: Vec<&str> = dkim.iter().map(String::as_str).collect();
    Ok(what_if(&from, spf.first().map(String::as_str), &dkim))
}

/// What a call produced, in mailauth's shape.
#[derive(Debug, Clone)]
enum CallOutput {
    Value(Value),
    /// getDmarcRecord throws on a DNS failure; this is the error's code.
    Thrown(String),
}

fn policy_word(p: Option<mailvet::records::dmarc::Policy>) -> Option<Value> {
    p.map(|p| Value::from(p.as_str()))
}

fn mode_word(a: mailvet::records::dmarc::Alignment) -> &'static str {
    match a {
        mailvet::records::dmarc::Alignment::Relaxed => "r",
        mailvet::records::dmarc::Alignment::Strict => "s",
    }
}

/// mailauth reports the organizational domain an aligned identifier
/// matched (the identifier itself under strict alignment), or false.
fn aligned_value(
    e: &DmarcEvaluation,
    id: Option<&dmarc::IdentifierAlignment>,
    mode: mailvet::records::dmarc::Alignment,
) -> Value {
    match id {
        Some(id) if id.aligned_pass => match mode {
            mailvet::records::dmarc::Alignment::Strict => Value::from(id.domain.clone()),
            mailvet::records::dmarc::Alignment::Relaxed => Value::from(
                e.organizational_domain
                    .clone()
                    .unwrap_or_else(|| id.domain.clone()),
            ),
        },
        _ => Value::Bool(false),
    }
}

fn insert_tags(object: &mut Map<String, Value>, e: &DmarcEvaluation) {
    let Some(tags) = e.record.as_ref().and_then(|r| r.tags.as_ref()) else {
        return;
    };
    let mut put = |k: &str, v: Option<Value>| {
        if let Some(v) = v {
            object.insert(k.to_string(), v);
        }
    };
    put("p", policy_word(tags.p));
    put("sp", policy_word(tags.sp));
    put("np", policy_word(tags.np));
    put("adkim", tags.adkim.map(|a| Value::from(mode_word(a))));
    put("aspf", tags.aspf.map(|a| Value::from(mode_word(a))));
    put("pct", tags.pct.map(Value::from));
    put("ri", tags.ri.map(Value::from));
    put(
        "fo",
        (!tags.fo.is_empty()).then(|| Value::from(tags.fo.join(":"))),
    );
    let uris = |list: &[mailvet::records::dmarc::ReportUri]| {
        (!list.is_empty()).then(|| {
            Value::from(
                list.iter()
                    .map(|u| u.uri.clone())
                    .collect::<Vec<_>>()
                    .join(","),
            )
        })
    };
    put("rua", uris(&tags.rua));
    put("ruf", uris(&tags.ruf));
}

fn verify_shape(e: &DmarcEvaluation) -> Value {
    let mut out = Map::new();
    out.insert(
        "status".into(),
        json!({
            "result": e.result.as_str(),
            "header": {
                "from": e.from_domain,
                "d": e.organizational_domain,
            }
        }),
    );
    if let Some(r) = &e.record {
        out.insert("domain".into(), Value::from(r.domain.clone()));
        out.insert("rr".into(), Value::from(r.text.clone()));
    }
    if let Some(p) = policy_word(e.policy) {
        out.insert("policy".into(), p);
    }
    insert_tags(&mut out, e);
    out.insert(
        "alignment".into(),
        json!({
            "spf": {
                "result": aligned_value(e, e.spf.identifier.as_ref(), e.spf.mode),
                "strict": e.spf.mode == mailvet::records::dmarc::Alignment::Strict,
            },
            "dkim": {
                "result": aligned_value(
                    e,
                    e.dkim.signatures.iter().find(|s| s.aligned_pass),
                    e.dkim.mode,
                ),
                "strict": e.dkim.mode == mailvet::records::dmarc::Alignment::Strict,
            },
        }),
    );
    Value::Object(out)
}

fn record_shape(e: &DmarcEvaluation) -> CallOutput {
    if e.result == DmarcResult::TempError {
        return CallOutput::Thrown("ETIMEOUT".into());
    }
    let Some(record) = &e.record else {
        return CallOutput::Value(Value::Bool(false));
    };
    let mut out = Map::new();
    out.insert("v".into(), Value::from("DMARC1"));
    out.insert("rr".into(), Value::from(record.text.clone()));
    out.insert("isOrgRecord".into(), Value::from(record.inherited));
    insert_tags(&mut out, e);
    CallOutput::Value(Value::Object(out))
}

fn resolve<'a>(value: &'a Value, path: &str) -> Option<&'a Value> {
    if path.is_empty() {
        return Some(value);
    }
    path.split('.').try_fold(value, |v, key| v.get(key))
}

fn truthy(v: Option<&Value>) -> bool {
    match v {
        None | Some(Value::Null) | Some(Value::Bool(false)) => false,
        Some(Value::String(s)) => !s.is_empty(),
        Some(Value::Number(n)) => n.as_f64() != Some(0.0),
        Some(_) => true,
    }
}

/// One chai assertion; `None` is JavaScript's `undefined`.
fn assert_chai(assertion: &str, actual: Option<&Value>, args: &[Value]) -> Result<(), String> {
    let arg = args.first();
    let ok = match assertion {
        "to.equal" | "to.deep.equal" => actual.is_some() && actual == arg,
        "to.be.false" => actual == Some(&Value::Bool(false)),
        "to.be.true" => actual == Some(&Value::Bool(true)),
        "to.not.be.ok" => !truthy(actual),
        "to.be.undefined" => actual.is_none(),
        "to.be.a" | "to.be.an" => match arg.and_then(Value::as_str) {
            Some("object") => actual.is_some_and(Value::is_object),
            Some("string") => actual.is_some_and(Value::is_string),
            Some("number") => actual.is_some_and(Value::is_number),
            _ => false,
        },
        "to.include" | "to.contain" => match (actual, arg) {
            (Some(Value::String(s)), Some(Value::String(part))) => s.contains(part.as_str()),
            (Some(Value::Array(list)), Some(item)) => list.contains(item),
            _ => false,
        },
        "to.not.have.property" => match (actual, arg.and_then(Value::as_str)) {
            (Some(Value::Object(o)), Some(key)) => !o.contains_key(key),
            _ => false,
        },
        other => return Err(format!("unknown assertion {other}")),
    };
    if ok {
        Ok(())
    } else {
        Err(format!(
            "expected {assertion} {}, got {}",
            Value::from(args.to_vec()),
            actual.map_or("undefined".to_string(), Value::to_string)
        ))
    }
}

async fn mailauth_case(case: &Value) -> Outcome {
    let mut outputs: Vec<CallOutput> = Vec::new();
    let mut queries: Vec<String> = Vec::new();
    for call in case["calls"].as_array().into_iter().flatten() {
        let args = &call["args"];
        let (input, resolver, is_verify) = match call["fn"].as_str() {
            Some("verify") => match verify_input(&args[0]) {
                Ok(input) => (input, &args[0]["resolver"], true),
                Err(why) => return Outcome::NotApplicable(why),
            },
            Some("get-dmarc-record") => (
                what_if(args[0].as_str().unwrap_or_default(), None, &[]),
                &args[1],
                false,
            ),
            other => return Outcome::NotApplicable(format!("calls {other:?}")),
        };
        let stub = match stub(resolver) {
            Ok(stub) => stub,
            Err(why) => return Outcome::NotApplicable(why),
        };
        let env = Env::start(&stub.records).await;
        for (name, kind) in &stub.faults {
            env.server.add_fault(name, FaultTypes::All, *kind);
        }
        if let Some(kind) = stub.fails_everything {
            // The walk's first question is enough: a failure ends it.
            env.server.add_fault(
                &format!("_dmarc.{}", input.from_domain),
                FaultTypes::All,
                kind,
            );
        }
        let evaluation = match env.evaluate(&input).await {
            Ok(e) => e,
            Err(e) => return Outcome::NotApplicable(format!("input refused: {e}")),
        };
        outputs.push(if is_verify {
            CallOutput::Value(verify_shape(&evaluation))
        } else {
            record_shape(&evaluation)
        });
        queries = env.dmarc_queries();
    }

    let mut previous: Option<Value> = None;
    for expectation in case["expectations"].as_array().into_iter().flatten() {
        let target = &expectation["target"];
        let assertion = expectation["assertion"].as_str().unwrap_or_default();
        let args = expectation["args"].as_array().cloned().unwrap_or_default();
        let checked = if let Some(i) = target["result_of_call"].as_u64() {
            let path = target["path"].as_str().unwrap_or_default();
            let actual = match outputs.get(i as usize) {
                Some(CallOutput::Value(v)) => resolve(v, path).cloned(),
                _ => None,
            };
            let outcome = assert_chai(assertion, actual.as_ref(), &args)
                .map_err(|e| format!("`{path}`: {e}"));
            previous = actual;
            outcome
        } else {
            match &target["value"] {
                // `expect(err.code).to.equal(…)` after a throw.
                Value::String(s) if s == "__undefined__" => {
                    let thrown = outputs.iter().find_map(|o| match o {
                        CallOutput::Thrown(code) => Some(Value::from(code.clone())),
                        _ => None,
                    });
                    assert_chai(assertion, thrown.as_ref(), &args)
                        .map_err(|e| format!("thrown error: {e}"))
                }
                // `expect(typeof x).to.equal('number')` about the value
                // just checked.
                Value::String(s) if s == "function" => {
                    let kind = previous.as_ref().map(|v| {
                        Value::from(match v {
                            Value::Number(_) => "number",
                            Value::String(_) => "string",
                            Value::Bool(_) => "boolean",
                            Value::Object(_) => "object",
                            _ => "other",
                        })
                    });
                    assert_chai(assertion, kind.as_ref(), &args).map_err(|e| format!("typeof: {e}"))
                }
                // The DMARC queries the resolver made, as the server saw them.
                Value::Array(_) => {
                    let asked = Value::from(queries.clone());
                    assert_chai(assertion, Some(&asked), &args).map_err(|e| format!("queries: {e}"))
                }
                other => Err(format!("unsupported target {other}")),
            }
        };
        if let Err(why) = checked {
            return Outcome::Fail(why);
        }
    }
    Outcome::Pass
}

// ---------------------------------------------------------------------------
// OpenDMARC tables
// ---------------------------------------------------------------------------

/// Where the owner of a domain publishes its record: the registrable
/// domain (the PSL stands in for the owner's choice; RFC 9989 then finds it
/// by the tree walk).
fn registrable(domain: &str) -> Option<String> {
    let domain = mailvet::records::name::DomainName::parse(domain).ok()?;
    psl::domain_str(&domain.ascii).map(String::from)
}

/// A From header value and the Author Domain OpenDMARC finds in it,
/// through the header checks' reading of From (the domain DMARC is
/// evaluated for, RFC 9989 §4.4).
fn opendmarc_finddomain(row: &Value) -> Outcome {
    let raw = row["raw"].as_str().expect("raw");
    let expected = row["domain"].as_str().expect("domain");
    let message = format!("From: {raw}\r\n\r\n");
    match mailvet::message::headers::from_domain(message.as_bytes()) {
        Some(domain) if domain == expected => Outcome::Pass,
        other => Outcome::Fail(format!("From: {raw} gave {other:?}, expected {expected}")),
    }
}

async fn opendmarc_alignment(row: &Value) -> Outcome {
    let from = row["from_domain"].as_str().unwrap_or_default();
    let auth = row["auth_domain"].as_str().unwrap_or_default();
    let strict = row["mode"] == "DMARC_RECORD_A_STRICT";
    let want_aligned = row["outcome"] == 0;
    let mut records = Vec::new();
    if let Some(org) = registrable(from) {
        records.push((
            format!("_dmarc.{org}"),
            Rec::Txt(vec![format!(
                "v=DMARC1; p=reject; adkim={}",
                if strict { "s" } else { "r" }
            )]),
        ));
    }
    let env = Env::start(&records).await;
    // OpenDMARC answers -1 for "not aligned" and for unusable arguments
    // alike; a refused domain is never aligned.
    let aligned = match env.evaluate(&what_if(from, None, &[auth])).await {
        Ok(e) => e.result == DmarcResult::Pass,
        Err(_) if !want_aligned => false,
        Err(e) => return Outcome::Fail(format!("input refused: {e}")),
    };
    if aligned == want_aligned {
        Outcome::Pass
    } else {
        Outcome::Fail(format!(
            "{auth} {} with From {from} ({})",
            if aligned { "aligns" } else { "does not align" },
            if strict { "strict" } else { "relaxed" }
        ))
    }
}

async fn opendmarc_tld(row: &Value) -> Outcome {
    let domain = row["domain"].as_str().unwrap_or_default();
    let org = row["org_domain"].as_str().unwrap_or_default();
    if domain.contains('\0') {
        return Outcome::NotApplicable("mangled in upstream".into());
    }
    let env = Env::start(&[(
        format!("_dmarc.{org}"),
        Rec::Txt(vec!["v=DMARC1; p=none".into()]),
    )])
    .await;
    match env.evaluate(&what_if(domain, None, &[])).await {
        Ok(e) if e.organizational_domain.as_deref() == Some(org) => Outcome::Pass,
        Ok(e) => Outcome::Fail(format!(
            "organizational domain {:?}, expected {org}",
            e.organizational_domain
        )),
        Err(e) => Outcome::Fail(format!("input refused: {e}")),
    }
}

async fn opendmarc_record(row: &Value) -> Outcome {
    let record = row["record"].as_str().unwrap_or_default();
    let want_ok = row["status"] == "DMARC_PARSE_OKAY";
    let env = Env::start(&[(
        "_dmarc.abuse.net".to_string(),
        Rec::Txt(vec![record.to_string()]),
    )])
    .await;
    match env
        .evaluate(&what_if("abuse.net", None, &["abuse.net"]))
        .await
    {
        Ok(e) => {
            let applies = e.result == DmarcResult::Pass;
            let refused = matches!(e.result, DmarcResult::None | DmarcResult::PermError);
            if (want_ok && applies) || (!want_ok && refused) {
                Outcome::Pass
            } else {
                Outcome::Fail(format!(
                    "{record:?}: result {} ({}), expected {}",
                    e.result, e.reason, row["status"]
                ))
            }
        }
        Err(e) => Outcome::Fail(format!("input refused: {e}")),
    }
}

// ---------------------------------------------------------------------------
// authentication-headers
// ---------------------------------------------------------------------------

/// `dkim=<result> header.d=<domain>` pairs of an Authentication-Results.
fn dkim_from_auth_results(header: &str) -> Vec<(String, bool)> {
    header
        .split(';')
        .filter_map(|part| {
            let part = part.trim();
            let result = part.strip_prefix("dkim=")?.split_whitespace().next()?;
            let d = part
                .split_whitespace()
                .find_map(|w| w.strip_prefix("header.d="))?;
            Some((d.to_string(), result == "pass"))
        })
        .collect()
}

async fn authheaders_case(env: &Env, case: &Value) -> Outcome {
    if case["check_dmarc"] != true {
        return Outcome::NotApplicable("DKIM only".into());
    }
    let file = Path::new(DIR).join(case["message_file"].as_str().unwrap_or_default());
    let text = std::fs::read_to_string(&file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
    let raw = text.replace("\r\n", "\n").replace('\n', "\r\n");
    let Some(message) = AuthenticatedMessage::parse(raw.as_bytes()) else {
        return Outcome::Fail("the message does not parse".into());
    };
    let mut from_domains: Vec<String> = message
        .from_addresses()
        .iter()
        .map(|a| domain_of_address(a))
        .collect();
    from_domains.dedup();
    if from_domains.len() > 1 {
        return Outcome::NotApplicable(format!("several From domains: {from_domains:?}"));
    }
    let (resolver, _bridge, authenticator) = env.request().await;
    let outputs = if case["check_dkim"] == true {
        authenticator.verify_dkim(&message).await
    } else {
        Vec::new()
    };
    let dkim: Vec<(String, bool)> = if case["check_dkim"] == true {
        outputs
            .iter()
            .filter_map(|o| {
                let d = o.signature()?.d.clone();
                Some((d, matches!(o.result(), mail_auth::DkimResult::Pass)))
            })
            .collect()
    } else {
        dkim_from_auth_results(case["prev_authentication_results"].as_str().unwrap_or(""))
    };
    // mail-auth's own verdict over the real signatures: mailvet decides
    // the DKIM side itself, and must agree.
    let no_spf = mail_auth::SpfOutput::new(String::new());
    let theirs = authenticator
        .verify_dmarc(mail_auth::dmarc::verify::DmarcParameters::new(
            &message, &outputs, "", &no_spf,
        ))
        .await
        .result();
    let theirs = match theirs {
        mail_auth::DmarcResult::Pass => "pass",
        mail_auth::DmarcResult::Fail(_) => "fail",
        mail_auth::DmarcResult::TempError(_) => "temperror",
        mail_auth::DmarcResult::PermError(_) => "permerror",
        mail_auth::DmarcResult::None => "none",
    };
    let pairs: Vec<(&str, bool)> = dkim.iter().map(|(d, p)| (d.as_str(), *p)).collect();
    let cx = MessageContext {
        resolver: &resolver,
        answered: mailvet::dns::answered::Answered::default(),
        authenticator: &authenticator,
        raw: raw.as_bytes(),
        clock: Clock::system(),
    };
    let checked = dmarc::verify(&cx, from_domains.first().map(String::as_str), None, &pairs).await;
    let e = &checked.section;
    agrees_with_mail_auth(e);
    assert_eq!(
        e.result.as_str(),
        theirs,
        "{}: mailvet and mail-auth disagree",
        case["name"]
    );
    let want_result = case["expected_dmarc"].as_str().unwrap_or("none");
    let want_policy = case["expected_policy"].as_str().unwrap_or("none");
    let policy = e.policy.map_or("none", |p| p.as_str());
    if e.result.as_str() == want_result && policy == want_policy {
        Outcome::Pass
    } else {
        Outcome::Fail(format!(
            "dmarc={} policy={policy} ({}), expected dmarc={want_result} policy={want_policy}; \
             DKIM {dkim:?}",
            e.result, e.reason
        ))
    }
}

// ---------------------------------------------------------------------------
// The suites
// ---------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dmarc_conformance_suites() {
    let mut tally = Tally { cases: Vec::new() };

    for (file, suite) in [
        ("mailauth-dmarc-verify-test.json", "mailauth-verify"),
        ("mailauth-get-dmarc-record-test.json", "mailauth-record"),
        ("mailauth-rfc9989-compliance-test.json", "mailauth-rfc9989"),
    ] {
        for case in read_json(file).as_array().expect("cases") {
            let id = slug(suite, case["name"].as_str().expect("name"));
            tally.add("mailauth", id, mailauth_case(case).await);
        }
    }

    let tables = read_json("opendmarc-tables.json");
    for (id, row) in table_rows(&tables, "alignment", "opendmarc-alignment") {
        tally.add("opendmarc", id, opendmarc_alignment(row).await);
    }
    for (id, row) in table_rows(&tables, "finddomain", "opendmarc-finddomain") {
        tally.add("opendmarc", id, opendmarc_finddomain(row));
    }
    for (id, row) in table_rows(&tables, "tld", "opendmarc-tld") {
        tally.add("opendmarc", id, opendmarc_tld(row).await);
    }
    for (id, row) in table_rows(&tables, "record_parse", "opendmarc-record-parse") {
        tally.add("opendmarc", id, opendmarc_record(row).await);
    }

    let server = TestDns::start(&[&Path::new(DIR).join("authheaders.zone")]).await;
    let env = Env {
        dns: Dns::new(
            Settings {
                upstream: UpstreamChoice::Servers(vec![server.addr]),
                query_timeout: Duration::from_millis(300),
                attempts: 1,
                deadline: Duration::from_secs(5),
                cache_capacity: 0,
                max_questions: mailvet::dns::DEFAULT_MAX_QUESTIONS,
            },
            Vec::new(),
        )
        .expect("resolver layer"),
        server,
    };
    for case in read_json("authheaders-cases.json")
        .as_array()
        .expect("cases")
    {
        let id = slug("authheaders", case["name"].as_str().expect("name"));
        tally.add("authheaders", id, authheaders_case(&env, case).await);
    }

    // Judge against the allowlist.
    let allow = support::allowlist(ALLOWLIST);
    let mut problems = Vec::new();
    let mut counts: BTreeMap<&str, [usize; 4]> = BTreeMap::new();
    let ids: BTreeSet<&str> = tally.cases.iter().map(|(_, id, _)| id.as_str()).collect();
    for (suite, id, outcome) in &tally.cases {
        let c = counts.entry(suite).or_default();
        c[0] += 1;
        let listed = allow.contains_key(id);
        match outcome {
            Outcome::Pass => {
                c[1] += 1;
                if listed {
                    problems.push(format!("{id}: passes but is allowlisted; remove it"));
                }
            }
            Outcome::Fail(why) => {
                c[2] += 1;
                if !listed {
                    problems.push(format!("{id}: {why}"));
                }
            }
            Outcome::NotApplicable(why) => {
                c[3] += 1;
                if !listed {
                    problems.push(format!("{id}: not applicable ({why}) and not allowlisted"));
                }
            }
        }
    }
    for id in allow.keys() {
        if !ids.contains(id.as_str()) {
            problems.push(format!("{id}: allowlisted but no such case"));
        }
    }
    let mut err = std::io::stderr();
    for (suite, [total, passed, failed, skipped]) in &counts {
        let _ = writeln!(
            err,
            "DMARC conformance {suite}: {passed}/{total} pass, {failed} allowlisted deviations, \
             {skipped} not applicable"
        );
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

// ---------------------------------------------------------------------------
// The message entry point: findings, and one DNS question per name
// ---------------------------------------------------------------------------

const ESP_ZONE: &[(&str, &str)] = &[
    (
        "_dmarc.example.com",
        "v=DMARC1; p=reject; rua=mailto:dmarc@example.com",
    ),
    (
        "_dmarc.monitor.example",
        "v=DMARC1; p=none; rua=mailto:d@monitor.example",
    ),
    ("_dmarc.testing.example", "v=DMARC1; p=reject; t=y; pct=50"),
    ("_dmarc.soft.example", "v=DMARC1; p=quarantine; t=y"),
    ("_dmarc.esp.example", "v=DMARC1; p=none"),
];

async fn esp_env() -> Env {
    let records: Vec<(String, Rec)> = ESP_ZONE
        .iter()
        .map(|(n, t)| (n.to_string(), Rec::Txt(vec![t.to_string()])))
        .collect();
    Env::start(&records).await
}

async fn verify_message(
    env: &Env,
    from: &str,
    spf: Option<(&str, mailvet::spf::SpfResult)>,
    dkim: &[(&str, bool)],
) -> mailvet::findings::Checked<dmarc::DmarcMessageSection> {
    let (resolver, _bridge, authenticator) = env.request().await;
    let cx = MessageContext {
        resolver: &resolver,
        answered: mailvet::dns::answered::Answered::default(),
        authenticator: &authenticator,
        raw: b"From: x\r\n\r\n",
        clock: Clock::system(),
    };
    let checked = dmarc::verify(&cx, Some(from), spf, dkim).await;
    agrees_with_mail_auth(&checked.section);
    checked
}

fn codes(checked: &mailvet::findings::Checked<dmarc::DmarcMessageSection>) -> Vec<&'static str> {
    checked.findings.iter().map(|f| f.code).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_esp_signing_with_its_own_domain_fails_dmarc_under_reject() {
    use mailvet::spf::SpfResult;
    let env = esp_env().await;
    let checked = verify_message(
        &env,
        "example.com",
        Some(("bounce.esp.example", SpfResult::Pass)),
        &[("esp.example", true)],
    )
    .await;
    let e = &checked.section;
    assert_eq!(e.result, DmarcResult::Fail);
    assert_eq!(codes(&checked), ["dkim.not_aligned", "dmarc.fail"]);
    let fail = &checked.findings[1];
    assert!(
        fail.detail.contains("p=reject") && fail.detail.contains("rejected"),
        "{}",
        fail.detail
    );
    assert!(
        fail.fix.contains("d=example.com") && fail.fix.contains("esp.example"),
        "{}",
        fail.fix
    );
    let spf = e.spf.identifier.as_ref().unwrap();
    assert_eq!(spf.aligned, Some(false));
    assert_eq!(spf.organizational_domain.as_deref(), Some("esp.example"));
    assert_eq!(e.organizational_domain.as_deref(), Some("example.com"));
    assert_eq!(e.spf.result, DmarcResult::Fail);
    assert_eq!(e.dkim.result, DmarcResult::Fail);

    // Every DMARC question went on the wire once, though both mail-auth
    // and mailvet asked it.
    assert_eq!(
        env.server
            .count("_dmarc.example.com", hickory_proto::rr::RecordType::TXT),
        1
    );

    // With custom DKIM the same mail passes, and the second, unaligned
    // signature is no finding.
    let checked = verify_message(
        &env,
        "example.com",
        Some(("bounce.esp.example", SpfResult::Pass)),
        &[("esp.example", true), ("mail.example.com", true)],
    )
    .await;
    assert_eq!(checked.section.result, DmarcResult::Pass);
    assert_eq!(
        checked.section.dkim.aligned_domain.as_deref(),
        Some("mail.example.com")
    );
    assert!(checked.findings.is_empty(), "{:?}", codes(&checked));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failure_under_p_none_also_explains_the_policy() {
    let env = esp_env().await;
    let checked = verify_message(&env, "monitor.example", None, &[]).await;
    assert_eq!(checked.section.result, DmarcResult::Fail);
    assert_eq!(codes(&checked), ["dmarc.fail", "dmarc.policy_none"]);
    assert!(checked.findings[0].detail.contains("delivered as usual"));
    assert!(
        checked.findings[1].fix.contains("p=quarantine"),
        "{}",
        checked.findings[1].fix
    );

    // t=y lowers quarantine to none: in testing, and explained as such.
    let checked = verify_message(&env, "soft.example", None, &[("soft.example", false)]).await;
    assert_eq!(
        checked.section.policy,
        Some(mailvet::records::dmarc::Policy::None)
    );
    assert_eq!(codes(&checked), ["dmarc.fail", "dmarc.policy_none"]);
    assert!(checked.findings[1].detail.contains("t=y"));
    assert!(!checked.findings[1].fix.contains("t=y"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn testing_mode_and_pct_are_named_in_the_failure() {
    let env = esp_env().await;
    let checked = verify_message(&env, "testing.example", None, &[]).await;
    let e = &checked.section;
    assert_eq!(
        (e.policy, e.published_policy, e.testing, e.pct),
        (
            Some(mailvet::records::dmarc::Policy::Quarantine),
            Some(mailvet::records::dmarc::Policy::Reject),
            true,
            Some(50)
        )
    );
    assert_eq!(codes(&checked), ["dmarc.fail"]);
    let detail = &checked.findings[0].detail;
    assert!(
        detail.contains("t=y (testing)") && detail.contains("quarantine"),
        "{detail}"
    );
    assert!(detail.contains("pct=50"), "{detail}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dns_failure_is_temperror_not_a_failure() {
    let env = esp_env().await;
    env.server
        .add_fault("_dmarc.example.com", FaultTypes::All, FaultKind::ServFail);
    let checked = verify_message(&env, "example.com", None, &[("example.com", true)]).await;
    assert_eq!(checked.section.result, DmarcResult::TempError);
    assert!(checked.section.reason.contains("_dmarc.example.com"));
    assert!(checked.findings.is_empty(), "{:?}", codes(&checked));

    // No From domain: DMARC does not apply, and nothing is asked.
    let (resolver, _bridge, authenticator) = env.request().await;
    let cx = MessageContext {
        resolver: &resolver,
        answered: mailvet::dns::answered::Answered::default(),
        authenticator: &authenticator,
        raw: b"\r\n",
        clock: Clock::system(),
    };
    let checked = dmarc::verify(&cx, None, None, &[("example.com", true)]).await;
    assert_eq!(checked.section.result, DmarcResult::None);
    assert!(checked.findings.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_what_if_refuses_bad_input_by_field() {
    let env = esp_env().await;
    let bad = WhatIf {
        from_domain: "example.com".into(),
        spf: None,
        dkim: vec![IdentifierResult {
            domain: "esp.example".into(),
            result: "ok".into(),
        }],
    };
    let err = env.evaluate(&bad).await.unwrap_err();
    assert_eq!(err.field, "dkim[0].result");
    // And the evaluation serializes with the contract's fields.
    let e = env
        .evaluate(&what_if("example.com", Some("example.com"), &[]))
        .await
        .unwrap();
    let json = serde_json::to_value(&e).unwrap();

    assert_eq!(json["result"], "pass");
    assert_eq!(json["policy"], "reject");
    assert_eq!(json["record"]["name"], "_dmarc.example.com");
    assert_eq!(json["spf"]["identifier"]["how"], "identical");
}
