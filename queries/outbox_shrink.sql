-- outbox_shrink: narrows a partly published intake batch row to the tickets not
-- yet published, so that later attempts (the sweeper's, maybe long after the
-- publish markers expired) never publish the others again.
--
-- $1 outbox_id   int8
-- $2 ticket_ids  int8[]  the tickets left to publish
UPDATE outbox SET ticket_ids = $2::int8[] WHERE outbox_id = $1 AND ticket_ids IS NOT NULL
