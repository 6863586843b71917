-- stats_stock: the open side of a period's reconciliation (hotline-stats report,
-- GET /api/v1/stats/report), from tickets (not from the rollup, so that the balance
-- checks the rollup): tickets open at the start of the local day $1 (carried over)
-- and at the end of the local day $2. A ticket is open at an instant T when it was
-- created before T and not closed before it: still open now, or closed at or after
-- T. The tickets closed at or after T and created
-- before it are counted from whichever side is narrower, those created before T or
-- those closed since T (the instants are written out, not hidden in a CTE, so the
-- planner sees them and picks the index): the cost grows with the open tickets and
-- with the nearer end of the history, never with all of it.
-- Indexes: tickets_open_idx (open now), tickets_closed_idx (closed since T),
-- tickets_created_idx (created before T, with closed_at).
-- for: hotline-stats, hotlined
--
-- $1 from_day  date
-- $2 to_day    date
-- $3 timezone  text  [postgres] timezone
-- > carried   int8  open at the start of from_day
-- > open_end  int8  open at the end of to_day
SELECT
  (SELECT count(*) FROM tickets WHERE state <> 'CLOSED'
    AND created_at < $1::date::timestamp AT TIME ZONE $3::text)
  + (SELECT count(*) FROM tickets
    WHERE closed_at >= $1::date::timestamp AT TIME ZONE $3::text
      AND created_at < $1::date::timestamp AT TIME ZONE $3::text) AS carried,
  (SELECT count(*) FROM tickets WHERE state <> 'CLOSED'
    AND created_at < ($2::date + 1)::timestamp AT TIME ZONE $3::text)
  + (SELECT count(*) FROM tickets
    WHERE closed_at >= ($2::date + 1)::timestamp AT TIME ZONE $3::text
      AND created_at < ($2::date + 1)::timestamp AT TIME ZONE $3::text) AS open_end
