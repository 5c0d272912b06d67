-- How each case ended, as screening.completed tells intake: the id, the outcome and when, nothing else.
-- The retention purge (SPEC "Operations") erases applications that ended rejected or no_show long enough ago.
CREATE TABLE case_outcomes (
    application_id uuid        PRIMARY KEY,
    outcome        text        NOT NULL CHECK (outcome IN ('selected', 'rejected', 'no_show')),
    ended_at       timestamptz NOT NULL
);
CREATE INDEX case_outcomes_purgeable ON case_outcomes (ended_at) WHERE outcome IN ('rejected', 'no_show');
