-- stats_live_intake: intake per feed in the last minute and the last hour before
-- now, for hotline-stats live and GET /api/v1/stats/live. Indexes: tickets_created_idx.
-- for: hotline-stats, hotlined
--
-- $1 now_ms  int8  the caller's clock (unix ms): the tool's, or hotlined's
-- > feed_code    text
-- > last_minute  int8
-- > last_hour    int8
SELECT feed_code,
  count(*) FILTER (WHERE created_at > to_timestamp(($1::int8 - 60000)::float8 / 1000))
    AS last_minute,
  count(*) AS last_hour
FROM tickets
WHERE created_at > to_timestamp(($1::int8 - 3600000)::float8 / 1000)
  AND created_at <= to_timestamp($1::int8::float8 / 1000)
GROUP BY 1 ORDER BY 1
