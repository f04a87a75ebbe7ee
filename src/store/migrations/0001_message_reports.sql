-- Saved message reports: the permalinks /reports/{id}.
CREATE TABLE message_reports (
    id          TEXT NOT NULL PRIMARY KEY,  -- 32 lowercase hex digits
    report      TEXT NOT NULL,              -- the report, as JSON
    -- Only when the sender asked to keep it. BYTEA is PostgreSQL's type
    -- for bytes; SQLite knows no such name and keeps a blob as given.
    raw_message BYTEA,
    created_at  BIGINT NOT NULL,            -- seconds since the Unix epoch
    expires_at  BIGINT NOT NULL             -- gone from then on
);

CREATE INDEX message_reports_by_expiry ON message_reports (expires_at);
