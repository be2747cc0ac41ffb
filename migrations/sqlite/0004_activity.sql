-- Friend activity: the latest activity of each user that friends may see (what they play now or
-- played last, and whether they are online), written behind by the node holding the session.
-- A private session's listening is never written here.
-- Kept column for column in step with ../postgres/0004_activity.sql.

CREATE TABLE user_activity (
    user_id       TEXT PRIMARY KEY REFERENCES users (id),
    online        INTEGER NOT NULL,
    track_id      TEXT,
    context_uri   TEXT,
    timestamp_ms  INTEGER NOT NULL
);
