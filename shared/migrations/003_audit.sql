-- The audit (SPEC "Audit", shared/audit.py): one row per staff write, inserted by the use case in the
-- same transaction as the write, so a write that fails or is refused leaves none. Every service's
-- schema gets the table, as it gets the outbox, so there is one table shape and one query; reporting
-- takes no staff writes, so its table stays empty (intake's holds erasures, by an admin or the applicant).
-- before/after hold ids, states, statuses, scores and capacities: never a name, phone, email or token,
-- so erasure has nothing to scrub here.
CREATE TABLE audit (
    id     bigserial   PRIMARY KEY,
    -- The clock when the row is written (not the transaction's start): rows of one transaction differ.
    at     timestamptz NOT NULL DEFAULT clock_timestamp(),
    actor  jsonb       NOT NULL,  -- {"role", "states", "fingerprint"} (shared.audit.actor_of)
    action text        NOT NULL,
    target text        NOT NULL,
    before jsonb,
    after  jsonb
);
-- GET /v1/audit reads on from a moment: at, then id.
CREATE INDEX audit_at ON audit (at, id);

-- Append-only: a row is never changed or removed, whoever connects.
CREATE FUNCTION audit_is_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the audit is append-only: % refused', TG_OP;
END
$$;
CREATE TRIGGER audit_no_update_or_delete BEFORE UPDATE OR DELETE ON audit
    FOR EACH ROW EXECUTE FUNCTION audit_is_append_only();
CREATE TRIGGER audit_no_truncate BEFORE TRUNCATE ON audit
    FOR EACH STATEMENT EXECUTE FUNCTION audit_is_append_only();
