-- Screening owns cases (one per application) and the election calendar.
CREATE TABLE cases (
    application_id uuid        PRIMARY KEY,
    state          text        NOT NULL,
    district       text        NOT NULL,
    block          text,
    full_name      text,
    phone          text,
    email          text,
    submitted_at   timestamptz NOT NULL,
    status         text        NOT NULL CHECK (status IN
                       ('queued', 'deferred', 'scheduled', 'selected', 'rejected', 'no_show', 'erased')),
    interview_at   timestamptz,
    interviewer    text,
    score          integer,
    rubric         jsonb,
    decided_at     timestamptz,
    updated_at     timestamptz NOT NULL DEFAULT now()
);
-- The queue: waiting cases of a state, not deferred first, oldest first.
CREATE INDEX cases_waiting ON cases (state, (status = 'deferred'), submitted_at, application_id)
    WHERE status IN ('queued', 'deferred');

CREATE TABLE election_calendar (
    state        text PRIMARY KEY,
    polling_ends date NOT NULL,
    updated_at   timestamptz NOT NULL DEFAULT now()
);
