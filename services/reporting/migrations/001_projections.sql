-- Reporting keeps no personal data: ids, places, stages, timestamps and a keyed phone hash
-- (for the applicant's own status look-up; dropped on erasure).
CREATE TABLE applications (
    application_id uuid        PRIMARY KEY,
    state          text        NOT NULL,
    district       text,
    phone_hash     text,
    submitted_at   timestamptz,
    stage          text        NOT NULL DEFAULT 'submitted',
    stage_rank     integer     NOT NULL DEFAULT 0,
    stage_at       timestamptz NOT NULL DEFAULT '-infinity',
    level          text,
    unit_id        text,
    ever_scheduled boolean     NOT NULL DEFAULT false,
    outcome        text,
    erased         boolean     NOT NULL DEFAULT false,
    updated_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX applications_state ON applications (state, district);
