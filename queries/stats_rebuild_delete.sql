-- stats_rebuild_delete: hotline-stats rebuild, step 2: the rollup's rows of the
-- local days $1..$2 go ('-infinity' .. 'infinity': all of them).
-- for: hotline-stats
--
-- $1 from_day  date
-- $2 to_day    date
DELETE FROM stats_daily WHERE day BETWEEN $1::date AND $2::date
