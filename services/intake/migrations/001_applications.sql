-- Intake owns applications. phone_hash (keyed HMAC of the normalized phone) is the dedupe key:
-- it outlives erasure so a re-application of an erased number is still a duplicate.
CREATE TABLE applications (
    application_id uuid        PRIMARY KEY,
    phone_hash     text        NOT NULL UNIQUE,
    phone          text,
    full_name      text,
    email          text,
    state          text        NOT NULL,
    district       text        NOT NULL,
    block          text,
    age            integer,
    details        jsonb,
    source         text,
    submitted_at   timestamptz NOT NULL,
    erased_at      timestamptz
);
CREATE INDEX applications_state ON applications (state);
