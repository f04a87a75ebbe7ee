-- DKIM selectors seen for a domain (in DMARC aggregate reports), so the
-- domain audit can ask for them instead of guessing.
CREATE TABLE dkim_selectors (
    domain     TEXT NOT NULL,     -- lowercase, no trailing dot
    selector   TEXT NOT NULL,     -- lowercase
    first_seen BIGINT NOT NULL,   -- seconds since the Unix epoch
    last_seen  BIGINT NOT NULL,
    PRIMARY KEY (domain, selector)
);
