//! Fetching: the TXT lookup, and the policy over HTTPS (§3.3) through the
//! audit's resolver, refusing addresses that are not public unless the
//! caller allows them, without redirects, within size and time limits.

use super::*;
use crate::dns::{DnsError, Rcode, Resolver};
use crate::domain::{AuditContext, AuditOptions};
use crate::https;
use hickory_proto::rr::{Name, RecordType};
use std::error::Error as _;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

pub(super) async fn lookup_txt(resolver: &Resolver, name: &str) -> Result<TxtAnswer, DnsError> {
    let answer = resolver.lookup_text(name, RecordType::TXT).await?;
    let texts = answer
        .txt()
        .into_iter()
        .map(|strings| String::from_utf8_lossy(&strings.concat()).into_owned())
        .collect();
    Ok(TxtAnswer {
        nxdomain: answer.rcode == Rcode::NXDomain,
        texts,
    })
}

/// The policy URL for a host; the port appears only when it is not 443.
pub fn policy_url(host: &str, port: u16) -> String {
    if port == 443 {
        format!("https://{host}{POLICY_PATH}")
    } else {
        format!("https://{host}:{port}{POLICY_PATH}")
    }
}

/// What the address guard saw, for the report.
#[derive(Debug, Default)]
pub(super) struct Resolution {
    finished: bool,
    addresses: Vec<IpAddr>,
    refused: Vec<IpAddr>,
    failure: Option<FetchError>,
}

/// reqwest's name resolution, routed through the audit's resolver and
/// refusing private addresses: the only way the fetch learns where to
/// connect, so no connection can bypass the guard.
pub(super) struct GuardedResolver {
    resolver: Resolver,
    allow_private: bool,
    seen: Arc<Mutex<Resolution>>,
}

impl reqwest::dns::Resolve for GuardedResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let resolver = self.resolver.clone();
        let allow_private = self.allow_private;
        let seen = Arc::clone(&self.seen);
        let host = name.as_str().to_string();
        Box::pin(async move {
            let outcome = resolve_host(&resolver, &host, allow_private).await;
            let mut seen = seen.lock().unwrap_or_else(|p| p.into_inner());
            seen.finished = true;
            seen.addresses = outcome.addresses;
            seen.refused = outcome.refused;
            match outcome.usable {
                Ok(usable) => {
                    // Port 0: reqwest puts in the URL's port.
                    let addrs: reqwest::dns::Addrs =
                        Box::new(usable.into_iter().map(|ip| SocketAddr::new(ip, 0)));
                    Ok(addrs)
                }
                Err(e) => {
                    seen.failure = Some(e.clone());
                    Err(Box::new(e) as Box<dyn std::error::Error + Send + Sync>)
                }
            }
        })
    }
}

pub(super) struct HostAddresses {
    addresses: Vec<IpAddr>,
    refused: Vec<IpAddr>,
    usable: Result<Vec<IpAddr>, FetchError>,
}

pub(super) async fn resolve_host(
    resolver: &Resolver,
    host: &str,
    allow_private: bool,
) -> HostAddresses {
    let fail = |e: FetchError| HostAddresses {
        addresses: Vec::new(),
        refused: Vec::new(),
        usable: Err(e),
    };
    let mut name = match Name::from_ascii(host) {
        Ok(name) => name,
        Err(e) => {
            return fail(FetchError::Dns {
                host: host.to_string(),
                error: e.to_string(),
            });
        }
    };
    name.set_fqdn(true);
    let (a, aaaa) = tokio::join!(
        resolver.lookup(&name, RecordType::A),
        resolver.lookup(&name, RecordType::AAAA)
    );
    let mut addresses: Vec<IpAddr> = Vec::new();
    let mut error = None;
    let mut nxdomain = false;
    for outcome in [&a, &aaaa] {
        match outcome {
            Ok(answer) => nxdomain |= answer.rcode == Rcode::NXDomain,
            Err(e) => error = error.or(Some(e.clone())),
        }
    }
    if let Ok(answer) = &a {
        addresses.extend(answer.ipv4().into_iter().map(IpAddr::V4));
    }
    if let Ok(answer) = &aaaa {
        addresses.extend(answer.ipv6().into_iter().map(IpAddr::V6));
    }
    if addresses.is_empty() {
        // With one family failed and the other empty, the host may still
        // have an address: that is unknown, not "no address".
        return fail(match error {
            Some(e) => FetchError::Dns {
                host: host.to_string(),
                error: e.to_string(),
            },
            None => FetchError::NoAddress {
                host: host.to_string(),
                nxdomain,
            },
        });
    }
    let (usable, refused) = screen_addresses(&addresses, allow_private);
    let usable = if usable.is_empty() {
        Err(FetchError::PrivateAddress {
            host: host.to_string(),
            addresses: refused.clone(),
        })
    } else {
        Ok(usable)
    };
    HostAddresses {
        addresses,
        refused,
        usable,
    }
}

/// One client per audit: its resolver is this audit's.
pub(super) fn build_client(
    options: &AuditOptions,
    resolver: GuardedResolver,
) -> Result<reqwest::Client, String> {
    let tls = https::tls_config(&options.extra_roots_pem).map_err(|e| e.to_string())?;
    reqwest::Client::builder()
        .tls_backend_preconfigured(tls)
        .dns_resolver(resolver)
        .redirect(reqwest::redirect::Policy::none())
        .retry(reqwest::retry::never())
        .no_proxy() // a proxy would connect where the guard cannot see
        .https_only(true)
        .referer(false)
        .timeout(options.fetch_timeout)
        .connect_timeout(options.fetch_timeout)
        .user_agent(concat!(
            "mailvet/",
            env!("CARGO_PKG_VERSION"),
            " (MTA-STS check)"
        ))
        .build()
        .map_err(|e| error_chain(&e))
}

/// The HTTP facts gathered as the response arrives.
#[derive(Debug, Default)]
pub(super) struct HttpFacts {
    status: Option<u16>,
    content_type: Option<String>,
    location: Option<String>,
}

pub(super) async fn fetch_policy(cx: &AuditContext<'_>) -> Fetched {
    let host = format!("{POLICY_HOST_LABEL}.{}", cx.domain.ascii);
    let url = policy_url(&host, cx.options.https_port);
    if cx.options.offline {
        return Fetched {
            url,
            host,
            addresses: Vec::new(),
            refused: Vec::new(),
            http_status: None,
            content_type: None,
            location: None,
            result: Err(FetchError::Offline),
        };
    }
    let seen = Arc::new(Mutex::new(Resolution::default()));
    let guard = GuardedResolver {
        resolver: cx.resolver.clone(),
        allow_private: cx.options.allow_private_fetch,
        seen: Arc::clone(&seen),
    };
    let mut facts = HttpFacts::default();
    let outcome = match build_client(cx.options, guard) {
        Err(e) => Err(FetchError::Setup(e)),
        Ok(client) => {
            let limit = cx.options.fetch_timeout;
            tokio::time::timeout(limit, get_policy(&client, &url, limit, &mut facts))
                .await
                .unwrap_or(Err(FetchError::Timeout(limit)))
        }
    };
    let seen = std::mem::take(&mut *seen.lock().unwrap_or_else(|p| p.into_inner()));
    let result = match (outcome, seen.failure) {
        (Ok(body), _) => Ok(body),
        // The guard knows exactly why no connection was made.
        (Err(_), Some(failure)) => Err(failure),
        // Out of time before the host's address was known: a DNS matter.
        (Err(FetchError::Timeout(limit)), None) if !seen.finished => Err(FetchError::Dns {
            host: host.clone(),
            error: format!(
                "no answer within the {} ms fetch timeout",
                limit.as_millis()
            ),
        }),
        (Err(e), None) => Err(e),
    };
    Fetched {
        url,
        host,
        addresses: seen.addresses,
        refused: seen.refused,
        http_status: facts.status,
        content_type: facts.content_type,
        location: facts.location,
        result,
    }
}

pub(super) async fn get_policy(
    client: &reqwest::Client,
    url: &str,
    limit: Duration,
    facts: &mut HttpFacts,
) -> Result<Vec<u8>, FetchError> {
    let mut response = client
        .get(url)
        .send()
        .await
        .map_err(|e| classify(&e, limit))?;
    let header = |name: reqwest::header::HeaderName| {
        response
            .headers()
            .get(name)
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
    };
    facts.status = Some(response.status().as_u16());
    facts.content_type = header(reqwest::header::CONTENT_TYPE);
    facts.location = header(reqwest::header::LOCATION);
    judge_response(
        response.status().as_u16(),
        facts.location.as_deref(),
        facts.content_type.as_deref(),
    )?;
    if let Some(declared) = response.content_length()
        && declared > MAX_POLICY_BYTES as u64
    {
        return Err(FetchError::TooLarge {
            declared: Some(declared),
            read: 0,
        });
    }
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(|e| classify(&e, limit))? {
        if body.len() + chunk.len() > MAX_POLICY_BYTES {
            return Err(FetchError::TooLarge {
                declared: None,
                read: body.len() + chunk.len(),
            });
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// Names the layer that failed: the guard, TLS, the connection, or HTTP.
pub(super) fn classify(error: &reqwest::Error, limit: Duration) -> FetchError {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(e) = source {
        if let Some(guard) = e.downcast_ref::<FetchError>() {
            return guard.clone();
        }
        if let Some(tls) = tls_cause(e) {
            return FetchError::Tls(tls.to_string());
        }
        source = e.source();
    }
    if error.is_timeout() {
        return FetchError::Timeout(limit);
    }
    if error.is_connect() {
        return FetchError::Connect(error_chain(error));
    }
    FetchError::Http(error_chain(error))
}

/// The rustls error behind an error, which reaches reqwest wrapped in one
/// or more `io::Error`s (whose `source` skips what they wrap).
pub(super) fn tls_cause<'a>(
    error: &'a (dyn std::error::Error + 'static),
) -> Option<&'a rustls::Error> {
    if let Some(tls) = error.downcast_ref::<rustls::Error>() {
        return Some(tls);
    }
    let inner = error.downcast_ref::<std::io::Error>()?.get_ref()?;
    tls_cause(inner)
}

/// The causes below reqwest's top-level message (which repeats the URL).
pub(super) fn error_chain(error: &reqwest::Error) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut source = error.source();
    while let Some(e) = source {
        let text = e.to_string();
        // hyper-util's "client error (Connect)" only names its error kind.
        if !text.starts_with("client error (") && !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        source = e.source();
    }
    if parts.is_empty() {
        error.to_string()
    } else {
        parts.join(": ")
    }
}
