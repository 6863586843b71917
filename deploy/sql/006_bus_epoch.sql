-- 006_bus_epoch: the Redis dataset whose rebuild from PostgreSQL is owed or done.
-- Redis is a rebuildable view: when it loses its data (a restart without
-- persistence, FLUSHALL, a restore from an old snapshot), every open dispatch and
-- callback must be republished from here. The decision to rebuild and the rebuild
-- itself must survive the daemon dying between them, so the claim is made here, in
-- the rebuild's own transaction: a daemon that finds Redis's hotline:epoch
-- different from (or missing against) this row's epoch writes the rebuild's outbox
-- rows and a new epoch in one transaction, and only then sets hotline:epoch in
-- Redis. A crash before the commit leaves the row as it was (the next daemon
-- rebuilds); a crash after it leaves Redis without the new epoch (the next daemon
-- rebuilds again: the publish markers make the second copy a no-op).

CREATE TABLE bus_epoch (
    singleton   boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    epoch       text,          -- NULL: no rebuild done yet (any Redis epoch differs)
    rebuilt_at  timestamptz,
    rebuilt_by  text
);
INSERT INTO bus_epoch DEFAULT VALUES;
