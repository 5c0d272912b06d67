-- The relay's work list apart from the outbox rows: one small row per event not yet relayed, deleted
-- in the transaction that relays it. Marking a 700-byte outbox row published wrote a new version of the
-- whole row and of its index entries (the partial index on unpublished rows named the column), which
-- made the marks PostgreSQL's largest cost in a bulk import. An outbox row is published when it has no
-- row here; every INSERT or COPY into the outbox adds them, by this statement trigger, so no writer can
-- forget, and notifies the relay (delivered at commit; the notifications of a transaction fold into one).
-- The channel is the schema's own, "outbox.<schema>" (shared.outbox.notify_channel): channels span the
-- database, and on one channel every service's relay woke for every other service's commits, an empty
-- publish round each time, back to back under a steady stream of single applications.
CREATE TABLE outbox_pending (id bigint PRIMARY KEY);
INSERT INTO outbox_pending SELECT id FROM outbox WHERE published_at IS NULL;
DROP INDEX outbox_unpublished;
ALTER TABLE outbox DROP COLUMN published_at;

DROP TRIGGER outbox_notify ON outbox;
DROP FUNCTION outbox_notify();
CREATE FUNCTION outbox_queue() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO outbox_pending SELECT id FROM added;
    PERFORM pg_notify('outbox.' || TG_TABLE_SCHEMA, '');
    RETURN NULL;
END
$$;
CREATE TRIGGER outbox_queue AFTER INSERT ON outbox REFERENCING NEW TABLE AS added
    FOR EACH STATEMENT EXECUTE FUNCTION outbox_queue();
