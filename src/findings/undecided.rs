//! What a failed DNS lookup leaves undecided, and what that does to a
//! verdict: a check whose lookup failed is neither passed nor failed, so a
//! report with one is `unknown` (run again) unless an error was found
//! among what was decided, which no second run can turn into a pass.
//! Domain audits and message reports share this rule.

use super::{CatalogEntry, Finding, Severity, Verdict};
use serde::Serialize;

/// A check a failed DNS lookup left undecided.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Undecided {
    /// The report section it is: for a domain `spf`, `dmarc`, `dkim`, `mx`,
    /// `mta_sts`, `tls_rpt`, `bimi` or `dnssec` (the transport probe is
    /// never undecided); for a message `spf`, `dkim`, `dmarc` or `iprev`.
    pub check: &'static str,
    /// Which lookup failed.
    pub reason: String,
}

/// What CI formats show for a report with undecided checks: a case that
/// errs (neither passes nor fails) until the check is run again.
pub static UNDECIDED: CatalogEntry = CatalogEntry {
    code: "audit.undecided",
    severity: Severity::Error,
    title: "Some checks could not be done: a DNS lookup failed",
    why: "A DNS question the check needed timed out or failed, so what is published there \
          is unknown: it is not missing, and it is not known to be right. Receivers hitting \
          the same failure defer mail or treat it as unauthenticated.",
    fix: "Run the check again. If it keeps failing, check the DNS servers given with --dns \
          (or the system's) and that every authoritative name server of the domain answers.",
    refs: &["RFC 7208 §2.6.6", "RFC 9989 §4.10"],
};

/// `fail` with any error finding; else `unknown` when a check is
/// undecided; else as the findings say.
pub fn verdict(findings: &[Finding], undecided: &[Undecided]) -> Verdict {
    match super::verdict(findings) {
        Verdict::Fail => Verdict::Fail,
        _ if !undecided.is_empty() => Verdict::Unknown,
        decided => decided,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::findings::catalog;

    #[test]
    fn an_undecided_check_makes_the_verdict_unknown_unless_an_error_was_found() {
        let f = |code| Finding::new(code, "x");
        let undecided = [Undecided {
            check: "mx",
            reason: "the MX lookup for ex.test failed (timeout)".into(),
        }];
        assert_eq!(verdict(&[], &undecided), Verdict::Unknown);
        assert_eq!(
            verdict(&[f(catalog::DMARC_NO_RUA)], &undecided),
            Verdict::Unknown
        );
        assert_eq!(
            verdict(&[f(catalog::SPF_PLUS_ALL)], &undecided),
            Verdict::Fail
        );
        assert_eq!(verdict(&[f(catalog::DMARC_NO_RUA)], &[]), Verdict::Warn);
        assert_eq!(verdict(&[], &[]), Verdict::Pass);
    }
}
