-- 007_outbox_due: when an outbox row is due for the sweeper, said in the row.
-- The relay publishes an intake batch's row from memory right after its commit
-- (the fast path); the sweeper must leave it alone meanwhile and take it only if
-- the fast path failed. Rows written by a transition or a rebuild have no fast
-- path and are due at once; a callback retried after an unreachable call waits a
-- little. That used to be coded as ages: the sweeper took rows older than 5 s, so
-- transitions back-dated their rows by a minute and rebuilds by an hour. Now each
-- row carries relay_after, and the sweeper takes the rows whose time has come.

ALTER TABLE outbox ADD COLUMN relay_after timestamptz NOT NULL DEFAULT now();
UPDATE outbox SET relay_after = created_at + interval '5 seconds' WHERE ticket_ids IS NOT NULL;
