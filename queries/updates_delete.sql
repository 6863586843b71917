-- updates_delete: deletes TicketUpdates their feeds acknowledged (batched by the
-- server's janitor). Indexes: feed_updates' primary key.
--
-- $1 update_ids  int8[]
DELETE FROM feed_updates WHERE update_id = ANY($1::int8[])
