-- intake: stores one batch of intake records in one statement (group commit).
--
-- One row per record comes back, in input order. ticket_id was drawn from
-- ticket_seq ahead of time (intake_ids.sql), so nothing is numbered here and every
-- later step joins on that integer. ticket_no is NULL only when the record was not
-- inserted and its key is not visible yet: another daemon (or an earlier record of
-- this batch) is inserting the same (feed, external_id) concurrently; the record is
-- then retried and finds the committed original. outbox_id is set for a new
-- DISPATCHED ticket: the one outbox row of every ticket the batch dispatched, due
-- for the sweeper only after the relay's fast path had its chance ($28).
-- The routing columns were decided in C (lib/route.c, lib/ticket_state.c); this
-- statement records both moves (INTAKE, then the routing event) in the audit table.
-- A repeat complaint (same caller and category as an open ticket in the window) is
-- linked to the oldest such ticket: only the database knows the parent, so the
-- statement applies the state machine's RECEIVED --LINK--> decision ($24, $26)
-- where it finds one, and moves the parent's version so that a move of the parent
-- racing this statement (its close) decides again and takes the child along. Every
-- time it writes is the batch's one instant ($27).
-- The statistics' rollup gets each new ticket's counters ($29, decided in C with
-- the routing; $30 for a ticket linked here), summed per row (the department's
-- total and its feed, channel, category and district: five rows a ticket) and
-- added in key order (two batches never wait in a cycle), in intake's own rows
-- (stats_intake_daily, 014_intake_rollup) of this session's slot: its backend's
-- process id modulo 16, so that batches of other connections do not wait on them.
-- Indexes: tickets_feed_external_key (ON CONFLICT, and a resend's lookup),
-- tickets_repeat_idx (the parent lookup), tickets' primary key (the parent's version),
-- stats_intake_daily_pkey.
--
-- $1 ticket_id      int8[]    drawn from ticket_seq (binary array)
-- $2 feed_code      text[]
-- $3 external_id    text[]
-- $4 received_ms    int8[]    unix ms (binary array)
-- $5 channel        text[]
-- $6 caller_phone   text[]
-- $7 caller_name    text[]
-- $8 category       text[]
-- $9 content        text[]
-- $10 district      text[]
-- $11 address       text[]
-- $12 lat           float8[]  NULL without a location (binary array)
-- $13 lon           float8[]  (binary array)
-- $14 priority      int2[]    (binary array)
-- $15 origin_number text[]
-- $16 state         text[]    the state the router decided
-- $17 dept_code     text[]    '' = none
-- $18 route_rule    text[]    '' = none
-- $19 route_event   text[]    ROUTE_MATCHED, ROUTE_NONE or DIRECT_CLOSE
-- $20 deadline_ms   int8[]    0 = none (binary array)
-- $21 answer        text[]    the reply of a ticket closed on the call, else ''
-- $22 actor         text[]    who took it, for the audit rows ('' = feed:FEED_CODE)
-- $23 timezone      text      the ticket number's date is taken there
-- $24 linked_state  text      what RECEIVED --LINK--> gives (LINKED)
-- $25 window_hours  int       repeat-complaint window; 0 = never link
-- $26 link_event    text      LINK
-- $27 at_ms         int8      the batch's instant (unix ms, daemon/clock.h)
-- $28 fast_path_ms  int8      the outbox row waits this long for the relay's fast path
-- $29 counters      int8[]    the routing move's ticket_counter bits (binary array)
-- $30 link_counters int8      the bits of RECEIVED --LINK--> (a ticket linked here)
-- > ord        int8    the record's place in the batch, from 1
-- > ticket_no  text    NULL: retry the record (a concurrent insert of its key)
-- > duplicate  bool    the key was stored before: ticket_no is the original's
-- > outbox_id  int8    new DISPATCHED tickets: the batch's outbox row
-- > state      text    the state stored (LINKED is decided here)
WITH cand AS (
  -- each record's would-be parent: the oldest open ticket of its caller and category
  SELECT n.ticket_id, (SELECT p.ticket_id FROM tickets p
      WHERE p.caller_phone = n.caller_phone AND p.category = n.category
        AND p.state <> 'CLOSED' AND p.parent_ticket_id IS NULL
        AND p.caller_phone IS NOT NULL
        AND p.created_at > to_timestamp($27::float8 / 1000) - make_interval(hours => $25::int)
      ORDER BY p.created_at LIMIT 1) AS parent_id
  FROM unnest($1::int8[], $6::text[], $8::text[], $19::text[])
    AS n(ticket_id, caller_phone, category, route_event)
  WHERE $25::int > 0 AND n.caller_phone <> '' AND n.category <> ''
    AND n.route_event <> 'DIRECT_CLOSE'
), bump AS (
  -- The parents move on one version. A parent's concurrent move (its close, its
  -- reply) then finds its version changed, reads again and sees the new child; a
  -- parent that closed meanwhile is not bumped (the row is re-checked after the
  -- close's lock) and its would-be child is not linked: it is routed as it is.
  UPDATE tickets t SET version = t.version + 1
  WHERE t.ticket_id IN (SELECT parent_id FROM cand WHERE parent_id IS NOT NULL)
    AND t.state <> 'CLOSED' AND t.parent_ticket_id IS NULL
  RETURNING t.ticket_id, t.reply
), ins AS (
  INSERT INTO tickets (ticket_id, ticket_no, feed_code, external_id, received_at,
    channel, caller_phone, caller_name, category, content, district, address, lat,
    lon, priority, origin_number, state, dept_code, route_rule, dispatched_at,
    deadline_at, reply, closed_at, resolved_on_call, parent_ticket_id, created_at,
    updated_at)
  -- at least 8 digits; lpad alone would cut a longer id down to 8
  SELECT n.ticket_id, c.day || '-' || lpad(n.ticket_id::text,
    greatest(8, length(n.ticket_id::text)), '0'),
    n.feed_code, n.external_id, to_timestamp(n.received_ms::float8 / 1000),
    NULLIF(n.channel, ''), NULLIF(n.caller_phone, ''), NULLIF(n.caller_name, ''),
    NULLIF(n.category, ''), n.content, NULLIF(n.district, ''),
    NULLIF(n.address, ''), n.lat, n.lon, n.priority, NULLIF(n.origin_number, ''),
    CASE WHEN l.parent_id IS NULL THEN n.state ELSE $24 END,
    CASE WHEN l.parent_id IS NULL THEN NULLIF(n.dept_code, '') END,
    CASE WHEN l.parent_id IS NULL THEN NULLIF(n.route_rule, '') END,
    CASE WHEN n.state = 'DISPATCHED' AND l.parent_id IS NULL THEN c.at END,
    CASE WHEN n.deadline_ms > 0 AND l.parent_id IS NULL
      THEN to_timestamp(n.deadline_ms::float8 / 1000) END,
    -- a repeat of a ticket already replied to carries that reply (PARENT_REPLIED
    -- will not come again for it)
    COALESCE(NULLIF(n.answer, ''), l.parent_reply),
    CASE WHEN n.state = 'CLOSED' THEN c.at END,
    n.route_event = 'DIRECT_CLOSE', l.parent_id, c.at, c.at
  FROM unnest($1::int8[], $2::text[], $3::text[], $4::int8[], $5::text[], $6::text[],
    $7::text[], $8::text[], $9::text[], $10::text[], $11::text[], $12::float8[],
    $13::float8[], $14::int2[], $15::text[], $16::text[], $17::text[], $18::text[],
    $19::text[], $20::int8[], $21::text[])
    AS n(ticket_id, feed_code, external_id, received_ms, channel, caller_phone,
    caller_name, category, content, district, address, lat, lon, priority,
    origin_number, state, dept_code, route_rule, route_event, deadline_ms, answer)
  -- the batch's one instant: every time this event writes, and its local day
  CROSS JOIN (SELECT to_timestamp($27::float8 / 1000) AS at,
    to_char(to_timestamp($27::float8 / 1000) AT TIME ZONE $23::text, 'YYYYMMDD') AS day) c
  LEFT JOIN (SELECT cand.ticket_id, cand.parent_id, bump.reply AS parent_reply FROM cand
    JOIN bump ON bump.ticket_id = cand.parent_id) l USING (ticket_id)
  ON CONFLICT (feed_code, external_id) DO NOTHING
  RETURNING ticket_id, ticket_no, feed_code, state, dept_code, route_rule, reply,
    parent_ticket_id, created_at, channel, category, district
), done AS (
  -- each stored ticket with what the batch said of it beyond the row, joined once
  SELECT ins.ticket_id, ins.feed_code, ins.state, ins.dept_code, ins.route_rule,
    ins.reply, ins.parent_ticket_id, ins.created_at, ins.channel, ins.category,
    ins.district, x.route_event,
    COALESCE(NULLIF(x.actor, ''), 'feed:' || ins.feed_code) AS actor,
    (CASE WHEN ins.parent_ticket_id IS NULL THEN x.counters ELSE $30::int8 END)::int4 AS c
  FROM ins JOIN unnest($1::int8[], $19::text[], $22::text[], $29::int8[])
    AS x(ticket_id, route_event, actor, counters) USING (ticket_id)
), ev AS (
  -- INTAKE, then the routing event, for each ticket (in that order: event_id)
  INSERT INTO ticket_events (ticket_id, kind, from_state, to_state, actor, detail, at,
    dept_code)
  SELECT d.ticket_id, e.kind, e.from_state, e.to_state, e.actor, e.detail,
    d.created_at, d.dept_code
  FROM done d CROSS JOIN LATERAL (VALUES
    ('INTAKE', NULL, 'RECEIVED', d.actor, NULL),
    (CASE WHEN d.parent_ticket_id IS NULL THEN d.route_event ELSE $26 END,
      'RECEIVED', d.state,
      CASE WHEN d.route_event = 'DIRECT_CLOSE' THEN d.actor ELSE 'router' END,
      COALESCE('parent:' || d.parent_ticket_id, d.route_rule, d.reply)))
    AS e(kind, from_state, to_state, actor, detail)
), st AS (
  -- bits: lib/ticket_state.h enum ticket_counter. Every ticket of the batch has the
  -- batch's instant, so one day; the tickets are summed per combination of their
  -- five keys first, and each sum then adds to its five rows.
  INSERT INTO stats_intake_daily AS r (dim, day, dept_code, value, slot,
    received, dispatched, pending, direct_closed, linked, closed)
  SELECT x.dim, (to_timestamp($27::float8 / 1000) AT TIME ZONE $23::text)::date,
    g.dept_code, x.value, (pg_backend_pid() % 16)::int2,
    sum(g.received), sum(g.dispatched), sum(g.pending),
    sum(g.direct_closed), sum(g.linked), sum(g.closed)
  FROM (SELECT COALESCE(dept_code, '') AS dept_code, feed_code,
      COALESCE(channel, '') AS channel, COALESCE(category, '') AS category,
      COALESCE(district, '') AS district,
      sum(c & 1) AS received, sum((c >> 1) & 1) AS dispatched,
      sum((c >> 2) & 1) AS pending, sum((c >> 3) & 1) AS direct_closed,
      sum((c >> 4) & 1) AS linked, sum((c >> 16) & 1) AS closed
    FROM done GROUP BY 1, 2, 3, 4, 5) g
  CROSS JOIN LATERAL (VALUES ('', ''), ('feed', g.feed_code),
    ('channel', g.channel), ('category', g.category), ('district', g.district)) x(dim, value)
  GROUP BY 1, 2, 3, 4, 5 ORDER BY 1, 2, 3, 4
  ON CONFLICT (dim, day, dept_code, value, slot) DO UPDATE SET
    received = r.received + EXCLUDED.received,
    dispatched = r.dispatched + EXCLUDED.dispatched,
    pending = r.pending + EXCLUDED.pending,
    direct_closed = r.direct_closed + EXCLUDED.direct_closed,
    linked = r.linked + EXCLUDED.linked,
    closed = r.closed + EXCLUDED.closed
), ob AS (
  -- one outbox row for every ticket this batch dispatched (005_batch_outbox)
  INSERT INTO outbox (ticket_ids, kind, relay_after)
  SELECT array_agg(ticket_id), 'dispatch', now() + make_interval(secs => $28::float8 / 1000)
  FROM ins WHERE state = 'DISPATCHED'
  HAVING count(*) > 0
  RETURNING outbox_id
)
-- A resend finds the original through the unique index (evaluated only for
-- records this statement did not insert).
SELECT k.ord,
  COALESCE(ins.ticket_no, (SELECT t.ticket_no FROM tickets t
    WHERE t.feed_code = k.feed_code AND t.external_id = k.external_id)) AS ticket_no,
  ins.ticket_id IS NULL AS duplicate,
  CASE WHEN ins.state = 'DISPATCHED' THEN (SELECT outbox_id FROM ob) END AS outbox_id,
  ins.state
FROM unnest($1::int8[], $2::text[], $3::text[]) WITH ORDINALITY
  AS k(ticket_id, feed_code, external_id, ord)
LEFT JOIN ins USING (ticket_id)
ORDER BY k.ord
