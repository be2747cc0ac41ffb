-- Offline sync: the devices a user keeps tracks on (at most 5), what each keeps (track, album
-- and playlist URIs, resolved at each sync), and every track a device was given, with the
-- device version that gave it and the one that took it away, so that a sync answers only what
-- changed since the version the device names.
-- Kept column for column in step with ../sqlite/0007_offline.sql.

CREATE TABLE offline_devices (
    user_id        TEXT NOT NULL REFERENCES users (id),
    device_id      TEXT NOT NULL,
    -- Grows at each sync that changes the device's tracks.
    version        BIGINT NOT NULL DEFAULT 0,
    -- The last sync: the licence runs from it. NULL before the first.
    synced_at_ms   BIGINT,
    created_at_ms  BIGINT NOT NULL,
    PRIMARY KEY (user_id, device_id)
);

CREATE TABLE offline_sources (
    user_id        TEXT NOT NULL,
    device_id      TEXT NOT NULL,
    uri            TEXT NOT NULL,
    -- The order the sources were added in: a sync gives their tracks in it.
    ordinal        BIGINT NOT NULL,
    added_at_ms    BIGINT NOT NULL,
    PRIMARY KEY (user_id, device_id, uri),
    FOREIGN KEY (user_id, device_id) REFERENCES offline_devices (user_id, device_id) ON DELETE CASCADE
);

CREATE TABLE offline_tracks (
    user_id          TEXT NOT NULL,
    device_id        TEXT NOT NULL,
    track_id         TEXT NOT NULL,
    added_version    BIGINT NOT NULL,
    -- NULL while the device holds it.
    removed_version  BIGINT,
    PRIMARY KEY (user_id, device_id, track_id),
    FOREIGN KEY (user_id, device_id) REFERENCES offline_devices (user_id, device_id) ON DELETE CASCADE
);
