-- Outbox retention (shared/retention.py): published rows older than OUTBOX_RETENTION_DAYS keep their
-- envelope and lose their data, in id order; this one row says how far that has gone, so each round
-- starts where the last stopped instead of reading every trimmed row again.
CREATE TABLE outbox_trimmed (
    only_row   boolean PRIMARY KEY DEFAULT true CHECK (only_row),
    through_id bigint  NOT NULL
);
INSERT INTO outbox_trimmed (through_id) VALUES (0);
