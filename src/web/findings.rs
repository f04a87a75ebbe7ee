//! `/findings` and `/findings/{code}`: the catalog of finding codes, each
//! with why it matters, the fix and its references — where every finding
//! on a report links to.

use super::layout::{page, table};
use super::report::{breakable, prose};
use crate::findings::catalog::{DOMAIN_CODES, MESSAGE_CODES};
use crate::findings::{CatalogEntry, Severity};
use maud::{Markup, html};

fn severity(s: Severity) -> &'static str {
    match s {
        Severity::Error => "error",
        Severity::Warning => "warning",
        Severity::Info => "info",
    }
}

fn badge(s: Severity) -> Markup {
    let word = severity(s);
    html! { span class=(format!("badge s-{word}")) { (word) } }
}

/// The list of every code, domain codes before message codes, grouped by
/// family in catalog order.
pub fn catalog() -> String {
    page(
        "Finding codes",
        html! {
            h1 { "Finding codes" }
            p { "Every finding mailvet reports carries one of these codes. A code never changes \
                 meaning, so a pipeline may match on it." }
            @for (part, entries) in [("Domain checks (DNS)", DOMAIN_CODES), ("Message checks", MESSAGE_CODES)] {
                h2 { (part) }
                (table(&["Code", "Severity", "Title"], html! {
                    @for e in entries {
                        tr {
                            td { a href=(format!("/findings/{}", e.code)) { (breakable("code", e.code, &['.', '_'])) } }
                            td { (badge(e.severity)) }
                            td { (e.title) }
                        }
                    }
                }))
            }
        },
    )
}

/// The page of one code.
pub fn entry(e: &CatalogEntry) -> String {
    page(
        e.code,
        html! {
            p { a href="/findings" { "All finding codes" } }
            h1 { code { (e.code) } }
            p { (badge(e.severity)) " " strong { (e.title) } }
            h2 { "Why it matters" }
            p { (prose(e.why)) }
            h2 { "How to fix it" }
            p { (prose(e.fix)) }
            p.muted { "A report's fix is worked out for the case it found, with the records to \
                       publish where it can." }
            @if !e.refs.is_empty() {
                h2 { "References" }
                ul { @for r in e.refs { li { (r) } } }
            }
        },
    )
}
