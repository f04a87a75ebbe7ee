-- Whether a test address keeps its message's raw bytes beside the report
-- (the sender asked, keep_raw): 0 or 1, as sqlx::Any carries no boolean.
ALTER TABLE inbox_tokens ADD COLUMN keep_raw BIGINT NOT NULL DEFAULT 0;
