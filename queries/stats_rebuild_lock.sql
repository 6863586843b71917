-- stats_rebuild_lock: hotline-stats rebuild, step 1 in its transaction: waits for
-- every transaction that added to the rollup and holds back the next ones until
-- the rebuild commits (they wait, then add to the rebuilt rows), so the audit
-- trail read next holds exactly the events the rollup must count.
-- for: hotline-stats
LOCK TABLE stats_daily, stats_intake_daily IN EXCLUSIVE MODE
