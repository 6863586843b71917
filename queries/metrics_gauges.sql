-- metrics_gauges: the backlogs /metrics shows, counted in one statement every few
-- seconds (daemon/metrics.c): the outbox (rows, and the tickets they carry), the
-- desk, the open tickets past their deadline, and the TicketUpdates owed to feeds.
-- Indexes: tickets_desk_idx (the desk), tickets_deadline_idx (past the deadline);
-- outbox and feed_updates are small (deleted once relayed or acknowledged).
--
-- $1 now_ms  int8  the daemon's clock (unix ms)
-- > outbox_rows       int8
-- > outbox_tickets    int8
-- > pending_dispatch  int8
-- > escalated         int8
-- > past_deadline     int8  DISPATCHED or ACCEPTED, deadline passed
-- > updates_owed      int8
SELECT (SELECT count(*) FROM outbox) AS outbox_rows,
  (SELECT COALESCE(sum(COALESCE(cardinality(ticket_ids), 1)), 0) FROM outbox)::int8
    AS outbox_tickets,
  (SELECT count(*) FROM tickets WHERE state = 'PENDING_DISPATCH') AS pending_dispatch,
  (SELECT count(*) FROM tickets WHERE state = 'ESCALATED') AS escalated,
  (SELECT count(*) FROM tickets WHERE state IN ('DISPATCHED', 'ACCEPTED')
     AND deadline_at IS NOT NULL
     AND deadline_at < to_timestamp($1::float8 / 1000)) AS past_deadline,
  (SELECT count(*) FROM feed_updates) AS updates_owed
