-- stats_report: the rollup's sums for the local days $1..$2 (inclusive), one row per
-- value of one dimension ($3), for hotline-stats report, GET /api/v1/stats/report
-- and the satisfaction of GET /api/v1/stats/live: the rows of that dimension (feed,
-- channel, category, district), else the departments' totals (dim ''), of every
-- department or one ($4). Columns after key are stats_daily's, in its order
-- (lib/kpi.h enum kpi_column: lib/stats_rows.c checks the names). It reads
-- stats_rollup (014_intake_rollup): stats_daily and intake's rows of every slot, summed.
-- Indexes: stats_daily_pkey, stats_intake_daily_pkey (dim, then the range of days).
-- for: hotline-stats, hotlined
--
-- $1 from_day   date
-- $2 to_day     date
-- $3 by         text  feed, channel, category, dept, district, day, month; '' one row
-- $4 dept_code  text  only this department's rows ('' = all)
-- > key  text  the dimension's value ('' = none, or the total)
-- > received
-- > dispatched
-- > pending
-- > direct_closed
-- > linked
-- > accepted
-- > returned
-- > escalated
-- > replied
-- > extended
-- > reopened
-- > callback_calls
-- > satisfied
-- > basically_satisfied
-- > unsatisfied
-- > unrated
-- > closed
-- > accepted_on_time
-- > accepted_late
-- > replied_on_time
-- > replied_late
-- > due_soon
-- > overdue
-- > handled
-- > handled_seconds
-- > hist_1h
-- > hist_2h
-- > hist_4h
-- > hist_8h
-- > hist_12h
-- > hist_1d
-- > hist_2d
-- > hist_3d
-- > hist_4d
-- > hist_5d
-- > hist_7d
-- > hist_10d
-- > hist_15d
-- > hist_30d
-- > hist_60d
-- > hist_more
SELECT CASE $3::text WHEN 'dept' THEN dept_code WHEN 'day' THEN day::text
    WHEN 'month' THEN to_char(day, 'YYYY-MM') WHEN '' THEN '' ELSE value END AS key,
  sum(received)::int8 AS received,
  sum(dispatched)::int8 AS dispatched,
  sum(pending)::int8 AS pending,
  sum(direct_closed)::int8 AS direct_closed,
  sum(linked)::int8 AS linked,
  sum(accepted)::int8 AS accepted,
  sum(returned)::int8 AS returned,
  sum(escalated)::int8 AS escalated,
  sum(replied)::int8 AS replied,
  sum(extended)::int8 AS extended,
  sum(reopened)::int8 AS reopened,
  sum(callback_calls)::int8 AS callback_calls,
  sum(satisfied)::int8 AS satisfied,
  sum(basically_satisfied)::int8 AS basically_satisfied,
  sum(unsatisfied)::int8 AS unsatisfied,
  sum(unrated)::int8 AS unrated,
  sum(closed)::int8 AS closed,
  sum(accepted_on_time)::int8 AS accepted_on_time,
  sum(accepted_late)::int8 AS accepted_late,
  sum(replied_on_time)::int8 AS replied_on_time,
  sum(replied_late)::int8 AS replied_late,
  sum(due_soon)::int8 AS due_soon,
  sum(overdue)::int8 AS overdue,
  sum(handled)::int8 AS handled,
  sum(handled_seconds)::int8 AS handled_seconds,
  sum(hist_1h)::int8 AS hist_1h,
  sum(hist_2h)::int8 AS hist_2h,
  sum(hist_4h)::int8 AS hist_4h,
  sum(hist_8h)::int8 AS hist_8h,
  sum(hist_12h)::int8 AS hist_12h,
  sum(hist_1d)::int8 AS hist_1d,
  sum(hist_2d)::int8 AS hist_2d,
  sum(hist_3d)::int8 AS hist_3d,
  sum(hist_4d)::int8 AS hist_4d,
  sum(hist_5d)::int8 AS hist_5d,
  sum(hist_7d)::int8 AS hist_7d,
  sum(hist_10d)::int8 AS hist_10d,
  sum(hist_15d)::int8 AS hist_15d,
  sum(hist_30d)::int8 AS hist_30d,
  sum(hist_60d)::int8 AS hist_60d,
  sum(hist_more)::int8 AS hist_more
FROM stats_rollup
WHERE dim = CASE WHEN $3::text IN ('feed', 'channel', 'category', 'district') THEN $3::text
    ELSE '' END
  AND day BETWEEN $1::date AND $2::date AND ($4::text = '' OR dept_code = $4::text)
GROUP BY 1 ORDER BY 1
