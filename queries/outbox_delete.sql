-- outbox_delete: deletes outbox rows whose every ticket was published (or found
-- published before, or stale). Indexes: the outbox's primary key.
--
-- $1 outbox_ids  int8[]
DELETE FROM outbox WHERE outbox_id = ANY($1::int8[])
