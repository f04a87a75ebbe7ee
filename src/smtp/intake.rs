//! Report addresses (`--report-address`): DMARC aggregate and SMTP TLS
//! reports mailed to the receiver, so a domain's `rua=mailto:` can point
//! straight at a deployment.
//!
//! This module decides which recipients are report addresses and what a
//! message to one is answered. The address is compared without regard to
//! case and to a trailing dot of its domain. The message is imported as
//! `mailvet reports import` and `POST /v1/reports` import a report email
//! ([`crate::reports::ingest`], off the runtime, under the same
//! `--max-report-size` caps), so a report already kept is a duplicate and
//! never counted twice.
//!
//! The answer comes after the final `.`, before the message is accepted:
//! a report kept (new or a duplicate) is `250`; a message that is not a
//! report this server can read is `550 5.6.0` and one whose report is too
//! large once decompressed `552 5.3.4`, so the reporter's system bounces
//! it to its sender rather than this server accepting and then silently
//! dropping it — as is a report that reads well but is not one to keep
//! ([`crate::reports::fit`]: a period before 2000 or not yet over, a
//! policy domain that is no domain name, a TLS report about no domain or
//! several); a store that does not answer is `451 4.3.0`, which the
//! reporter's queue retries. The reply names the kind of problem, never
//! text of the message (the full reason is logged).

use super::reply::Reply;
use crate::reports::fit::Unfit;
use crate::reports::{Limits, ReportError, ingest};
use crate::store::{Store, Stored};

/// The report addresses and the caps on what is mailed to them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReportIntake {
    /// Lower case, without a trailing dot.
    addresses: Vec<String>,
    pub limits: Limits,
}

impl ReportIntake {
    /// Takes mail for `addresses` (each `local@domain`), capped by
    /// `limits`.
    pub fn new(addresses: &[String], limits: Limits) -> ReportIntake {
        ReportIntake {
            addresses: addresses.iter().map(|a| normal(a)).collect(),
            limits,
        }
    }

    /// Whether `domain` is the domain of a report address.
    pub fn serves(&self, domain: &str) -> bool {
        let domain = normal(domain);
        self.addresses
            .iter()
            .any(|address| address.rsplit_once('@').is_some_and(|(_, d)| d == domain))
    }

    /// Whether `address` is one of the report addresses.
    pub fn accepts(&self, address: &str) -> bool {
        !address.is_empty() && self.addresses.contains(&normal(address))
    }
}

fn normal(address: &str) -> String {
    let address = address.trim();
    address
        .strip_suffix('.')
        .unwrap_or(address)
        .to_ascii_lowercase()
}

/// Imports a message mailed to a report address; the reply says how that
/// went.
pub async fn import(store: &Store, limits: &Limits, message: Vec<u8>) -> Reply {
    let limits = limits.clone();
    let received = time::OffsetDateTime::now_utc().unix_timestamp();
    let prepared = tokio::task::spawn_blocking(move || {
        ingest::prepare(std::io::Cursor::new(message), &limits, received)
    })
    .await;
    let prepared = match prepared {
        Ok(Ok(prepared)) => prepared,
        Ok(Err(error)) => {
            tracing::info!(%error, "smtp: a message to a report address is not a report");
            return refused(&error);
        }
        Err(error) => {
            tracing::error!(%error, "smtp: the report import task failed");
            return super::reply::try_later();
        }
    };
    let overview = prepared.overview();
    match prepared.store(store).await {
        Ok(Stored::New) => Reply::new(
            250,
            "2.0.0",
            format!("{} report imported: {}", overview.kind, overview.contents()),
        ),
        Ok(Stored::Duplicate) => Reply::new(
            250,
            "2.0.0",
            "this report is already kept; it is not counted again",
        ),
        Err(crate::store::StoreError::Invalid { .. }) => {
            Reply::new(550, "5.6.0", "the report's identifiers cannot be kept")
        }
        Err(error) => {
            tracing::error!(%error, "smtp: store");
            super::reply::try_later()
        }
    }
}

/// The permanent refusal of a message that is no report this server
/// takes.
fn refused(error: &ReportError) -> Reply {
    let what = match error {
        ReportError::TooLarge { limit } => {
            return Reply::new(
                552,
                "5.3.4",
                format!("the report is larger than {limit} bytes once decompressed"),
            );
        }
        ReportError::RatioExceeded { .. } => {
            return Reply::new(
                552,
                "5.3.4",
                "the report expands too much: refused as a likely decompression bomb",
            );
        }
        ReportError::NotAReport(_) => "no DMARC aggregate or TLS report found in it",
        ReportError::Corrupt { .. } => "its compressed data is corrupt",
        ReportError::Zip(_) => "its zip archive cannot be read",
        ReportError::Mail(_) => "its report attachment cannot be found or read",
        ReportError::Xml { .. } => "its aggregate report is not valid XML of RFC 7489",
        ReportError::Json { .. } | ReportError::Tls(_) => {
            "its TLS report is not valid JSON of RFC 8460"
        }
        // The dates are written from the report's numbers, never its text.
        ReportError::Unfit(unfit @ (Unfit::TooEarly { .. } | Unfit::Future { .. })) => {
            return Reply::new(550, "5.6.0", unfit.to_string());
        }
        ReportError::Unfit(Unfit::NotADomain(_)) => "its policy domain is not a domain name",
        ReportError::Unfit(Unfit::SeveralDomains { .. }) => {
            "its TLS report has policies for several domains; send each domain's as its own"
        }
        ReportError::Unfit(Unfit::NoPolicy) => "its TLS report names no policy",
    };
    Reply::new(
        550,
        "5.6.0",
        format!("not a report this server reads: {what}"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn report_addresses_match_without_case_or_trailing_dot() {
        let intake = ReportIntake::new(&["dmarc@Reports.Example".into()], Limits::default());
        assert!(intake.accepts("DMARC@reports.example."));
        assert!(intake.accepts("dmarc@reports.example"));
        assert!(!intake.accepts("dmarc@other.example"));
        assert!(!intake.accepts("tlsrpt@reports.example"));
        assert!(!intake.accepts(""));
        assert!(!ReportIntake::default().accepts("dmarc@reports.example"));
    }

    #[test]
    fn a_refusal_never_quotes_the_message() {
        let reply = refused(&ReportError::Xml {
            line: 1,
            offset: 2,
            message: "unexpected <evil>".into(),
        });
        assert_eq!(reply.code, 550);
        assert!(!reply.text().contains("evil"), "{}", reply.text());
        assert_eq!(
            refused(&ReportError::TooLarge { limit: 10 }).text(),
            "552 5.3.4 the report is larger than 10 bytes once decompressed"
        );
    }
}
