//! SMTP TLS reports (RFC 8460 §4: the JSON report schema), read with serde
//! and the variants real reporters send:
//!
//! - fields RFC 8460 makes required but reporters leave out: Microsoft's
//!   `failure-details` without `sending-mta-ip` or `receiving-ip`,
//!   policies without `policy-string` or `mx-host` (`no-policy-found`,
//!   and Microsoft's `sts` policies), a policy without `failure-details`
//!   when nothing failed, a report without `contact-info`;
//! - `mx-host` as one string instead of a list, and under the draft name
//!   `mx-host-pattern`;
//! - session counts written as strings (`"12"`);
//! - date-times with fractional seconds or an offset ([`super::dates`]).
//!
//! Unknown fields are ignored. What a report cannot do without is
//! refused by name: `organization-name`, `report-id`, a readable
//! `date-range` that does not end before it starts, and each policy's
//! `policy-type` and `policy-domain`; so is a session count over
//! [`MAX_COUNT`].
//! Lists are capped ([`MAX_POLICIES`], [`MAX_FAILURE_DETAILS`],
//! [`MAX_LIST`]) while they are read; the whole document is already
//! bounded by the decompression cap.

use super::aggregate::domain_key;
use super::capped::report_error;
use super::dates::parse_rfc3339;
use super::{MAX_COUNT, ReportError, dates::Day, outside_message};
use crate::untrusted::quoted;
use serde::de::{self, Deserializer, SeqAccess, Visitor};
use serde::{Deserialize, Serialize};
use std::io::BufRead;
use std::marker::PhantomData;

/// Most policies in one report.
pub const MAX_POLICIES: usize = 1_000;
/// Most failure details in one policy.
pub const MAX_FAILURE_DETAILS: usize = 1_000;
/// Most lines of a `policy-string`, and MX patterns of a policy.
pub const MAX_LIST: usize = 100;

/// A TLS report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TlsReport {
    pub organization_name: String,
    pub contact_info: Option<String>,
    pub report_id: String,
    /// The period, seconds since the epoch.
    pub begin: i64,
    pub end: i64,
    pub policies: Vec<PolicyResult>,
}

impl TlsReport {
    /// The policy domain the report is about: that of its first policy
    /// (a report goes to one domain's `rua`, RFC 8460 §3).
    pub fn domain(&self) -> &str {
        self.policies
            .first()
            .map_or("", |p| p.policy_domain.as_str())
    }

    /// Sessions counted, successful and failed, over all policies.
    pub fn sessions(&self) -> u64 {
        self.policies.iter().fold(0u64, |sum, p| {
            sum.saturating_add(p.successful_sessions)
                .saturating_add(p.failed_sessions)
        })
    }

    /// The day the report's sessions count on.
    pub fn day(&self) -> Option<Day> {
        Day::of_period(self.begin, self.end)
    }
}

/// The result of one policy (RFC 8460 §4.4 `policies` entry).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PolicyResult {
    /// `sts`, `tlsa` or `no-policy-found` (RFC 8460 §4.3), lower-case.
    pub policy_type: String,
    pub policy_string: Vec<String>,
    pub policy_domain: String,
    pub mx_host: Vec<String>,
    pub successful_sessions: u64,
    pub failed_sessions: u64,
    pub failures: Vec<FailureDetail>,
}

/// One `failure-details` entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FailureDetail {
    /// An RFC 8460 §4.3 result type (`starttls-not-supported`,
    /// `certificate-expired`, `sts-policy-fetch-error`, …), lower-case;
    /// kept as written when a reporter uses a newer one.
    pub result_type: String,
    pub sending_mta_ip: Option<String>,
    pub receiving_mx_hostname: Option<String>,
    pub receiving_mx_helo: Option<String>,
    pub receiving_ip: Option<String>,
    pub failed_sessions: u64,
    pub additional_information: Option<String>,
    pub failure_reason_code: Option<String>,
}

/// Reads a TLS report from a (decompressed, capped) stream.
pub fn read(stream: impl BufRead) -> Result<TlsReport, ReportError> {
    let wire: WireReport = serde_json::from_reader(stream).map_err(json_error)?;
    wire.into_report()
}

fn json_error(e: serde_json::Error) -> ReportError {
    let (line, column) = (e.line(), e.column());
    if e.is_io() {
        let io = std::io::Error::from(e);
        return report_error(&io).unwrap_or_else(|| ReportError::Corrupt {
            container: "input",
            message: io.to_string(),
        });
    }
    let message = e.to_string();
    // serde_json ends its message with the position; it is said once.
    let message = outside_message(
        message
            .rsplit_once(" at line ")
            .map_or(message.as_str(), |(m, _)| m),
    );
    ReportError::Json {
        line,
        column,
        message,
    }
}

// ---------------------------------------------------------------------------
// The wire format, as lenient as reporters need
// ---------------------------------------------------------------------------

#[derive(Deserialize)]
struct WireReport {
    #[serde(rename = "organization-name")]
    organization_name: Option<String>,
    #[serde(rename = "date-range")]
    date_range: Option<WireDateRange>,
    #[serde(rename = "contact-info")]
    contact_info: Option<String>,
    #[serde(rename = "report-id")]
    report_id: Option<String>,
    #[serde(default)]
    policies: Capped<WirePolicy, MAX_POLICIES>,
}

#[derive(Deserialize)]
struct WireDateRange {
    #[serde(rename = "start-datetime")]
    start: Option<String>,
    #[serde(rename = "end-datetime")]
    end: Option<String>,
}

#[derive(Deserialize)]
struct WirePolicy {
    policy: Option<WirePolicyDescription>,
    #[serde(default)]
    summary: WireSummary,
    #[serde(rename = "failure-details", default)]
    failure_details: Capped<WireFailure, MAX_FAILURE_DETAILS>,
}

#[derive(Deserialize)]
struct WirePolicyDescription {
    #[serde(rename = "policy-type")]
    policy_type: Option<String>,
    #[serde(rename = "policy-string", default)]
    policy_string: OneOrMany,
    #[serde(rename = "policy-domain")]
    policy_domain: Option<String>,
    #[serde(rename = "mx-host", alias = "mx-host-pattern", default)]
    mx_host: OneOrMany,
}

#[derive(Deserialize, Default)]
struct WireSummary {
    #[serde(rename = "total-successful-session-count", default)]
    successful: Count,
    #[serde(rename = "total-failure-session-count", default)]
    failed: Count,
}

#[derive(Deserialize)]
struct WireFailure {
    #[serde(rename = "result-type")]
    result_type: Option<String>,
    #[serde(rename = "sending-mta-ip")]
    sending_mta_ip: Option<String>,
    #[serde(rename = "receiving-mx-hostname")]
    receiving_mx_hostname: Option<String>,
    #[serde(rename = "receiving-mx-helo")]
    receiving_mx_helo: Option<String>,
    #[serde(rename = "receiving-ip")]
    receiving_ip: Option<String>,
    #[serde(rename = "failed-session-count", default)]
    failed: Count,
    #[serde(rename = "additional-information")]
    additional_information: Option<String>,
    #[serde(rename = "failure-reason-code")]
    failure_reason_code: Option<String>,
}

impl WireReport {
    fn into_report(self) -> Result<TlsReport, ReportError> {
        let required = |value: Option<String>, name: &str| {
            value
                .map(|v| v.trim().to_string())
                .filter(|v| !v.is_empty())
                .ok_or_else(|| ReportError::Tls(format!("no {name}")))
        };
        let organization_name = required(self.organization_name, "organization-name")?;
        let report_id = required(self.report_id, "report-id")?;
        let range = self
            .date_range
            .ok_or_else(|| ReportError::Tls("no date-range".into()))?;
        let time = |value: Option<String>, name: &str| {
            let value = value.ok_or_else(|| ReportError::Tls(format!("no date-range {name}")))?;
            parse_rfc3339(&value).ok_or_else(|| {
                ReportError::Tls(format!(
                    "date-range {name} {} is not an RFC 3339 date-time",
                    quoted(&value)
                ))
            })
        };
        let begin = time(range.start, "start-datetime")?;
        let end = time(range.end, "end-datetime")?;
        if begin > end {
            return Err(ReportError::Tls(format!(
                "date-range start-datetime {begin} is after end-datetime {end} (seconds since \
                 the epoch)"
            )));
        }
        let policies = self
            .policies
            .0
            .into_iter()
            .enumerate()
            .map(|(i, p)| p.into_result(i + 1))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(TlsReport {
            organization_name,
            contact_info: optional(self.contact_info),
            report_id,
            begin,
            end,
            policies,
        })
    }
}

impl WirePolicy {
    fn into_result(self, index: usize) -> Result<PolicyResult, ReportError> {
        let missing = |name: &str| ReportError::Tls(format!("policy {index} has no {name}"));
        let policy = self.policy.ok_or_else(|| missing("policy"))?;
        let policy_type = optional(policy.policy_type)
            .map(|t| t.to_ascii_lowercase())
            .ok_or_else(|| missing("policy-type"))?;
        let policy_domain = optional(policy.policy_domain)
            .map(|d| domain_key(&d))
            .ok_or_else(|| missing("policy-domain"))?;
        let failures = self
            .failure_details
            .0
            .into_iter()
            .map(WireFailure::into_detail)
            .collect();
        Ok(PolicyResult {
            policy_type,
            policy_string: policy.policy_string.0,
            policy_domain,
            mx_host: policy.mx_host.0,
            successful_sessions: self.summary.successful.0,
            failed_sessions: self.summary.failed.0,
            failures,
        })
    }
}

impl WireFailure {
    fn into_detail(self) -> FailureDetail {
        FailureDetail {
            result_type: optional(self.result_type)
                .map_or_else(|| "unspecified".to_string(), |t| t.to_ascii_lowercase()),
            sending_mta_ip: optional(self.sending_mta_ip),
            receiving_mx_hostname: optional(self.receiving_mx_hostname).map(|h| domain_key(&h)),
            receiving_mx_helo: optional(self.receiving_mx_helo),
            receiving_ip: optional(self.receiving_ip),
            failed_sessions: self.failed.0,
            additional_information: optional(self.additional_information),
            failure_reason_code: optional(self.failure_reason_code),
        }
    }
}

fn optional(value: Option<String>) -> Option<String> {
    value
        .map(|v| v.trim().to_string())
        .filter(|v| !v.is_empty())
}

/// A session count: a number, or a string holding one.
#[derive(Default)]
struct Count(u64);

impl<'de> Deserialize<'de> for Count {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Count, D::Error> {
        struct CountVisitor;
        impl Visitor<'_> for CountVisitor {
            type Value = Count;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a session count")
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Count, E> {
                if v > MAX_COUNT {
                    return Err(E::custom(format!(
                        "session count {v} is more than the {MAX_COUNT} one report may count"
                    )));
                }
                Ok(Count(v))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Count, E> {
                let v = u64::try_from(v).map_err(|_| E::custom("a negative session count"))?;
                self.visit_u64(v)
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Count, E> {
                let v = v.trim().parse().map_err(|_| {
                    E::custom(format!("session count {} is not a number", quoted(v)))
                })?;
                self.visit_u64(v)
            }
        }
        deserializer.deserialize_any(CountVisitor)
    }
}

/// A list of strings that reporters also write as one string.
#[derive(Default)]
struct OneOrMany(Vec<String>);

impl<'de> Deserialize<'de> for OneOrMany {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<OneOrMany, D::Error> {
        struct OneOrManyVisitor;
        impl<'de> Visitor<'de> for OneOrManyVisitor {
            type Value = OneOrMany;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a string or a list of strings")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<OneOrMany, E> {
                Ok(OneOrMany(vec![v.to_string()]))
            }
            fn visit_unit<E: de::Error>(self) -> Result<OneOrMany, E> {
                Ok(OneOrMany::default())
            }
            fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<OneOrMany, A::Error> {
                Capped::<String, MAX_LIST>::read_seq(seq).map(|c| OneOrMany(c.0))
            }
        }
        deserializer.deserialize_any(OneOrManyVisitor)
    }
}

/// A list refused as soon as it holds more than `MAX` items.
struct Capped<T, const MAX: usize>(Vec<T>);

impl<T, const MAX: usize> Default for Capped<T, MAX> {
    fn default() -> Self {
        Capped(Vec::new())
    }
}

impl<'de, T: Deserialize<'de>, const MAX: usize> Capped<T, MAX> {
    fn read_seq<A: SeqAccess<'de>>(mut seq: A) -> Result<Self, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element()? {
            if items.len() == MAX {
                return Err(de::Error::custom(format!("more than {MAX} entries")));
            }
            items.push(item);
        }
        Ok(Capped(items))
    }
}

impl<'de, T: Deserialize<'de>, const MAX: usize> Deserialize<'de> for Capped<T, MAX> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct SeqVisitor<T, const MAX: usize>(PhantomData<T>);
        impl<'de, T: Deserialize<'de>, const MAX: usize> Visitor<'de> for SeqVisitor<T, MAX> {
            type Value = Capped<T, MAX>;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a list")
            }
            fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
                Ok(Capped::default())
            }
            fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
                Capped::read_seq(seq)
            }
        }
        deserializer.deserialize_any(SeqVisitor(PhantomData))
    }
}
