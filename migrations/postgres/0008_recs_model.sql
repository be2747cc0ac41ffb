-- Recommendations served from the store (issue 11): every trained model (`recs_models`, one
-- row written last, once all of its neighbours are: a model without its row is unfinished and
-- never read), its sparse item–item neighbour table (`recs_neighbours`: per track its top
-- neighbours, `id:score` pairs joined by commas, best first), each user's autoplay switch, and
-- the Discover Weekly list of each user for an ISO week, so that it stays the same all week.
-- Kept column for column in step with ../sqlite/0008_recs_model.sql.

CREATE TABLE recs_models (
    -- The instant training started, in ms: later models have larger ids.
    id             BIGINT PRIMARY KEY,
    method         TEXT NOT NULL,
    users          BIGINT NOT NULL,
    items          BIGINT NOT NULL,
    interactions   BIGINT NOT NULL,
    trained_by     TEXT NOT NULL,
    finished_at_ms BIGINT NOT NULL
);

CREATE TABLE recs_neighbours (
    model_id    BIGINT NOT NULL,
    track_id    TEXT NOT NULL,
    neighbours  TEXT NOT NULL,
    PRIMARY KEY (model_id, track_id)
);

CREATE TABLE recs_autoplay (
    user_id        TEXT PRIMARY KEY,
    enabled        BOOLEAN NOT NULL,
    updated_at_ms  BIGINT NOT NULL
);

CREATE TABLE recs_discover_weekly (
    user_id        TEXT NOT NULL,
    -- ISO week, e.g. `2026-W49`.
    week           TEXT NOT NULL,
    -- `track_id<TAB>reason` lines, in order.
    tracks         TEXT NOT NULL,
    created_at_ms  BIGINT NOT NULL,
    PRIMARY KEY (user_id, week)
);
