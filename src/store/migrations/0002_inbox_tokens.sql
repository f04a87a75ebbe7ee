-- One-time test addresses: each accepts one message, whose report it
-- then points at. 'expired' is not stored: it is a waiting token read
-- after expires_at.
CREATE TABLE inbox_tokens (
    token       TEXT NOT NULL PRIMARY KEY,  -- 32 lowercase hex digits
    address     TEXT NOT NULL,              -- as handed out
    status      TEXT NOT NULL CHECK (status IN ('waiting', 'received')),
    created_at  BIGINT NOT NULL,
    expires_at  BIGINT NOT NULL,            -- accepts a message until then
    received_at BIGINT,
    report_id   TEXT REFERENCES message_reports (id) ON DELETE SET NULL,
    CHECK ((status = 'waiting') = (received_at IS NULL))
);

CREATE INDEX inbox_tokens_by_expiry ON inbox_tokens (expires_at);
-- Deleting a report looks up the tokens pointing at it.
CREATE INDEX inbox_tokens_by_report ON inbox_tokens (report_id);
