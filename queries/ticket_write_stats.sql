-- ticket_write_stats: the statistics' rollup (stats_daily, 010_stats) of the moves
-- this transaction made with ticket_write.sql, one statement for all of them, last
-- before the commit (daemon/transition.c). Each job names its ticket and its write's
-- key; a move counts only when this transaction wrote it: the ticket's row carries
-- the key and was written by this transaction (xmin), and its linked tickets are
-- those whose audit row carries the key and was written by this transaction. So a
-- write that changed nothing (its version moved on), or a batch sent again after its
-- commit's confirmation was lost, counts nothing: a move is never counted twice. The
-- counters ($3, the state machine's) go on the ticket's rows (the department it is
-- counted to, $6, and its feed, channel, category and district), its linked
-- tickets' ($4) on theirs; the rows are added to in key order, in one statement, so
-- concurrent transactions lock them in one order. Indexes: tickets' primary key,
-- tickets_parent_idx, ticket_events' primary key (ticket_id, event_id),
-- stats_daily_pkey.
--
-- $1 ticket_ids      int8[]   the moved tickets, one per job
-- $2 write_keys      int8[]   each job's write key (ticket_write.sql $31)
-- $3 counters        int4[]   each move's ticket_counter bits (lib/ticket_state.h)
-- $4 child_counters  int4[]   ... and its linked tickets' move's (0 = none)
-- $5 on_time         bool[]   ACCEPT / REPLY: in time (lib/kpi.h); NULL: no verdict
-- $6 stats_depts     text[]   the department each move is counted to ('' = none)
-- $7 timezone        text     the rollup's day is the local date there
-- $8 hist_bounds     float8[] handling-time histogram bounds, seconds (lib/kpi.h)
-- > moves  int8  moves counted (the jobs' and their linked tickets')
WITH j AS (
  SELECT * FROM unnest($1::int8[], $2::int8[], $3::int4[], $4::int4[], $5::bool[],
    $6::text[]) AS j(ticket_id, write_key, c, child_c, on_time, dept_code)
), moved AS (
  -- Each job's ticket and linked tickets are looked up by key, one job at a time
  -- (OFFSET 0 keeps each lookup a subquery of its own): joined as a whole, the
  -- planner, guessing the jobs' number, would rather read all of tickets and
  -- ticket_events.
  SELECT (u.updated_at AT TIME ZONE $7::text)::date AS day, j.dept_code, u.feed_code,
    u.channel, u.category, u.district, j.c, j.on_time, u.updated_at - u.created_at AS took
  FROM j CROSS JOIN LATERAL (SELECT * FROM tickets u WHERE u.ticket_id = j.ticket_id
    AND u.last_write = j.write_key AND u.xmin = pg_current_xact_id()::xid OFFSET 0) u
  UNION ALL
  SELECT (k.updated_at AT TIME ZONE $7::text)::date, '', k.feed_code, k.channel,
    k.category, k.district, j.child_c, NULL, k.updated_at - k.created_at
  FROM j CROSS JOIN LATERAL (SELECT * FROM tickets k WHERE k.parent_ticket_id = j.ticket_id
    AND j.child_c <> 0 AND (SELECT true FROM ticket_events e
      WHERE e.ticket_id = k.ticket_id AND e.write_key = j.write_key
        AND e.xmin = pg_current_xact_id()::xid LIMIT 1) OFFSET 0) k
), md AS (
  -- a close other than on the call: its handling time and histogram bucket (never
  -- below 0: a daemon whose clock is behind the one that took the ticket counts 0)
  SELECT day, dept_code, feed_code, COALESCE(channel, '') AS channel,
    COALESCE(category, '') AS category, COALESCE(district, '') AS district, c,
    on_time, (c >> 16) & 1 = 1 AND (c >> 3) & 1 = 0 AS handled,
    GREATEST(floor(extract(epoch FROM took)), 0)::int8 AS seconds,
    width_bucket(GREATEST(floor(extract(epoch FROM took)), 0)::float8, $8::float8[]) AS bucket
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
SELECT count(*) AS moves FROM moved
