-- 002_routing: routing and the department feed.
-- Tickets carry what the state machine (lib/ticket_state.c) tracks; rule sets are
-- kept in PostgreSQL as well as Redis, so a Redis that lost its data can be rebuilt;
-- TicketUpdates owed to feeds ("one way out") wait in feed_updates until acked.

ALTER TABLE tickets
    ADD COLUMN route_rule        text,
    ADD COLUMN return_count      integer NOT NULL DEFAULT 0,
    ADD COLUMN extend_count      integer NOT NULL DEFAULT 0,
    ADD COLUMN callback_attempts integer NOT NULL DEFAULT 0,
    ADD COLUMN rating            text,
    ADD COLUMN reply             text,
    ADD COLUMN dispatched_at     timestamptz,
    ADD COLUMN closed_at         timestamptz,
    -- optimistic concurrency: every change bumps it; a writer that read an older
    -- version re-reads and re-applies the state machine
    ADD COLUMN version           integer NOT NULL DEFAULT 0;

-- Open tickets by state and department (manual desk, rebuilds, supervisors).
CREATE INDEX tickets_open_idx ON tickets (state, dept_code) WHERE state <> 'CLOSED';

-- The department a dispatch goes to; 'rebuild' rows are republished at once.
-- Published rows are deleted (not marked), so the outbox holds only pending work
-- and needs no index beyond its primary key.
ALTER TABLE outbox ADD COLUMN dept_code text;
DROP INDEX outbox_unsent_idx;
ALTER TABLE outbox DROP COLUMN sent_at;

-- Every rule set a daemon has seen, by version (hotlinectl route load -> Redis -> here).
CREATE TABLE routing_rules (
    version    bigint PRIMARY KEY,
    rules      text NOT NULL,
    seen_at    timestamptz NOT NULL DEFAULT now()
);

-- TicketUpdates owed to the feed a ticket came from; deleted when the feed acks.
CREATE TABLE feed_updates (
    update_id    bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    feed_code    text NOT NULL,
    ticket_id    bigint NOT NULL,
    ticket_no    text NOT NULL,
    external_id  text NOT NULL,
    state        text NOT NULL,
    reply        text,
    at           timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX feed_updates_feed_idx ON feed_updates (feed_code, update_id);

-- Tickets taken in before routing existed were never routed: hand them to the
-- manual dispatch desk (with their audit row) and drop their obsolete outbox rows.
INSERT INTO ticket_events (ticket_id, kind, from_state, to_state, actor, detail)
SELECT ticket_id, 'ROUTE_NONE', 'RECEIVED', 'PENDING_DISPATCH', 'migration', '002_routing'
FROM tickets WHERE state = 'RECEIVED';
UPDATE tickets SET state = 'PENDING_DISPATCH', version = version + 1, updated_at = now()
WHERE state = 'RECEIVED';
DELETE FROM outbox WHERE kind = 'route';
