-- Placement owns candidates (selected, not erased), their seats, and unit capacities.
CREATE TABLE candidates (
    application_id uuid        PRIMARY KEY,
    state          text        NOT NULL,
    district       text        NOT NULL,
    block          text,
    score          integer     NOT NULL,
    submitted_at   timestamptz NOT NULL,
    level          text        NOT NULL DEFAULT 'none',
    unit_id        text,
    updated_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX candidates_state ON candidates (state);
CREATE INDEX candidates_unit ON candidates (unit_id) WHERE unit_id IS NOT NULL;

-- Applications erased before (or after) their result arrived: never placed again.
CREATE TABLE erased (
    application_id uuid PRIMARY KEY,
    erased_at      timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE level_capacity (
    level    text    PRIMARY KEY CHECK (level IN ('state', 'district', 'block')),
    capacity integer NOT NULL CHECK (capacity >= 0)
);
INSERT INTO level_capacity VALUES ('state', 50), ('district', 20), ('block', 10);

CREATE TABLE unit_capacity (
    unit_id  text    PRIMARY KEY,
    capacity integer NOT NULL CHECK (capacity >= 0)
);
