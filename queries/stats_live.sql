-- stats_live: the board of hotline-stats live and GET /api/v1/stats/live: open
-- tickets by department and state, with how many are past or near their deadline
-- and the oldest. An index-only scan of the open tickets. Indexes: tickets_open_idx.
-- for: hotline-stats, hotlined
--
-- $1 now_ms       int8  the caller's clock (unix ms): the tool's, or hotlined's
-- $2 due_soon_ms  int8  [escalation] due_soon_ms: how near is "due soon"
-- > dept_code  text  '' = none (the manual desk, escalations, linked tickets)
-- > state      text
-- > tickets    int8
-- > overdue    int8  DISPATCHED or ACCEPTED with the deadline at or before now
-- > due_soon   int8  ... with the deadline after now and within due_soon_ms
-- > oldest_ms  int8  the longest waiting: dispatched (DISPATCHED), else created
SELECT COALESCE(dept_code, '') AS dept_code, state, count(*) AS tickets,
  count(*) FILTER (WHERE state IN ('DISPATCHED', 'ACCEPTED')
    AND deadline_at <= to_timestamp($1::int8::float8 / 1000)) AS overdue,
  count(*) FILTER (WHERE state IN ('DISPATCHED', 'ACCEPTED')
    AND deadline_at > to_timestamp($1::int8::float8 / 1000)
    AND deadline_at <= to_timestamp(($1::int8 + $2::int8)::float8 / 1000)) AS due_soon,
  COALESCE((extract(epoch FROM min(CASE WHEN state = 'DISPATCHED'
    THEN dispatched_at ELSE created_at END)) * 1000)::int8, 0) AS oldest_ms
FROM tickets WHERE state <> 'CLOSED'
GROUP BY 1, 2 ORDER BY 1, 2
