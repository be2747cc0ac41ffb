-- Segue core schema (SQLite): users and their secrets, the catalog, session snapshots and
-- listening history. Kept column for column in step with ../postgres/0001_core.sql.

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
    token_version  INTEGER NOT NULL DEFAULT 0,
    created_at_ms  INTEGER NOT NULL
);

CREATE TABLE artists (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    genres      TEXT NOT NULL DEFAULT '',
    popularity  INTEGER NOT NULL DEFAULT 0,
    followers   INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE albums (
    id            TEXT PRIMARY KEY,
    artist_id     TEXT NOT NULL REFERENCES artists (id),
    name          TEXT NOT NULL,
    album_type    TEXT NOT NULL,
    release_date  TEXT NOT NULL,
    label         TEXT NOT NULL DEFAULT '',
    popularity    INTEGER NOT NULL DEFAULT 0,
    total_tracks  INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX albums_by_artist ON albums (artist_id);

CREATE TABLE tracks (
    id                TEXT PRIMARY KEY,
    album_id          TEXT NOT NULL REFERENCES albums (id),
    artist_id         TEXT NOT NULL REFERENCES artists (id),
    name              TEXT NOT NULL,
    duration_ms       INTEGER NOT NULL CHECK (duration_ms > 0),
    explicit          INTEGER NOT NULL DEFAULT 0,
    popularity        INTEGER NOT NULL DEFAULT 0,
    track_number      INTEGER NOT NULL DEFAULT 1,
    disc_number       INTEGER NOT NULL DEFAULT 1,
    isrc              TEXT,
    -- Comma-separated ISO 3166-1 alpha-2 codes where the track is licensed; NULL: everywhere.
    markets           TEXT,
    danceability      REAL,
    energy            REAL,
    musical_key       INTEGER,
    loudness          REAL,
    mode              INTEGER,
    speechiness       REAL,
    acousticness      REAL,
    instrumentalness  REAL,
    liveness          REAL,
    valence           REAL,
    tempo             REAL,
    time_signature    INTEGER
);
CREATE INDEX tracks_by_album ON tracks (album_id, disc_number, track_number);
CREATE INDEX tracks_by_artist ON tracks (artist_id, popularity DESC);

-- The last written state of each session, with the fencing epoch of the writer: a write from
-- an older epoch than the stored one is refused.
CREATE TABLE session_snapshots (
    user_id        TEXT PRIMARY KEY,
    epoch          INTEGER NOT NULL,
    seq            INTEGER NOT NULL,
    state          BLOB NOT NULL,
    updated_at_ms  INTEGER NOT NULL
);

CREATE TABLE listening_history (
    user_id      TEXT NOT NULL,
    track_id     TEXT NOT NULL,
    context_uri  TEXT,
    played_at_ms INTEGER NOT NULL
);
CREATE INDEX listening_history_by_user ON listening_history (user_id, played_at_ms DESC);
