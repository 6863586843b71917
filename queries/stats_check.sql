-- stats_check: the rollup's rows for the local days $1..$2 that differ from the
-- same rows recomputed from the audit trail (stats_audit(), 010_stats), as JSON
-- objects of their columns (NULL: the row is missing on that side), for
-- hotline-stats check. The rollup's rows are stats_rollup's (014_intake_rollup:
-- stats_daily and intake's rows of every slot, summed). Scans all of ticket_events.
-- Indexes: stats_daily_pkey, stats_intake_daily_pkey (the day range).
-- for: hotline-stats
--
-- $1 from_day     date
-- $2 to_day       date
-- $3 timezone     text     [postgres] timezone
-- $4 hist_bounds  float8[] lib/kpi.h kpi_hist_bounds_literal()
-- > dim        text  '' (the department's total), feed, channel, category, district
-- > day        text
-- > dept_code  text
-- > value      text  the dimension's value
-- > rollup     text  the rollup's row as JSON; NULL: no such row
-- > audit      text  the recomputed row as JSON; NULL: nothing in the audit trail
SELECT COALESCE(r.dim, a.dim) AS dim, COALESCE(r.day, a.day)::text AS day,
  COALESCE(r.dept_code, a.dept_code) AS dept_code, COALESCE(r.value, a.value) AS value,
  CASE WHEN r.day IS NOT NULL THEN row_to_json(r)::text END AS rollup,
  CASE WHEN a.day IS NOT NULL THEN row_to_json(a)::text END AS audit
FROM (SELECT * FROM stats_rollup WHERE day BETWEEN $1::date AND $2::date) r
FULL JOIN stats_audit($1::date, $2::date, $3::text, $4::float8[]) a
  ON (r.dim, r.day, r.dept_code, r.value) = (a.dim, a.day, a.dept_code, a.value)
WHERE r IS DISTINCT FROM a
ORDER BY 2, 1, 3, 4
