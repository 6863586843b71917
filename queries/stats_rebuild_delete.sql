-- stats_rebuild_delete: hotline-stats rebuild, step 2: the rollup's rows of the
-- local days $1..$2 go ('-infinity' .. 'infinity': all of them): stats_daily's and
-- intake's of every slot (014_intake_rollup). Counts them as the readers see them,
-- one per (dim, day, dept_code, value) of stats_rollup.
-- for: hotline-stats
--
-- $1 from_day  date
-- $2 to_day    date
-- > deleted  int8  the rollup's rows removed
WITH intake AS (
  DELETE FROM stats_intake_daily WHERE day BETWEEN $1::date AND $2::date
  RETURNING dim, day, dept_code, value
), daily AS (
  DELETE FROM stats_daily WHERE day BETWEEN $1::date AND $2::date
  RETURNING dim, day, dept_code, value
)
SELECT count(*) AS deleted FROM (SELECT * FROM intake UNION SELECT * FROM daily) k
