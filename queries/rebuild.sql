-- rebuild: Redis lost data: claims the rebuild and writes its rows in one
-- transaction. The claim moves bus_epoch from the epoch read ($2) to a new one
-- ($1); only when it did (another daemon may have claimed meanwhile: then nothing
-- is written and the caller starts over) are the rows for what Redis lost written,
-- due at once: every open dispatch and callback. Even one a pending outbox row
-- would publish anyway: that row may be one the relay already published, into the
-- Redis that was lost, and is about to delete (the relay's DELETE commits after
-- this). Publishing twice is harmless: the second finds the first's publish marker.
-- Indexes: bus_epoch's key; a scan of tickets by state (rare: after a data loss).
--
-- $1 new_epoch  text
-- $2 old_epoch  text  as read; NULL for none
-- $3 at_ms      int8  now (daemon/clock.h)
-- $4 rebuilt_by text  who (for people reading bus_epoch)
-- > claimed  int8  1 when this call claimed the rebuild, else 0
-- > queued   int8  outbox rows written
WITH claim AS (
  UPDATE bus_epoch SET epoch = $1, rebuilt_at = to_timestamp($3::float8 / 1000),
    rebuilt_by = $4
  WHERE epoch IS NOT DISTINCT FROM $2::text
  RETURNING 1
), r AS (
  INSERT INTO outbox (ticket_id, kind, dept_code)
  SELECT t.ticket_id, CASE WHEN t.state = 'REPLIED' THEN 'callback' ELSE 'dispatch' END,
    CASE WHEN t.state = 'DISPATCHED' THEN t.dept_code END
  FROM tickets t
  WHERE EXISTS (SELECT 1 FROM claim)
    AND ((t.state = 'DISPATCHED' AND t.dept_code IS NOT NULL) OR t.state = 'REPLIED')
  RETURNING 1
)
SELECT (SELECT count(*) FROM claim) AS claimed, (SELECT count(*) FROM r) AS queued
