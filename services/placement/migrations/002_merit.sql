-- Which screening.completed a candidate row comes from: the latest by (occurred_at, event_id) wins,
-- so a second result for one application gives the same row whatever order the two arrive in.
ALTER TABLE candidates ADD COLUMN result_at timestamptz NOT NULL DEFAULT '-infinity',
                       ADD COLUMN result_event uuid;

-- A state's candidates in merit order (score desc, submitted_at, application_id), covering what the
-- re-rank reads: one index-only scan gives them already ranked, without visiting the table.
CREATE INDEX candidates_merit ON candidates (state, score DESC, submitted_at, application_id)
    INCLUDE (district, block, level, unit_id);
DROP INDEX candidates_state;

-- States still to re-place after a change of the level capacities. Written in the transaction
-- that changes them and removed in the transaction that re-places the state, so a crash between
-- the two leaves the work recorded for the next drain (startup, or the periodic one).
CREATE TABLE states_to_replace (
    state     text        PRIMARY KEY,
    marked_at timestamptz NOT NULL DEFAULT now()
);
