-- The play-event outbox. `counted_at_ms`: when the play was first written (counted), the order
-- `segue plays export --since` reads events in (every write sets it: the embedded store has one
-- node, so no older node writes beside this one). `event_pending`: counted while this node
-- publishes play events (`--events-url`) and not yet acknowledged by JetStream; the publisher
-- clears it once the stream has the event, so a crash before that publishes it again under the
-- same message id (which JetStream drops as a duplicate).
-- Kept column for column in step with ../postgres/0010_play_events.sql.

ALTER TABLE plays ADD COLUMN counted_at_ms INTEGER;
UPDATE plays SET counted_at_ms = played_at_ms;
ALTER TABLE plays ADD COLUMN event_pending INTEGER NOT NULL DEFAULT 0;
CREATE INDEX plays_by_counted ON plays (counted_at_ms, id);
CREATE INDEX plays_events_pending ON plays (counted_at_ms) WHERE event_pending;
