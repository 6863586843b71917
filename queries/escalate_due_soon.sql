-- escalate_due_soon: 督办, first step: marks open tickets whose deadline is near.
-- Claims up to $2 rows in deadline order (FOR UPDATE SKIP LOCKED: two daemons take
-- disjoint rows), sets the mark only where it is still unset (the re-check under
-- the lock makes it once per deadline), writes the audit row, returns what it
-- marked for the alerts. The statistics' rollup (stats_daily) counts the marks in
-- the same statement. Indexes: tickets_deadline_idx, stats_daily_pkey.
--
-- $1 due_soon_ms  int8  how near
-- $2 batch        int   most tickets per check
-- $3 at_ms        int8  now (daemon/clock.h)
-- $4 timezone     text  the rollup's day is the local date there
-- > ticket_no    text
-- > dept_code    text
-- > state        text
-- > deadline_ms  int8
WITH c AS (
  SELECT ticket_id FROM tickets
  WHERE state IN ('DISPATCHED', 'ACCEPTED') AND deadline_at IS NOT NULL
    AND deadline_at > to_timestamp($3::float8 / 1000)
    AND deadline_at <= to_timestamp(($3::int8 + $1::int8)::float8 / 1000)
    AND due_soon_at IS NULL
  ORDER BY deadline_at LIMIT $2 FOR UPDATE SKIP LOCKED
), u AS (
  UPDATE tickets t SET due_soon_at = to_timestamp($3::float8 / 1000) FROM c
  WHERE t.ticket_id = c.ticket_id AND t.due_soon_at IS NULL
  RETURNING t.ticket_id, t.ticket_no, t.dept_code, t.state, t.deadline_at, t.due_soon_at,
    t.feed_code, t.channel, t.category, t.district
), e AS (
  INSERT INTO ticket_events (ticket_id, kind, from_state, to_state, actor, detail, at,
    dept_code)
  SELECT ticket_id, 'DUE_SOON', state, state, 'watcher', deadline_at::text, due_soon_at, dept_code
  FROM u
), st AS (
  -- the statistics' rollup (010_stats), in key order
  INSERT INTO stats_daily AS r (dim, day, dept_code, value, due_soon)
  SELECT x.dim, (due_soon_at AT TIME ZONE $4::text)::date, COALESCE(dept_code, ''), x.value,
    count(*)
  FROM u CROSS JOIN LATERAL (VALUES ('', ''), ('feed', feed_code),
    ('channel', COALESCE(channel, '')), ('category', COALESCE(category, '')),
    ('district', COALESCE(district, ''))) x(dim, value)
  GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4
  ON CONFLICT (dim, day, dept_code, value) DO UPDATE SET
    due_soon = r.due_soon + EXCLUDED.due_soon
)
SELECT ticket_no, COALESCE(dept_code, '') AS dept_code, state,
  (extract(epoch FROM deadline_at) * 1000)::int8 AS deadline_ms
FROM u
