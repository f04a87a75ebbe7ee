//! Sender predictions: for each server or ESP the config says sends as a
//! domain, will its mail pass DMARC?
//!
//! This module decides the prediction. SPF is evaluated for the sender's
//! IP and its MAIL FROM domain (as `postmaster@<mail_from_domain>`, the
//! way a receiver would); DKIM is taken to pass with the sender's `d=`
//! (its key is the sender's business — the prediction is about alignment);
//! then the DMARC what-if ([`crate::message::dmarc::evaluate`]) decides
//! alignment and the result under the domain's published DMARC record
//! (RFC 9989 §4.4). A sender that would not pass breaks its expectation.

use super::config::{At, Sender};
use super::expectations::{self, Expectation, Status};
use crate::dns::Resolver;
use crate::message::dmarc::{self, DmarcEvaluation, DmarcResult, IdentifierResult, WhatIf};
use crate::spf::{self, SpfQuery, SpfResult};
use serde::Serialize;

/// What a sender's mail would get.
#[derive(Debug, Clone, Serialize)]
pub struct Prediction {
    pub name: String,
    pub ip: std::net::IpAddr,
    pub mail_from_domain: String,
    pub dkim_domain: Option<String>,
    /// SPF for the sender's IP and MAIL FROM domain.
    pub spf: SpfResult,
    /// Whether the MAIL FROM domain aligns with the From domain.
    pub spf_aligned: Option<bool>,
    /// Whether the `d=` aligns with the From domain.
    pub dkim_aligned: Option<bool>,
    /// The DMARC result receivers would reach.
    pub dmarc: DmarcResult,
    /// Why, in one sentence.
    pub reason: String,
    /// The policy receivers would apply to failing mail.
    pub policy: Option<crate::records::dmarc::Policy>,
}

/// Predicts DMARC for one sender of `domain` and judges its expectation.
pub async fn predict(
    resolver: &Resolver,
    domain: &str,
    sender: &At<Sender>,
) -> (Option<Prediction>, Expectation) {
    let s = &sender.value;
    let name = format!("{} ({}) passes DMARC for {domain}", s.name, s.ip);
    let judged = |status, detail: String, fix: String| Expectation {
        rule: expectations::rule("expect.sender_dmarc"),
        name: name.clone(),
        status,
        detail,
        fix,
        line: sender.line,
    };
    let spf = spf::check(
        resolver,
        &SpfQuery {
            ip: s.ip,
            helo: None,
            mail_from: Some(format!("postmaster@{}", s.mail_from_domain.ascii)),
            receiver: None,
        },
    )
    .await
    .map_or(SpfResult::PermError, |c| c.result);
    let input = WhatIf {
        from_domain: domain.to_string(),
        spf: Some(IdentifierResult {
            domain: s.mail_from_domain.ascii.clone(),
            result: spf.as_str().into(),
        }),
        dkim: s
            .dkim_domain
            .iter()
            .map(|d| IdentifierResult {
                domain: d.ascii.clone(),
                result: "pass".into(),
            })
            .collect(),
    };
    let lease = match resolver.mail_auth().await {
        Ok(lease) => lease,
        Err(e) => {
            return (
                None,
                judged(
                    Status::Unknown,
                    format!("DMARC could not be evaluated: {e}; retry"),
                    String::new(),
                ),
            );
        }
    };
    let evaluation = match dmarc::evaluate(resolver, &lease.authenticator, &input).await {
        Ok(e) => e,
        Err(e) => {
            return (
                None,
                judged(
                    Status::Broken,
                    e.to_string(),
                    "Correct the sender's domains in the config.".into(),
                ),
            );
        }
    };
    let prediction = Prediction::new(s, spf, &evaluation);
    let detail = prediction.summary();
    let expectation = match prediction.dmarc {
        DmarcResult::Pass => judged(Status::Met, detail, String::new()),
        DmarcResult::TempError => {
            judged(Status::Unknown, format!("{detail}; retry"), String::new())
        }
        _ => judged(Status::Broken, detail, prediction.fix(domain)),
    };
    (Some(prediction), expectation)
}

impl Prediction {
    fn new(sender: &Sender, spf: SpfResult, evaluation: &DmarcEvaluation) -> Prediction {
        Prediction {
            name: sender.name.clone(),
            ip: sender.ip,
            mail_from_domain: sender.mail_from_domain.ascii.clone(),
            dkim_domain: sender.dkim_domain.as_ref().map(|d| d.ascii.clone()),
            spf,
            spf_aligned: evaluation.spf.identifier.as_ref().and_then(|i| i.aligned),
            dkim_aligned: evaluation.dkim.signatures.first().and_then(|i| i.aligned),
            dmarc: evaluation.result,
            reason: evaluation.reason.clone(),
            policy: evaluation.policy,
        }
    }

    /// One sentence: SPF, alignment and the DMARC outcome.
    fn summary(&self) -> String {
        let aligned = |a: Option<bool>| match a {
            Some(true) => "aligned",
            Some(false) => "not aligned",
            None => "alignment unknown",
        };
        let dkim = match &self.dkim_domain {
            Some(d) => format!("DKIM d={d} {}", aligned(self.dkim_aligned)),
            None => "no DKIM signature".into(),
        };
        let policy = self
            .policy
            .map(|p| format!("; receivers apply p={}", p.as_str()))
            .unwrap_or_default();
        format!(
            "SPF {} for {} at {} ({}), {dkim}: DMARC {} — {}{policy}",
            self.spf,
            self.ip,
            self.mail_from_domain,
            aligned(self.spf_aligned),
            self.dmarc,
            self.reason.trim_end_matches('.')
        )
    }

    /// The cheapest change that makes the sender pass.
    fn fix(&self, domain: &str) -> String {
        if self.dkim_aligned != Some(true) {
            format!(
                "Have {} sign with d={domain} (publish the DKIM key it gives you under \
                 _domainkey.{domain}), or send with a MAIL FROM domain under {domain} whose \
                 SPF record authorizes {}.",
                self.name, self.ip
            )
        } else {
            format!(
                "Publish the DKIM key {} signs with for d={}, or authorize {} in the SPF \
                 record of {}.",
                self.name,
                self.dkim_domain.as_deref().unwrap_or(domain),
                self.ip,
                self.mail_from_domain
            )
        }
    }
}
