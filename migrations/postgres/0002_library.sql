-- Genres, playlists (items with stable uids, collaborators, followers), the user's library
-- (saved tracks and albums), follows (artists and users) and private sessions.
-- Kept column for column in step with ../sqlite/0002_library.sql.

ALTER TABLE users ADD COLUMN private_session BOOLEAN NOT NULL DEFAULT FALSE;

CREATE TABLE genres (
    name TEXT PRIMARY KEY
);

CREATE TABLE artist_genres (
    artist_id TEXT NOT NULL REFERENCES artists (id),
    genre     TEXT NOT NULL REFERENCES genres (name),
    PRIMARY KEY (artist_id, genre)
);
CREATE INDEX artist_genres_by_genre ON artist_genres (genre);

CREATE TABLE playlists (
    id             TEXT PRIMARY KEY,
    owner_id       TEXT NOT NULL REFERENCES users (id),
    name           TEXT NOT NULL,
    description    TEXT NOT NULL DEFAULT '',
    public         BOOLEAN NOT NULL DEFAULT TRUE,
    collaborative  BOOLEAN NOT NULL DEFAULT FALSE,
    -- Grows with every edit; the snapshot id is derived from it.
    version        BIGINT NOT NULL DEFAULT 0,
    snapshot_id    TEXT NOT NULL,
    created_at_ms  BIGINT NOT NULL,
    updated_at_ms  BIGINT NOT NULL
);
CREATE INDEX playlists_by_owner ON playlists (owner_id);

-- Items are ordered by `position` (0-based, dense) and named by `uid`, stable for the life of
-- the item, so edits by several people compose.
CREATE TABLE playlist_items (
    playlist_id  TEXT NOT NULL REFERENCES playlists (id) ON DELETE CASCADE,
    uid          TEXT NOT NULL,
    position     BIGINT NOT NULL,
    track_id     TEXT NOT NULL REFERENCES tracks (id),
    added_by     TEXT REFERENCES users (id),
    added_at_ms  BIGINT NOT NULL,
    PRIMARY KEY (playlist_id, uid)
);
CREATE UNIQUE INDEX playlist_items_by_position ON playlist_items (playlist_id, position);

CREATE TABLE playlist_collaborators (
    playlist_id  TEXT NOT NULL REFERENCES playlists (id) ON DELETE CASCADE,
    user_id      TEXT NOT NULL REFERENCES users (id),
    PRIMARY KEY (playlist_id, user_id)
);

CREATE TABLE playlist_followers (
    playlist_id  TEXT NOT NULL REFERENCES playlists (id) ON DELETE CASCADE,
    user_id      TEXT NOT NULL REFERENCES users (id),
    followed_at_ms BIGINT NOT NULL,
    PRIMARY KEY (playlist_id, user_id)
);
CREATE INDEX playlist_followers_by_user ON playlist_followers (user_id, followed_at_ms);

CREATE TABLE saved_tracks (
    user_id     TEXT NOT NULL REFERENCES users (id),
    track_id    TEXT NOT NULL REFERENCES tracks (id),
    saved_at_ms BIGINT NOT NULL,
    PRIMARY KEY (user_id, track_id)
);
CREATE INDEX saved_tracks_by_time ON saved_tracks (user_id, saved_at_ms DESC);

CREATE TABLE saved_albums (
    user_id     TEXT NOT NULL REFERENCES users (id),
    album_id    TEXT NOT NULL REFERENCES albums (id),
    saved_at_ms BIGINT NOT NULL,
    PRIMARY KEY (user_id, album_id)
);
CREATE INDEX saved_albums_by_time ON saved_albums (user_id, saved_at_ms DESC);

CREATE TABLE followed_artists (
    user_id        TEXT NOT NULL REFERENCES users (id),
    artist_id      TEXT NOT NULL REFERENCES artists (id),
    followed_at_ms BIGINT NOT NULL,
    PRIMARY KEY (user_id, artist_id)
);

CREATE TABLE followed_users (
    user_id        TEXT NOT NULL REFERENCES users (id),
    followed_id    TEXT NOT NULL REFERENCES users (id),
    followed_at_ms BIGINT NOT NULL,
    PRIMARY KEY (user_id, followed_id)
);
CREATE INDEX followed_users_by_followed ON followed_users (followed_id);
