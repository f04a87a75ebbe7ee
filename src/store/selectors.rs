//! DKIM selectors learned per domain, from the `<selector>` of the DKIM
//! results that passed in DMARC aggregate reports (RFC 7489 Appendix C),
//! so the domain audit can ask for the keys a domain really uses instead
//! of guessing.
//!
//! A selector is remembered with the first and last time it was seen
//! (the report periods, never later than their import, which arrive in
//! any order, so each bound only ever widens). Names are kept lowercase without a trailing dot: DNS
//! compares names without regard to case (RFC 4343), and one selector
//! must not become two rows.
//!
//! Reports come from anyone, including for mail that forges the domain,
//! so what is learned is bounded: a name must be printable ASCII of at
//! most 253 octets, and a read returns at most the number asked for. The
//! audit records which learned selectors it found a key at
//! ([`Store::record_dkim_keys`]), and a read returns those first, then the
//! most recently seen: reports naming made-up selectors, however many and
//! however recent, cannot push out a selector whose key was found.

use super::{Store, StoreError, from_db, to_db};
use crate::dns::MAX_NAME;
use sqlx::{Any, Executor, Row};

/// A selector seen for a domain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LearnedSelector {
    pub selector: String,
    /// Seconds since the Unix epoch.
    pub first_seen: u64,
    pub last_seen: u64,
}

impl Store {
    /// Remembers that `selector` signed mail of `domain` at `seen_at`
    /// (seconds since the Unix epoch), widening its first/last seen.
    pub async fn learn_dkim_selector(
        &self,
        domain: &str,
        selector: &str,
        seen_at: u64,
    ) -> Result<(), StoreError> {
        learn(&self.pool, domain, selector, seen_at).await
    }

    /// The selectors learned for `domain`, those whose key was found first,
    /// then the most recently seen, at most `limit` of them.
    pub async fn learned_dkim_selectors(
        &self,
        domain: &str,
        limit: u32,
    ) -> Result<Vec<LearnedSelector>, StoreError> {
        const SELECT: &str = "SELECT selector, first_seen, last_seen FROM dkim_selectors \
             WHERE domain = $1 \
             ORDER BY CASE WHEN key_found_at IS NULL THEN 1 ELSE 0 END, last_seen DESC, selector \
             LIMIT $2";
        let rows = sqlx::query(SELECT)
            .bind(normalize(domain, "a domain")?)
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|row| {
                Ok(LearnedSelector {
                    selector: row.try_get("selector")?,
                    first_seen: from_db(row.try_get("first_seen")?),
                    last_seen: from_db(row.try_get("last_seen")?),
                })
            })
            .collect()
    }
}

impl Store {
    /// Records what the audit of `domain` found at `selectors` now: each
    /// with `true` had a key, each with `false` had none. Only selectors
    /// already learned are changed; with none given, nothing is written.
    pub async fn record_dkim_keys(
        &self,
        domain: &str,
        selectors: &[(&str, bool)],
    ) -> Result<(), StoreError> {
        const UPDATE: &str =
            "UPDATE dkim_selectors SET key_found_at = $3 WHERE domain = $1 AND selector = $2";
        if selectors.is_empty() {
            return Ok(());
        }
        let domain = normalize(domain, "a domain")?;
        let at = self.now();
        let _turn = self.write_turn().await;
        for (selector, found) in selectors {
            sqlx::query(UPDATE)
                .bind(&domain)
                .bind(normalize(selector, "a DKIM selector")?)
                .bind(found.then(|| to_db(at)))
                .execute(&self.pool)
                .await?;
        }
        Ok(())
    }
}

/// Remembers a selector through `executor`: the pool, or the transaction
/// that stores the report naming it.
pub(super) async fn learn<'e>(
    executor: impl Executor<'e, Database = Any>,
    domain: &str,
    selector: &str,
    seen_at: u64,
) -> Result<(), StoreError> {
    // `excluded` is the row that was refused: both back ends name it so.
    const UPSERT: &str = "INSERT INTO dkim_selectors (domain, selector, first_seen, last_seen) \
         VALUES ($1, $2, $3, $3) \
         ON CONFLICT (domain, selector) DO UPDATE SET \
         first_seen = CASE WHEN excluded.first_seen < dkim_selectors.first_seen \
             THEN excluded.first_seen ELSE dkim_selectors.first_seen END, \
         last_seen = CASE WHEN excluded.last_seen > dkim_selectors.last_seen \
             THEN excluded.last_seen ELSE dkim_selectors.last_seen END";
    sqlx::query(UPSERT)
        .bind(normalize(domain, "a domain")?)
        .bind(normalize(selector, "a DKIM selector")?)
        .bind(to_db(seen_at))
        .execute(executor)
        .await?;
    Ok(())
}

/// `name` as kept: lowercase, no trailing dot; refused when empty, too
/// long, or not printable ASCII (an IDN is given in A-labels).
pub(super) fn normalize(name: &str, what: &'static str) -> Result<String, StoreError> {
    let name = name.strip_suffix('.').unwrap_or(name);
    let invalid = |reason| StoreError::Invalid { what, reason };
    if name.is_empty() {
        return Err(invalid("it is empty"));
    }
    if name.len() > MAX_NAME {
        return Err(invalid("it is longer than 253 characters"));
    }
    if !name.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(invalid(
            "it is not printable ASCII (give an IDN as A-labels)",
        ));
    }
    Ok(name.to_ascii_lowercase())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_kept_lowercase_without_the_final_dot() {
        assert_eq!(
            normalize("Example.COM.", "a domain").unwrap(),
            "example.com"
        );
        assert_eq!(normalize("S2026", "a selector").unwrap(), "s2026");
    }

    #[test]
    fn unfit_names_are_refused() {
        let long = "a".repeat(254);
        for name in [
            "",
            ".",
            long.as_str(),
            "has space",
            "caf\u{e9}.example",
            "nul\0",
        ] {
            assert!(normalize(name, "a domain").is_err(), "{name:?}");
        }
        assert!(normalize(&"a".repeat(253), "a domain").is_ok());
    }
}
