-- intake_ids: draws ticket ids ahead of need. ticket_seq stays the one source of
-- ids across daemons; ids a daemon drew but never used are gaps, like any
-- sequence's.
--
-- $1 count  int  how many
-- > ticket_id  int8
SELECT nextval('ticket_seq') AS ticket_id FROM generate_series(1, $1::int)
