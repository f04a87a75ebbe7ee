//! The text format: what a person reads in a terminal.
//!
//! Everything that came from outside — records, names, details, header
//! values, file names — goes through [`clean`] on its way in, so a control
//! character in a TXT record or a message can neither move the terminal's
//! cursor, set its title, nor start a line of its own (a CI runner reads
//! `::error` at the start of a line as a command).

use crate::dns::trace::DnsSummary;
use crate::domain::report;
use crate::domain::report::DomainReport;
use crate::findings::requirements::Status;
use crate::findings::undecided::Undecided;
use crate::findings::{Finding, Severity, Verdict};
use crate::message::blocklists::{BlocklistSection, Listing};
use crate::message::report::MessageReport;
use crate::spf::report::SpfReport;
use std::borrow::Cow;
use std::fmt::Write;

/// Outside text as the terminal may show it: control characters, bidi
/// controls and line separators as visible escapes
/// ([`crate::untrusted::escape_controls`]).
pub fn clean(text: &str) -> Cow<'_, str> {
    crate::untrusted::escape_controls(text)
}

/// ANSI styling, on or off.
#[derive(Debug, Clone, Copy)]
pub struct Style {
    pub color: bool,
}

impl Style {
    /// Colour when writing to a terminal and `NO_COLOR` is unset or empty.
    pub fn for_stdout() -> Style {
        use std::io::IsTerminal;
        let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
        Style {
            color: !no_color && std::io::stdout().is_terminal(),
        }
    }

    fn paint(&self, code: &str, text: &str) -> String {
        if self.color {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_string()
        }
    }

    fn bold(&self, text: &str) -> String {
        self.paint("1", text)
    }

    fn dim(&self, text: &str) -> String {
        self.paint("2", text)
    }

    fn severity(&self, s: Severity) -> String {
        match s {
            Severity::Error => self.paint("1;31", "error"),
            Severity::Warning => self.paint("1;33", "warning"),
            Severity::Info => self.paint("1;36", "info"),
        }
    }

    fn verdict(&self, v: Verdict) -> String {
        match v {
            Verdict::Pass => self.paint("1;32", "PASS"),
            Verdict::Warn => self.paint("1;33", "WARN"),
            Verdict::Fail => self.paint("1;31", "FAIL"),
            Verdict::Unknown => self.paint("1;35", "UNKNOWN"),
        }
    }
}

/// The SPF report for people.
pub fn spf(report: &SpfReport, style: Style) -> String {
    let c = &report.check;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{} SPF {} for {} from {} ({} identity)",
        style.verdict(report.verdict),
        style.bold(c.result.as_str()),
        clean(&c.sender),
        c.client_ip,
        match c.identity {
            crate::spf::Identity::Helo => "HELO",
            crate::spf::Identity::MailFrom => "MAIL FROM",
        }
    );
    let _ = writeln!(
        out,
        "  domain {} · {} of {} DNS lookups · {} of {} void lookups",
        clean(&c.domain),
        c.lookups.count,
        crate::spf::eval::MAX_DNS_TERMS,
        c.lookups.void,
        crate::spf::eval::MAX_VOID_LOOKUPS
    );
    for r in &c.records {
        let _ = writeln!(
            out,
            "  {} {}",
            style.dim(&format!("{}:", clean(&r.domain))),
            clean(&r.record)
        );
    }
    if let Some(m) = &c.matched {
        let _ = writeln!(
            out,
            "  matched `{}` in the record of {}",
            clean(&m.term),
            clean(&m.domain)
        );
    }
    if let Some(e) = &c.explanation {
        let _ = writeln!(out, "  explanation: {}", clean(e));
    }
    if let Some(p) = &c.reason {
        let _ = writeln!(out, "  reason: {}", clean(&p.message));
        if let (Some(record), Some(pos)) = (&p.record, p.position) {
            // The caret points into the record as shown, escapes included.
            let shown = record.get(..pos).map_or(pos, |s| clean(s).chars().count());
            let _ = writeln!(out, "    {}", clean(record));
            let _ = writeln!(out, "    {}^", " ".repeat(shown));
        }
    }
    findings(&mut out, &report.findings, style);
    let _ = writeln!(out, "  {}", clean(&c.received_spf));
    dns(&mut out, &report.dns);
    out
}

/// Findings worst first, each with detail, why and fix.
fn findings(out: &mut String, findings: &[Finding], style: Style) {
    let mut sorted: Vec<&Finding> = findings.iter().collect();
    sorted.sort_by_key(|f| std::cmp::Reverse(f.severity));
    for f in sorted {
        let _ = writeln!(out);
        let _ = writeln!(
            out,
            "  {} {} — {}",
            style.severity(f.severity),
            style.bold(f.code),
            f.title
        );
        let _ = writeln!(out, "    {}", clean(&f.detail));
        if !f.why.is_empty() {
            let _ = writeln!(out, "    {} {}", style.dim("why:"), f.why);
        }
        if !f.fix.is_empty() {
            let _ = writeln!(out, "    {} {}", style.dim("fix:"), clean(&f.fix));
        }
    }
    let _ = writeln!(out);
}

fn dns(out: &mut String, dns: &DnsSummary) {
    let plural = if dns.queries == 1 { "" } else { "s" };
    let _ = writeln!(
        out,
        "  {} DNS question{plural} ({} sent upstream)",
        dns.queries, dns.upstream_queries
    );
    for t in dns.trace.iter().flatten() {
        let answers = if t.answers.is_empty() {
            String::new()
        } else {
            format!(" → {}", t.answers.join(" | "))
        };
        let _ = writeln!(
            out,
            "    {} {} {} {:.1} ms [{}]{}",
            t.rtype,
            clean(&t.name),
            t.rcode,
            t.ms,
            t.source.as_str(),
            clean(&answers)
        );
    }
}

/// The domain audit for people: summary, findings grouped by protocol
/// (worst group first, worst finding first), the provider checklist.
pub fn domain(report: &DomainReport, style: Style) -> String {
    let mut out = String::new();
    let name = if report.domain_unicode == report.domain {
        report.domain.clone()
    } else {
        format!("{} ({})", report.domain_unicode, report.domain)
    };
    let judged = match report.score {
        Some(score) => format!("score {score}/100"),
        None => "could not be checked, so not scored: a DNS lookup failed; run it again".into(),
    };
    let _ = writeln!(
        out,
        "{} {} · {judged}",
        style.verdict(report.verdict),
        style.bold(&clean(&name))
    );
    let _ = writeln!(out, "  {}", clean(&report.summary));
    undecided(&mut out, &report.undecided, style);
    for section in report.sections() {
        let _ = writeln!(
            out,
            "  {:<8} {}",
            section.protocol().title,
            clean(&section.summary())
        );
    }
    let mut groups: Vec<(&str, Vec<&Finding>)> = Vec::new();
    for f in &report.findings {
        let protocol = f.code.split('.').next().unwrap_or(f.code);
        match groups.iter_mut().find(|(p, _)| *p == protocol) {
            Some((_, list)) => list.push(f),
            None => groups.push((protocol, vec![f])),
        }
    }
    // Findings arrive worst first, so groups are in order of their worst.
    for (protocol, list) in groups {
        let _ = writeln!(out);
        let _ = writeln!(out, "{}", style.bold(&protocol_title(protocol)));
        findings(
            &mut out,
            &list.into_iter().cloned().collect::<Vec<_>>(),
            style,
        );
    }
    if report.findings.is_empty() {
        let _ = writeln!(out, "\n  No problems found.\n");
    }
    let _ = writeln!(out, "{}", style.bold("Provider requirements"));
    requirements(&mut out, &report.requirements, style);
    dns(&mut out, &report.dns);
    out
}

/// The title of the protocol a code family or section key names.
fn protocol_title(key: &str) -> String {
    report::title(key).map_or_else(|| key.to_uppercase(), str::to_string)
}

/// A line per check a failed lookup left undecided, headed by its title.
fn undecided(out: &mut String, checks: &[Undecided], style: Style) {
    for u in checks {
        let _ = writeln!(
            out,
            "  {} {}: {}",
            style.dim("undecided"),
            protocol_title(u.check),
            clean(&u.reason)
        );
    }
}

/// The message report for people: each verdict on a line, then findings
/// worst first, the checklist and the Authentication-Results header.
pub fn message(report: &MessageReport, name: &str, style: Style) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{} {}",
        style.verdict(report.verdict),
        style.bold(&clean(name))
    );
    let _ = writeln!(out, "  {}", clean(&report.summary));
    undecided(&mut out, &report.undecided, style);
    let spf = match &report.spf.mailfrom {
        Some(c) => format!("{} for {} from {}", c.result, c.sender, c.client_ip),
        None => report
            .spf
            .reason
            .clone()
            .unwrap_or_else(|| report.spf.result.clone()),
    };
    let _ = writeln!(out, "  {:<8} {}", "SPF", clean(&spf));
    if report.dkim.signatures.is_empty() {
        let _ = writeln!(out, "  {:<8} no signature", "DKIM");
    }
    for s in &report.dkim.signatures {
        let _ = writeln!(
            out,
            "  {:<8} {} d={} s={}{}",
            "DKIM",
            s.result.as_str(),
            clean(s.domain.as_deref().unwrap_or("?")),
            clean(s.selector.as_deref().unwrap_or("?")),
            s.reason
                .as_deref()
                .map(|r| format!(" ({})", clean(r)))
                .unwrap_or_default()
        );
    }
    let d = &report.dmarc;
    let _ = writeln!(
        out,
        "  {:<8} {} for {}{}",
        "DMARC",
        d.result.as_str(),
        clean(
            d.from_domain
                .as_deref()
                .unwrap_or("(no single From domain)")
        ),
        d.policy
            .map(|p| format!(" · policy {}", p.as_str()))
            .unwrap_or_default()
    );
    let _ = writeln!(out, "  {:<8} {}", "ARC", report.arc.result.as_str());
    if let Some(i) = &report.iprev {
        let _ = writeln!(out, "  {:<8} {} for {}", "iprev", i.result, i.ip);
    }
    blocklists(&mut out, report.blocklists.as_ref());
    let c = &report.content;
    let _ = writeln!(
        out,
        "  {:<8} {} bytes, {}, {} image(s), {} link(s) to {} host(s)",
        "Content",
        c.size,
        match (c.text_part, c.html_part) {
            (true, true) => "text and HTML",
            (false, true) => "HTML only",
            (true, false) => "text only",
            (false, false) => "no text body",
        },
        c.images,
        c.links,
        c.link_hosts.len()
    );
    let _ = match report.grade {
        Some(grade) => writeln!(out, "  {:<8} {grade}/10 (from the findings below)", "Grade"),
        None => writeln!(out, "  {:<8} none while a check is undecided", "Grade"),
    };
    let _ = writeln!(out);
    findings(&mut out, &report.findings, style);
    let _ = writeln!(out, "{}", style.bold("Provider requirements"));
    requirements(&mut out, &report.requirements, style);
    let _ = writeln!(out, "{}", folded(&report.authentication_results));
    let _ = writeln!(out);
    dns(&mut out, &report.dns);
    out
}

/// One line per DNS blocklist asked, or why none was.
fn blocklists(out: &mut String, section: Option<&BlocklistSection>) {
    let Some(section) = section else {
        return;
    };
    if let Some(note) = &section.note {
        let _ = writeln!(out, "  {:<8} {}", "DNSBL", clean(note));
    }
    for list in &section.lists {
        let result = match list.result {
            Listing::Listed => "LISTED",
            Listing::NotListed => "not listed",
            Listing::Unchecked => "could not check",
        };
        let codes: Vec<String> = list.codes.iter().map(ToString::to_string).collect();
        let _ = writeln!(
            out,
            "  {:<8} {} on {}{}{}",
            "DNSBL",
            result,
            clean(&list.zone),
            if codes.is_empty() {
                String::new()
            } else {
                format!(" ({})", codes.join(", "))
            },
            list.reason
                .as_deref()
                .map(|r| format!(": {}", clean(r)))
                .unwrap_or_default()
        );
    }
}

/// A header as folded (CRLF and a tab before each result of an
/// Authentication-Results header), escaped. A fold is kept only where the
/// next line starts with a method (`dkim=`): a line break that came from
/// the message stays escaped, so it can never start a line of its own.
fn folded(header: &str) -> String {
    let mut out = String::new();
    for (i, part) in header.split("\r\n\t").enumerate() {
        let method = part.split_once('=').is_some_and(|(name, _)| {
            !name.is_empty() && name.bytes().all(|b| b.is_ascii_lowercase())
        });
        if i > 0 {
            out.push_str(if method { "\n    " } else { "\\r\\n\\t" });
        }
        out.push_str(&clean(part));
    }
    out
}

/// The provider checklist, with why for what is not met.
fn requirements(
    out: &mut String,
    list: &[crate::findings::requirements::Requirement],
    style: Style,
) {
    for r in list {
        let mark = match r.status {
            Status::Met => style.paint("32", "met    "),
            Status::Unmet => style.paint("31", "unmet  "),
            Status::Unknown => style.dim("unknown"),
        };
        let _ = writeln!(out, "  {mark} {:<9} {}", r.provider, r.rule);
        if r.status != Status::Met {
            let _ = writeln!(out, "          {}", style.dim(&clean(&r.note)));
        }
    }
    let _ = writeln!(out);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn authentication_results_keep_their_folds_and_nothing_else() {
        assert_eq!(
            folded("mailvet;\r\n\tspf=pass smtp.mailfrom=a.test;\r\n\tdkim=none"),
            "mailvet;\n    spf=pass smtp.mailfrom=a.test;\n    dkim=none"
        );
        // A fold inside a value from the message is not one of ours.
        assert_eq!(
            folded("mailvet;\r\n\tdkim=fail header.s=a\r\n\t::error ::x\u{1b}[2J"),
            "mailvet;\n    dkim=fail header.s=a\\r\\n\\t::error ::x\\u{1b}[2J"
        );
    }
}
