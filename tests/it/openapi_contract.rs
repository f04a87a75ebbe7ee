//! The contract, enforced: every operation of openapi.yaml is called on a
//! real listening server (DNS through the test DNS server serving the
//! fixture zones, MTA-STS policies from the test HTTPS server), for its
//! success and for each error it documents, and every answer is checked
//! against the document: the status is one the operation lists, the
//! content type one that status lists, every header it lists is sent (and
//! matches its schema), and the body validates against the schema, with
//! `$ref`s resolved inside openapi.yaml itself.
//!
//! At the end every documented (operation, status) pair must have been
//! seen (bar the few listed in [`UNREACHABLE`] with the reason), so a new
//! endpoint or a new documented status without a request here fails; and
//! the routes of src/http/mod.rs must be exactly the spec's operations,
//! every other method on a documented path answering 405.

use crate::support;

use mailvet::dns::{Dns, Settings};
use mailvet::domain::AuditOptions;
use mailvet::http::AppState;
use mailvet::http::config::{ApiKey, ServiceConfig};
use mailvet::reports::Limits;
use reqwest::{Method, StatusCode, header};
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use support::audit_cases::is_overlay_only;
use support::https::TestHttps;
use support::listening::Running;
use support::raw::{self, Sent};
use support::smtp::TestSmtp;
use support::{FaultKind, FaultTypes, TestDns};

const SPEC: &str = "openapi.yaml";
const KEY: &str = "contract-key-0123456789abcdef";

/// Documented answers no request can provoke, with the reason.
const UNREACHABLE: &[(&str, u16, &str)] = &[
    (
        "createInbox",
        504,
        "making an address is one insert on the store, which answers in milliseconds here; \
         only a database stalled past the request timeout would make it 504",
    ),
    (
        "getInbox",
        504,
        "an address is read with at most two row reads on the store, which answer in \
         milliseconds here; only a database stalled past the request timeout would make it 504",
    ),
    (
        "getSavedReport",
        504,
        "a saved report is one row read from the store, which answers in milliseconds here; \
         only a database stalled past the request timeout would make it 504",
    ),
    (
        "deleteSavedReport",
        504,
        "a delete is one statement on the store, which answers in milliseconds here; only \
         a database stalled past the request timeout would make it 504",
    ),
    (
        "deleteSavedReport",
        422,
        "a delete answers 204 without a body, which no answer size cap can exceed",
    ),
    (
        "importReport",
        504,
        "reading a report is CPU work bounded by --max-report-size and the record cap, and \
         storing it one insert; a report small enough to upload in a test is stored in \
         milliseconds, long before any request timeout a test can wait for",
    ),
    (
        "importTlsReport",
        504,
        "a TLS report is a small JSON document read and stored in milliseconds; only a \
         database stalled past the request timeout would make it 504",
    ),
    (
        "getTlsReportEndpoint",
        504,
        "a domain's URL is one insert and one read on the store, which answer in \
         milliseconds here; only a database stalled past the request timeout would make it 504",
    ),
    (
        "importDomainTlsReport",
        504,
        "a TLS report is a small JSON document read and stored in milliseconds, after one \
         read of its token; only a database stalled past the request timeout would make it 504",
    ),
    (
        "listFindings",
        504,
        "the catalog is answered without any I/O, before the request timeout can fire",
    ),
    (
        "auditDomains",
        504,
        "the request timeout starts once the body is in, and the batch answers by 90 % of \
         it with the unfinished domains marked timed out; only a server too starved to \
         write that answer in the last 10 % would answer 504",
    ),
];

/// The methods tried on every documented path.
const METHODS: [Method; 5] = [
    Method::GET,
    Method::POST,
    Method::PUT,
    Method::DELETE,
    Method::PATCH,
];

// ---------------------------------------------------------------------------
// The document
// ---------------------------------------------------------------------------

fn spec() -> Value {
    let text = std::fs::read_to_string(SPEC).expect("openapi.yaml");
    serde_norway::from_str(&text).expect("openapi.yaml is YAML")
}

/// A JSON pointer token (RFC 6901).
fn escape(token: &str) -> String {
    token.replace('~', "~0").replace('/', "~1")
}

/// One operation: its path template, method and id.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Operation {
    path: String,
    method: String,
    id: String,
}

fn operations(doc: &Value) -> Vec<Operation> {
    let mut all = Vec::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for (method, op) in item.as_object().expect("path item") {
            if !["get", "post", "put", "delete", "patch", "head", "options"]
                .contains(&method.as_str())
            {
                continue;
            }
            all.push(Operation {
                path: path.clone(),
                method: method.to_uppercase(),
                id: op["operationId"]
                    .as_str()
                    .unwrap_or_else(|| panic!("{method} {path} has no operationId"))
                    .to_string(),
            });
        }
    }
    all.sort();
    all
}

/// The checker: the document, compiled validators by schema pointer, what
/// was seen and what was wrong.
struct Contract {
    doc: Value,
    operations: Vec<Operation>,
    validators: Mutex<HashMap<String, Arc<jsonschema::Validator>>>,
    seen: Mutex<BTreeSet<(String, u16)>>,
    violations: Mutex<Vec<String>>,
}

/// What an answer carried, once checked.
struct Answer {
    status: StatusCode,
    body: Value,
}

/// An answer as received, over reqwest or a raw socket.
struct Received {
    path: String,
    status: StatusCode,
    headers: header::HeaderMap,
    bytes: Vec<u8>,
}

impl Received {
    async fn of(response: reqwest::Response) -> Received {
        Received {
            path: response.url().path().to_string(),
            status: response.status(),
            headers: response.headers().clone(),
            bytes: response.bytes().await.expect("body").to_vec(),
        }
    }

    fn raw(path: &str, answer: raw::Answer) -> Received {
        Received {
            path: path.to_string(),
            status: StatusCode::from_u16(answer.status).expect("a status"),
            headers: answer.headers,
            bytes: answer.body,
        }
    }
}

impl Contract {
    fn load() -> Contract {
        let doc = spec();
        assert!(
            doc["openapi"].as_str().unwrap_or("").starts_with("3.1"),
            "OpenAPI 3.1"
        );
        let operations = operations(&doc);
        Contract {
            doc,
            operations,
            validators: Mutex::default(),
            seen: Mutex::default(),
            violations: Mutex::default(),
        }
    }

    fn operation(&self, id: &str) -> &Operation {
        self.operations
            .iter()
            .find(|o| o.id == id)
            .unwrap_or_else(|| panic!("no operation {id} in openapi.yaml"))
    }

    fn violation(&self, text: String) {
        self.violations.lock().unwrap().push(text);
    }

    /// Follows a local `$ref` to its pointer, returning the pointer of
    /// the object reached and the object.
    fn deref(&self, pointer: String) -> (String, &Value) {
        let mut pointer = pointer;
        loop {
            let value = self
                .doc
                .pointer(&pointer)
                .unwrap_or_else(|| panic!("openapi.yaml has nothing at {pointer}"));
            match value.get("$ref").and_then(Value::as_str) {
                Some(target) => {
                    pointer = target
                        .strip_prefix('#')
                        .unwrap_or_else(|| panic!("non-local $ref {target}"))
                        .to_string();
                }
                None => return (pointer, value),
            }
        }
    }

    /// The validator of the schema at `pointer`, compiled once: the whole
    /// document with a root `$ref` to it, so every `$ref` inside resolves
    /// against openapi.yaml itself.
    fn validator(&self, pointer: &str) -> Arc<jsonschema::Validator> {
        let mut cache = self.validators.lock().unwrap();
        if let Some(v) = cache.get(pointer) {
            return Arc::clone(v);
        }
        let mut root = self.doc.clone();
        root.as_object_mut()
            .unwrap()
            .insert("$ref".into(), Value::String(format!("#{pointer}")));
        let validator = Arc::new(
            jsonschema::draft202012::options()
                .build(&root)
                .unwrap_or_else(|e| panic!("the schema at {pointer} compiles: {e}")),
        );
        cache.insert(pointer.to_string(), Arc::clone(&validator));
        validator
    }

    fn validate(&self, pointer: &str, instance: &Value, what: &str) {
        let validator = self.validator(pointer);
        let errors: Vec<String> = validator
            .iter_errors(instance)
            .map(|e| format!("  {e} at {}", e.instance_path()))
            .take(20)
            .collect();
        if !errors.is_empty() {
            let shown = serde_json::to_string(instance).unwrap_or_default();
            let shown: String = shown.chars().take(3000).collect();
            self.violation(format!(
                "{what}: the body does not match {pointer}:\n{}\n  body: {shown}",
                errors.join("\n")
            ));
        }
    }

    /// Checks one answer to operation `id` against the document.
    fn check(&self, id: &str, received: Received) -> Answer {
        let op = self.operation(id).clone();
        let Received {
            status,
            headers,
            bytes,
            ..
        } = received;
        let what = format!("{} {} ({id}) → {}", op.method, op.path, status.as_u16());
        let op_pointer = format!(
            "/paths/{}/{}",
            escape(&op.path),
            op.method.to_ascii_lowercase()
        );
        let responses = &self.doc.pointer(&op_pointer).unwrap()["responses"];
        let code = status.as_u16().to_string();
        let key = if responses.get(&code).is_some() {
            code
        } else if responses.get("default").is_some() {
            "default".to_string()
        } else {
            self.violation(format!("{what}: status not documented"));
            return Answer {
                status,
                body: Value::Null,
            };
        };
        self.seen
            .lock()
            .unwrap()
            .insert((id.to_string(), status.as_u16()));
        let (response_pointer, documented) =
            self.deref(format!("{op_pointer}/responses/{}", escape(&key)));

        // Every documented header is sent, and matches its schema.
        for (name, _) in documented["headers"].as_object().into_iter().flatten() {
            let (header_pointer, _) =
                self.deref(format!("{response_pointer}/headers/{}", escape(name)));
            match headers.get(name.as_str()).map(|v| v.to_str()) {
                None => self.violation(format!("{what}: no {name} header")),
                Some(Err(_)) => self.violation(format!("{what}: {name} is not text")),
                Some(Ok(value)) => {
                    let (schema_pointer, schema) = self.deref(format!("{header_pointer}/schema"));
                    let instance = if schema["type"] == "integer" {
                        value
                            .parse::<i64>()
                            .map(Value::from)
                            .unwrap_or(json!(value))
                    } else {
                        json!(value)
                    };
                    self.validate(
                        &schema_pointer,
                        &instance,
                        &format!("{what}: header {name}"),
                    );
                }
            }
        }

        let content_type = headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        let essence = content_type
            .split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase();
        let Some(content) = documented["content"].as_object() else {
            if !bytes.is_empty() {
                self.violation(format!("{what}: a body where none is documented"));
            }
            return Answer {
                status,
                body: Value::Null,
            };
        };
        if !content.contains_key(&essence) {
            self.violation(format!(
                "{what}: content type `{content_type}` is not one of {:?}",
                content.keys().collect::<Vec<_>>()
            ));
            return Answer {
                status,
                body: Value::Null,
            };
        }
        let body = if essence.ends_with("json") {
            match serde_json::from_slice::<Value>(&bytes) {
                Ok(v) => v,
                Err(e) => {
                    self.violation(format!("{what}: {essence} body is not JSON: {e}"));
                    return Answer {
                        status,
                        body: Value::Null,
                    };
                }
            }
        } else if essence.ends_with("yaml") {
            match serde_norway::from_slice::<Value>(&bytes) {
                Ok(v) => v,
                Err(e) => {
                    self.violation(format!("{what}: {essence} body is not YAML: {e}"));
                    return Answer {
                        status,
                        body: Value::Null,
                    };
                }
            }
        } else {
            match String::from_utf8(bytes) {
                Ok(text) => Value::String(text),
                Err(_) => {
                    self.violation(format!("{what}: {essence} body is not UTF-8"));
                    return Answer {
                        status,
                        body: Value::Null,
                    };
                }
            }
        };
        let (schema_pointer, _) = self.deref(format!(
            "{response_pointer}/content/{}/schema",
            escape(&essence)
        ));
        self.validate(&schema_pointer, &body, &what);
        // Every problem names the request it answers.
        if essence == "application/problem+json" {
            let id_header = headers.get("x-request-id").and_then(|v| v.to_str().ok());
            if body["request_id"].as_str() != id_header {
                self.violation(format!(
                    "{what}: request_id {} is not the x-request-id {id_header:?}",
                    body["request_id"]
                ));
            }
            if body["status"] != status.as_u16() {
                self.violation(format!("{what}: problem status {}", body["status"]));
            }
        }
        Answer { status, body }
    }

    /// Expects this status, with a problem of this type when it is an error.
    async fn expect(
        &self,
        id: &str,
        response: reqwest::Response,
        status: u16,
        problem: Option<&str>,
    ) -> Value {
        self.expect_received(id, Received::of(response).await, status, problem)
    }

    /// [`Contract::expect`] for an answer read from a raw socket.
    fn expect_raw(
        &self,
        id: &str,
        path: &str,
        answer: raw::Answer,
        status: u16,
        problem: Option<&str>,
    ) -> Value {
        self.expect_received(id, Received::raw(path, answer), status, problem)
    }

    fn expect_received(
        &self,
        id: &str,
        received: Received,
        status: u16,
        problem: Option<&str>,
    ) -> Value {
        let what = format!("{id}: {} {}", received.path, received.status);
        let answer = self.check(id, received);
        if answer.status.as_u16() != status {
            self.violation(format!(
                "{what}: expected {status}, body {}",
                answer
                    .body
                    .to_string()
                    .chars()
                    .take(500)
                    .collect::<String>()
            ));
        }
        if let Some(kind) = problem
            && answer.body["type"] != format!("/problems/{kind}")
        {
            self.violation(format!(
                "{what}: expected /problems/{kind}, got {}",
                answer.body["type"]
            ));
        }
        answer.body
    }

    /// Every documented pair seen, or listed as unreachable; nothing wrong.
    fn finish(&self) {
        let seen = self.seen.lock().unwrap().clone();
        let mut missing = Vec::new();
        for op in &self.operations {
            let pointer = format!(
                "/paths/{}/{}/responses",
                escape(&op.path),
                op.method.to_ascii_lowercase()
            );
            for code in self
                .doc
                .pointer(&pointer)
                .unwrap()
                .as_object()
                .unwrap()
                .keys()
            {
                let Ok(status) = code.parse::<u16>() else {
                    continue;
                };
                let unreachable = UNREACHABLE
                    .iter()
                    .any(|(id, s, _)| *id == op.id && *s == status);
                if !seen.contains(&(op.id.clone(), status)) && !unreachable {
                    missing.push(format!("{} {} ({}) {status}", op.method, op.path, op.id));
                }
            }
        }
        let violations = self.violations.lock().unwrap();
        assert!(
            violations.is_empty(),
            "{} contract violations:\n{}",
            violations.len(),
            violations.join("\n")
        );
        assert!(
            missing.is_empty(),
            "documented answers no request here provoked:\n{}",
            missing.join("\n")
        );
        eprintln!(
            "contract: {} operations, {} (operation, status) pairs checked",
            self.operations.len(),
            seen.len()
        );
    }
}

fn layer(dns: &TestDns, query_timeout: Duration) -> Arc<Dns> {
    Dns::new(
        Settings {
            query_timeout,
            deadline: Duration::from_secs(8),
            cache_capacity: 0,
            ..dns.settings()
        },
        Vec::new(),
    )
    .unwrap()
}

fn zone_files() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = ["fixtures/audit", "fixtures/messages"]
        .iter()
        .flat_map(|dir| std::fs::read_dir(dir).unwrap())
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "zone") && !is_overlay_only(p))
        .collect();
    files.sort();
    files
}

/// Every fixture domain case: (domain, selectors, faults).
fn audit_cases() -> Vec<Value> {
    let mut all = Vec::new();
    let mut files: Vec<PathBuf> = std::fs::read_dir("fixtures/audit")
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().ends_with(".cases.json"))
        .collect();
    files.sort();
    for path in files {
        let list: Vec<Value> =
            serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        all.extend(
            list.into_iter()
                .filter(|c| c["skip_e2e"] != true && c.get("overlay").is_none()),
        );
    }
    all
}

fn eml(name: &str) -> Vec<u8> {
    std::fs::read(Path::new("fixtures/messages").join(name)).unwrap()
}

// ---------------------------------------------------------------------------
// The test
// ---------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_operation_answers_as_the_contract_says() {
    let contract = Contract::load();
    let files = zone_files();
    let paths: Vec<&Path> = files.iter().map(PathBuf::as_path).collect();
    let smtp = TestSmtp::start().await;
    let dane = crate::support::dane::texts(&smtp);
    let dane: Vec<&str> = dane.iter().map(String::as_str).collect();
    let dns = TestDns::start_with_files_and_texts(&paths, &dane).await;
    let https = TestHttps::start().await;
    let store = crate::support::store::scratch().await;
    let state = AppState {
        audit: AuditOptions {
            allow_private_fetch: true,
            fetch_timeout: Duration::from_secs(2),
            extra_roots_pem: [https.ca_pem.as_slice(), &smtp.ca_pem].concat(),
            https_port: https.port(),
            probe_timeout: Duration::from_secs(1),
            smtp_port: smtp.port,
            ..AuditOptions::default()
        },
        message_limit: 64 * 1024,
        report_limits: Limits {
            max_size: REPORT_LIMIT,
            ..Limits::default()
        },
        service: ServiceConfig {
            rate_limit: 0,
            allow_probe: true,
            ..ServiceConfig::default()
        },
        inbox: Some(support::inbox::settings()),
        ..AppState::new(layer(&dns, Duration::from_millis(400)), store.clone())
    };
    let server = Running::start(state).await;

    probes_and_contract(&contract, &server).await;
    methods_outside_the_contract(&contract, &server).await;
    spf(&contract, &server).await;
    domain_audits(&contract, &server, &dns).await;
    batches(&contract, &server).await;
    messages(&contract, &server).await;
    dmarc(&contract, &server).await;
    inboxes(&contract, &server, &dns, store).await;
    received_reports(&contract, &server).await;
    server.stop().await;

    keys(&contract, &dns).await;
    rate_limits(&contract, &dns).await;
    probe_refused(&contract, &dns).await;
    overload_and_timeouts(&contract).await;
    slow_bodies(&contract, &dns).await;
    answers_over_the_size_cap(&contract, &dns).await;
    not_ready(&contract).await;
    contract.finish();
}

async fn probes_and_contract(c: &Contract, s: &Running) {
    let health = c
        .expect("healthz", s.get("/healthz").await, 200, None)
        .await;
    assert_eq!(health["status"], "ok");
    let ready = c.expect("readyz", s.get("/readyz").await, 200, None).await;
    assert_eq!(ready["status"], "ready");
    let metrics = c
        .expect("metrics", s.get("/metrics").await, 200, None)
        .await;
    assert!(
        metrics
            .as_str()
            .unwrap()
            .contains("mailvet_http_requests_total")
    );
    let served = c
        .expect("openapi", s.get("/openapi.yaml").await, 200, None)
        .await;
    assert_eq!(served, c.doc, "GET /openapi.yaml serves openapi.yaml");
    let text = s.get("/openapi.yaml").await.text().await.unwrap();
    assert_eq!(text, std::fs::read_to_string(SPEC).unwrap(), "as it is");
    let catalog = c
        .expect("listFindings", s.get("/v1/findings").await, 200, None)
        .await;
    assert!(catalog.as_array().unwrap().len() > 50);
    let unknown = s.get("/v1/findings?x=1").await;
    c.expect("listFindings", unknown, 400, Some("invalid-request"))
        .await;
}

/// The router serves the documented methods of each documented path and
/// answers every other method 405.
async fn methods_outside_the_contract(c: &Contract, s: &Running) {
    for op in &c.operations {
        let path = op.path.replace("{domain}", "healthy.test");
        for method in METHODS {
            let documented = c
                .operations
                .iter()
                .any(|o| o.path == op.path && o.method == method.as_str());
            if documented {
                continue;
            }
            let response = s.request(method.clone(), &path).send().await.unwrap();
            c.expect(&op.id, response, 405, Some("method-not-allowed"))
                .await;
        }
    }
}

async fn spf(c: &Contract, s: &Running) {
    let id = "checkSpf";
    let ok = [
        json!({"ip": "192.0.2.25", "mail_from": "news@healthy.test", "helo": "mail.healthy.test"}),
        json!({"ip": "203.0.113.9", "mail_from": "news@healthy.test"}),
        json!({"ip": "2001:db8::25", "helo": "mail.healthy.test"}),
        json!({"ip": "192.0.2.25", "mail_from": "", "helo": "healthy.test"}),
        json!({"ip": "192.0.2.1", "mail_from": "a@syntax.spf.test"}),
        json!({"ip": "192.0.2.1", "mail_from": "a@too-many.spf.test"}),
        json!({"ip": "192.0.2.1", "mail_from": "a@loop.spf.test"}),
        json!({"ip": "192.0.2.1", "mail_from": "a@multiple.spf.test"}),
        json!({"ip": "192.0.2.1", "mail_from": "a@include-missing.spf.test"}),
        json!({"ip": "192.0.2.1", "mail_from": "a@softfail.spf.test", "helo": null}),
        json!({"ip": "192.0.2.1", "mail_from": "a@nothing-here.test"}),
        json!({"ip": "192.0.2.10", "mail_from": "bounce@msg.test"}),
    ];
    for body in &ok {
        let report = c
            .expect(id, s.post_json("/v1/spf", body).await, 200, None)
            .await;
        assert!(report["received_spf"].is_string(), "{report}");
    }
    let traced = c
        .expect(
            id,
            s.post_json("/v1/spf?trace=true", &ok[0]).await,
            200,
            None,
        )
        .await;
    assert!(!traced["dns"]["trace"].as_array().unwrap().is_empty());
    assert_eq!(traced["result"], "pass");

    let bad: [(&str, Vec<u8>, &str); 7] = [
        (
            "",
            br#"{"ip": "300.1.1.1", "helo": "a.test"}"#.to_vec(),
            "invalid-ip",
        ),
        (
            "",
            br#"{"ip": "192.0.2.1", "helo": "a\u0007.test"}"#.to_vec(),
            "invalid-domain",
        ),
        ("", br#"{"ip": "192.0.2.1"}"#.to_vec(), "missing-identity"),
        ("", br#"{"ip": "192.0.2.1", "#.to_vec(), "malformed-json"),
        (
            "",
            br#"{"ip": "192.0.2.1", "helo": "a.test", "x": 1}"#.to_vec(),
            "invalid-request",
        ),
        (
            "",
            br#"{"ip": 7, "helo": "a.test"}"#.to_vec(),
            "invalid-request",
        ),
        (
            "?trace=maybe",
            br#"{"ip": "192.0.2.1", "helo": "a.test"}"#.to_vec(),
            "invalid-request",
        ),
    ];
    for (query, body, kind) in bad {
        let response = s
            .post_raw(&format!("/v1/spf{query}"), "application/json", body)
            .await;
        c.expect(id, response, 400, Some(kind)).await;
    }
    let big = s
        .post_raw("/v1/spf", "application/json", vec![b' '; 20_000])
        .await;
    c.expect(id, big, 413, Some("body-too-large")).await;
}

async fn domain_audits(c: &Contract, s: &Running, dns: &TestDns) {
    let id = "auditDomain";
    let cases = audit_cases();
    assert!(cases.len() > 40, "the audit fixtures are found");
    for case in &cases {
        let domain = case["domain"].as_str().unwrap();
        dns.clear_faults();
        for f in case["faults"].as_array().into_iter().flatten() {
            dns.add_fault(
                f["name"].as_str().unwrap(),
                FaultTypes::All,
                FaultKind::from_case_word(f["kind"].as_str().unwrap()),
            );
        }
        let mut path = format!("/v1/domains/{domain}");
        for (i, selector) in case["selectors"]
            .as_array()
            .into_iter()
            .flatten()
            .enumerate()
        {
            path.push(if i == 0 { '?' } else { '&' });
            path.push_str(&format!("selector={}", selector.as_str().unwrap()));
        }
        if case["probe_smtp"] == true {
            path.push_str(if path.contains('?') { "&" } else { "?" });
            path.push_str("probe=smtp");
        }
        let report = c.expect(id, s.get(&path).await, 200, None).await;
        assert_eq!(report["domain"], domain);
        assert_eq!(report["transport"]["probed"], case["probe_smtp"] == true);
    }
    dns.clear_faults();
    let traced = c
        .expect(
            id,
            s.get("/v1/domains/healthy.test?trace=true&selector=s2026&selector=selector1")
                .await,
            200,
            None,
        )
        .await;
    assert!(!traced["dns"]["trace"].as_array().unwrap().is_empty());
    assert_eq!(traced["verdict"], "pass");
    let fresh = c
        .expect(
            id,
            s.get("/v1/domains/healthy.test?fresh=true").await,
            200,
            None,
        )
        .await;
    assert_eq!(fresh["verdict"], "pass");
    // A Unicode name, audited as its A-label.
    let idn = c
        .expect(id, s.get("/v1/domains/b%C3%BCcher.test").await, 200, None)
        .await;
    assert_eq!(idn["domain"], "xn--bcher-kva.test");
    assert_eq!(idn["domain_unicode"], "bücher.test");

    let many = (0..21)
        .map(|i| format!("selector=s{i}"))
        .collect::<Vec<_>>()
        .join("&");
    let bad = [
        ("/v1/domains/192.0.2.1", "invalid-domain"),
        ("/v1/domains/a..b", "invalid-domain"),
        (
            &format!("/v1/domains/{}.test", "a".repeat(260)),
            "invalid-domain",
        ),
        (
            "/v1/domains/healthy.test?selector=bad%20one",
            "invalid-request",
        ),
        ("/v1/domains/healthy.test?nope=1", "invalid-request"),
        ("/v1/domains/healthy.test?trace=yes", "invalid-request"),
        ("/v1/domains/healthy.test?fresh=maybe", "invalid-request"),
        // Asked both ways: which was meant cannot be known.
        (
            "/v1/domains/healthy.test?trace=true&trace=false",
            "invalid-request",
        ),
        // Refused by the router's path extractor: not UTF-8.
        ("/v1/domains/%FF.test", "invalid-request"),
        (
            &format!("/v1/domains/healthy.test?{many}"),
            "invalid-request",
        ),
    ];
    for (path, kind) in bad {
        c.expect(id, s.get(path).await, 400, Some(kind)).await;
    }
}

async fn batches(c: &Contract, s: &Running) {
    let id = "auditDomains";
    let reports = c
        .expect(
            id,
            s.post_json(
                "/v1/domains?trace=true",
                &json!({
                    "domains": ["healthy.test", "missing.dmarc.test", "healthy.mta-sts.test", "nowhere.test"],
                    "selectors": ["custom2026"],
                }),
            )
            .await,
            200,
            None,
        )
        .await;
    let domains: Vec<&str> = reports
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["domain"].as_str().unwrap())
        .collect();
    assert_eq!(
        domains,
        [
            "healthy.test",
            "missing.dmarc.test",
            "healthy.mta-sts.test",
            "nowhere.test"
        ]
    );
    let selectors: Vec<String> = (0..21).map(|i| format!("s{i}")).collect();
    let bad = [
        (
            json!({"domains": ["healthy.test", "192.0.2.1"]}),
            "invalid-domain",
        ),
        (json!({"domains": []}), "invalid-request"),
        (
            json!({"domains": ["healthy.test"], "extra": true}),
            "invalid-request",
        ),
        (
            json!({"domains": ["healthy.test"], "selectors": ["bad one"]}),
            "invalid-request",
        ),
        (
            json!({"domains": ["healthy.test"], "selectors": selectors}),
            "invalid-request",
        ),
        (json!({"domains": "healthy.test"}), "invalid-request"),
    ];
    for (body, kind) in bad {
        c.expect(id, s.post_json("/v1/domains", &body).await, 400, Some(kind))
            .await;
    }
    let malformed = s
        .post_raw(
            "/v1/domains",
            "application/json",
            b"{\"domains\": [".to_vec(),
        )
        .await;
    c.expect(id, malformed, 400, Some("malformed-json")).await;
    let too_many: Vec<String> = (0..51).map(|i| format!("d{i}.test")).collect();
    let response = s
        .post_json("/v1/domains", &json!({ "domains": too_many }))
        .await;
    c.expect(id, response, 413, Some("too-many-domains")).await;
    let huge = s
        .post_raw("/v1/domains", "application/json", vec![b' '; 64 * 1024])
        .await;
    c.expect(id, huge, 413, Some("body-too-large")).await;
}

async fn messages(c: &Contract, s: &Running) {
    let id = "verifyMessage";
    let mut names: Vec<String> = std::fs::read_dir("fixtures/messages")
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".eml"))
        .collect();
    names.sort();
    assert!(names.len() >= 8);
    let queries = [
        "?ip=192.0.2.10&helo=mail.msg.test&mail_from=bounce%40msg.test",
        "",
        "?ip=192.0.2.12&mail_from=&helo=mail.msg.test&bulk=true&trace=true",
        "?ip=2001:db8::1&bulk=false",
    ];
    let types = ["message/rfc822", "text/plain", "application/octet-stream"];
    for (i, name) in names.iter().enumerate() {
        let query = queries[i % queries.len()];
        let content_type = types[i % types.len()];
        let response = s
            .post_raw(&format!("/v1/messages{query}"), content_type, eml(name))
            .await;
        let report = c.expect(id, response, 200, None).await;
        assert!(report["authentication_results"].is_string(), "{name}");
    }
    // Each newsletter variant with the full envelope and the trace.
    let traced = c
        .expect(
            id,
            s.post_raw(
                "/v1/messages?ip=192.0.2.10&helo=mail.msg.test&mail_from=bounce%40msg.test&trace=1",
                "message/rfc822",
                eml("msg-test-newsletter.eml"),
            )
            .await,
            200,
            None,
        )
        .await;
    assert!(!traced["dns"]["trace"].as_array().unwrap().is_empty());
    assert_eq!(traced["spf"]["result"], "pass");
    // ARC sets and a forged signature; no content type at all.
    let arc = b"ARC-Seal: i=1; a=rsa-sha256; cv=none; d=relay.test; s=arc; b=AAAA\r\n\
ARC-Message-Signature: i=1; a=rsa-sha256; c=relaxed/relaxed; d=relay.test; s=arc; h=from:subject; bh=AAAA; b=AAAA\r\n\
ARC-Authentication-Results: i=1; relay.test; spf=pass smtp.mailfrom=msg.test\r\n\
DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed; d=msg.test; s=gone; h=from:subject; bh=AAAA; b=AAAA\r\n\
From: News <news@msg.test>\r\nTo: a@b.test\r\nSubject: hi\r\nDate: Mon, 1 Jun 2026 10:00:00 +0000\r\n\
Message-ID: <1@msg.test>\r\n\r\nHello\r\n";
    let response = s
        .request(Method::POST, "/v1/messages?ip=192.0.2.11")
        .body(arc.to_vec())
        .send()
        .await
        .unwrap();
    let report = c.expect(id, response, 200, None).await;
    assert_eq!(report["arc"]["sets"], 1);
    // Not a message at all is still a report.
    let junk = s
        .post_raw(
            "/v1/messages",
            "text/plain",
            b"\x00\xff not a message".to_vec(),
        )
        .await;
    c.expect(id, junk, 200, None).await;

    let body = eml("msg-test-newsletter.eml");
    let bad = [
        ("?ip=300.0.0.1", "message/rfc822", "invalid-ip"),
        ("?helo=a%0Ab", "message/rfc822", "invalid-domain"),
        ("?bulk=maybe", "message/rfc822", "invalid-request"),
        ("?nope=1", "message/rfc822", "invalid-request"),
    ];
    for (query, content_type, kind) in bad {
        let response = s
            .post_raw(&format!("/v1/messages{query}"), content_type, body.clone())
            .await;
        c.expect(id, response, 400, Some(kind)).await;
    }
    let empty = s
        .post_raw("/v1/messages", "message/rfc822", Vec::new())
        .await;
    c.expect(id, empty, 400, Some("invalid-request")).await;
    let json = s
        .post_raw("/v1/messages", "application/json", body.clone())
        .await;
    c.expect(id, json, 415, Some("unsupported-media-type"))
        .await;
    let big = s
        .post_raw("/v1/messages", "message/rfc822", vec![b'a'; 100 * 1024])
        .await;
    c.expect(id, big, 413, Some("body-too-large")).await;
    let raw_without_save = s
        .post_raw("/v1/messages?keep_raw=true", "message/rfc822", body.clone())
        .await;
    c.expect(id, raw_without_save, 400, Some("invalid-request"))
        .await;
    saved_reports(c, s, body).await;
}

/// The `Location` of a 201.
fn location(response: &reqwest::Response) -> String {
    response.headers()[header::LOCATION]
        .to_str()
        .unwrap()
        .to_string()
}

/// `save=true`, then the saved report read back, deleted, and gone.
async fn saved_reports(c: &Contract, s: &Running, body: Vec<u8>) {
    let query = "?ip=192.0.2.10&helo=mail.msg.test&mail_from=bounce%40msg.test";
    let response = s
        .post_raw(
            &format!("/v1/messages{query}&save=true&keep_raw=true"),
            "message/rfc822",
            body.clone(),
        )
        .await;
    let location = location(&response);
    let saved = c.expect("verifyMessage", response, 201, None).await;
    let id = saved["id"].as_str().unwrap().to_string();
    assert_eq!(location, format!("/v1/reports/{id}"));
    assert_eq!(saved["links"]["html"], format!("/reports/{id}"));
    assert_eq!(saved["links"]["json"], location);
    let unsaved = s
        .post_raw(&format!("/v1/messages{query}"), "message/rfc822", body)
        .await;
    let unsaved = c.expect("verifyMessage", unsaved, 200, None).await;
    assert!(unsaved.get("id").is_none() && unsaved.get("links").is_none());
    assert_eq!(saved["summary"], unsaved["summary"]);

    let read = c
        .expect("getSavedReport", s.get(&location).await, 200, None)
        .await;
    assert_eq!(
        read, saved,
        "the saved report reads back as it was answered"
    );
    let unknown = s.get(&format!("{location}?x=1")).await;
    c.expect("getSavedReport", unknown, 400, Some("invalid-request"))
        .await;
    let unknown = s
        .request(Method::DELETE, &format!("{location}?x=1"))
        .send()
        .await
        .unwrap();
    c.expect("deleteSavedReport", unknown, 400, Some("invalid-request"))
        .await;
    let deleted = s.request(Method::DELETE, &location).send().await.unwrap();
    c.expect("deleteSavedReport", deleted, 204, None).await;
    c.expect(
        "getSavedReport",
        s.get(&location).await,
        404,
        Some("not-found"),
    )
    .await;
    let again = s.request(Method::DELETE, &location).send().await.unwrap();
    c.expect("deleteSavedReport", again, 404, Some("not-found"))
        .await;
    let not_an_id = s.get("/v1/reports/..%2Fetc%2Fpasswd").await;
    c.expect("getSavedReport", not_an_id, 404, Some("not-found"))
        .await;
}

/// A test address made, waiting, its message delivered over SMTP by a
/// receiver on the same store, then received with its report.
async fn inboxes(c: &Contract, s: &Running, dns: &TestDns, store: mailvet::store::Store) {
    let response = s.request(Method::POST, "/v1/inboxes").send().await.unwrap();
    let location = location(&response);
    let made = c.expect("createInbox", response, 201, None).await;
    let token = made["token"].as_str().unwrap().to_string();
    assert_eq!(location, format!("/v1/inboxes/{token}"));
    assert_eq!(made["links"]["json"], location);
    assert_eq!(made["links"]["html"], format!("/inboxes/{token}"));
    assert_eq!(made["status"], "waiting");
    let waiting = c
        .expect("getInbox", s.get(&location).await, 200, None)
        .await;
    assert_eq!(waiting, made);

    let inbox =
        support::inbox::TestInbox::start(dns, store, mailvet::smtp::SmtpLimits::default()).await;
    let (mut client, _) = inbox.connect().await;
    assert_eq!(client.command("EHLO mail.msg.test").await.code, 250);
    assert_eq!(
        client.command("MAIL FROM:<bounce@msg.test>").await.code,
        250
    );
    let address = made["address"].as_str().unwrap();
    assert_eq!(
        client.command(&format!("RCPT TO:<{address}>")).await.code,
        250
    );
    let delivered = client.data(&eml("msg-test-newsletter.eml")).await;
    assert_eq!(delivered.code, 250, "{delivered:?}");
    let received = c
        .expect("getInbox", s.get(&location).await, 200, None)
        .await;
    assert_eq!(received["status"], "received");
    assert_eq!(received["report"]["smtp"]["helo"], "mail.msg.test");

    let keeping = s
        .request(Method::POST, "/v1/inboxes?keep_raw=true")
        .send()
        .await
        .unwrap();
    c.expect("createInbox", keeping, 201, None).await;
    for bad in ["?keep_raw=maybe", "?save=true"] {
        let response = s
            .request(Method::POST, &format!("/v1/inboxes{bad}"))
            .send()
            .await
            .unwrap();
        c.expect("createInbox", response, 400, Some("invalid-request"))
            .await;
    }
    let unknown = s.get(&format!("/v1/inboxes/{NO_SUCH_REPORT}")).await;
    c.expect("getInbox", unknown, 404, Some("not-found")).await;
    let parameter = s
        .get(&format!("/v1/inboxes/{NO_SUCH_REPORT}?keep_raw=1"))
        .await;
    c.expect("getInbox", parameter, 400, Some("invalid-request"))
        .await;
    let not_a_token = s.get("/v1/inboxes/..%2Fetc%2Fpasswd").await;
    c.expect("getInbox", not_a_token, 404, Some("not-found"))
        .await;
}

async fn dmarc(c: &Contract, s: &Running) {
    let id = "evaluateDmarc";
    let ok = [
        json!({"from_domain": "healthy.test", "spf": {"domain": "healthy.test", "result": "pass"},
               "dkim": [{"domain": "healthy.test", "result": "pass"}]}),
        json!({"from_domain": "healthy.test", "spf": {"domain": "bounces.esp.test", "result": "pass"},
               "dkim": [{"domain": "esp.test", "result": "pass"}, {"domain": "healthy.test", "result": "fail"}]}),
        json!({"from_domain": "news.healthy.test", "spf": {"domain": "healthy.test", "result": "softfail"}}),
        json!({"from_domain": "missing.dmarc.test"}),
        json!({"from_domain": "nowhere.test", "dkim": [{"domain": "nowhere.test", "result": "temperror"}]}),
        json!({"from_domain": "msg.test", "spf": {"domain": "msg.test", "result": "policy"}}),
    ];
    for body in &ok {
        let evaluation = c
            .expect(id, s.post_json("/v1/dmarc/evaluate", body).await, 200, None)
            .await;
        assert!(evaluation["result"].is_string());
    }
    let bad: [(Vec<u8>, &str); 6] = [
        (br#"{"from_domain": "-bad..name"}"#.to_vec(), "invalid-domain"),
        (
            br#"{"from_domain": "healthy.test", "dkim": [{"domain": "_x.test", "result": "pass"}]}"#
                .to_vec(),
            "invalid-domain",
        ),
        (
            br#"{"from_domain": "healthy.test", "spf": {"domain": "healthy.test", "result": "great"}}"#
                .to_vec(),
            "invalid-request",
        ),
        (br#"{"from_domain": "healthy.test""#.to_vec(), "malformed-json"),
        (br#"{"from_domain": "healthy.test", "x": 1}"#.to_vec(), "invalid-request"),
        (br#"{}"#.to_vec(), "invalid-request"),
    ];
    for (body, kind) in bad {
        let response = s
            .post_raw("/v1/dmarc/evaluate", "application/json", body)
            .await;
        c.expect(id, response, 400, Some(kind)).await;
    }
    let big = s
        .post_raw("/v1/dmarc/evaluate", "application/json", vec![b' '; 20_000])
        .await;
    c.expect(id, big, 413, Some("body-too-large")).await;
}

/// The upload and decompression cap of the main server: small, so a bomb
/// and an oversized upload are cheap to send.
const REPORT_LIMIT: u64 = 64 * 1024;

fn report(name: &str) -> Vec<u8> {
    std::fs::read(Path::new("fixtures/reports").join(name)).unwrap()
}

async fn store_fixture(store: &mailvet::store::Store, name: &str) {
    let file = std::fs::File::open(Path::new("fixtures/reports").join(name)).unwrap();
    mailvet::reports::ingest::prepare(file, &Limits::default(), crate::support::now())
        .unwrap()
        .store(store)
        .await
        .unwrap();
}

/// gzip of `bytes`.
fn gzip(bytes: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    encoder.write_all(bytes).unwrap();
    encoder.finish().unwrap()
}

/// Aggregate and TLS reports in, duplicates recognized, bad ones and
/// bombs refused, and the summary of what was stored.
async fn received_reports(c: &Contract, s: &Running) {
    let id = "importReport";
    // Each container; the same report a second time is a duplicate.
    for (name, status) in [
        ("aggregate/quirks.xml", 201),
        ("aggregate/quirks.xml", 200),
        ("aggregate/rfc7489-google.xml.gz", 201),
        ("aggregate/yahoo.zip", 200),
        ("mail/aggregate-report.eml", 200),
        ("aggregate/rfc9990-prefixed.xml", 201),
        ("mail/tls-report.eml", 201),
    ] {
        let response = s
            .post_raw("/v1/reports", "application/octet-stream", report(name))
            .await;
        let intake = c.expect(id, response, status, None).await;
        let word = if status == 201 {
            "imported"
        } else {
            "duplicate"
        };
        assert_eq!(intake["status"], word, "{name}: {intake}");
    }
    let mut month: Vec<PathBuf> = std::fs::read_dir("fixtures/reports/month")
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    month.sort();
    let mut messages = 0;
    for path in &month {
        let response = s
            .post_raw(
                "/v1/reports",
                "application/xml",
                std::fs::read(path).unwrap(),
            )
            .await;
        let intake = c.expect(id, response, 201, None).await;
        assert_eq!(intake["domain"], "brand.example");
        messages += intake["messages"].as_u64().unwrap();
    }
    let mut bad: Vec<PathBuf> = std::fs::read_dir("fixtures/reports/bad")
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    bad.sort();
    for path in bad {
        let response = s
            .post_raw(
                "/v1/reports",
                "application/xml",
                std::fs::read(&path).unwrap(),
            )
            .await;
        let problem = c.expect(id, response, 422, Some("invalid-report")).await;
        assert!(!problem["detail"].as_str().unwrap().is_empty(), "{path:?}");
    }
    let empty = s
        .post_raw("/v1/reports", "application/xml", Vec::new())
        .await;
    c.expect(id, empty, 400, Some("invalid-request")).await;
    let oversized = s
        .post_raw("/v1/reports", "application/xml", vec![b' '; 100 * 1024])
        .await;
    c.expect(id, oversized, 413, Some("body-too-large")).await;
    // Small on the wire, past the cap once decompressed.
    let mut xml = b"<feedback>".to_vec();
    xml.resize(1024 * 1024, b' ');
    let bomb = s
        .post_raw("/v1/reports", "application/gzip", gzip(&xml))
        .await;
    let problem = c.expect(id, bomb, 413, Some("report-too-large")).await;
    assert!(
        problem["detail"].as_str().unwrap().contains("decompress"),
        "{problem}"
    );

    let id = "importTlsReport";
    let tls = s
        .post_raw(
            "/v1/reports/tls",
            "application/tlsrpt+json",
            report("tls/rfc8460.json"),
        )
        .await;
    let intake = c.expect(id, tls, 201, None).await;
    assert_eq!(intake["kind"], "tls");
    let again = s
        .post_raw(
            "/v1/reports/tls",
            "application/tlsrpt+gzip",
            report("tls/google.json.gz"),
        )
        .await;
    c.expect(id, again, 200, None).await;
    let wrong_type = s
        .post_raw(
            "/v1/reports/tls",
            "application/json",
            report("tls/microsoft.json"),
        )
        .await;
    c.expect(id, wrong_type, 415, Some("unsupported-media-type"))
        .await;
    let aggregate = s
        .post_raw(
            "/v1/reports/tls",
            "application/tlsrpt+json",
            report("aggregate/rfc9990.xml"),
        )
        .await;
    c.expect(id, aggregate, 422, Some("invalid-report")).await;
    let bad_json = s
        .post_raw(
            "/v1/reports/tls",
            "application/tlsrpt+json",
            report("bad/truncated.json"),
        )
        .await;
    c.expect(id, bad_json, 422, Some("invalid-report")).await;
    let empty = s
        .post_raw("/v1/reports/tls", "application/tlsrpt+json", Vec::new())
        .await;
    c.expect(id, empty, 400, Some("invalid-request")).await;
    let oversized = s
        .post_raw(
            "/v1/reports/tls",
            "application/tlsrpt+json",
            vec![b' '; 100 * 1024],
        )
        .await;
    c.expect(id, oversized, 413, Some("body-too-large")).await;
    let mut json = b"{".to_vec();
    json.resize(1024 * 1024, b' ');
    let bomb = s
        .post_raw("/v1/reports/tls", "application/tlsrpt+gzip", gzip(&json))
        .await;
    c.expect(id, bomb, 413, Some("report-too-large")).await;

    tls_reporting_urls(c, s).await;

    let id = "getDmarcReportSummary";
    let summary = c
        .expect(
            id,
            s.get("/v1/reports/dmarc/brand.example").await,
            200,
            None,
        )
        .await;
    assert_eq!(summary["messages"], messages, "every report counted once");
    assert_eq!(summary["reports"], month.len());
    assert_eq!(summary["days"].as_array().unwrap().len(), 30);
    assert!(
        summary["enforcement"]["next_record"]
            .as_str()
            .unwrap()
            .starts_with("v=DMARC1")
    );
    let recent = c
        .expect(
            id,
            s.get("/v1/reports/dmarc/Brand.Example.?since=2026-11-16")
                .await,
            200,
            None,
        )
        .await;
    assert_eq!(recent["days"].as_array().unwrap().len(), 15);
    assert_eq!(recent["previous_period"], true);
    let tls = c
        .expect(id, s.get("/v1/reports/dmarc/example.com").await, 200, None)
        .await;
    assert_eq!(tls["tls"]["reports"], 2, "{}", tls["tls"]);
    for (path, kind) in [
        ("/v1/reports/dmarc/-bad..name", "invalid-domain"),
        (
            "/v1/reports/dmarc/brand.example?since=yesterday",
            "invalid-request",
        ),
        (
            "/v1/reports/dmarc/brand.example?until=2026-12-01",
            "invalid-request",
        ),
    ] {
        c.expect(id, s.get(path).await, 400, Some(kind)).await;
    }
}

/// A domain's TLS reporting URL given, and reports posted to it.
async fn tls_reporting_urls(c: &Contract, s: &Running) {
    let id = "getTlsReportEndpoint";
    let ask = |body: Value| async move { s.post_json("/v1/reports/tls/endpoints", &body).await };
    let given = c
        .expect(id, ask(json!({"domain": "tls.example"})).await, 200, None)
        .await;
    let again = c
        .expect(id, ask(json!({"domain": "TLS.Example."})).await, 200, None)
        .await;
    assert_eq!(again, given, "the same URL each time");
    let url = given["url"].as_str().unwrap();
    assert_eq!(given["record"], format!("v=TLSRPTv1; rua={url}"));
    for (body, kind) in [
        (json!({"domain": "-bad..name"}), "invalid-domain"),
        (
            json!({"domain": "tls.example", "ttl": 5}),
            "invalid-request",
        ),
        (json!({}), "invalid-request"),
    ] {
        c.expect(id, ask(body).await, 400, Some(kind)).await;
    }
    let malformed = s
        .post_raw(
            "/v1/reports/tls/endpoints",
            "application/json",
            b"{".to_vec(),
        )
        .await;
    c.expect(id, malformed, 400, Some("malformed-json")).await;
    let no_host = s
        .request(Method::POST, "/v1/reports/tls/endpoints")
        .header(header::HOST, "user@host.example")
        .body(json!({"domain": "tls.example"}).to_string())
        .send()
        .await
        .unwrap();
    c.expect(id, no_host, 400, Some("invalid-request")).await;
    let oversized = s
        .post_raw(
            "/v1/reports/tls/endpoints",
            "application/json",
            vec![b' '; 20 * 1024],
        )
        .await;
    c.expect(id, oversized, 413, Some("body-too-large")).await;

    // Its reports, without a key, at its URL.
    let path = format!("/v1/reports/tls/{}", url.rsplit('/').next().unwrap());
    let id = "importDomainTlsReport";
    let post = |media_type: &'static str, body: Vec<u8>| s.post_raw(&path, media_type, body);
    let mut own: Value = serde_json::from_slice(&report("tls/rfc8460.json")).unwrap();
    own["policies"][0]["policy"]["policy-domain"] = json!("tls.example");
    let own = own.to_string().into_bytes();
    c.expect(
        id,
        post("application/tlsrpt+json", own.clone()).await,
        201,
        None,
    )
    .await;
    c.expect(
        id,
        post("application/tlsrpt+gzip", gzip(&own)).await,
        200,
        None,
    )
    .await;
    c.expect(
        id,
        post("application/json", own).await,
        415,
        Some("unsupported-media-type"),
    )
    .await;
    for body in [
        report("aggregate/rfc9990.xml"),
        report("bad/truncated.json"),
    ] {
        c.expect(
            id,
            post("application/tlsrpt+json", body).await,
            422,
            Some("invalid-report"),
        )
        .await;
    }
    c.expect(
        id,
        post("application/tlsrpt+json", Vec::new()).await,
        400,
        Some("invalid-request"),
    )
    .await;
    c.expect(
        id,
        post("application/tlsrpt+json", vec![b' '; 100 * 1024]).await,
        413,
        Some("body-too-large"),
    )
    .await;
    // Another domain's report is not taken here.
    let problem = c
        .expect(
            id,
            post("application/tlsrpt+json", report("tls/microsoft.json")).await,
            422,
            Some("invalid-report"),
        )
        .await;
    assert!(
        problem["detail"]
            .as_str()
            .unwrap()
            .contains("`example.com`"),
        "{problem}"
    );
    let unknown = s
        .post_raw(
            &format!("/v1/reports/tls/{NO_SUCH_REPORT}"),
            "application/tlsrpt+json",
            report("tls/microsoft.json"),
        )
        .await;
    c.expect(id, unknown, 404, Some("not-found")).await;
}

/// One request of each keyed operation, to be turned away by a guard.
async fn each_v1_operation(s: &Running) -> Vec<(&'static str, reqwest::Response)> {
    let spf = json!({"ip": "192.0.2.1", "mail_from": "a@some.test"});
    let batch = json!({"domains": ["some.test"]});
    let what_if = json!({"from_domain": "some.test"});
    let message = b"From: a@some.test\r\nSubject: x\r\n\r\nbody\r\n".to_vec();
    vec![
        ("checkSpf", s.post_json("/v1/spf", &spf).await),
        ("auditDomains", s.post_json("/v1/domains", &batch).await),
        ("auditDomain", s.get("/v1/domains/some.test").await),
        (
            "verifyMessage",
            s.post_raw("/v1/messages?ip=192.0.2.1", "message/rfc822", message)
                .await,
        ),
        (
            "evaluateDmarc",
            s.post_json("/v1/dmarc/evaluate", &what_if).await,
        ),
        ("listFindings", s.get("/v1/findings").await),
        (
            "importReport",
            s.post_raw(
                "/v1/reports",
                "application/xml",
                report("aggregate/rfc9990.xml"),
            )
            .await,
        ),
        (
            "importTlsReport",
            s.post_raw(
                "/v1/reports/tls",
                "application/tlsrpt+json",
                report("tls/rfc8460.json"),
            )
            .await,
        ),
        (
            "getTlsReportEndpoint",
            s.post_json(
                "/v1/reports/tls/endpoints",
                &json!({"domain": "example.com"}),
            )
            .await,
        ),
        (
            "importDomainTlsReport",
            s.post_raw(
                &format!("/v1/reports/tls/{NO_SUCH_REPORT}"),
                "application/tlsrpt+json",
                report("tls/rfc8460.json"),
            )
            .await,
        ),
        (
            "getDmarcReportSummary",
            s.get("/v1/reports/dmarc/brand.example").await,
        ),
        (
            "getSavedReport",
            s.get(&format!("/v1/reports/{NO_SUCH_REPORT}")).await,
        ),
        (
            "deleteSavedReport",
            s.request(Method::DELETE, &format!("/v1/reports/{NO_SUCH_REPORT}"))
                .send()
                .await
                .unwrap(),
        ),
        (
            "createInbox",
            s.request(Method::POST, "/v1/inboxes").send().await.unwrap(),
        ),
        (
            "getInbox",
            s.get(&format!("/v1/inboxes/{NO_SUCH_REPORT}")).await,
        ),
    ]
}

/// A well-formed id no report has.
const NO_SUCH_REPORT: &str = "0123456789abcdef0123456789abcdef";

/// The 404 problem an operation of [`each_v1_operation`] answers once
/// past the guards, on a server without a test inbox: those that read or
/// delete a saved report or read a test address find nothing for
/// [`NO_SUCH_REPORT`], and no test address is made.
fn not_found_kind(id: &str) -> Option<&'static str> {
    match id {
        "getSavedReport" | "deleteSavedReport" | "getInbox" | "importDomainTlsReport" => {
            Some("not-found")
        }
        "createInbox" => Some("inbox-disabled"),
        _ => None,
    }
}

async fn keys(c: &Contract, dns: &TestDns) {
    let service = ServiceConfig {
        api_keys: vec![KEY.parse::<ApiKey>().unwrap()],
        rate_limit: 0,
        ..ServiceConfig::default()
    };
    let s = Running::start(AppState {
        service,
        ..AppState::new(
            layer(dns, Duration::from_millis(400)),
            crate::support::store::scratch().await,
        )
    })
    .await;
    for (id, response) in each_v1_operation(&s).await {
        if id == "importDomainTlsReport" {
            // No key needed: past the guards, the unknown token.
            c.expect(id, response, 404, Some("not-found")).await;
        } else {
            c.expect(id, response, 401, Some("unauthorized")).await;
        }
    }
    c.expect(
        "metrics",
        s.get("/metrics").await,
        401,
        Some("unauthorized"),
    )
    .await;
    let wrong = s
        .request(Method::GET, "/v1/findings")
        .header(header::AUTHORIZATION, "Bearer not-the-key-at-all-0000")
        .send()
        .await
        .unwrap();
    c.expect("listFindings", wrong, 401, Some("unauthorized"))
        .await;
    let right = s
        .request(Method::GET, "/v1/findings")
        .header(header::AUTHORIZATION, format!("Bearer {KEY}"))
        .send()
        .await
        .unwrap();
    c.expect("listFindings", right, 200, None).await;
    // The probes and the contract need no key.
    c.expect("healthz", s.get("/healthz").await, 200, None)
        .await;
    c.expect("readyz", s.get("/readyz").await, 200, None).await;
    c.expect("openapi", s.get("/openapi.yaml").await, 200, None)
        .await;
    s.stop().await;
}

/// 403 for the SMTP probe on a server started without `--allow-probe`.
async fn probe_refused(c: &Contract, dns: &TestDns) {
    let service = ServiceConfig {
        rate_limit: 0,
        ..ServiceConfig::default()
    };
    let s = serving(dns, service).await;
    let response = s.get("/v1/domains/healthy.test?probe=smtp").await;
    let problem = c
        .expect("auditDomain", response, 403, Some("probe-disabled"))
        .await;
    assert_eq!(problem["field"], "probe");
    s.stop().await;
}

/// A server over `dns` with `service` and a scratch store.
async fn serving(dns: &TestDns, service: ServiceConfig) -> Running {
    Running::start(AppState {
        service,
        ..AppState::new(
            layer(dns, Duration::from_millis(400)),
            crate::support::store::scratch().await,
        )
    })
    .await
}

async fn rate_limits(c: &Contract, dns: &TestDns) {
    let service = ServiceConfig {
        rate_limit: 1,
        ..ServiceConfig::default()
    };
    let s = serving(dns, service).await;
    c.expect("listFindings", s.get("/v1/findings").await, 200, None)
        .await;
    for (id, response) in each_v1_operation(&s).await {
        c.expect(id, response, 429, Some("rate-limited")).await;
    }
    s.stop().await;
}

/// 503 beyond the concurrency cap and 504 past the request timeout, with
/// a test DNS server that answers late.
async fn overload_and_timeouts(c: &Contract) {
    let dns = TestDns::start(&[Path::new("fixtures/zones/some.test.zone")]).await;
    dns.set_latency(Duration::from_millis(800));

    // A domain's URL the store knows: an unknown one is refused before
    // the guards it is meant to meet here.
    let store = crate::support::store::scratch().await;
    let known = known_tls_url(&store).await;
    let s = Arc::new(
        Running::start(AppState {
            service: ServiceConfig {
                max_concurrent: 1,
                api_keys: vec![KEY.parse::<ApiKey>().unwrap()],
                rate_limit: 0,
                ..ServiceConfig::default()
            },
            ..AppState::new(layer(&dns, Duration::from_secs(5)), store)
        })
        .await,
    );
    let slow = tokio::spawn({
        let s = Arc::clone(&s);
        async move {
            s.request(Method::GET, "/v1/domains/some.test")
                .header(header::AUTHORIZATION, format!("Bearer {KEY}"))
                .send()
                .await
                .unwrap()
                .status()
        }
    });
    for _ in 0..200 {
        // The metrics request itself is one.
        if s.in_flight(KEY).await >= 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(s.in_flight(KEY).await >= 2, "the slow request is in flight");
    let key = format!("Bearer {KEY}");
    let spf = json!({"ip": "192.0.2.1", "mail_from": "a@some.test"});
    let requests: Vec<(&str, reqwest::RequestBuilder)> = vec![
        (
            "checkSpf",
            s.request(Method::POST, "/v1/spf").body(spf.to_string()),
        ),
        (
            "auditDomains",
            s.request(Method::POST, "/v1/domains")
                .body(json!({"domains": ["some.test"]}).to_string()),
        ),
        (
            "auditDomain",
            s.request(Method::GET, "/v1/domains/some.test"),
        ),
        (
            "verifyMessage",
            s.request(Method::POST, "/v1/messages")
                .body("From: a@some.test\r\n\r\nx\r\n"),
        ),
        (
            "evaluateDmarc",
            s.request(Method::POST, "/v1/dmarc/evaluate")
                .body(json!({"from_domain": "some.test"}).to_string()),
        ),
        ("listFindings", s.request(Method::GET, "/v1/findings")),
        (
            "importReport",
            s.request(Method::POST, "/v1/reports")
                .body(report("aggregate/rfc9990.xml")),
        ),
        (
            "importTlsReport",
            s.request(Method::POST, "/v1/reports/tls")
                .header(header::CONTENT_TYPE, "application/tlsrpt+json")
                .body(report("tls/rfc8460.json")),
        ),
        (
            "getTlsReportEndpoint",
            s.request(Method::POST, "/v1/reports/tls/endpoints")
                .body(json!({"domain": "example.com"}).to_string()),
        ),
        (
            "importDomainTlsReport",
            s.request(Method::POST, &known)
                .header(header::CONTENT_TYPE, "application/tlsrpt+json")
                .body(report("tls/rfc8460.json")),
        ),
        (
            "getDmarcReportSummary",
            s.request(Method::GET, "/v1/reports/dmarc/brand.example"),
        ),
        (
            "getSavedReport",
            s.request(Method::GET, &format!("/v1/reports/{NO_SUCH_REPORT}")),
        ),
        (
            "deleteSavedReport",
            s.request(Method::DELETE, &format!("/v1/reports/{NO_SUCH_REPORT}")),
        ),
        ("createInbox", s.request(Method::POST, "/v1/inboxes")),
        (
            "getInbox",
            s.request(Method::GET, &format!("/v1/inboxes/{NO_SUCH_REPORT}")),
        ),
    ];
    for (id, request) in requests {
        let response = request
            .header(header::AUTHORIZATION, &key)
            .send()
            .await
            .unwrap();
        c.expect(id, response, 503, Some("overloaded")).await;
    }
    assert_eq!(slow.await.unwrap(), StatusCode::OK);
    Arc::into_inner(s).unwrap().stop().await;

    // A stored report whose sources' PTR names the slow server answers.
    let store = crate::support::store::scratch().await;
    store_fixture(
        &store,
        "month/google.com!brand.example!1793491200!1793577599.xml",
    )
    .await;
    let s = Running::start(AppState {
        service: ServiceConfig {
            request_timeout: Duration::from_millis(300),
            rate_limit: 0,
            ..ServiceConfig::default()
        },
        ..AppState::new(layer(&dns, Duration::from_secs(5)), store)
    })
    .await;
    for (id, response) in each_v1_operation(&s).await {
        if id == "listFindings" {
            c.expect(id, response, 200, None).await;
        } else if let Some(kind) = not_found_kind(id) {
            // Bound to the store, not the slow DNS: answered at once, or,
            // on a machine loaded past this server's 300 ms, the timeout
            // the contract documents for it too.
            if response.status() == StatusCode::GATEWAY_TIMEOUT {
                c.expect(id, response, 504, Some("timeout")).await;
            } else {
                c.expect(id, response, 404, Some(kind)).await;
            }
        } else if matches!(id, "importReport" | "importTlsReport") {
            // Read and stored well within the timeout.
            c.expect(id, response, 201, None).await;
        } else if id == "getTlsReportEndpoint" {
            // Bound to the store, as the 404s above.
            if response.status() == StatusCode::GATEWAY_TIMEOUT {
                c.expect(id, response, 504, Some("timeout")).await;
            } else {
                c.expect(id, response, 200, None).await;
            }
        } else if id == "auditDomains" {
            // A batch answers what it finished by its deadline: here
            // nothing, so the domain is marked timed out, not a 504.
            let body = c.expect(id, response, 200, None).await;
            assert_eq!(body[0]["timed_out"], true, "{body}");
        } else {
            c.expect(id, response, 504, Some("timeout")).await;
        }
    }
    s.stop().await;
}

/// The path of example.com's TLS reporting URL in `store`.
async fn known_tls_url(store: &mailvet::store::Store) -> String {
    let token = store.tls_report_token("example.com", false).await.unwrap();
    format!("/v1/reports/tls/{token}")
}

/// 408 for each operation that takes a body, when the body announced
/// never comes.
async fn slow_bodies(c: &Contract, dns: &TestDns) {
    let store = crate::support::store::scratch().await;
    let known = known_tls_url(&store).await;
    let s = Running::start(AppState {
        service: ServiceConfig {
            body_read_timeout: Duration::from_millis(300),
            rate_limit: 0,
            ..ServiceConfig::default()
        },
        ..AppState::new(layer(dns, Duration::from_millis(400)), store)
    })
    .await;
    for (id, path, content_type) in [
        ("checkSpf", "/v1/spf", "application/json"),
        ("auditDomains", "/v1/domains", "application/json"),
        ("verifyMessage", "/v1/messages", "message/rfc822"),
        ("evaluateDmarc", "/v1/dmarc/evaluate", "application/json"),
        ("importReport", "/v1/reports", "application/xml"),
        (
            "importTlsReport",
            "/v1/reports/tls",
            "application/tlsrpt+json",
        ),
        (
            "getTlsReportEndpoint",
            "/v1/reports/tls/endpoints",
            "application/json",
        ),
        (
            "importDomainTlsReport",
            known.as_str(),
            "application/tlsrpt+json",
        ),
    ] {
        let head = raw::head("POST", path, content_type, "Content-Length: 100\r\n");
        let answer = Sent::start(s.addr, &head, b"{").await.answer().await;
        c.expect_raw(id, path, answer, 408, Some("body-timeout"));
    }
    s.stop().await;
}

/// A server whose answers may be 64 bytes at most.
async fn capped(
    dns: &TestDns,
    store: mailvet::store::Store,
    inbox: Option<mailvet::smtp::address::InboxSettings>,
) -> Running {
    Running::start(AppState {
        service: ServiceConfig {
            max_response_size: 64,
            rate_limit: 0,
            ..ServiceConfig::default()
        },
        inbox,
        ..AppState::new(layer(dns, Duration::from_millis(400)), store)
    })
    .await
}

/// 422 for every report over the answer size cap (a few bytes here).
async fn answers_over_the_size_cap(c: &Contract, dns: &TestDns) {
    let store = crate::support::store::scratch().await;
    let saved = store
        .save_report(&json!({"summary": "a report larger than the cap"}), None)
        .await
        .unwrap();
    let s = capped(dns, store, None).await;
    for (id, response) in each_v1_operation(&s).await {
        if let Some(kind) = not_found_kind(id) {
            c.expect(id, response, 404, Some(kind)).await;
        } else {
            c.expect(id, response, 422, Some("response-too-large"))
                .await;
        }
    }
    let large = s.get(&format!("/v1/reports/{}", saved.id)).await;
    c.expect("getSavedReport", large, 422, Some("response-too-large"))
        .await;
    s.stop().await;

    let store = crate::support::store::scratch().await;
    let token = mailvet::store::InboxToken::generate().unwrap();
    store
        .create_inbox(&token, "t-x@inbox.test", Duration::from_secs(60), false)
        .await
        .unwrap();
    let s = capped(dns, store, Some(support::inbox::settings())).await;
    let made = s.request(Method::POST, "/v1/inboxes").send().await.unwrap();
    c.expect("createInbox", made, 422, Some("response-too-large"))
        .await;
    let read = s.get(&format!("/v1/inboxes/{token}")).await;
    c.expect("getInbox", read, 422, Some("response-too-large"))
        .await;
    s.stop().await;
}

async fn not_ready(c: &Contract) {
    let (_silent, dead) = support::silent_layer(0).await;
    let s = Running::start(AppState::new(dead, crate::support::store::scratch().await)).await;
    c.expect("readyz", s.get("/readyz").await, 503, Some("not-ready"))
        .await;
    s.stop().await;
}

// ---------------------------------------------------------------------------
// Routes and operations
// ---------------------------------------------------------------------------

/// The `(METHOD, path)` of every operation in the router's route table.
fn router_routes() -> BTreeSet<(String, String)> {
    mailvet::http::routes()
        .into_iter()
        .map(|route| (route.method.to_string(), route.path.to_string()))
        .collect()
}

#[test]
fn the_router_serves_exactly_the_documented_operations() {
    let doc = spec();
    let documented: BTreeSet<(String, String)> = operations(&doc)
        .into_iter()
        .map(|o| (o.method, o.path))
        .collect();
    let routed = router_routes();
    assert!(routed.len() >= 10, "routes in the route table: {routed:?}");
    assert_eq!(
        mailvet::http::routes().len(),
        routed.len(),
        "an operation is twice in the route table"
    );
    let undocumented: Vec<_> = routed.difference(&documented).collect();
    let unrouted: Vec<_> = documented.difference(&routed).collect();
    assert!(
        undocumented.is_empty() && unrouted.is_empty(),
        "routed but not in openapi.yaml: {undocumented:?}; in openapi.yaml but not routed: {unrouted:?}"
    );
    // Every operation documents the answers every operation can give.
    let mut ids = BTreeMap::new();
    for op in operations(&doc) {
        assert!(
            ids.insert(op.id.clone(), op.path.clone()).is_none(),
            "operationId {} is used twice",
            op.id
        );
        let doc_op = &doc["paths"][&op.path][op.method.to_ascii_lowercase()];
        let responses = &doc_op["responses"];
        // 204 for a delete, 201 for what only creates, 200 otherwise.
        let success = match (op.method.as_str(), op.id.as_str()) {
            ("DELETE", _) => "204",
            (_, "createInbox") => "201",
            _ => "200",
        };
        for code in [success, "405"] {
            assert!(
                responses.get(code).is_some(),
                "{} {} documents {code}",
                op.method,
                op.path
            );
        }
        // An operation that takes no key is routed so, and answers no 401.
        let keyless = doc_op["security"] == json!([]);
        let access = mailvet::http::routes()
            .into_iter()
            .find(|r| r.method.as_str() == op.method && r.path == op.path)
            .map(|r| r.access);
        assert_eq!(
            keyless,
            matches!(
                access,
                Some(mailvet::http::Access::Open | mailvet::http::Access::TlsReportToken(_))
            ),
            "{} {}: security: [] in openapi.yaml is what its route's access says",
            op.method,
            op.path
        );
        if op.path.starts_with("/v1/") {
            let guarded: &[&str] = if keyless {
                &["422", "429", "503", "504"]
            } else {
                &["401", "422", "429", "503", "504"]
            };
            for code in guarded.iter().copied() {
                assert!(
                    responses.get(code).is_some(),
                    "{} {} documents {code}",
                    op.method,
                    op.path
                );
            }
        }
    }
}
