-- The secret HTTPS reporting URI of each domain's SMTP TLS reports (the
-- rua of its _smtp._tls record, RFC 8460 §3): one token per domain, made
-- when first asked for; replacing it makes the old URL unknown.
CREATE TABLE tls_report_endpoints (
    domain     TEXT NOT NULL PRIMARY KEY,  -- lowercase, no trailing dot
    token      TEXT NOT NULL UNIQUE,       -- 32 lowercase hex digits
    created_at BIGINT NOT NULL             -- seconds since the Unix epoch
);
