-- outbox_delete: deletes outbox rows whose every ticket was published (or found
-- published before, or stale), into the Redis dataset of epoch $2; only while
-- PostgreSQL's bus_epoch still names that dataset. Once another daemon has
-- claimed a rebuild (a new epoch: Redis lost data, or failed over to a replica),
-- a publish into the old dataset may be lost with it (an old primary cut off from
-- its replicas, still taking writes until it is demoted): the rows stay, and the
-- sweeper publishes them into the new one. Indexes: the outbox's primary key;
-- bus_epoch's one row.
--
-- $1 outbox_ids  int8[]
-- $2 epoch       text    the epoch the publishes were made under (daemon/bus_epoch.c)
DELETE FROM outbox WHERE outbox_id = ANY($1::int8[])
  AND EXISTS (SELECT 1 FROM bus_epoch WHERE epoch = $2::text)
