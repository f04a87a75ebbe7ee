-- When the domain audit last found a DKIM key at a learned selector
-- (seconds since the Unix epoch), NULL while none was found: a selector
-- proven by its key is asked before those only reports name.
ALTER TABLE dkim_selectors ADD COLUMN key_found_at BIGINT;
