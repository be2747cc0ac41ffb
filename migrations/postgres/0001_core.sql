-- Segue core schema (PostgreSQL): users and their secrets, the catalog, session snapshots and
-- listening history. Kept column for column in step with ../sqlite/0001_core.sql.

CREATE TABLE server_secrets (
    name   TEXT PRIMARY KEY,
    secret TEXT NOT NULL
);

CREATE TABLE users (
    id             TEXT PRIMARY KEY,
    username       TEXT NOT NULL UNIQUE,
    password_hash  TEXT NOT NULL,
    display_name   TEXT NOT NULL,
    product        TEXT NOT NULL DEFAULT 'free' CHECK (product IN ('free', 'premium')),
    country        TEXT NOT NULL DEFAULT 'US',
    token_version  BIGINT NOT NULL DEFAULT 0,
    created_at_ms  BIGINT NOT NULL
);

CREATE TABLE artists (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    genres      TEXT NOT NULL DEFAULT '',
    popularity  BIGINT NOT NULL DEFAULT 0,
    followers   BIGINT NOT NULL DEFAULT 0
);

CREATE TABLE albums (
    id            TEXT PRIMARY KEY,
    artist_id     TEXT NOT NULL REFERENCES artists (id),
    name          TEXT NOT NULL,
    album_type    TEXT NOT NULL,
    release_date  TEXT NOT NULL,
    label         TEXT NOT NULL DEFAULT '',
    popularity    BIGINT NOT NULL DEFAULT 0,
    total_tracks  BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX albums_by_artist ON albums (artist_id);

CREATE TABLE tracks (
    id                TEXT PRIMARY KEY,
    album_id          TEXT NOT NULL REFERENCES albums (id),
    artist_id         TEXT NOT NULL REFERENCES artists (id),
    name              TEXT NOT NULL,
    duration_ms       BIGINT NOT NULL CHECK (duration_ms > 0),
    explicit          BOOLEAN NOT NULL DEFAULT FALSE,
    popularity        BIGINT NOT NULL DEFAULT 0,
    track_number      BIGINT NOT NULL DEFAULT 1,
    disc_number       BIGINT NOT NULL DEFAULT 1,
    isrc              TEXT,
    -- Comma-separated ISO 3166-1 alpha-2 codes where the track is licensed; NULL: everywhere.
    markets           TEXT,
    danceability      DOUBLE PRECISION,
    energy            DOUBLE PRECISION,
    musical_key       BIGINT,
    loudness          DOUBLE PRECISION,
    mode              BIGINT,
    speechiness       DOUBLE PRECISION,
    acousticness      DOUBLE PRECISION,
    instrumentalness  DOUBLE PRECISION,
    liveness          DOUBLE PRECISION,
    valence           DOUBLE PRECISION,
    tempo             DOUBLE PRECISION,
    time_signature    BIGINT
);
CREATE INDEX tracks_by_album ON tracks (album_id, disc_number, track_number);
CREATE INDEX tracks_by_artist ON tracks (artist_id, popularity DESC);

-- The last written state of each session, with the fencing epoch of the writer: a write from
-- an older epoch than the stored one is refused.
CREATE TABLE session_snapshots (
    user_id        TEXT PRIMARY KEY,
    epoch          BIGINT NOT NULL,
    seq            BIGINT NOT NULL,
    state          BYTEA NOT NULL,
    updated_at_ms  BIGINT NOT NULL
);

CREATE TABLE listening_history (
    user_id      TEXT NOT NULL,
    track_id     TEXT NOT NULL,
    context_uri  TEXT,
    played_at_ms BIGINT NOT NULL
);
CREATE INDEX listening_history_by_user ON listening_history (user_id, played_at_ms DESC);
