//! Where a domain's SMTP TLS reports are posted: one secret token per
//! domain, the last segment of the HTTPS reporting URI its `_smtp._tls`
//! record names (RFC 8460 §3). A reporting MTA cannot send an API key, so
//! the token is what lets its report in, and it lets in reports about
//! that domain only.
//!
//! The token is made the first time a domain's URL is asked for and the
//! same one is given after, by every replica: it is read first, and only
//! a domain without one is written (a page view that finds the token
//! takes no write lock); the insert does nothing when another has just
//! made one, and the token is then read back, so two replicas asking at
//! once both read the one that won. Replacing it (the URL leaked) writes
//! a new one over it; the old URL is then unknown. Tokens do not expire.

use super::selectors::normalize;
use super::{Store, StoreError, TlsReportToken, to_db};

impl Store {
    /// The TLS report token of `domain`, made now if it has none yet, or
    /// made anew in place of the old one with `replace`.
    pub async fn tls_report_token(
        &self,
        domain: &str,
        replace: bool,
    ) -> Result<TlsReportToken, StoreError> {
        const INSERT: &str = "INSERT INTO tls_report_endpoints (domain, token, created_at) \
             VALUES ($1, $2, $3) ON CONFLICT (domain) DO NOTHING";
        // `excluded` is the row that was refused: both back ends name it so.
        const REPLACE: &str = "INSERT INTO tls_report_endpoints (domain, token, created_at) \
             VALUES ($1, $2, $3) ON CONFLICT (domain) DO UPDATE SET \
             token = excluded.token, created_at = excluded.created_at";
        let domain = normalize(domain, "a domain")?;
        if !replace && let Some(token) = self.token_of(&domain).await? {
            return Ok(token);
        }
        let made = TlsReportToken::generate()?;
        sqlx::query(if replace { REPLACE } else { INSERT })
            .bind(domain.as_str())
            .bind(made.as_str())
            .bind(to_db(self.now()))
            .execute(&self.pool)
            .await?;
        Ok(self
            .token_of(&domain)
            .await?
            .ok_or(sqlx::Error::RowNotFound)?)
    }

    /// The TLS report token of `domain`, if it has one; nothing is made.
    pub async fn known_tls_report_token(
        &self,
        domain: &str,
    ) -> Result<Option<TlsReportToken>, StoreError> {
        self.token_of(&normalize(domain, "a domain")?).await
    }

    /// The token of a domain already normalized.
    async fn token_of(&self, domain: &str) -> Result<Option<TlsReportToken>, StoreError> {
        const SELECT: &str = "SELECT token FROM tls_report_endpoints WHERE domain = $1";
        let token: Option<String> = sqlx::query_scalar(SELECT)
            .bind(domain)
            .fetch_optional(&self.pool)
            .await?;
        token
            .map(|t| t.parse().map_err(|_| StoreError::CorruptToken))
            .transpose()
    }

    /// The domain whose TLS reports `token` lets in, if any.
    pub async fn tls_report_domain(
        &self,
        token: &TlsReportToken,
    ) -> Result<Option<String>, StoreError> {
        const SELECT: &str = "SELECT domain FROM tls_report_endpoints WHERE token = $1";
        Ok(sqlx::query_scalar(SELECT)
            .bind(token.as_str())
            .fetch_optional(&self.pool)
            .await?)
    }
}
