-- The play-event outbox. `counted_at_ms`: when the play was first written (counted), the order
-- `segue plays export --since` reads events in; a play written by a node older than this one
-- takes the column's default, the database's clock. `event_pending`: counted while this node
-- publishes play events (`--events-url`) and not yet acknowledged by JetStream; the publisher
-- clears it once the stream has the event, so a crash before that publishes it again under the
-- same message id (which JetStream drops as a duplicate).
-- Kept column for column in step with ../sqlite/0010_play_events.sql.

ALTER TABLE plays ADD COLUMN counted_at_ms BIGINT;
UPDATE plays SET counted_at_ms = played_at_ms;
ALTER TABLE plays ALTER COLUMN counted_at_ms SET DEFAULT (extract(epoch FROM clock_timestamp()) * 1000)::BIGINT;
ALTER TABLE plays ALTER COLUMN counted_at_ms SET NOT NULL;
ALTER TABLE plays ADD COLUMN event_pending BOOLEAN NOT NULL DEFAULT FALSE;
CREATE INDEX plays_by_counted ON plays (counted_at_ms, id);
CREATE INDEX plays_events_pending ON plays (counted_at_ms) WHERE event_pending;
