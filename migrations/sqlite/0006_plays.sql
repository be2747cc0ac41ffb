-- Counted plays (streams), written behind by the node holding the session. One row per play,
-- keyed by an id derived from the session (the seq of the change that started the playback and
-- its start instant), so a play counted again after a takeover stays one row: the first write
-- counts it, later ones only update `ms_played` and `end_reason`. `private`: played in a private
-- session, counted for royalties but kept out of history and tops.
-- `listening_history` (track starts, before stream counting) stays for older nodes.
-- Kept column for column in step with ../postgres/0006_plays.sql.

CREATE TABLE plays (
    id            TEXT PRIMARY KEY,
    user_id       TEXT NOT NULL,
    track_id      TEXT NOT NULL,
    context_uri   TEXT,
    played_at_ms  INTEGER NOT NULL,
    ms_played     INTEGER NOT NULL,
    end_reason    TEXT,
    private       INTEGER NOT NULL
);
CREATE INDEX plays_by_user ON plays (user_id, played_at_ms DESC);
