-- One new case as open_cases sends it: a batch goes as one array of these rows rather than an array per
-- column. asyncpg checks every element of an array parameter against Python's collection ABCs, once per
-- column of each row; a row type is checked once per row, and PostgreSQL reads one array, not ten.
-- The order is the store's (services/screening/store.py, _OPENED_COLUMNS).
CREATE TYPE case_write AS (
    application_id uuid,
    state          text,
    district       text,
    block          text,
    full_name      text,
    phone          text,
    email          text,
    submitted_at   timestamptz,
    status         text,
    traceparent    text
);
