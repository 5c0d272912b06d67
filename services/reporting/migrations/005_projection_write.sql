-- One projection as the save sends it: a batch goes as one array of these rows rather than an array per
-- column. asyncpg checks every element of an array parameter against Python's collection ABCs, once per
-- column of each row; a row type is checked once per row, and PostgreSQL reads one array, not seventeen.
-- The order is the store's (services/reporting/store.py): the id, Projection's fields, then the rest.
CREATE TYPE projection_write AS (
    application_id uuid,
    state          text,
    district       text,
    submitted_at   timestamptz,
    stage          text,
    stage_at       timestamptz,
    level          text,
    unit_id        text,
    ever_scheduled boolean,
    outcome        text,
    selected_at    timestamptz,
    placed_at      timestamptz,
    erased         boolean,
    purged         boolean,
    stage_rank     integer,
    phone_hash     text,
    new            boolean
);
