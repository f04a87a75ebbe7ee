//! `check_host()` (RFC 7208 §4): the SPF result for a client IP, a domain
//! and a sender, evaluated through the resolver layer.
//!
//! This module decides the result and why: record lookup and selection
//! (§4.4, §4.5), mechanisms in order (§5), `redirect=` (§6.1), the
//! explanation from `exp=` on `fail` (§6.2), the limits of §4.6.4 (10
//! DNS-querying terms, 2 void lookups, 10 MX names, 10 PTR names; decided
//! in [`super::limits`], which the domain audit shares), and the
//! `p` macro's forward-confirmed PTR name (§7.3). Every query goes through
//! the request's [`Resolver`], so the trace shows each step.

use super::macros::{Letter, MacroContext, MacroString};
use super::record::{Mechanism, Qualifier, Span, SpfRecord, SyntaxError, is_spf1};
use super::{ConsultedRecord, Lookups, Problem, ProblemKind, SpfResult};
use crate::dns::{Answer, Rcode, Resolver};
use hickory_proto::rr::{Name, RecordType};
use std::future::Future;
use std::net::IpAddr;
use std::pin::Pin;

pub use super::limits::{MAX_DNS_TERMS, MAX_VOID_LOOKUPS};
use super::limits::{MAX_NAMES_PER_TERM, is_void, mx_hosts_over_limit};

/// What a `check_host()` run ended with, before the report is assembled.
pub(super) struct Evaluation {
    pub result: SpfResult,
    pub explanation: Option<String>,
    pub matched: Option<super::Matched>,
    pub problem: Option<Problem>,
    pub lookups: Lookups,
    pub records: Vec<ConsultedRecord>,
}

/// The fixed inputs of one evaluation.
pub(super) struct Inputs<'a> {
    pub ip: IpAddr,
    pub local: &'a str,
    pub sender_domain: &'a str,
    pub helo: &'a str,
    pub receiver: &'a str,
    pub timestamp: u64,
}

/// A result that ends evaluation early: temperror or permerror, with why.
struct Abort {
    result: SpfResult,
    problem: Box<Problem>,
}

/// How one `check_host()` level ended.
struct Level {
    result: SpfResult,
    explanation: Option<String>,
    matched: Option<super::Matched>,
}

type LevelResult = Result<Level, Abort>;

struct Evaluator<'a> {
    resolver: &'a Resolver,
    inputs: &'a Inputs<'a>,
    lookups: Lookups,
    records: Vec<ConsultedRecord>,
}

pub(super) async fn evaluate(resolver: &Resolver, inputs: &Inputs<'_>, domain: &str) -> Evaluation {
    let mut ev = Evaluator {
        resolver,
        inputs,
        lookups: Lookups::default(),
        records: Vec::new(),
    };
    let outcome = ev.check_host(domain.to_string()).await;
    let (result, explanation, matched, problem) = match outcome {
        Ok(level) => (level.result, level.explanation, level.matched, None),
        Err(abort) => (abort.result, None, None, Some(*abort.problem)),
    };
    Evaluation {
        result,
        explanation,
        matched,
        problem,
        lookups: ev.lookups,
        records: ev.records,
    }
}

/// A domain usable for a query: labels of 1–63 octets, at most 253 octets
/// in all (RFC 1035 §2.3.4). Anything else cannot exist in the DNS.
pub(crate) fn dns_name(domain: &str) -> Option<Name> {
    let d = domain.strip_suffix('.').unwrap_or(domain);
    if d.is_empty() || d.len() > 253 {
        return None;
    }
    let labels: Vec<&[u8]> = d.split('.').map(str::as_bytes).collect();
    if labels.iter().any(|l| l.is_empty() || l.len() > 63) {
        return None;
    }
    let mut name = Name::from_labels(labels).ok()?;
    name.set_fqdn(true);
    Some(name)
}

impl<'a> Evaluator<'a> {
    fn context<'c>(&'c self, domain: &'c str, validated: Option<&'c str>) -> MacroContext<'c> {
        MacroContext {
            local: self.inputs.local,
            sender_domain: self.inputs.sender_domain,
            domain,
            ip: self.inputs.ip,
            helo: self.inputs.helo,
            receiver: self.inputs.receiver,
            timestamp: self.inputs.timestamp,
            validated_name: validated,
        }
    }

    fn check_host(
        &mut self,
        domain: String,
    ) -> Pin<Box<dyn Future<Output = LevelResult> + Send + '_>> {
        Box::pin(async move {
            // §4.3: a malformed or single-label domain gives "none".
            let Some(name) = dns_name(&domain).filter(|n| n.num_labels() >= 2) else {
                return Ok(none());
            };
            let answer = self
                .resolver
                .lookup(&name, RecordType::TXT)
                .await
                .map_err(|e| dns_abort(&domain, None, &e))?;
            if answer.rcode == Rcode::NXDomain {
                return Ok(none());
            }
            let candidates: Vec<Vec<u8>> = answer
                .txt()
                .into_iter()
                .map(|strings| strings.concat())
                .filter(|txt| is_spf1(txt))
                .collect();
            let text = match candidates.as_slice() {
                [] => return Ok(none()),
                [one] => String::from_utf8_lossy(one).into_owned(),
                many => {
                    return Err(Abort {
                        result: SpfResult::PermError,
                        problem: Box::new(Problem {
                            kind: ProblemKind::MultipleRecords,
                            message: format!(
                                "{domain} publishes {} SPF records; exactly one is allowed \
                                 (RFC 7208 §4.5)",
                                many.len()
                            ),
                            domain: domain.clone(),
                            record: None,
                            term: None,
                            position: None,
                        }),
                    });
                }
            };
            self.records.push(ConsultedRecord {
                domain: domain.clone(),
                record: text.clone(),
            });
            let record = SpfRecord::parse_shared(candidates[0].as_slice())
                .map_err(|e| syntax_abort(&domain, &text, e))?;
            self.evaluate_record(&domain, &text, &record).await
        })
    }

    async fn evaluate_record(
        &mut self,
        domain: &str,
        text: &str,
        record: &SpfRecord,
    ) -> LevelResult {
        for directive in &record.directives {
            if directive.mechanism.queries_dns() {
                self.count_term(domain, text, &directive.span)?;
            }
            let matched = self
                .matches(domain, text, &directive.mechanism, &directive.span)
                .await?;
            if matched {
                let result = match directive.qualifier {
                    Qualifier::Pass => SpfResult::Pass,
                    Qualifier::Fail => SpfResult::Fail,
                    Qualifier::SoftFail => SpfResult::SoftFail,
                    Qualifier::Neutral => SpfResult::Neutral,
                };
                let explanation = match (&record.exp, result) {
                    (Some((exp, _)), SpfResult::Fail) => self.explanation(domain, exp).await,
                    _ => None,
                };
                return Ok(Level {
                    result,
                    explanation,
                    matched: Some(super::Matched {
                        domain: domain.to_string(),
                        term: directive.span.text.clone(),
                        record: text.to_string(),
                    }),
                });
            }
        }
        if let Some((target, span)) = &record.redirect {
            self.count_term(domain, text, span)?;
            let target = target.expand_domain(&self.context(domain, None));
            let level = self.check_host(target.clone()).await?;
            if level.result == SpfResult::None {
                return Err(Abort {
                    result: SpfResult::PermError,
                    problem: Box::new(Problem {
                        kind: ProblemKind::RedirectWithoutRecord,
                        message: format!(
                            "redirect={target} names a domain without an SPF record \
                             (RFC 7208 §6.1)"
                        ),
                        domain: domain.to_string(),
                        record: Some(text.to_string()),
                        term: Some(span.text.clone()),
                        position: Some(span.position),
                    }),
                });
            }
            return Ok(level);
        }
        Ok(Level {
            result: SpfResult::Neutral,
            explanation: None,
            matched: None,
        })
    }

    fn count_term(&mut self, domain: &str, text: &str, span: &Span) -> Result<(), Abort> {
        self.lookups.count += 1;
        if self.lookups.count > MAX_DNS_TERMS {
            return Err(limit_abort(
                ProblemKind::TooManyLookups,
                format!(
                    "more than {MAX_DNS_TERMS} DNS-querying terms (include, a, mx, ptr, exists, \
                     redirect) are needed (RFC 7208 §4.6.4)"
                ),
                domain,
                text,
                span,
            ));
        }
        Ok(())
    }

    /// The lookup a DNS-querying term makes for `target`, counted as void
    /// when it finds no such name or no data (§4.6.4). A name that cannot
    /// exist in the DNS is answered like NXDOMAIN without a query.
    async fn term_lookup(
        &mut self,
        target: &str,
        rtype: RecordType,
        domain: &str,
        text: &str,
        span: &Span,
    ) -> Result<Option<Answer>, Abort> {
        let answer = match dns_name(target) {
            Some(name) => Some(
                self.resolver
                    .lookup(&name, rtype)
                    .await
                    .map_err(|e| dns_abort(domain, Some((text, span)), &e))?,
            ),
            None => None,
        };
        let void = answer.as_ref().is_none_or(|a| is_void(a, rtype));
        if void {
            self.lookups.void += 1;
            if self.lookups.void > MAX_VOID_LOOKUPS {
                return Err(limit_abort(
                    ProblemKind::TooManyVoidLookups,
                    format!(
                        "more than {MAX_VOID_LOOKUPS} lookups found no such name or no data \
                         (RFC 7208 §4.6.4)"
                    ),
                    domain,
                    text,
                    span,
                ));
            }
        }
        Ok(answer)
    }

    async fn addresses_of(
        &self,
        name: &Name,
        domain: &str,
        span: &Span,
        text: &str,
    ) -> Result<Answer, Abort> {
        self.resolver
            .lookup(name, family_type(self.inputs.ip))
            .await
            .map_err(|e| dns_abort(domain, Some((text, span)), &e))
    }

    async fn matches(
        &mut self,
        domain: &str,
        text: &str,
        mechanism: &Mechanism,
        span: &Span,
    ) -> Result<bool, Abort> {
        let ip = self.inputs.ip;
        match mechanism {
            Mechanism::All => Ok(true),
            Mechanism::Ip4 { network, prefix } => Ok(match ip {
                IpAddr::V4(v4) => in_prefix(
                    u32::from(v4).into(),
                    u32::from(*network).into(),
                    *prefix,
                    32,
                ),
                IpAddr::V6(_) => false,
            }),
            Mechanism::Ip6 { network, prefix } => Ok(match ip {
                IpAddr::V6(v6) => in_prefix(u128::from(v6), u128::from(*network), *prefix, 128),
                IpAddr::V4(_) => false,
            }),
            Mechanism::A {
                domain: spec,
                cidr4,
                cidr6,
            } => {
                let target = self.target(spec.as_ref(), domain).await;
                let answer = self
                    .term_lookup(&target, family_type(ip), domain, text, span)
                    .await?;
                Ok(answer.is_some_and(|a| address_matches(&a, ip, *cidr4, *cidr6)))
            }
            Mechanism::Mx {
                domain: spec,
                cidr4,
                cidr6,
            } => {
                let target = self.target(spec.as_ref(), domain).await;
                let Some(answer) = self
                    .term_lookup(&target, RecordType::MX, domain, text, span)
                    .await?
                else {
                    return Ok(false);
                };
                if let Some(hosts) = mx_hosts_over_limit(&answer) {
                    return Err(limit_abort(
                        ProblemKind::TooManyMxNames,
                        format!(
                            "{target} has {hosts} MX records; an mx term may look at no more \
                             than {MAX_NAMES_PER_TERM} (RFC 7208 §4.6.4)"
                        ),
                        domain,
                        text,
                        span,
                    ));
                }
                for (_, exchange) in answer.mx() {
                    let addrs = self.addresses_of(&exchange, domain, span, text).await?;
                    if address_matches(&addrs, ip, *cidr4, *cidr6) {
                        return Ok(true);
                    }
                }
                Ok(false)
            }
            Mechanism::Ptr(spec) => {
                let target = self.target(spec.as_ref(), domain).await;
                let validated = self.validated_names().await;
                let target = target.trim_end_matches('.').to_ascii_lowercase();
                Ok(validated.iter().any(|n| is_same_or_subdomain(n, &target)))
            }
            Mechanism::Exists(spec) => {
                let target = self.expand_target(spec, domain).await;
                // §5.7: always an A query, whatever the client's family.
                let answer = self
                    .term_lookup(&target, RecordType::A, domain, text, span)
                    .await?;
                Ok(answer.is_some_and(|a| !a.is_empty_of(RecordType::A)))
            }
            Mechanism::Include(spec) => {
                let target = self.expand_target(spec, domain).await;
                let level = self.check_host(target.clone()).await?;
                match level.result {
                    SpfResult::Pass => Ok(true),
                    SpfResult::Fail | SpfResult::SoftFail | SpfResult::Neutral => Ok(false),
                    _ => Err(Abort {
                        result: SpfResult::PermError,
                        problem: Box::new(Problem {
                            kind: ProblemKind::IncludeWithoutRecord,
                            message: format!(
                                "include:{target} names a domain without an SPF record \
                                 (RFC 7208 §5.2)"
                            ),
                            domain: domain.to_string(),
                            record: Some(text.to_string()),
                            term: Some(span.text.clone()),
                            position: Some(span.position),
                        }),
                    }),
                }
            }
        }
    }

    /// The target of a/mx/ptr: the expanded domain-spec or the current domain.
    async fn target(&self, spec: Option<&MacroString>, domain: &str) -> String {
        match spec {
            Some(s) => self.expand_target(s, domain).await,
            None => domain.to_string(),
        }
    }

    async fn expand_target(&self, spec: &MacroString, domain: &str) -> String {
        let validated = if spec.uses(Letter::ValidatedName) {
            self.validated_name_for(domain).await
        } else {
            None
        };
        spec.expand_domain(&self.context(domain, validated.as_deref()))
    }

    /// §5.5 steps: the client's PTR names (at most 10) whose address
    /// records contain the client IP. DNS errors skip a name.
    async fn validated_names(&self) -> Vec<String> {
        let ip = self.inputs.ip;
        let Ok(ptr) = self.resolver.reverse(ip).await else {
            return Vec::new();
        };
        let mut validated = Vec::new();
        for name in ptr.ptr().into_iter().take(MAX_NAMES_PER_TERM) {
            if let Ok(addrs) = self.resolver.lookup(&name, family_type(ip)).await
                && address_matches(&addrs, ip, 32, 128)
            {
                validated.push(name.to_ascii().trim_end_matches('.').to_ascii_lowercase());
            }
        }
        validated
    }

    /// The `p` macro value (§7.3): a validated name equal to or under the
    /// current domain if there is one, else any validated name.
    async fn validated_name_for(&self, domain: &str) -> Option<String> {
        let names = self.validated_names().await;
        let domain = domain.trim_end_matches('.').to_ascii_lowercase();
        names
            .iter()
            .find(|n| is_same_or_subdomain(n, &domain))
            .or_else(|| names.first())
            .cloned()
    }

    /// §6.2: the explanation text, or `None` (the default explanation) when
    /// the lookup fails, returns no or several records, or does not parse.
    async fn explanation(&self, domain: &str, exp: &MacroString) -> Option<String> {
        let target = self.expand_target(exp, domain).await;
        let name = dns_name(&target)?;
        let answer = self.resolver.lookup(&name, RecordType::TXT).await.ok()?;
        let texts = answer.txt();
        let [strings] = texts.as_slice() else {
            return None;
        };
        let text = String::from_utf8(strings.concat()).ok()?;
        let parsed = MacroString::parse(&text, true).ok()?;
        let validated = if parsed.uses(Letter::ValidatedName) {
            self.validated_name_for(domain).await
        } else {
            None
        };
        Some(parsed.expand(&self.context(domain, validated.as_deref())))
    }
}

fn none() -> Level {
    Level {
        result: SpfResult::None,
        explanation: None,
        matched: None,
    }
}

fn family_type(ip: IpAddr) -> RecordType {
    match ip {
        IpAddr::V4(_) => RecordType::A,
        IpAddr::V6(_) => RecordType::AAAA,
    }
}

fn in_prefix(addr: u128, network: u128, prefix: u8, bits: u8) -> bool {
    if prefix == 0 {
        return true;
    }
    let shift = u32::from(bits - prefix.min(bits));
    (addr >> shift) == (network >> shift)
}

fn address_matches(answer: &Answer, ip: IpAddr, cidr4: u8, cidr6: u8) -> bool {
    match ip {
        IpAddr::V4(v4) => answer
            .ipv4()
            .iter()
            .any(|a| in_prefix(u32::from(v4).into(), u32::from(*a).into(), cidr4, 32)),
        IpAddr::V6(v6) => answer
            .ipv6()
            .iter()
            .any(|a| in_prefix(u128::from(v6), u128::from(*a), cidr6, 128)),
    }
}

fn is_same_or_subdomain(name: &str, domain: &str) -> bool {
    name == domain || name.ends_with(&format!(".{domain}"))
}

fn syntax_abort(domain: &str, text: &str, e: SyntaxError) -> Abort {
    Abort {
        result: SpfResult::PermError,
        problem: Box::new(Problem {
            kind: ProblemKind::Syntax,
            message: format!("the SPF record of {domain} does not parse: {}", e.message),
            domain: domain.to_string(),
            record: Some(text.to_string()),
            term: Some(e.term),
            position: Some(e.position),
        }),
    }
}

fn limit_abort(kind: ProblemKind, message: String, domain: &str, text: &str, span: &Span) -> Abort {
    Abort {
        result: SpfResult::PermError,
        problem: Box::new(Problem {
            kind,
            message,
            domain: domain.to_string(),
            record: Some(text.to_string()),
            term: Some(span.text.clone()),
            position: Some(span.position),
        }),
    }
}

fn dns_abort(domain: &str, at: Option<(&str, &Span)>, e: &crate::dns::DnsError) -> Abort {
    Abort {
        result: SpfResult::TempError,
        problem: Box::new(Problem {
            kind: ProblemKind::DnsError,
            message: format!(
                "a DNS lookup for the SPF check of {domain} failed ({e}); the result is unknown, \
                 not negative — retry later"
            ),
            domain: domain.to_string(),
            record: at.map(|(t, _)| t.to_string()),
            term: at.map(|(_, s)| s.text.clone()),
            position: at.map(|(_, s)| s.position),
        }),
    }
}
