//! The web pages: routes, handlers and the guards they meet.
//!
//! This module decides what each page accepts and answers, and how a page
//! fails. The pages are not part of the `/v1` API and are not in
//! `openapi.yaml`: they have their own table ([`pages`]), mounted beside
//! [`super::routes`]. Pages answer HTML, errors included: a bad domain or
//! an empty message shows the form again with the reason (400), a report
//! that is gone is a 404 page, and whatever a guard refuses (rate, size,
//! time, load) is turned into a page saying so, keeping the status and
//! headers ([`every_error_a_page`]).
//!
//! `GET /domains/{domain}` and `POST /messages` run the same checks as
//! the API, under the same guards (body size, concurrency, request time,
//! answer size) and the same per-client rate limit, which every page
//! shares with `/v1`. A posted message's form (`message`, `ip`, `helo`,
//! `mail_from`, URL-encoded) may be at most `--max-message-size` bytes as
//! sent; its report is saved without the raw message and answered
//! `303 See Other` to its permalink `/reports/{id}`.
//!
//! With `--inbox-domain`, `/` and `/test` offer a test address: the
//! offer's form (`POST /inboxes`, no fields) makes one as
//! `POST /v1/inboxes` does and answers `303` to its page
//! `/inboxes/{token}`, which waits for the message (`200`), sends the
//! browser to its report once it came (`303` to `/reports/{id}`), or says
//! it expired (`410`). Without it the offer is absent, and `/test` and
//! `POST /inboxes` say why (`404`).
//!
//! `GET /reports/dmarc/{domain}[?since=YYYY-MM-DD]` sums up the domain's
//! stored DMARC aggregate and TLS reports as `GET /v1/reports/dmarc/…`
//! does; `POST` to the same path is its import form (`multipart/form-data`,
//! the file in `report`, at most `--max-report-size` bytes as sent), read
//! and stored as `POST /v1/reports` does, then answered `303 See Other` to
//! the page of the domain the report is about; a refused report shows the
//! page again with the reason, under the problem's status. A body that is
//! not `multipart/form-data` is 415 (400 without a boundary), the page
//! saying in its own words how the form is sent.
//! On a server with API keys the import form needs a key even where the
//! pages are open to all (`--web-public`): it keeps the report as the
//! owner's, as `POST /v1/reports` does with the key. There a reader who
//! gave none is offered the key form instead of the import form, and a
//! post without one is answered 401 with the key form.
//! The page also offers the domain's `_smtp._tls` record naming the URL
//! its TLS reports are posted to (as `POST /v1/reports/tls/endpoints`
//! gives it), except where pages are open to all (`--web-public` with
//! keys): the URL lets reports in without a key.
//!
//! # Keys
//!
//! With API keys configured and without `--web-public`, pages need a key
//! too. A browser cannot add a bearer header to a plain link or form, so
//! a page asked for without a key answers 401 with a form that takes one
//! once (`POST /login`); the key is then kept in the cookie [`COOKIE`] —
//! `HttpOnly` (no script reads it), `SameSite=Strict` (no other site's
//! page or form sends it, which is what keeps `POST /messages` from being
//! forged across sites), `Secure` unless the server is reached on a
//! loopback name, for [`COOKIE_AGE`]. A page let in by the cookie offers
//! "Log out" (`POST /logout`), which forgets it. A client
//! that can send `Authorization: Bearer` may do so on pages as on `/v1`.
//! The stylesheet, script and icon are never guarded.

use super::auth::{ApiKeys, bearer_token};
use super::domains::{MAX_SELECTORS, audit_one, domain_name, probing, selector};
use super::extract::MediaType;
use super::limits::{Guarded, Limits};
use super::messages::{helo_param, mail_from_param};
use super::problem::{Problem, ProblemType};
use super::rate::{self, RateLimit};
use super::{AppState, BodySize, Shared};
use super::{intake, tls_rua};
use crate::message::Clock;
use crate::message::envelope::Envelope;
use crate::message::headers;
use crate::message::report::{self, MessageRequest, ReportError};
use crate::records::name::{DomainError, DomainName};
use crate::reports::dates::parse_rfc3339;
use crate::store::Stored;
use crate::store::{InboxStatus, InboxToken, ReportId};
use crate::web::dmarc::{self, ImportNotice, TlsRecord, TlsReporting};
use crate::web::index::{DomainForm, MessageForm};
use crate::web::{assets, inbox, layout, view};
use axum::body::Bytes;
use axum::extract::multipart::{MultipartError, MultipartRejection};
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, Extension, Multipart, Path, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::middleware::{Next, from_fn, from_fn_with_state};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{MethodRouter, get, post};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use std::net::IpAddr;
use std::sync::Arc;

/// The cookie that carries a browser's API key.
pub const COOKIE: &str = "mailvet_key";

/// How long a browser keeps the key: a working day and then some.
pub const COOKIE_AGE: u64 = 12 * 60 * 60;

/// The headers of every answer: only this server's own scripts, styles,
/// images and forms; no framing; no referrer sent to links followed from
/// a report; the declared content types taken as they are.
pub const SECURITY_HEADERS: [(&str, &str); 3] = [
    (
        "content-security-policy",
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; \
         connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; \
         object-src 'none'",
    ),
    ("x-content-type-options", "nosniff"),
    ("referrer-policy", "no-referrer"),
];

/// Which guards a page meets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Guard {
    /// None: the embedded stylesheet, script and icon.
    Asset,
    /// The rate limit and the `/v1` guards of a small body, no key: the
    /// key form (whose POST is read within `--body-read-timeout`).
    Login,
    /// The rate limit and the key.
    Page,
    /// The rate limit, the key and the `/v1` guards from the body on.
    Work(BodySize),
    /// The same, and what is posted is kept in the store as the owner's
    /// own: a POST needs the key even where the pages are open to all.
    Keeping(BodySize),
}

/// One page: what the router mounts.
struct Page {
    path: &'static str,
    guard: Guard,
    endpoint: MethodRouter<Shared>,
}

/// Every page.
fn pages() -> Vec<Page> {
    let page = |path, guard, endpoint| Page {
        path,
        guard,
        endpoint,
    };
    let mut all = vec![
        page("/", Guard::Page, get(index)),
        page("/domains", Guard::Page, get(domains_form)),
        page(
            "/domains/{domain}",
            Guard::Work(BodySize::None),
            get(domain_page),
        ),
        page(
            "/messages",
            Guard::Work(BodySize::MessageForm),
            // Opened as a link (a bookmark of a refused form): the form.
            get(|| async { Redirect::to("/#check-message") }).post(message_form),
        ),
        page("/reports/{id}", Guard::Page, get(report_page)),
        page("/test", Guard::Page, get(test_page)),
        page(
            inbox::CREATE_PATH,
            Guard::Page,
            post(create_inbox).layer(DefaultBodyLimit::max(super::JSON_BODY_LIMIT)),
        ),
        page("/inboxes/{token}", Guard::Page, get(inbox_page)),
        page(dmarc::CHOOSE_PATH, Guard::Page, get(dmarc_choose)),
        page(
            "/reports/dmarc/{domain}",
            Guard::Keeping(BodySize::Report),
            get(dmarc_page)
                .post(dmarc_import)
                .layer(from_fn(intake::one_summary_per_client)),
        ),
        page(
            "/reports/dmarc/{domain}/tls-url",
            Guard::Page,
            post(make_tls_url).layer(DefaultBodyLimit::max(super::JSON_BODY_LIMIT)),
        ),
        page("/findings", Guard::Page, get(findings_page)),
        page("/findings/{code}", Guard::Page, get(finding_page)),
        page("/login", Guard::Login, get(login_form).merge(post(login))),
        page("/logout", Guard::Login, post(logout)),
    ];
    for asset in assets::ALL {
        all.push(page(
            asset.path,
            Guard::Asset,
            get(move || serve_asset(asset)),
        ));
    }
    all
}

/// Who may see the pages.
#[derive(Debug)]
pub(super) struct PageAccess {
    keys: Arc<ApiKeys>,
    public: bool,
    /// A POST keeps what it carries ([`Guard::Keeping`]).
    keeps_posts: bool,
}

/// Marks a page request that carried a key the server takes (cookie or
/// bearer), where it needed none as well as where it did.
#[derive(Debug, Clone, Copy)]
struct KeyGiven;

/// The pages, each behind its guards, to merge into the router; `rate`
/// is the limit `/v1` counts against too.
pub(super) fn router(
    state: &AppState,
    limits: &Arc<Limits>,
    keys: Arc<ApiKeys>,
    rate: Arc<Option<RateLimit>>,
) -> axum::Router<Shared> {
    let access = |keeps_posts| {
        Arc::new(PageAccess {
            keys: Arc::clone(&keys),
            public: state.service.web_public,
            keeps_posts,
        })
    };
    let (reading, keeping) = (access(false), access(true));
    let mut router = axum::Router::new();
    for Page {
        path,
        guard,
        endpoint,
    } in pages()
    {
        let endpoint = match guard {
            Guard::Asset => endpoint,
            Guard::Login => endpoint
                .guarded(limits, BodySize::Json.limit(state))
                .layer(from_fn_with_state(Arc::clone(&rate), rate::rate)),
            Guard::Page | Guard::Work(_) | Guard::Keeping(_) => {
                let (endpoint, access) = match guard {
                    Guard::Work(body) => (endpoint.guarded(limits, body.limit(state)), &reading),
                    Guard::Keeping(body) => (endpoint.guarded(limits, body.limit(state)), &keeping),
                    _ => (endpoint, &reading),
                };
                endpoint
                    .layer(from_fn_with_state(Arc::clone(access), require_access))
                    .layer(from_fn_with_state(Arc::clone(&rate), rate::rate))
            }
        };
        // A method the page does not take: its own fallback, so the
        // router's problem does not replace it and the answer is a page.
        let endpoint = endpoint.fallback(method_not_allowed);
        let errors = ErrorPages {
            offered: state.inbox.is_some(),
            report_limit: state.report_limits.max_size,
        };
        router = router.route(
            path,
            endpoint.layer(from_fn_with_state(errors, every_error_a_page)),
        );
    }
    router
}

// ---------------------------------------------------------------------------
// Answers
// ---------------------------------------------------------------------------

/// An HTML answer, never cached: a report is live or private.
fn html(status: StatusCode, body: String) -> Response {
    (
        status,
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        body,
    )
        .into_response()
}

fn is_html(response: &Response) -> bool {
    response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"text/html"))
}

async fn serve_asset(asset: &'static assets::Asset) -> Response {
    (
        [
            (header::CONTENT_TYPE, asset.content_type),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        asset.body,
    )
        .into_response()
}

/// Adds [`SECURITY_HEADERS`] to every answer of the server that does not
/// set them itself.
pub(super) async fn security_headers(request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    for (name, value) in SECURITY_HEADERS {
        if !headers.contains_key(name) {
            headers.insert(name, HeaderValue::from_static(value));
        }
    }
    response
}

/// The index with the domain form refused for `problem`; `offered`: the
/// server makes test addresses.
fn domain_refused(status: StatusCode, form: DomainForm, offered: bool) -> Response {
    html(
        status,
        crate::web::index::index(&form, &MessageForm::default(), offered),
    )
}

/// The index with the domain form refused because its domain is not one:
/// the field shown again as much as an answer repeats of input.
fn not_a_domain(mut form: DomainForm, problem: Problem, offered: bool) -> Response {
    form.domain = crate::untrusted::shortened(&form.domain);
    form.problem = Some(problem.detail);
    domain_refused(StatusCode::BAD_REQUEST, form, offered)
}

/// The index with the message form refused for `problem`.
fn message_refused(status: StatusCode, form: MessageForm, offered: bool) -> Response {
    html(
        status,
        crate::web::index::index(&DomainForm::default(), &form, offered),
    )
}

/// What [`every_error_a_page`] needs to word its pages.
#[derive(Debug, Clone, Copy)]
struct ErrorPages {
    /// The server hands out test addresses (the index offers them).
    offered: bool,
    /// `--max-report-size`, the most an import form may upload.
    report_limit: u64,
}

/// A size as a person reads it: MiB from one up, else bytes.
fn mebibytes(bytes: u64) -> String {
    const MIB: u64 = 1 << 20;
    match bytes {
        b if b >= MIB && b % MIB == 0 => format!("{} MiB", b / MIB),
        b if b >= MIB => format!("{:.1} MiB", b as f64 / MIB as f64),
        b => format!("{b} bytes"),
    }
}

/// Turns every error answer that is not a page — a guard's or the
/// router's problem — into one: the form again for the two forms' routes,
/// a page leading back to the reports for an import the body guard
/// refused, else a page with the problem's title and detail. Status and
/// headers (`Retry-After`, `Connection: close`) are kept.
async fn every_error_a_page(
    State(ErrorPages {
        offered,
        report_limit,
    }): State<ErrorPages>,
    request: Request,
    next: Next,
) -> Response {
    let path = request.uri().path().to_owned();
    let posted = request.method() == Method::POST;
    let response = next.run(request).await;
    let status = response.status();
    if !(status.is_client_error() || status.is_server_error()) || is_html(&response) {
        return response;
    }
    let (parts, body) = response.into_parts();
    let problem: serde_json::Value = axum::body::to_bytes(body, 64 * 1024)
        .await
        .ok()
        .and_then(|bytes| serde_json::from_slice(&bytes).ok())
        .unwrap_or_default();
    let text = |key: &str| problem[key].as_str().map(str::to_owned);
    let title = text("title").unwrap_or_else(|| {
        status
            .canonical_reason()
            .unwrap_or("The request was refused")
            .to_owned()
    });
    let detail = text("detail").unwrap_or_else(|| title.clone());
    let mut page = if path == "/messages" {
        message_refused(
            status,
            MessageForm {
                problem: Some(detail),
                ..MessageForm::default()
            },
            offered,
        )
    } else if path == "/domains" || path.starts_with("/domains/") {
        domain_refused(
            status,
            DomainForm {
                problem: Some(detail),
                ..DomainForm::default()
            },
            offered,
        )
    } else if posted && status == StatusCode::PAYLOAD_TOO_LARGE && path.starts_with("/reports/") {
        // The import form, refused before its report was read: no summary
        // is worked out for an upload that was not taken in.
        html(
            status,
            layout::message_page_leading_to(
                "The report file is too large",
                &format!(
                    "This server takes uploads of up to {} (its --max-report-size), the \
                     report file with the form around it, and this one was larger. A report \
                     as it arrives by mail is compressed (.gz or .zip) and far smaller than \
                     its XML: import that file, or ask the server's operator to raise the \
                     limit.",
                    mebibytes(report_limit)
                ),
                (&path, "Back to the reports"),
            ),
        )
    } else {
        html(status, layout::message_page(&title, &detail))
    };
    for (name, value) in &parts.headers {
        if name != header::CONTENT_TYPE && name != header::CONTENT_LENGTH {
            page.headers_mut().insert(name, value.clone());
        }
    }
    page
}

async fn method_not_allowed() -> Response {
    html(
        StatusCode::METHOD_NOT_ALLOWED,
        layout::message_page(
            "Not a way to open this page",
            "This page does not take that kind of request; follow a link or use a form.",
        ),
    )
}

/// The page of an address with nothing at it.
fn no_such_page() -> Response {
    html(
        StatusCode::NOT_FOUND,
        layout::message_page("No such page", "There is no page at this address."),
    )
}

/// The answer to a path no route has: a page for a browser (which asks
/// for `text/html`) outside `/v1`, else the problem.
pub(super) async fn not_found(request: Request) -> Response {
    let browser = request
        .headers()
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|accept| accept.contains("text/html"));
    if browser && !request.uri().path().starts_with("/v1/") {
        return no_such_page();
    }
    super::problem::not_found().await.into_response()
}

// ---------------------------------------------------------------------------
// Keys
// ---------------------------------------------------------------------------

/// The key in the request's [`COOKIE`], decoded.
fn cookie_key(headers: &HeaderMap) -> Option<Vec<u8>> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|pair| {
            let (name, value) = pair.trim().split_once('=')?;
            (name == COOKIE).then(|| URL_SAFE_NO_PAD.decode(value).ok())?
        })
}

/// Lets a page request through when it carries a key (cookie or
/// bearer), marked [`KeyGiven`], or when the pages are open — to all
/// but a POST that keeps what it carries; else the key form, 401.
async fn require_access(
    State(access): State<Arc<PageAccess>>,
    mut request: Request,
    next: Next,
) -> Response {
    if access.keys.is_empty() {
        return next.run(request).await;
    }
    let headers = request.headers();
    let by_cookie = cookie_key(headers).is_some_and(|key| access.keys.accepts(&key));
    if by_cookie || bearer_token(headers).is_some_and(|token| access.keys.accepts(token)) {
        request.extensions_mut().insert(KeyGiven);
        return layout::SIGNED_IN.scope(by_cookie, next.run(request)).await;
    }
    let posted = request.method() == Method::POST;
    if access.public && !(access.keeps_posts && posted) {
        return next.run(request).await;
    }
    // After the key, a GET comes back where it was, and a refused import
    // to its page (to post it again); another form to the index.
    let next_page = if request.method() == Method::GET {
        request
            .uri()
            .path_and_query()
            .map_or("/", |p| p.as_str())
            .to_owned()
    } else if access.keeps_posts {
        request.uri().path().to_owned()
    } else {
        "/".to_owned()
    };
    let mut page = html(StatusCode::UNAUTHORIZED, layout::login(&next_page, None));
    page.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        HeaderValue::from_static(r#"Bearer realm="mailvet""#),
    );
    page
}

/// A path on this server to go to after the key form: anything else (an
/// absolute URL, `//host`, a backslash some browsers read as a slash,
/// anything but printable ASCII, which a path as sent always is) is the
/// index, so the form cannot send anyone elsewhere.
fn local_path(next: &str) -> &str {
    let local = next.starts_with('/')
        && !next.starts_with("//")
        && !next.contains('\\')
        && next.bytes().all(|b| b.is_ascii_graphic());
    if local { next } else { "/" }
}

/// Whether the server was reached on a loopback name, where browsers
/// accept a cookie without `Secure` over plain HTTP.
fn loopback(headers: &HeaderMap) -> bool {
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let name = match host.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or(""),
        None => host.rsplit_once(':').map_or(host, |(name, _)| name),
    };
    name.eq_ignore_ascii_case("localhost")
        || name.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

async fn login_form(uri: Uri) -> Response {
    let next = super::extract::pairs(&uri)
        .find(|(k, _)| k == "next")
        .map(|(_, v)| v.into_owned())
        .unwrap_or_else(|| "/".into());
    html(StatusCode::OK, layout::login(local_path(&next), None))
}

async fn login(
    State(state): State<Shared>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let body = body.unwrap_or_default();
    let (mut key, mut next) = (String::new(), String::from("/"));
    for (name, value) in form_urlencoded::parse(&body) {
        match name.as_ref() {
            "key" => key = value.trim().to_owned(),
            "next" => next = value.into_owned(),
            _ => {}
        }
    }
    let next = local_path(&next);
    let keys = ApiKeys::new(state.service.api_keys.clone());
    if !keys.is_empty() && !keys.accepts(key.as_bytes()) {
        return html(
            StatusCode::UNAUTHORIZED,
            layout::login(
                next,
                Some(
                    "That is not an API key this server accepts; check for a typo or a rotated key.",
                ),
            ),
        );
    }
    let secure = if loopback(&headers) { "" } else { "; Secure" };
    let cookie = format!(
        "{COOKIE}={}; Path=/; Max-Age={COOKIE_AGE}; HttpOnly; SameSite=Strict{secure}",
        URL_SAFE_NO_PAD.encode(key.as_bytes())
    );
    let mut answer = Redirect::to(next).into_response();
    if let Ok(value) = HeaderValue::from_str(&cookie) {
        answer.headers_mut().insert(header::SET_COOKIE, value);
    }
    answer
}

/// `POST /logout` (the pages' "Log out"): forgets the key cookie, then
/// the index. Only a request that carries the cookie clears it, so a form
/// on another site cannot log anyone out: the browser sends this
/// `SameSite=Strict` cookie with no request another site starts.
async fn logout(headers: HeaderMap) -> Response {
    let mut answer = Redirect::to("/").into_response();
    let forget = format!("{COOKIE}=; Path=/; Max-Age=0; HttpOnly; SameSite=Strict");
    if let (Some(_), Ok(value)) = (cookie_key(&headers), HeaderValue::from_str(&forget)) {
        answer.headers_mut().insert(header::SET_COOKIE, value);
    }
    answer
}

// ---------------------------------------------------------------------------
// The forms and the reports
// ---------------------------------------------------------------------------

async fn index(State(state): State<Shared>) -> Response {
    html(
        StatusCode::OK,
        crate::web::index::index(
            &domain_form(&state),
            &MessageForm::default(),
            state.inbox.is_some(),
        ),
    )
}

/// An empty domain form, its probe box shown if the server allows it.
fn domain_form(state: &AppState) -> DomainForm {
    DomainForm {
        probe_allowed: state.service.allow_probe,
        ..DomainForm::default()
    }
}

/// Selectors as typed in the form's one field: separated by spaces or
/// commas.
fn typed_selectors(field: &str) -> Vec<&str> {
    field
        .split(|c: char| c.is_whitespace() || c == ',')
        .filter(|s| !s.is_empty())
        .collect()
}

/// Checks the selectors given, each as typed; the reason when one is not.
fn selectors<'a>(given: impl IntoIterator<Item = &'a str>) -> Result<Vec<String>, String> {
    let checked: Vec<String> = given
        .into_iter()
        .map(|s| selector(s, "selector").map_err(|p| p.detail))
        .collect::<Result<_, _>>()?;
    if checked.len() > MAX_SELECTORS {
        return Err(format!("give at most {MAX_SELECTORS} DKIM selectors"));
    }
    Ok(checked)
}

/// `GET /domains?domain=…&selector=…&probe=smtp`: the domain form, sent
/// to the domain's permalink.
async fn domains_form(State(state): State<Shared>, uri: Uri) -> Response {
    let offered = state.inbox.is_some();
    let mut form = domain_form(&state);
    let mut typed = Vec::new();
    let pairs = match super::extract::page_pairs(&uri, &["domain", "probe"]) {
        Ok(pairs) => pairs,
        Err(problem) => {
            form.problem = Some(problem.detail);
            return domain_refused(StatusCode::BAD_REQUEST, form, offered);
        }
    };
    for (key, value) in pairs {
        match key.as_ref() {
            "domain" => form.domain = value.trim().to_owned(),
            "selector" => typed.push(value.into_owned()),
            "probe" => form.probe = value == "smtp",
            _ => {}
        }
    }
    form.selector = typed.join(" ");
    if form.domain.is_empty() {
        form.problem = Some("Type the domain to check, e.g. example.com.".into());
        return domain_refused(StatusCode::BAD_REQUEST, form, offered);
    }
    let domain = match domain_name(&form.domain, "domain".into()) {
        Ok(domain) => domain,
        Err(problem) => return not_a_domain(form, problem, offered),
    };
    let selectors = match selectors(typed.iter().flat_map(|s| typed_selectors(s))) {
        Ok(selectors) => selectors,
        Err(reason) => {
            form.problem = Some(reason);
            return domain_refused(StatusCode::BAD_REQUEST, form, offered);
        }
    };
    Redirect::to(&crate::web::domain::permalink(
        &domain.ascii,
        &selectors,
        form.probe,
    ))
    .into_response()
}

/// `GET /domains/{domain}`: the domain's report, its DNS questions
/// included, and with `probe=smtp` the SMTP probe of its MX hosts (403
/// with the form again when the server does not allow it).
async fn domain_page(
    State(state): State<Shared>,
    Path(domain): Path<String>,
    uri: Uri,
) -> Response {
    let given: Vec<String> = super::extract::pairs(&uri)
        .filter(|(k, _)| k == "selector")
        .map(|(_, v)| v.into_owned())
        .collect();
    let offered = state.inbox.is_some();
    let probe = super::extract::pairs(&uri).any(|(k, v)| k == "probe" && v == "smtp");
    let mut form = DomainForm {
        domain: domain.clone(),
        selector: given.join(" "),
        probe,
        ..domain_form(&state)
    };
    let name = match domain_name(&domain, "domain".into()) {
        Ok(name) => name,
        Err(problem) => return not_a_domain(form, problem, offered),
    };
    let selectors = match selectors(given.iter().map(String::as_str)) {
        Ok(selectors) => selectors,
        Err(reason) => {
            form.problem = Some(reason);
            return domain_refused(StatusCode::BAD_REQUEST, form, offered);
        }
    };
    let mut options = state.audit.clone();
    options.selectors = selectors.clone();
    if probe && let Err(problem) = probing(&state, &mut options) {
        form.problem = Some(problem.detail);
        return domain_refused(StatusCode::FORBIDDEN, form, offered);
    }
    let budget = state.dns.question_budget();
    let resolver = state.dns.resolver_within(&budget);
    let report = audit_one(&state, &resolver, &name, &options, true).await;
    html(
        StatusCode::OK,
        crate::web::domain::page(&report, &selectors),
    )
}

/// The message form's fields.
fn read_message_form(body: &[u8]) -> MessageForm {
    let mut form = MessageForm::default();
    for (name, value) in form_urlencoded::parse(body) {
        if name == "bulk" {
            form.bulk = value == "true";
            continue;
        }
        let field = match name.as_ref() {
            "message" => &mut form.message,
            "ip" => &mut form.ip,
            "helo" => &mut form.helo,
            "mail_from" => &mut form.mail_from,
            _ => continue,
        };
        *field = value.into_owned();
    }
    form
}

/// The envelope the form gives, or why it is not one.
fn envelope(form: &MessageForm) -> Result<Envelope, String> {
    let mut envelope = Envelope::default();
    let ip = form.ip.trim();
    if !ip.is_empty() {
        envelope.ip = Some(crate::spf::given::client_ip(ip)?);
    }
    // An empty field is one left blank, not the null sender.
    let text = |value: &str, param: fn(&str) -> Result<String, Problem>| {
        let value = value.trim();
        (!value.is_empty())
            .then(|| param(value).map_err(|p| p.detail))
            .transpose()
    };
    envelope.helo = text(&form.helo, helo_param)?;
    envelope.mail_from = text(&form.mail_from, mail_from_param)?;
    Ok(envelope)
}

/// Room in the message form's body for its envelope fields, encoded.
pub(super) const FORM_FIELDS: usize = 4096;

fn larger_than(limit: usize) -> String {
    format!("The message is larger than this server's limit of {limit} bytes.")
}

/// `POST /messages`: checks the pasted message, saves its report and
/// sends the browser to it.
async fn message_form(
    State(state): State<Shared>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let offered = state.inbox.is_some();
    let form_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_none_or(|v| v.starts_with("application/x-www-form-urlencoded"));
    let body = match body {
        Ok(body) if form_type => body,
        Ok(_) => {
            return message_refused(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                MessageForm {
                    problem: Some("Send the message with this form.".into()),
                    ..MessageForm::default()
                },
                offered,
            );
        }
        Err(rejection) => {
            let problem =
                super::extract::unread_body(rejection, || larger_than(state.message_limit));
            return message_refused(
                StatusCode::from_u16(problem.status).unwrap_or(StatusCode::BAD_REQUEST),
                MessageForm {
                    problem: Some(problem.detail),
                    ..MessageForm::default()
                },
                offered,
            );
        }
    };
    let mut form = read_message_form(&body);
    drop(body);
    if form.message.len() > state.message_limit {
        form.message = String::new();
        form.problem = Some(larger_than(state.message_limit));
        return message_refused(StatusCode::PAYLOAD_TOO_LARGE, form, offered);
    }
    if form.message.trim().is_empty() {
        form.problem = Some(
            "Paste the whole message, headers included: the headers, a blank line, the body."
                .into(),
        );
        return message_refused(StatusCode::BAD_REQUEST, form, offered);
    }
    let envelope = match envelope(&form) {
        Ok(envelope) => envelope,
        Err(reason) => {
            form.problem = Some(reason);
            return message_refused(StatusCode::BAD_REQUEST, form, offered);
        }
    };
    let request = MessageRequest {
        // A paste often starts with a blank line or spaces, which no
        // message does.
        raw: form.message.trim_start().as_bytes().to_vec(),
        envelope,
        bulk: form.bulk.then_some(true),
        authserv_id: state.authserv_id.clone(),
        clock: Clock::system(),
        limits: state.service.message_limits,
        blocklists: state.service.blocklists.clone(),
    };
    if let Some(why) = headers::not_a_message(request.message()) {
        form.problem = Some(format!(
            "This is not a whole message: {why}. A message starts with its header fields \
             (Received:, From:, …). Paste its full source as your mail program shows it: \
             Gmail's Show original, then Copy to clipboard; Outlook's View message source; \
             Apple Mail's View → Message → Raw Source; Thunderbird's View → Message Source."
        ));
        return message_refused(StatusCode::BAD_REQUEST, form, offered);
    }
    let report = match report::report_pooled(Arc::clone(&state.dns), request, true).await {
        Ok(report) => report,
        Err(ReportError::Limit(limit)) => {
            form.problem = Some(limit.to_string());
            return message_refused(StatusCode::PAYLOAD_TOO_LARGE, form, offered);
        }
        Err(other) => {
            tracing::error!(error = %other, "a posted message could not be checked");
            return html(
                StatusCode::INTERNAL_SERVER_ERROR,
                layout::message_page(
                    "The message could not be checked",
                    "The server hit a bug while checking it; please report it.",
                ),
            );
        }
    };
    state.metrics.observe_report(&report.dns, &report.findings);
    let saved = match serde_json::to_value(&report) {
        Ok(json) => state.store.save_report(&json, None).await.ok(),
        Err(_) => None,
    };
    match saved {
        Some(saved) => Redirect::to(&format!("/reports/{}", saved.id)).into_response(),
        None => html(
            StatusCode::SERVICE_UNAVAILABLE,
            layout::message_page(
                "The report could not be saved",
                "The message was checked, but the report store did not answer; try again shortly.",
            ),
        ),
    }
}

fn report_gone() -> Response {
    html(
        StatusCode::NOT_FOUND,
        layout::message_page(
            "This report is gone",
            "There is no report at this address: reports are kept for a limited time, or it \
             was deleted. Check the message again to get a new one.",
        ),
    )
}

/// `GET /reports/{id}`: a saved message report.
async fn report_page(State(state): State<Shared>, Path(id): Path<String>) -> Response {
    let Ok(id) = id.parse::<ReportId>() else {
        return report_gone();
    };
    match state.store.report(&id).await {
        Ok(Some(stored)) => {
            let view: view::Message = serde_json::from_value(stored.report).unwrap_or_default();
            html(
                StatusCode::OK,
                crate::web::message::page(&view, id.as_str(), stored.expires_at),
            )
        }
        Ok(None) => report_gone(),
        Err(error) => {
            tracing::error!(%error, "a saved report could not be read");
            html(
                StatusCode::SERVICE_UNAVAILABLE,
                layout::message_page(
                    "The report could not be read",
                    "The report store did not answer; try again shortly.",
                ),
            )
        }
    }
}

// ---------------------------------------------------------------------------
// The send-a-test pages
// ---------------------------------------------------------------------------

/// `GET /test`: the offer, or (404) why this server makes no test
/// addresses.
async fn test_page(State(state): State<Shared>) -> Response {
    let enabled = state.inbox.is_some();
    let status = if enabled {
        StatusCode::OK
    } else {
        StatusCode::NOT_FOUND
    };
    html(status, inbox::test_page(enabled))
}

fn store_silent() -> Response {
    html(
        StatusCode::SERVICE_UNAVAILABLE,
        layout::message_page(
            "The test address could not be read or made",
            "The report store did not answer; try again shortly.",
        ),
    )
}

/// `POST /inboxes`: makes a test address as `POST /v1/inboxes` does (the
/// raw message is not kept) and sends the browser to its page.
async fn create_inbox(State(state): State<Shared>) -> Response {
    let Some(settings) = &state.inbox else {
        return html(StatusCode::NOT_FOUND, inbox::test_page(false));
    };
    let Ok(token) = InboxToken::generate() else {
        return store_silent();
    };
    match state
        .store
        .create_inbox(&token, &settings.address(&token), settings.ttl, false)
        .await
    {
        Ok(made) => Redirect::to(&inbox::path(made.token.as_str())).into_response(),
        Err(error) => {
            tracing::error!(%error, "a test address could not be made");
            store_silent()
        }
    }
}

/// `GET /inboxes/{token}`: the address while it waits, its report once
/// its message came (a `303` to the report's permalink), or why there is
/// none.
async fn inbox_page(State(state): State<Shared>, Path(token): Path<String>) -> Response {
    let unknown = || {
        html(
            StatusCode::NOT_FOUND,
            layout::message_page(
                "No such test address",
                "There is no test address here: it was never made, or it expired long enough \
                 ago to be forgotten. Make a new one to send a test.",
            ),
        )
    };
    let Ok(token) = token.parse::<InboxToken>() else {
        return unknown();
    };
    let address = match state.store.inbox(&token).await {
        Ok(Some(address)) => address,
        Ok(None) => return unknown(),
        Err(error) => {
            tracing::error!(%error, "a test address could not be read");
            return store_silent();
        }
    };
    match address.status {
        InboxStatus::Waiting => html(
            StatusCode::OK,
            inbox::waiting(&address.address, address.expires_at),
        ),
        InboxStatus::Received {
            report: Some(id), ..
        } => Redirect::to(&format!("/reports/{id}")).into_response(),
        InboxStatus::Received { at, report: None } => {
            html(StatusCode::OK, inbox::report_gone(&address.address, at))
        }
        InboxStatus::Expired => html(
            StatusCode::GONE,
            inbox::expired(&address.address, address.expires_at),
        ),
    }
}

// ---------------------------------------------------------------------------
// Received DMARC aggregate and TLS reports
// ---------------------------------------------------------------------------

/// `/reports/dmarc`: the form asking whose reports to read, and with its
/// `domain` the way to that domain's page.
async fn dmarc_choose(uri: Uri) -> Response {
    let typed = match super::extract::page_pairs(&uri, &["domain"]) {
        Ok(pairs) => pairs
            .into_iter()
            .find(|(key, _)| key == "domain")
            .map(|(_, value)| value.trim().to_owned()),
        Err(problem) => return problem_page(problem),
    };
    let Some(typed) = typed else {
        return html(StatusCode::OK, dmarc::choose("", None));
    };
    if typed.is_empty() {
        let problem = "Type the domain whose reports to read, e.g. example.com.";
        return html(StatusCode::BAD_REQUEST, dmarc::choose("", Some(problem)));
    }
    match domain_name(&typed, "domain".into()) {
        Ok(domain) => {
            Redirect::to(&format!("{}/{}", dmarc::CHOOSE_PATH, domain.ascii)).into_response()
        }
        Err(problem) => html(
            StatusCode::BAD_REQUEST,
            dmarc::choose(&crate::untrusted::shortened(&typed), Some(&problem.detail)),
        ),
    }
}

/// `GET /reports/dmarc/{domain}?since=YYYY-MM-DD`: what the domain's
/// stored reports say. `import=imported|duplicate` is where the import
/// form sends the browser back to, saying what became of its report.
async fn dmarc_page(
    State(state): State<Shared>,
    Path(domain): Path<String>,
    key: Option<Extension<KeyGiven>>,
    headers: HeaderMap,
    uri: Uri,
) -> Response {
    let (mut since, mut notice) = (None, ImportNotice::default());
    // Importing needs a key wherever the server has keys.
    notice.key_needed = key.is_none() && !state.service.api_keys.is_empty();
    let pairs = match super::extract::page_pairs(&uri, &["since", "import"]) {
        Ok(pairs) => pairs,
        Err(problem) => return problem_page(problem),
    };
    for (key, value) in pairs {
        match key.as_ref() {
            "since" if !value.trim().is_empty() => since = Some(value.trim().to_owned()),
            "import" if matches!(value.as_ref(), "imported" | "duplicate") => {
                notice.outcome = value.into_owned();
            }
            _ => {}
        }
    }
    dmarc_answer(&state, &domain, &headers, since, notice, StatusCode::OK).await
}

/// The reports page of `domain`, or the page saying why not.
async fn dmarc_answer(
    state: &AppState,
    domain: &str,
    headers: &HeaderMap,
    since: Option<String>,
    notice: ImportNotice,
    status: StatusCode,
) -> Response {
    let refused = |heading: &str, detail: String| {
        html(
            StatusCode::BAD_REQUEST,
            layout::message_page(heading, &detail),
        )
    };
    let name = match DomainName::parse(domain) {
        Ok(name) => name,
        Err(e) => return not_a_domain_page(e),
    };
    let since_at = match since.as_deref().map(parse_rfc3339) {
        None => None,
        Some(Some(at)) => Some(at),
        Some(None) => {
            return refused(
                "Not a date",
                "Give the first day of the period as YYYY-MM-DD, e.g. 2026-11-01.".into(),
            );
        }
    };
    match intake::summarize(state, &name, since_at).await {
        Ok(summary) => {
            let rua = tls_reporting(state, &name, headers).await;
            let offer = match &rua {
                None => TlsReporting::Hidden,
                Some(None) => TlsReporting::NotYet,
                Some(Some(rua)) => TlsReporting::Record(TlsRecord {
                    name: &rua.name,
                    value: &rua.record,
                    unreachable_host: rua.unreachable_host(),
                    from_base_url: state.service.base_url.is_some(),
                }),
            };
            html(
                status,
                crate::web::dmarc::page(&summary, since.as_deref(), &notice, offer),
            )
        }
        Err(problem) => problem_page(problem),
    }
}

/// The page refusing a reports page's path that names no domain (400).
fn not_a_domain_page(error: DomainError) -> Response {
    html(
        StatusCode::BAD_REQUEST,
        layout::message_page("Not a domain name", &error.to_string()),
    )
}

/// The page of a problem that stopped a page's work, with its status.
fn problem_page(problem: Problem) -> Response {
    html(
        StatusCode::from_u16(problem.status).unwrap_or(StatusCode::SERVICE_UNAVAILABLE),
        layout::message_page(problem.title, &problem.detail),
    )
}

/// The URL `domain`'s TLS reports are posted to, if it has one yet
/// (viewing the page makes none), for a reader who could ask the API for
/// it: not on pages open to all (`--web-public` beside keys), where it
/// would let anyone post reports. A store that fails leaves it off the
/// page, which still shows the summary.
async fn tls_reporting(
    state: &AppState,
    domain: &DomainName,
    headers: &HeaderMap,
) -> Option<Option<crate::reports::rua::TlsReportingUrl>> {
    if !offers_tls_url(state) {
        return None;
    }
    tls_rua::known_endpoint_of(state, domain, headers)
        .await
        .inspect_err(|problem| tracing::warn!(detail = %problem.detail, "TLS reporting URL"))
        .ok()
}

/// Whether the pages may show a domain's TLS reporting URL: not when they
/// are open to readers who could not ask the API for it.
fn offers_tls_url(state: &AppState) -> bool {
    let service = &state.service;
    !service.web_public || service.api_keys.is_empty()
}

/// `POST /reports/dmarc/{domain}/tls-url`: the reports page's button that
/// makes the domain's TLS reporting URL, then shows the page with its
/// record.
async fn make_tls_url(
    State(state): State<Shared>,
    Path(domain): Path<String>,
    headers: HeaderMap,
) -> Response {
    if !offers_tls_url(&state) {
        return no_such_page();
    }
    let name = match DomainName::parse(&domain) {
        Ok(name) => name,
        Err(e) => return not_a_domain_page(e),
    };
    match tls_rua::endpoint_of(&state, &name, &headers, false).await {
        Ok(_) => Redirect::to(&format!("/reports/dmarc/{}#tls-rua", name.ascii)).into_response(),
        Err(problem) => problem_page(problem),
    }
}

/// `POST /reports/dmarc/{domain}`: the import form (`multipart/form-data`,
/// the file in `report`). A report stored, or already stored, sends the
/// browser to the page of the domain it is about, saying which; one
/// refused shows this page again with the reason.
async fn dmarc_import(
    State(state): State<Shared>,
    Path(domain): Path<String>,
    headers: HeaderMap,
    form: Result<Multipart, MultipartRejection>,
) -> Response {
    let imported = async {
        let mut form = form.map_err(|_| not_a_form(&headers))?;
        while let Some(field) = form.next_field().await.map_err(unreadable_form)? {
            if field.name() == Some("report") {
                let bytes = field.bytes().await.map_err(unreadable_form)?;
                let prepared = intake::prepare(&state, bytes).await?;
                let stored = intake::keep(&state, &prepared).await?;
                return Ok((stored, prepared.overview().domain.clone()));
            }
        }
        Err(Problem::new(
            ProblemType::InvalidRequest,
            "choose a report file to import",
        ))
    };
    match imported.await {
        Ok((stored, about)) => {
            let word = match stored {
                Stored::New => "imported",
                Stored::Duplicate => "duplicate",
            };
            // The report's own domain, as stored (checked then).
            let path: String = form_urlencoded::byte_serialize(about.as_bytes()).collect();
            Redirect::to(&format!("/reports/dmarc/{path}?import={word}#import")).into_response()
        }
        Err(problem) => {
            let status = StatusCode::from_u16(problem.status).unwrap_or(StatusCode::BAD_REQUEST);
            let notice = ImportNotice {
                problem: Some(problem.detail),
                ..ImportNotice::default()
            };
            dmarc_answer(&state, &domain, &headers, None, notice, status).await
        }
    }
}

/// Why a multipart body could not be read, in this page's words (the
/// body guard has already held it to `--max-report-size`): 400, its
/// parts are not well formed.
fn unreadable_form(_: MultipartError) -> Problem {
    Problem::new(
        ProblemType::InvalidRequest,
        "The import form's body is not well-formed multipart/form-data (a part is cut short \
         or has no headers): choose the file in this page's form and import it again.",
    )
}

/// Why the import form's body is not a form: 415 when it is sent as
/// another media type or none (a form posted URL-encoded, a script's
/// bare upload), 400 when it says `multipart/form-data` without a
/// boundary that separates its parts (RFC 7578 §4.1).
fn not_a_form(headers: &HeaderMap) -> Problem {
    let (kind, how) = if MediaType::of(headers).essence() == Some("multipart/form-data") {
        (
            ProblemType::InvalidRequest,
            "with the boundary between its parts",
        )
    } else {
        (ProblemType::UnsupportedMediaType, "as multipart/form-data")
    };
    Problem::new(
        kind,
        format!(
            "The import form must be sent {how}, the report file in its report field: \
             choose the file in this page's form and import it."
        ),
    )
}

async fn findings_page() -> Response {
    html(StatusCode::OK, crate::web::findings::catalog())
}

async fn finding_page(Path(code): Path<String>) -> Response {
    match crate::findings::catalog::lookup(&code) {
        Some(entry) => html(StatusCode::OK, crate::web::findings::entry(entry)),
        None => html(
            StatusCode::NOT_FOUND,
            layout::message_page(
                "No such finding code",
                "mailvet reports no finding with this code; the list has every one.",
            ),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_are_outside_the_api_and_its_contract() {
        let api: Vec<&str> = super::super::routes().iter().map(|r| r.path).collect();
        for page in pages() {
            assert!(!page.path.starts_with("/v1/"), "{}", page.path);
            assert!(
                !api.contains(&page.path),
                "{} is an API operation",
                page.path
            );
        }
    }

    #[test]
    fn only_local_paths_are_followed_after_the_key() {
        assert_eq!(
            local_path("/domains/a.test?selector=s1"),
            "/domains/a.test?selector=s1"
        );
        for elsewhere in [
            "https://evil.test/",
            "//evil.test/",
            "/\\evil.test",
            "evil",
            "",
            "/a b",
            "/caf\u{e9}",
        ] {
            assert_eq!(local_path(elsewhere), "/", "{elsewhere}");
        }
    }

    #[test]
    fn loopback_names_are_told_from_others() {
        let mut headers = HeaderMap::new();
        for (host, expected) in [
            ("127.0.0.1:8080", true),
            ("localhost", true),
            ("[::1]:8080", true),
            ("mailvet.example", false),
            ("mailvet.example:443", false),
            ("[2001:db8::1]:8080", false),
        ] {
            headers.insert(header::HOST, HeaderValue::from_static(host));
            assert_eq!(loopback(&headers), expected, "{host}");
        }
    }

    #[test]
    fn the_key_cookie_is_found_among_others() {
        let mut headers = HeaderMap::new();
        let value = format!("a=b; {COOKIE}={}; c=d", URL_SAFE_NO_PAD.encode("key;\"x"));
        headers.insert(header::COOKIE, HeaderValue::from_str(&value).unwrap());
        assert_eq!(cookie_key(&headers).as_deref(), Some(&b"key;\"x"[..]));
        headers.insert(header::COOKIE, HeaderValue::from_static("other=1"));
        assert_eq!(cookie_key(&headers), None);
    }
}
