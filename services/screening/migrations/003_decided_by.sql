-- Who decided a case: the fingerprint of the staff token that recorded the result (shared.auth
-- token_fingerprint; never the token), so an interviewer can list "my decided cases".
ALTER TABLE cases ADD COLUMN decided_by text;
-- GET /v1/cases/decided: one token's decided cases, newest first, keyset-paged.
CREATE INDEX cases_decided_by ON cases (decided_by, decided_at DESC, application_id DESC)
    WHERE decided_by IS NOT NULL;
