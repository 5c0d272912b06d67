-- The outbox relay listens on the channel "outbox" (shared/outbox.py). A statement that adds outbox rows
-- (INSERT or COPY) notifies it, delivered at commit like any NOTIFY, so a transaction that writes events
-- needs no NOTIFY statement and round trip of its own; the notifications of one transaction fold into one.
CREATE FUNCTION outbox_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('outbox', '');
    RETURN NULL;
END
$$;
CREATE TRIGGER outbox_notify AFTER INSERT ON outbox FOR EACH STATEMENT EXECUTE FUNCTION outbox_notify();
