-- outbox_sweep: the outbox rows due (relay_after passed: nobody published them on
-- the fast path, or they never had one), one result row per ticket, grouped by
-- outbox row. kind 'dispatch' goes to the department's stream (a batch row's
-- tickets each to the department it has now), 'callback' to hotline:callbacks. A
-- dispatch still goes out when its department already acted on the ticket (a
-- department may accept a reopened ticket it knows before the reopen reaches it):
-- every dispatch is delivered at least once. A ticket that has moved on (returned
-- before it was published, closed, called back) is stale: not published, and its
-- row goes all the same. At most $1 outbox rows, and only as
-- many of them as keep the tickets under $1 (the first row always: a batch row may
-- hold more), after row $2: a sweep cut short by the limit goes on after its last
-- row the next time, so rows that keep failing never hold back the rest.
-- Indexes: the outbox's primary key (outbox_id order); tickets' primary key.
--
-- $1 limit  int   most outbox rows, and tickets (relay_batch)
-- $2 after  int8  the last outbox_id of a sweep cut short; 0 from the start
-- > outbox_id          int8
-- > dept_code          text  the stream's department ('' for a callback)
-- > ticket_no          text
-- > category           text
-- > content            text
-- > caller_phone       text  in full: masked before it leaves the daemon
-- > district           text
-- > address            text
-- > priority           int2
-- > received_ms        int8
-- > deadline_ms        int8  0 = none
-- > reopen_count       int4
-- > state              text
-- > lat                float8  NULL: no location
-- > lon                float8
-- > kind               text  dispatch or callback
-- > return_count       int4
-- > callback_attempts  int4
-- > current            bool  false: stale, delete without publishing
-- > ticket_id          int8
-- > batch              bool  an intake batch's row (ticket_ids)
SELECT o.outbox_id, COALESCE(o.dept_code, t.dept_code, '') AS dept_code, t.ticket_no,
  COALESCE(t.category, '') AS category, t.content,
  COALESCE(t.caller_phone, '') AS caller_phone, COALESCE(t.district, '') AS district,
  COALESCE(t.address, '') AS address, t.priority,
  (extract(epoch FROM t.received_at) * 1000)::int8 AS received_ms,
  COALESCE((extract(epoch FROM t.deadline_at) * 1000)::int8, 0) AS deadline_ms,
  t.reopen_count, t.state, t.lat, t.lon, o.kind, t.return_count, t.callback_attempts,
  (o.kind = 'dispatch' AND t.state IN ('DISPATCHED', 'ACCEPTED', 'REPLIED')
    AND COALESCE(o.dept_code, t.dept_code) = t.dept_code)
   OR (o.kind = 'callback' AND t.state = 'REPLIED') AS current,
  t.ticket_id, o.ticket_ids IS NOT NULL AS batch
FROM (SELECT l.*, sum(l.n) OVER (ORDER BY l.outbox_id) - l.n AS before
  FROM (SELECT outbox_id, ticket_id, ticket_ids, kind, dept_code,
      COALESCE(cardinality(ticket_ids), 1) AS n
    FROM outbox WHERE relay_after <= now() AND outbox_id > $2
    ORDER BY outbox_id LIMIT $1) l) o
CROSS JOIN LATERAL unnest(COALESCE(o.ticket_ids, ARRAY[o.ticket_id])) AS x(ticket_id)
JOIN tickets t ON t.ticket_id = x.ticket_id
WHERE o.before < $1
ORDER BY o.outbox_id
