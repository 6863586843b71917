-- stats_stock: the open side of a period's reconciliation, from tickets (not from
-- the rollup, so that the balance checks the rollup): tickets open at the start of
-- the local day $1 (carried over) and at the end of the local day $2. A ticket is
-- open at an instant when it was created before it and not closed before it:
-- still open now, or closed at or after it. The cost grows with the tickets open
-- now and those closed since the instant. Indexes: tickets_open_idx (open now),
-- tickets_closed_idx (closed since).
-- for: hotline-stats
--
-- $1 from_day  date
-- $2 to_day    date
-- $3 timezone  text  [postgres] timezone
-- > carried   int8  open at the start of from_day
-- > open_end  int8  open at the end of to_day
WITH b AS (
  SELECT $1::date::timestamp AT TIME ZONE $3::text AS t0,
    ($2::date + 1)::timestamp AT TIME ZONE $3::text AS t1
), o AS (
  SELECT count(*) FILTER (WHERE t.created_at < b.t0) AS open0,
    count(*) FILTER (WHERE t.created_at < b.t1) AS open1
  FROM tickets t, b WHERE t.state <> 'CLOSED'
), c0 AS (
  SELECT count(*) AS n FROM tickets t, b WHERE t.closed_at >= b.t0 AND t.created_at < b.t0
), c1 AS (
  SELECT count(*) AS n FROM tickets t, b WHERE t.closed_at >= b.t1 AND t.created_at < b.t1
)
SELECT o.open0 + c0.n AS carried, o.open1 + c1.n AS open_end FROM o, c0, c1
