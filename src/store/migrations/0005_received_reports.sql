-- DMARC aggregate reports and SMTP TLS reports as received: one row per
-- report, the parsed report itself as gzip-compressed JSON. A report is
-- stored once: the same reporter, report id, policy domain and period is a
-- duplicate.
CREATE TABLE received_reports (
    kind        TEXT NOT NULL CHECK (kind IN ('aggregate', 'tls')),
    org_name    TEXT NOT NULL,
    report_id   TEXT NOT NULL,
    domain      TEXT NOT NULL,            -- lowercase, no trailing dot
    begin_at    BIGINT NOT NULL,          -- the period, seconds since the epoch
    end_at      BIGINT NOT NULL,
    records     BIGINT NOT NULL,          -- <record> rows (TLS: policies)
    messages    BIGINT NOT NULL,          -- their counts (TLS: sessions)
    report      BYTEA NOT NULL,           -- the parsed report, gzip-compressed JSON
    imported_at BIGINT NOT NULL,
    PRIMARY KEY (kind, org_name, report_id, domain, begin_at, end_at)
);

-- A summary reads one domain's reports of a period.
CREATE INDEX received_reports_by_domain ON received_reports (kind, domain, end_at);
