//! The `arc.fail` finding: which hop broke the chain and why, with that
//! hop's ARC headers as evidence.

use super::headers::ArcHeader;
use super::{ArcSection, EVIDENCE_LINES};
use crate::findings::Finding;
use crate::findings::catalog;
use crate::records::tag_list::Space;

pub(super) fn fail_finding(section: &ArcSection, headers: &[ArcHeader<'_>]) -> Finding {
    let reason = section.reason.clone().unwrap_or_default();
    let at = match section.failed_hop {
        Some(hop) => {
            let sealer = section
                .hops
                .iter()
                .find(|h| h.instance == hop)
                .and_then(|h| h.sealer.clone().or_else(|| h.authserv_id.clone()));
            match sealer {
                Some(sealer) => format!(" at hop i={hop} ({sealer})"),
                None => format!(" at hop i={hop}"),
            }
        }
        None => String::new(),
    };
    // A few sets' worth: a hostile chain can repeat a header a thousand
    // times.
    let evidence = headers
        .iter()
        .filter(|h| section.failed_hop.is_none() || h.instance == section.failed_hop)
        .take(EVIDENCE_LINES)
        .map(|h| evidence_line(h))
        .collect::<Vec<_>>();
    Finding::new(
        catalog::ARC_FAIL,
        format!(
            "the ARC chain of {} set(s) fails{at}: {reason}",
            section.sets
        ),
    )
    .with_evidence(evidence)
}

pub(super) fn evidence_line(header: &ArcHeader<'_>) -> String {
    let value = String::from_utf8_lossy(header.value);
    let unfolded = value
        .split(['\r', '\n'])
        .map(|part| Space::Fws.trim(part))
        .filter(|part| !part.is_empty())
        .collect::<Vec<_>>()
        .join(" ");
    format!(
        "{}: {unfolded}",
        String::from_utf8_lossy(header.name).trim()
    )
}
