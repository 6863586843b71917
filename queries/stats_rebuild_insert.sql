-- stats_rebuild_insert: hotline-stats rebuild, step 3: the rollup's rows of the
-- local days $1..$2 recomputed from the audit trail (stats_audit(), 010_stats).
-- Scans all of ticket_events.
-- for: hotline-stats
--
-- $1 from_day     date
-- $2 to_day       date
-- $3 timezone     text     [postgres] timezone
-- $4 hist_bounds  float8[] lib/kpi.h kpi_hist_bounds_literal()
INSERT INTO stats_daily
SELECT * FROM stats_audit($1::date, $2::date, $3::text, $4::float8[])
