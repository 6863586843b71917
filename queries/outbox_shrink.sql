-- outbox_shrink: narrows a partly published intake batch row to the tickets not
-- yet published, so that later attempts (the sweeper's, maybe long after the
-- publish markers expired) never publish the others again; only while
-- PostgreSQL's bus_epoch still names the dataset they were published into ($3:
-- see outbox_delete.sql).
--
-- $1 outbox_id   int8
-- $2 ticket_ids  int8[]  the tickets left to publish
-- $3 epoch       text    the epoch the publishes were made under
UPDATE outbox SET ticket_ids = $2::int8[] WHERE outbox_id = $1 AND ticket_ids IS NOT NULL
  AND EXISTS (SELECT 1 FROM bus_epoch WHERE epoch = $3::text)
