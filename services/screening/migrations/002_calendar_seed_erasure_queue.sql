-- The shipped election calendar, and its one source: the last polling day of the March-May 2021
-- assembly elections (Assam 3 phases, 27 Mar to 6 Apr; Kerala, Tamil Nadu and Puducherry one
-- phase each, 6 Apr; West Bengal 8 phases, 27 Mar to 29 Apr; counting was 2 May). Being history,
-- it defers nothing today. Seeded once, here, so that an entry an admin later clears stays
-- cleared across restarts; tests/integration/test_screening_calendar.py checks what is served.
INSERT INTO election_calendar (state, polling_ends) VALUES
    ('AS', '2021-04-06'),
    ('KL', '2021-04-06'),
    ('TN', '2021-04-06'),
    ('WB', '2021-04-29'),
    ('PY', '2021-04-06')
ON CONFLICT (state) DO NOTHING;

-- Applications erased, kept by id only: an erasure that arrives before its submission (they
-- travel on different topics) must still stop that submission from opening a case.
CREATE TABLE erased (
    application_id uuid        PRIMARY KEY,
    erased_at      timestamptz NOT NULL DEFAULT now()
);

-- The queue across every state (admins, interviewers without a scope), in queue order.
CREATE INDEX cases_queue ON cases ((status = 'deferred'), submitted_at, application_id)
    WHERE status IN ('queued', 'deferred');
-- The release check walks only the deferred cases.
CREATE INDEX cases_deferred ON cases (state) WHERE status = 'deferred';
-- Who is already booked when: a wave skips interviewers' taken slots.
CREATE INDEX cases_booked ON cases (interviewer, interview_at) WHERE status = 'scheduled';
