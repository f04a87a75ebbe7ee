//! The one catalog of finding codes.
//!
//! Every finding mailvet reports carries a code from this catalog, and the
//! catalog is the only place where a code's severity, title, `why`, generic
//! `fix` and references are written down: as data, in `catalog.toml` beside
//! this file, from which the build (`build.rs`) makes one constant per code
//! (`catalog::SPF_MISSING` for `spf.missing`, so a misspelled code does not
//! compile) and the lists below.
//!
//! - [`CATALOG`]: every code, in the published order: SPF, DMARC, DKIM, then
//!   MX, MTA-STS, TLS-RPT, BIMI and DNSSEC, the SMTP transport probe, then
//!   the codes only a message check produces.
//! - [`DOMAIN_CODES`]: the codes a domain's DNS decides (a message check
//!   reports some of them too).
//! - [`MESSAGE_CODES`]: the codes only a message check produces.
//!
//! Codes are a public contract: CI pipelines match on them, the web page
//! links them, and every report format carries them. A code never changes
//! meaning once shipped; new codes may be added freely, but an existing one
//! is never renamed, reused or given a different condition
//! (`docs/findings.md` is the published list its generator keeps).

use super::{CatalogEntry, Code, Severity};

include!(concat!(env!("OUT_DIR"), "/catalog.rs"));

/// The catalog entry for `code`, or `None` when no such code exists: for
/// codes that come from outside (a `mailvet check` config, a saved report).
pub fn lookup(code: &str) -> Option<&'static CatalogEntry> {
    CATALOG.iter().copied().find(|entry| entry.code == code)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_present_and_tidy() {
        for entry in CATALOG {
            let code = entry.code;
            for (field, text) in [
                ("title", entry.title),
                ("why", entry.why),
                ("fix", entry.fix),
            ] {
                assert!(!text.trim().is_empty(), "{code}: empty {field}");
                assert_eq!(text, text.trim(), "{code}: {field} has outer whitespace");
                // Catches stray double spaces, as where a long text's lines
                // were joined.
                assert!(!text.contains("  "), "{code}: {field} has a double space");
                assert!(!text.contains('\n'), "{code}: {field} has a line break");
            }
            assert!(
                !entry.title.ends_with('.'),
                "{code}: title ends with a period"
            );
        }
    }

    #[test]
    fn every_entry_has_refs() {
        for entry in CATALOG {
            assert!(!entry.refs.is_empty(), "{}: no refs", entry.code);
            for r in entry.refs {
                assert!(!r.trim().is_empty(), "{}: empty ref", entry.code);
            }
        }
    }

    #[test]
    fn lookup_finds_entries() {
        let entry = lookup("spf.too_many_lookups").expect("spf.too_many_lookups exists");
        assert_eq!(entry.code, "spf.too_many_lookups");
        assert_eq!(entry.severity, Severity::Error);
        assert!(lookup("spf.no_such_code").is_none());
        assert!(lookup("").is_none());
        for entry in CATALOG {
            assert!(std::ptr::eq(lookup(entry.code).unwrap(), *entry));
        }
    }
}
