-- Counters that reads take as they are, kept by the consumer use case in the same transaction as the inbox
-- row and the application's projection (each event adds tallies(new) - tallies(old), domain.py).
-- A recount from `applications` gives the same numbers (tests/integration/test_reporting_counts.py).
-- Databases that ran 001's thin projection had no released data; their counters start at zero.
ALTER TABLE applications
    ADD COLUMN selected_at timestamptz,
    ADD COLUMN placed_at   timestamptz;

-- One row: the summary endpoint's numbers. `version` moves with every change, so a process can
-- tell cheaply whether anything changed since it last looked (services/reporting/live_view.py).
CREATE TABLE summary (
    id              boolean PRIMARY KEY DEFAULT true CHECK (id),
    applications    bigint NOT NULL DEFAULT 0,
    erased          bigint NOT NULL DEFAULT 0,
    scheduled       bigint NOT NULL DEFAULT 0,
    interviewed     bigint NOT NULL DEFAULT 0,
    selected        bigint NOT NULL DEFAULT 0,
    rejected        bigint NOT NULL DEFAULT 0,
    no_show         bigint NOT NULL DEFAULT 0,
    queued          bigint NOT NULL DEFAULT 0,
    deferred        bigint NOT NULL DEFAULT 0,
    awaiting_result bigint NOT NULL DEFAULT 0,
    placed          bigint NOT NULL DEFAULT 0,
    waitlisted      bigint NOT NULL DEFAULT 0,
    level_state     bigint NOT NULL DEFAULT 0,
    level_district  bigint NOT NULL DEFAULT 0,
    level_block     bigint NOT NULL DEFAULT 0,
    version         bigint NOT NULL DEFAULT 0,
    updated_at      timestamptz NOT NULL DEFAULT now()
);
INSERT INTO summary DEFAULT VALUES;

CREATE TABLE state_counts (
    state        text   PRIMARY KEY,
    applications bigint NOT NULL DEFAULT 0,
    interviewed  bigint NOT NULL DEFAULT 0,
    selected     bigint NOT NULL DEFAULT 0,
    placed       bigint NOT NULL DEFAULT 0
);

CREATE TABLE district_counts (
    state        text   NOT NULL,
    district     text   NOT NULL,
    applications bigint NOT NULL DEFAULT 0,
    interviewed  bigint NOT NULL DEFAULT 0,
    selected     bigint NOT NULL DEFAULT 0,
    placed       bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (state, district)
);

-- Days are IST calendar days (shared.india_time).
CREATE TABLE daily_counts (
    day          date   NOT NULL,
    state        text   NOT NULL,
    applications bigint NOT NULL DEFAULT 0,
    selected     bigint NOT NULL DEFAULT 0,
    placed       bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (day, state)
);
