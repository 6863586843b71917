-- ticket_write: stores one move of one ticket, as the state machine decided it
-- (lib/ticket_state.h: the next status and struct ticket_effects): the ticket's new
-- status, its audit row, the TicketUpdate owed to its feed, the outbox row the new
-- state needs (a dispatch for a department, a callback for an agent), and the same
-- move of its linked repeat complaints (and, for a duplicate closed from the desk,
-- links it to the ticket it duplicates, which it then follows). The UPDATE carries
-- "AND version = $2", so nothing is written when someone changed the ticket since
-- it was read (the caller reads and decides again); every other part selects from
-- its RETURNING. This statement decides nothing: each effect is a parameter. Every
-- time it writes is the move's instant ($16). The statistics' rollup (stats_daily, 010_stats) gets the
-- move's counters ($32, the state machine's) on the ticket's rows (its department's
-- total and its feed, channel, category and district) and its linked tickets' ($33)
-- on theirs, in key order; the audit rows carry the department the move is counted
-- to ($35) and the timeliness verdict ($34). A write that committed but whose
-- confirmation was lost changes nothing when sent again (its version moved on) and
-- the re-read finds its key ($31): a move is never counted twice. Indexes: tickets'
-- primary key and ticket_no key, tickets_parent_idx, stats_daily_pkey.
--
-- $1 ticket_id          int8
-- $2 version            int4    as read
-- $3 state              text    the new state
-- $4 dept_code          text    '' = none
-- $5 deadline_ms        int8    0 = none
-- $6 return_count       int4
-- $7 reopen_count       int4
-- $8 extend_count       int4
-- $9 callback_attempts  int4
-- $10 rating            text    '' = none
-- $11 reply             text    NULL keeps the stored reply
-- $12 event             text    the audit row's kind
-- $13 from_state        text
-- $14 actor             text    dept:CODE, agent:ID, ...
-- $15 detail            text    reason, reply, note; NULL = none
-- $16 at_ms             int8    the move's instant (daemon/clock.h)
-- $17 reset_marks       bool    the deadline moved or went: due-soon and overdue marks go
-- $18 set_dispatched    bool    dispatched_at = the instant
-- $19 set_closed        bool    closed_at = the instant
-- $20 feed_update       bool    the ticket's feed is told
-- $21 update_reply      bool    ... with the reply text
-- $22 outbox_kind       text    '' none, dispatch (to dept_code) or callback
-- $23 outbox_delay_ms   int8    the outbox row is due after this long
-- $24 child_state       text    linked repeat complaints move to it ('' = they stay)
-- $25 child_event       text    ... by this event
-- $26 child_reply       bool    ... sharing the reply
-- $27 child_closed      bool    ... closed at the instant
-- $28 quiet_feeds       text[]  the feeds owed no TicketUpdates (the agents', Open311
--                               clients': no connection of theirs takes them)
-- $29 ruled             bool    dispatched by a ruling: no RETURN
-- $30 parent_no         text    DESK_DUPLICATE: the ticket it joins ('' = none); it must
--                               still be open and not linked itself, else nothing is
--                               written; its version moves, so a concurrent move of it
--                               decides again and takes this new child along
-- $31 write_key         int8    this write's key, unique per transition (kept in tickets.last_write
--                               and in its audit row, 013): found on a
--                               re-read, it says the write committed (011_write_key)
-- $32 counters          int4    the move's ticket_counter bits (lib/ticket_state.h)
-- $33 child_counters    int4    ... and its linked tickets' move's
-- $34 on_time           bool    ACCEPT / REPLY: in time (lib/kpi.h); NULL: no verdict
-- $35 stats_dept        text    the department the move is counted to ('' = none)
-- $36 timezone          text    the rollup's day is the local date there
-- $37 hist_bounds       float8[] handling-time histogram bounds, seconds (lib/kpi.h)
-- > feed_code  text  the feed the ticket came from; no row: the version changed
WITH p AS (
  UPDATE tickets SET version = version + 1
  WHERE $30 <> '' AND ticket_no = $30 AND state NOT IN ('CLOSED', 'LINKED')
    AND parent_ticket_id IS NULL AND ticket_id <> $1
  RETURNING ticket_id, reply
), u AS (
  UPDATE tickets SET state = $3, dept_code = NULLIF($4, ''),
    deadline_at = CASE WHEN $5::int8 = 0 THEN NULL
      ELSE to_timestamp($5::int8::float8 / 1000) END,
    return_count = $6, reopen_count = $7, extend_count = $8, callback_attempts = $9,
    rating = NULLIF($10, ''), reply = COALESCE($11, (SELECT reply FROM p), reply),
    ruled = $29, last_write = $31,
    parent_ticket_id = CASE WHEN $30 <> '' THEN (SELECT ticket_id FROM p)
      ELSE parent_ticket_id END,
    closed_at = CASE WHEN $19 THEN to_timestamp($16::float8 / 1000) ELSE closed_at END,
    dispatched_at = CASE WHEN $18 THEN to_timestamp($16::float8 / 1000)
      ELSE dispatched_at END,
    due_soon_at = CASE WHEN $17 THEN NULL ELSE due_soon_at END,
    overdue_at = CASE WHEN $17 THEN NULL ELSE overdue_at END,
    version = version + 1, updated_at = to_timestamp($16::float8 / 1000)
  WHERE ticket_id = $1 AND version = $2 AND ($30 = '' OR EXISTS (SELECT 1 FROM p))
  RETURNING ticket_id, ticket_no, feed_code, external_id, state, reply, dept_code,
    updated_at, created_at, channel, category, district
), e AS (
  INSERT INTO ticket_events (ticket_id, kind, from_state, to_state, actor, detail, at,
    dept_code, on_time, write_key)
  SELECT ticket_id, $12, $13, state, $14, $15, updated_at, NULLIF($35, ''), $34, $31 FROM u
), f AS (
  INSERT INTO feed_updates (feed_code, ticket_id, ticket_no, external_id, state, reply, at)
  SELECT feed_code, ticket_id, ticket_no, external_id, state,
    CASE WHEN $21 THEN reply END, updated_at
  FROM u WHERE $20 AND feed_code <> ALL($28::text[])
), o AS (
  INSERT INTO outbox (ticket_id, kind, dept_code, relay_after)
  SELECT ticket_id, $22, CASE WHEN $22 = 'dispatch' THEN dept_code END,
    now() + make_interval(secs => $23::float8 / 1000)
  FROM u WHERE $22 <> ''
), k AS (
  UPDATE tickets k SET state = $24,
    reply = CASE WHEN $26 THEN u.reply ELSE k.reply END,
    closed_at = CASE WHEN $27 THEN u.updated_at ELSE k.closed_at END,
    version = k.version + 1, updated_at = u.updated_at
  FROM u WHERE $24 <> '' AND k.parent_ticket_id = u.ticket_id AND k.state = 'LINKED'
  RETURNING k.ticket_id, k.ticket_no, k.feed_code, k.external_id, k.state, k.reply,
    u.ticket_no AS parent_no, k.updated_at, k.created_at, k.channel, k.category,
    k.district
), ke AS (
  INSERT INTO ticket_events (ticket_id, kind, from_state, to_state, actor, detail, at)
  SELECT ticket_id, $25, 'LINKED', state, $14, 'parent:' || parent_no, updated_at FROM k
), kf AS (
  INSERT INTO feed_updates (feed_code, ticket_id, ticket_no, external_id, state, reply, at)
  SELECT feed_code, ticket_id, ticket_no, external_id, state, reply, updated_at FROM k
  WHERE feed_code <> ALL($28::text[])
), moved AS (
  SELECT (updated_at AT TIME ZONE $36::text)::date AS day, $35::text AS dept_code,
    feed_code, channel, category, district, $32::int4 AS c, $34::bool AS on_time,
    updated_at - created_at AS took
  FROM u
  UNION ALL
  SELECT (updated_at AT TIME ZONE $36::text)::date, '', feed_code, channel, category,
    district, $33::int4, NULL, updated_at - created_at
  FROM k WHERE $33::int4 <> 0
), md AS (
  -- a close other than on the call: its handling time and histogram bucket (never
  -- below 0: a daemon whose clock is behind the one that took the ticket counts 0)
  SELECT day, dept_code, feed_code, COALESCE(channel, '') AS channel,
    COALESCE(category, '') AS category, COALESCE(district, '') AS district, c,
    on_time, (c >> 16) & 1 = 1 AND (c >> 3) & 1 = 0 AS handled,
    GREATEST(floor(extract(epoch FROM took)), 0)::int8 AS seconds,
    width_bucket(GREATEST(floor(extract(epoch FROM took)), 0)::float8, $37::float8[]) AS bucket
  FROM moved
), st AS (
  -- bits: lib/ticket_state.h enum ticket_counter; columns: 010_stats
  INSERT INTO stats_daily AS r
  SELECT x.dim, day, dept_code, x.value,
    sum(c & 1), sum((c >> 1) & 1), sum((c >> 2) & 1), sum((c >> 3) & 1),
    sum((c >> 4) & 1), sum((c >> 5) & 1), sum((c >> 6) & 1), sum((c >> 7) & 1),
    sum((c >> 8) & 1), sum((c >> 9) & 1), sum((c >> 10) & 1), sum((c >> 11) & 1),
    sum((c >> 12) & 1), sum((c >> 13) & 1), sum((c >> 14) & 1), sum((c >> 15) & 1),
    sum((c >> 16) & 1),
    count(*) FILTER (WHERE (c >> 5) & 1 = 1 AND on_time),
    count(*) FILTER (WHERE (c >> 5) & 1 = 1 AND NOT on_time),
    count(*) FILTER (WHERE (c >> 8) & 1 = 1 AND on_time),
    count(*) FILTER (WHERE (c >> 8) & 1 = 1 AND NOT on_time),
    0, 0,
    count(*) FILTER (WHERE handled),
    COALESCE(sum(seconds) FILTER (WHERE handled), 0),
    count(*) FILTER (WHERE handled AND bucket = 0),
    count(*) FILTER (WHERE handled AND bucket = 1),
    count(*) FILTER (WHERE handled AND bucket = 2),
    count(*) FILTER (WHERE handled AND bucket = 3),
    count(*) FILTER (WHERE handled AND bucket = 4),
    count(*) FILTER (WHERE handled AND bucket = 5),
    count(*) FILTER (WHERE handled AND bucket = 6),
    count(*) FILTER (WHERE handled AND bucket = 7),
    count(*) FILTER (WHERE handled AND bucket = 8),
    count(*) FILTER (WHERE handled AND bucket = 9),
    count(*) FILTER (WHERE handled AND bucket = 10),
    count(*) FILTER (WHERE handled AND bucket = 11),
    count(*) FILTER (WHERE handled AND bucket = 12),
    count(*) FILTER (WHERE handled AND bucket = 13),
    count(*) FILTER (WHERE handled AND bucket = 14),
    count(*) FILTER (WHERE handled AND bucket = 15)
  FROM md CROSS JOIN LATERAL (VALUES ('', ''), ('feed', feed_code),
    ('channel', channel), ('category', category), ('district', district)) x(dim, value)
  GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4
  ON CONFLICT (dim, day, dept_code, value) DO UPDATE SET
    received = r.received + EXCLUDED.received,
    dispatched = r.dispatched + EXCLUDED.dispatched,
    pending = r.pending + EXCLUDED.pending,
    direct_closed = r.direct_closed + EXCLUDED.direct_closed,
    linked = r.linked + EXCLUDED.linked,
    accepted = r.accepted + EXCLUDED.accepted,
    returned = r.returned + EXCLUDED.returned,
    escalated = r.escalated + EXCLUDED.escalated,
    replied = r.replied + EXCLUDED.replied,
    extended = r.extended + EXCLUDED.extended,
    reopened = r.reopened + EXCLUDED.reopened,
    callback_calls = r.callback_calls + EXCLUDED.callback_calls,
    satisfied = r.satisfied + EXCLUDED.satisfied,
    basically_satisfied = r.basically_satisfied + EXCLUDED.basically_satisfied,
    unsatisfied = r.unsatisfied + EXCLUDED.unsatisfied,
    unrated = r.unrated + EXCLUDED.unrated,
    closed = r.closed + EXCLUDED.closed,
    accepted_on_time = r.accepted_on_time + EXCLUDED.accepted_on_time,
    accepted_late = r.accepted_late + EXCLUDED.accepted_late,
    replied_on_time = r.replied_on_time + EXCLUDED.replied_on_time,
    replied_late = r.replied_late + EXCLUDED.replied_late,
    handled = r.handled + EXCLUDED.handled,
    handled_seconds = r.handled_seconds + EXCLUDED.handled_seconds,
    hist_1h = r.hist_1h + EXCLUDED.hist_1h, hist_2h = r.hist_2h + EXCLUDED.hist_2h,
    hist_4h = r.hist_4h + EXCLUDED.hist_4h, hist_8h = r.hist_8h + EXCLUDED.hist_8h,
    hist_12h = r.hist_12h + EXCLUDED.hist_12h, hist_1d = r.hist_1d + EXCLUDED.hist_1d,
    hist_2d = r.hist_2d + EXCLUDED.hist_2d, hist_3d = r.hist_3d + EXCLUDED.hist_3d,
    hist_4d = r.hist_4d + EXCLUDED.hist_4d, hist_5d = r.hist_5d + EXCLUDED.hist_5d,
    hist_7d = r.hist_7d + EXCLUDED.hist_7d, hist_10d = r.hist_10d + EXCLUDED.hist_10d,
    hist_15d = r.hist_15d + EXCLUDED.hist_15d, hist_30d = r.hist_30d + EXCLUDED.hist_30d,
    hist_60d = r.hist_60d + EXCLUDED.hist_60d, hist_more = r.hist_more + EXCLUDED.hist_more
)
SELECT feed_code FROM u
