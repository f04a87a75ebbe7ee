//! What a period of reports says, in the terms an owner acts on:
//!
//! - **per day** (the day of each report period's middle, [`Day`]):
//!   messages and the share that passed DMARC;
//! - **per sending source**: source IPs grouped by the service they belong
//!   to ([`Services`], recognized by a forward-confirmed PTR name or a DKIM
//!   or SPF domain that passed), else by the organizational domain of their
//!   forward-confirmed PTR name, else each IP alone; with its messages per
//!   [`Class`], the domains it used, and whether it looks legitimate (a
//!   known service, some mail passing DMARC, or mail authenticated as
//!   another domain) or like spoofing;
//! - **new sources**: sources seen now and not in the previous period;
//! - **DKIM selectors seen** for the domain's own organization, for the
//!   domain audit to probe instead of guessing;
//! - for TLS reports, sessions and failures per day, result type, receiving
//!   MX and policy ([`tls_summary`]).
//!
//! Counts are sums of report counts (`u64`, saturating); shares are
//! fractions from 0 to 1 rounded to four places. Lists are ordered by
//! volume, then by name, so the same reports always give the same summary,
//! and capped by [`Options`].

use super::aggregate::{AggregateReport, PolicyPublished, Record};
use super::classify::{Class, classify};
use super::dates::Day;
use super::services::{Service, Services};
use super::sources::{ReverseDns, ReverseMap, organizational_domain};
use super::tls::TlsReport;
use crate::message::dmarc::AuthResult;
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::net::IpAddr;

/// How much a summary asks and shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Options {
    /// Most source IPs whose PTR is asked (the busiest first).
    pub max_lookups: usize,
    /// PTR questions in flight at once.
    pub concurrency: usize,
    /// Most sources listed; the rest are summed in `unlisted`.
    pub max_sources: usize,
    /// Most IPs listed per source.
    pub max_ips_per_source: usize,
    /// Most entries of each domain list of a source, of selectors, and of
    /// each TLS list (result types, MX hosts, policies).
    pub max_names: usize,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            max_lookups: 1_000,
            concurrency: 16,
            max_sources: 200,
            max_ips_per_source: 10,
            max_names: 20,
        }
    }
}

/// A period of aggregate reports, summed up.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Summary {
    /// The policy domains the reports are about.
    pub domains: Vec<String>,
    /// Earliest begin and latest end of the reports (seconds).
    pub begin: Option<i64>,
    pub end: Option<i64>,
    pub reports: usize,
    pub reporters: Vec<String>,
    /// `<record>` rows.
    pub records: u64,
    pub messages: u64,
    pub dmarc_pass: u64,
    pub pass_rate: f64,
    pub days: Vec<DaySummary>,
    pub classes: Vec<ClassTotal>,
    pub sources: Vec<SourceSummary>,
    pub unlisted: Unlisted,
    /// Whether reports of the previous period were given (else no source
    /// is called new).
    pub previous_period: bool,
    /// Keys of the listed sources not seen in the previous period.
    pub new_sources: Vec<String>,
    pub selectors: Vec<SelectorSeen>,
    /// The policy the most recent report found published.
    pub published: Option<PolicyPublished>,
    /// Messages failing DMARC from legitimate-looking sources, other than
    /// forwarded: what enforcement would turn away.
    pub legitimate_failing: u64,
    /// Failing messages whose own signature broke in forwarding.
    pub forwarded_failing: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DaySummary {
    pub day: Day,
    pub messages: u64,
    pub dmarc_pass: u64,
    pub pass_rate: f64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ClassTotal {
    pub class: Class,
    pub messages: u64,
}

/// How a source was recognized.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Recognized {
    /// A known service, by its servers' forward-confirmed PTR names.
    ServicePtr,
    /// A known service, by the DKIM domain that passed for it.
    ServiceDkim,
    /// A known service, by the SPF (MAIL FROM) domain that passed for it.
    ServiceMailFrom,
    /// Not a known service: the organizational domain of its
    /// forward-confirmed PTR name.
    Organization,
    /// Nothing: one IP.
    Ip,
}

/// One sending source.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SourceSummary {
    /// `service:<name>`, `org:<domain>` or `ip:<address>`.
    pub key: String,
    pub name: String,
    pub recognized: Recognized,
    pub service: Option<String>,
    pub messages: u64,
    pub dmarc_pass: u64,
    pub pass_rate: f64,
    pub classes: Vec<ClassTotal>,
    /// The class of most of its messages.
    pub class: Class,
    pub legitimate: bool,
    /// Not seen in the previous period (`None` without one).
    pub new: Option<bool>,
    pub ip_count: usize,
    pub ips: Vec<IpSummary>,
    pub header_from: Vec<Tally>,
    /// SPF (MAIL FROM) domains and how many of their messages passed.
    pub spf_domains: Vec<Tally>,
    /// DKIM signing domains and how many of their messages passed.
    pub dkim_domains: Vec<Tally>,
}

impl SourceSummary {
    pub fn messages_in(&self, class: Class) -> u64 {
        self.classes
            .iter()
            .find(|c| c.class == class)
            .map_or(0, |c| c.messages)
    }

    /// Failing messages enforcement would turn away from this source.
    pub fn failing_not_forwarded(&self) -> u64 {
        self.messages_in(Class::Unaligned)
            .saturating_add(self.messages_in(Class::Unauthenticated))
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct IpSummary {
    pub ip: IpAddr,
    pub reverse_dns: ReverseDns,
    pub messages: u64,
    pub dmarc_pass: u64,
}

/// A name and the messages it was seen on (`passed`: of those, the ones
/// whose check passed, for authentication domains).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Tally {
    pub name: String,
    pub messages: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub passed: Option<u64>,
}

/// Sources beyond [`Options::max_sources`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Unlisted {
    pub sources: usize,
    pub messages: u64,
    pub legitimate_failing: u64,
}

/// A DKIM selector seen signing for the domain's organization.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SelectorSeen {
    pub domain: String,
    pub selector: String,
    pub messages: u64,
    /// Messages on which the signature verified.
    pub passed: u64,
}

/// The aggregate reports of a period folded record by record: all a
/// summary needs of them, so a report can be dropped once it is added and
/// the memory a summary takes grows with the sources seen, not with the
/// records stored.
#[derive(Default)]
pub struct PeriodTally {
    reports: usize,
    records: u64,
    messages: u64,
    dmarc_pass: u64,
    per_ip: HashMap<IpAddr, IpTotals>,
    days: BTreeMap<Day, (u64, u64)>,
    classes: BTreeMap<Class, u64>,
    /// (DKIM domain, selector) of the domain's own organization →
    /// (messages, passed).
    selectors: BTreeMap<(String, String), (u64, u64)>,
    domains: BTreeSet<String>,
    reporters: BTreeSet<String>,
    begin: Option<i64>,
    end: Option<i64>,
    /// The policy of the report whose period ended last, at `end` (of
    /// two, the one added later).
    published: Option<PolicyPublished>,
}

impl PeriodTally {
    /// The tally of these reports.
    pub fn of(reports: &[AggregateReport]) -> PeriodTally {
        let mut tally = PeriodTally::default();
        for report in reports {
            tally.add(report);
        }
        tally
    }

    /// Adds one report, each record classified once.
    pub fn add(&mut self, report: &AggregateReport) {
        let metadata = &report.header.metadata;
        let policy = &report.header.policy;
        self.reports += 1;
        self.domains.insert(policy.domain.clone());
        self.reporters.insert(metadata.org_name.clone());
        self.begin = Some(self.begin.map_or(metadata.begin, |b| b.min(metadata.begin)));
        if self.end.is_none_or(|end| metadata.end >= end) {
            self.end = Some(metadata.end);
            self.published = Some(policy.clone());
        }
        let day = Day::of_period(metadata.begin, metadata.end);
        let org = organizational_domain(&policy.domain);
        for record in &report.records {
            let class = classify(record);
            self.per_ip
                .entry(record.source_ip)
                .or_default()
                .add(record, class);
            let passed = if class.passes() { record.count } else { 0 };
            self.records += 1;
            add(&mut self.messages, record.count);
            add(&mut self.dmarc_pass, passed);
            if let Some(day) = day {
                let entry = self.days.entry(day).or_default();
                add(&mut entry.0, record.count);
                add(&mut entry.1, passed);
            }
            add(self.classes.entry(class).or_default(), record.count);
            for dkim in &record.dkim {
                let Some(selector) = &dkim.selector else {
                    continue;
                };
                if organizational_domain(&dkim.domain) != org {
                    continue;
                }
                let entry = self
                    .selectors
                    .entry((dkim.domain.clone(), selector.clone()))
                    .or_default();
                add(&mut entry.0, record.count);
                if dkim.result == AuthResult::Pass {
                    add(&mut entry.1, record.count);
                }
            }
        }
    }

    /// The messages each source IP sent.
    pub fn volumes(&self) -> impl Iterator<Item = (IpAddr, u64)> + '_ {
        self.per_ip
            .iter()
            .map(|(ip, totals)| (*ip, totals.messages))
    }
}

/// Sums up `current`; `previous` (of no report when there was no period
/// before) only decides which sources are new. `reverse` holds the
/// reverse DNS of their IPs.
pub fn summarize(
    current: PeriodTally,
    previous: &PeriodTally,
    reverse: &ReverseMap,
    services: &Services,
    options: &Options,
) -> Summary {
    let PeriodTally {
        reports,
        records,
        messages,
        dmarc_pass,
        per_ip,
        days,
        classes,
        selectors,
        domains,
        reporters,
        begin,
        end,
        published,
    } = current;
    let groups = group_sources(per_ip, reverse, services);
    let previous_keys: Option<BTreeSet<String>> = (previous.reports > 0).then(|| {
        previous
            .per_ip
            .iter()
            .map(|(ip, totals)| recognize(*ip, totals, reverse, services).key)
            .collect()
    });
    let legitimate_failing = groups
        .iter()
        .filter(|g| g.legitimate())
        .fold(0u64, |sum, g| {
            sum.saturating_add(g.totals.failing_not_forwarded())
        });
    let forwarded_failing = classes.get(&Class::Forwarded).copied().unwrap_or(0);
    // Only the listed sources are worth a full summary; the rest are summed.
    let mut unlisted = Unlisted::default();
    let mut sources = Vec::with_capacity(groups.len().min(options.max_sources));
    for (rank, group) in groups.into_iter().enumerate() {
        if rank < options.max_sources {
            let mut source = source_summary(group, reverse, options);
            source.new = previous_keys
                .as_ref()
                .map(|keys| !keys.contains(&source.key));
            sources.push(source);
        } else {
            unlisted.sources += 1;
            add(&mut unlisted.messages, group.totals.messages);
            if group.legitimate() {
                add(
                    &mut unlisted.legitimate_failing,
                    group.totals.failing_not_forwarded(),
                );
            }
        }
    }
    let new_sources = sources
        .iter()
        .filter(|s| s.new == Some(true))
        .map(|s| s.key.clone())
        .collect();

    let mut selectors: Vec<SelectorSeen> = selectors
        .into_iter()
        .map(|((domain, selector), (messages, passed))| SelectorSeen {
            domain,
            selector,
            messages,
            passed,
        })
        .collect();
    selectors.sort_by_key(|s| std::cmp::Reverse(s.messages));
    selectors.truncate(options.max_names);

    Summary {
        domains: domains.into_iter().collect(),
        begin,
        end,
        reports,
        reporters: reporters.into_iter().collect(),
        records,
        messages,
        dmarc_pass,
        pass_rate: ratio(dmarc_pass, messages),
        days: days
            .into_iter()
            .map(|(day, (messages, dmarc_pass))| DaySummary {
                day,
                messages,
                dmarc_pass,
                pass_rate: ratio(dmarc_pass, messages),
            })
            .collect(),
        classes: class_list(&classes),
        sources,
        unlisted,
        previous_period: previous_keys.is_some(),
        new_sources,
        selectors,
        published,
        legitimate_failing,
        forwarded_failing,
    }
}

/// `part / whole`, 0 when there is no whole, rounded to four places.
pub fn ratio(part: u64, whole: u64) -> f64 {
    if whole == 0 {
        return 0.0;
    }
    (part as f64 / whole as f64 * 10_000.0).round() / 10_000.0
}

/// `n` of a thing in words: "1 report", "2 reports", "11,886 messages"
/// (every noun counted in a report summary takes an s).
pub fn counted<N: std::fmt::Display + PartialEq + From<u8>>(n: N, noun: &str) -> String {
    let s = if n == N::from(1) { "" } else { "s" };
    format!("{} {noun}{s}", grouped(n))
}

/// A count written with its thousands set off by commas: "11,886".
pub fn grouped(n: impl std::fmt::Display) -> String {
    let digits = n.to_string();
    if !digits.bytes().all(|b| b.is_ascii_digit()) {
        return digits;
    }
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, digit) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(digit);
    }
    out
}

/// `part` of `whole` as a percentage with one decimal ("75.5 %"), worked
/// out from the counts and rounded once, half up; "0.0 %" when there is
/// no whole. A share rounded already would be rounded twice.
pub fn percent(part: u64, whole: u64) -> String {
    if whole == 0 {
        return "0.0 %".to_string();
    }
    let (part, whole) = (u128::from(part), u128::from(whole));
    let tenths = (part * 2000 + whole) / (whole * 2);
    format!("{}.{} %", tenths / 10, tenths % 10)
}

fn add(sum: &mut u64, count: u64) {
    *sum = sum.saturating_add(count);
}

fn class_list(classes: &BTreeMap<Class, u64>) -> Vec<ClassTotal> {
    classes
        .iter()
        .filter(|(_, m)| **m > 0)
        .map(|(class, messages)| ClassTotal {
            class: *class,
            messages: *messages,
        })
        .collect()
}

/// What one IP sent.
#[derive(Default)]
struct IpTotals {
    messages: u64,
    dmarc_pass: u64,
    classes: BTreeMap<Class, u64>,
    header_from: HashMap<String, u64>,
    /// Domain → (messages, passed).
    spf: HashMap<String, (u64, u64)>,
    dkim: HashMap<String, (u64, u64)>,
}

impl IpTotals {
    fn add(&mut self, record: &Record, class: Class) {
        add(&mut self.messages, record.count);
        if class.passes() {
            add(&mut self.dmarc_pass, record.count);
        }
        add(self.classes.entry(class).or_default(), record.count);
        add(
            self.header_from
                .entry(record.identifiers.header_from.clone())
                .or_default(),
            record.count,
        );
        for spf in &record.spf {
            tally_auth(&mut self.spf, &spf.domain, spf.result, record.count);
        }
        for dkim in &record.dkim {
            tally_auth(&mut self.dkim, &dkim.domain, dkim.result, record.count);
        }
    }

    fn merge(&mut self, other: IpTotals) {
        add(&mut self.messages, other.messages);
        add(&mut self.dmarc_pass, other.dmarc_pass);
        for (class, n) in other.classes {
            add(self.classes.entry(class).or_default(), n);
        }
        for (name, n) in other.header_from {
            add(self.header_from.entry(name).or_default(), n);
        }
        for (target, source) in [(&mut self.spf, other.spf), (&mut self.dkim, other.dkim)] {
            for (name, (n, passed)) in source {
                let entry = target.entry(name).or_default();
                add(&mut entry.0, n);
                add(&mut entry.1, passed);
            }
        }
    }

    fn in_class(&self, class: Class) -> u64 {
        self.classes.get(&class).copied().unwrap_or(0)
    }

    /// Failing messages enforcement would turn away.
    fn failing_not_forwarded(&self) -> u64 {
        self.in_class(Class::Unaligned)
            .saturating_add(self.in_class(Class::Unauthenticated))
    }

    /// The busiest domain that passed, of SPF or DKIM.
    fn passed_domains<'a>(
        map: &'a HashMap<String, (u64, u64)>,
    ) -> impl Iterator<Item = &'a str> + 'a {
        let mut passed: Vec<(&String, u64)> = map
            .iter()
            .filter(|(_, (_, p))| *p > 0)
            .map(|(d, (_, p))| (d, *p))
            .collect();
        passed.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
        passed.into_iter().map(|(d, _)| d.as_str())
    }
}

fn tally_auth(map: &mut HashMap<String, (u64, u64)>, domain: &str, result: AuthResult, n: u64) {
    if domain.is_empty() {
        return;
    }
    let entry = map.entry(domain.to_string()).or_default();
    add(&mut entry.0, n);
    if result == AuthResult::Pass {
        add(&mut entry.1, n);
    }
}

/// How an IP is recognized, and the source it belongs to.
struct Recognition {
    key: String,
    name: String,
    recognized: Recognized,
    service: Option<String>,
}

fn recognize(
    ip: IpAddr,
    totals: &IpTotals,
    reverse: &ReverseMap,
    services: &Services,
) -> Recognition {
    let confirmed = reverse.get(&ip).and_then(ReverseDns::confirmed);
    let service = |s: &Service, how| Recognition {
        key: format!("service:{}", s.name),
        name: s.name.clone(),
        recognized: how,
        service: Some(s.name.clone()),
    };
    if let Some(s) = confirmed.and_then(|name| services.by_ptr(name)) {
        return service(s, Recognized::ServicePtr);
    }
    if let Some(s) = IpTotals::passed_domains(&totals.dkim).find_map(|d| services.by_dkim(d)) {
        return service(s, Recognized::ServiceDkim);
    }
    if let Some(s) = IpTotals::passed_domains(&totals.spf).find_map(|d| services.by_mail_from(d)) {
        return service(s, Recognized::ServiceMailFrom);
    }
    if let Some(name) = confirmed {
        let org = organizational_domain(name);
        return Recognition {
            key: format!("org:{org}"),
            name: org,
            recognized: Recognized::Organization,
            service: None,
        };
    }
    Recognition {
        key: format!("ip:{ip}"),
        name: ip.to_string(),
        recognized: Recognized::Ip,
        service: None,
    }
}

/// A source being assembled from its IPs.
struct Group {
    recognition: Recognition,
    ips: Vec<(IpAddr, u64, u64)>,
    totals: IpTotals,
}

/// The IPs grouped into sources, busiest first (ties by key).
fn group_sources(
    per_ip: HashMap<IpAddr, IpTotals>,
    reverse: &ReverseMap,
    services: &Services,
) -> Vec<Group> {
    let mut groups: HashMap<String, Group> = HashMap::new();
    for (ip, totals) in per_ip {
        let recognition = recognize(ip, &totals, reverse, services);
        let group = groups
            .entry(recognition.key.clone())
            .or_insert_with(|| Group {
                recognition,
                ips: Vec::new(),
                totals: IpTotals::default(),
            });
        group.ips.push((ip, totals.messages, totals.dmarc_pass));
        group.totals.merge(totals);
    }
    let mut groups: Vec<Group> = groups.into_values().collect();
    groups.sort_by(|a, b| {
        b.totals
            .messages
            .cmp(&a.totals.messages)
            .then_with(|| a.recognition.key.cmp(&b.recognition.key))
    });
    groups
}

impl Group {
    /// A known service, a source some of whose mail passes DMARC, or one
    /// whose mail authenticates as another domain: not spoofing.
    fn legitimate(&self) -> bool {
        self.recognition.service.is_some()
            || self.totals.dmarc_pass > 0
            || self.totals.in_class(Class::Unaligned) > 0
    }
}

impl SourceSummary {
    /// Whether to call the source spoofing: nothing of its mail passes or
    /// authenticates, and most of it is not mail whose own signature broke
    /// in forwarding (a forwarder is not a forger, though it is not the
    /// domain's sender either).
    pub fn looks_spoofed(&self) -> bool {
        !self.legitimate && self.class != Class::Forwarded
    }
}

fn source_summary(mut group: Group, reverse: &ReverseMap, options: &Options) -> SourceSummary {
    group.ips.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    let ip_count = group.ips.len();
    let ips = group
        .ips
        .iter()
        .take(options.max_ips_per_source)
        .map(|&(ip, messages, dmarc_pass)| IpSummary {
            ip,
            reverse_dns: reverse.get(&ip).cloned().unwrap_or(ReverseDns::NotAsked),
            messages,
            dmarc_pass,
        })
        .collect();
    let classes = class_list(&group.totals.classes);
    let class = classes
        .iter()
        .max_by(|a, b| a.messages.cmp(&b.messages).then(a.class.cmp(&b.class)))
        .map_or(Class::Unauthenticated, |c| c.class);
    let legitimate = group.legitimate();
    SourceSummary {
        key: group.recognition.key,
        name: group.recognition.name,
        recognized: group.recognition.recognized,
        service: group.recognition.service,
        messages: group.totals.messages,
        dmarc_pass: group.totals.dmarc_pass,
        pass_rate: ratio(group.totals.dmarc_pass, group.totals.messages),
        classes,
        class,
        legitimate,
        new: None,
        ip_count,
        ips,
        header_from: tallies(
            group
                .totals
                .header_from
                .into_iter()
                .map(|(n, m)| (n, m, None)),
            options.max_names,
        ),
        spf_domains: tallies(
            group
                .totals
                .spf
                .into_iter()
                .map(|(n, (m, p))| (n, m, Some(p))),
            options.max_names,
        ),
        dkim_domains: tallies(
            group
                .totals
                .dkim
                .into_iter()
                .map(|(n, (m, p))| (n, m, Some(p))),
            options.max_names,
        ),
    }
}

fn tallies(entries: impl Iterator<Item = (String, u64, Option<u64>)>, max: usize) -> Vec<Tally> {
    let mut list: Vec<Tally> = entries
        .map(|(name, messages, passed)| Tally {
            name,
            messages,
            passed,
        })
        .collect();
    list.sort_by(|a, b| b.messages.cmp(&a.messages).then(a.name.cmp(&b.name)));
    list.truncate(max);
    list
}

// ---------------------------------------------------------------------------
// TLS reports
// ---------------------------------------------------------------------------

/// TLS reports of a period, summed up (RFC 8460 §4.3 result types).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TlsSummary {
    pub reports: usize,
    pub successful_sessions: u64,
    pub failed_sessions: u64,
    pub days: Vec<TlsDay>,
    /// Failed sessions per result type.
    pub result_types: Vec<TlsTally>,
    /// Failed sessions per receiving MX host (`unknown` when not given).
    pub mx_hosts: Vec<TlsTally>,
    pub policies: Vec<TlsPolicyTotal>,
    /// How many of each list were left out, the fewest failures first.
    pub unlisted: TlsUnlisted,
}

/// Entries of the TLS lists beyond [`Options::max_names`]: reports name
/// any result type and host, so a list holds the most failed only.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct TlsUnlisted {
    pub result_types: usize,
    pub mx_hosts: usize,
    pub policies: usize,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TlsDay {
    pub day: Day,
    pub successful_sessions: u64,
    pub failed_sessions: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TlsTally {
    pub name: String,
    pub failed_sessions: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TlsPolicyTotal {
    pub policy_type: String,
    pub policy_domain: String,
    pub successful_sessions: u64,
    pub failed_sessions: u64,
}

/// The TLS reports of `domain` summed up: its own policies only (a report
/// stored under it may hold another domain's), each list cut to the
/// `max` most failed.
pub fn tls_summary(reports: &[TlsReport], domain: &str, max: usize) -> TlsSummary {
    let mut days: BTreeMap<Day, (u64, u64)> = BTreeMap::new();
    let mut result_types: BTreeMap<String, u64> = BTreeMap::new();
    let mut mx_hosts: BTreeMap<String, u64> = BTreeMap::new();
    let mut policies: BTreeMap<(String, String), (u64, u64)> = BTreeMap::new();
    let (mut successful, mut failed) = (0u64, 0u64);
    for report in reports {
        let own = report
            .policies
            .iter()
            .filter(|p| p.policy_domain.eq_ignore_ascii_case(domain));
        for policy in own {
            add(&mut successful, policy.successful_sessions);
            add(&mut failed, policy.failed_sessions);
            if let Some(day) = report.day() {
                let entry = days.entry(day).or_default();
                add(&mut entry.0, policy.successful_sessions);
                add(&mut entry.1, policy.failed_sessions);
            }
            let entry = policies
                .entry((policy.policy_type.clone(), policy.policy_domain.clone()))
                .or_default();
            add(&mut entry.0, policy.successful_sessions);
            add(&mut entry.1, policy.failed_sessions);
            for failure in &policy.failures {
                add(
                    result_types.entry(failure.result_type.clone()).or_default(),
                    failure.failed_sessions,
                );
                let mx = failure
                    .receiving_mx_hostname
                    .clone()
                    .unwrap_or_else(|| "unknown".to_string());
                add(mx_hosts.entry(mx).or_default(), failure.failed_sessions);
            }
        }
    }
    let mut unlisted = TlsUnlisted::default();
    let ranked = |map: BTreeMap<String, u64>, left_out: &mut usize| {
        let mut list: Vec<TlsTally> = map
            .into_iter()
            .map(|(name, failed_sessions)| TlsTally {
                name,
                failed_sessions,
            })
            .collect();
        list.sort_by_key(|t| std::cmp::Reverse(t.failed_sessions));
        *left_out = list.len().saturating_sub(max);
        list.truncate(max);
        list
    };
    let result_types = ranked(result_types, &mut unlisted.result_types);
    let mx_hosts = ranked(mx_hosts, &mut unlisted.mx_hosts);
    let mut policies: Vec<TlsPolicyTotal> = policies
        .into_iter()
        .map(|((policy_type, policy_domain), (s, f))| TlsPolicyTotal {
            policy_type,
            policy_domain,
            successful_sessions: s,
            failed_sessions: f,
        })
        .collect();
    policies.sort_by_key(|p| std::cmp::Reverse(p.failed_sessions));
    unlisted.policies = policies.len().saturating_sub(max);
    policies.truncate(max);
    TlsSummary {
        reports: reports.len(),
        successful_sessions: successful,
        failed_sessions: failed,
        days: days
            .into_iter()
            .map(|(day, (s, f))| TlsDay {
                day,
                successful_sessions: s,
                failed_sessions: f,
            })
            .collect(),
        result_types,
        mx_hosts,
        policies,
        unlisted,
    }
}

#[cfg(test)]
mod tests {
    use super::{counted, grouped, percent};

    #[test]
    fn counts_set_off_their_thousands() {
        for (n, text) in [
            (0, "0"),
            (999, "999"),
            (1_000, "1,000"),
            (11_886, "11,886"),
            (1_234_567, "1,234,567"),
        ] {
            assert_eq!(grouped(n), text);
        }
        assert_eq!(counted(11_886_u64, "message"), "11,886 messages");
        assert_eq!(counted(1_u64, "message"), "1 message");
    }

    #[test]
    fn a_percentage_is_rounded_once_from_the_counts() {
        // 1509 of 2000 is 75.45 %: rounded from a share already rounded
        // to 0.7545 in floating point, it came out 75.4 %.
        assert_eq!(percent(1509, 2000), "75.5 %");
        assert_eq!(percent(1, 3), "33.3 %");
        assert_eq!(percent(2, 3), "66.7 %");
        assert_eq!(percent(0, 0), "0.0 %");
        assert_eq!(percent(u64::MAX, u64::MAX), "100.0 %");
    }
}
