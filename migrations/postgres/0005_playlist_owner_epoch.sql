-- The fencing epoch of the cluster node whose actor owns the playlist (0: never placed, as on a
-- single node). A node that takes a playlist over claims it with a higher epoch; an edit written
-- under an older one is refused, so a stale owner can never write after its successor began.
-- Kept column for column in step with ../sqlite/0005_playlist_owner_epoch.sql.

ALTER TABLE playlists ADD COLUMN owner_epoch BIGINT NOT NULL DEFAULT 0;
