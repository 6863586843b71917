-- 014_intake_rollup: intake's rollup counts in rows of their own per session.
--
-- Every intake batch added its tickets' counts to the same rows of stats_daily (the
-- day's totals per department and per dimension value, 010_stats), and held their
-- locks until its commit: a batch on another connection of the pool, or of another
-- daemon, waited for that commit before it could commit itself. Intake now adds to
-- stats_intake_daily, whose key has one more column: slot, the writing session's
-- backend process id modulo 16 (queries/intake.sql). Sessions running at the same
-- time have different ids, so their batches rarely share a row, and a day has at
-- most 16 rows where stats_daily has one. Transitions and the watcher's marks go on
-- adding to stats_daily; `hotline-stats rebuild` writes every recomputed count
-- there (and empties this table for its days).
--
-- stats_rollup is what the readers read (report, check): the rows of both tables
-- summed per (dim, day, dept_code, value), in stats_daily's columns, order and
-- types, so a row of it compares with a row of stats_audit() as it is. A filter on
-- dim, day or dept_code reaches each table's primary key.

CREATE TABLE stats_intake_daily (
    dim            text NOT NULL,
    day            date NOT NULL,
    dept_code      text NOT NULL,
    value          text NOT NULL,
    slot           smallint NOT NULL,
    -- what an intake move counts (enum ticket_counter), as in stats_daily
    received       integer NOT NULL DEFAULT 0,
    dispatched     integer NOT NULL DEFAULT 0,
    pending        integer NOT NULL DEFAULT 0,
    direct_closed  integer NOT NULL DEFAULT 0,
    linked         integer NOT NULL DEFAULT 0,
    closed         integer NOT NULL DEFAULT 0,
    PRIMARY KEY (dim, day, dept_code, value, slot)
) PARTITION BY LIST (dim);

CREATE TABLE stats_intake_daily_total PARTITION OF stats_intake_daily FOR VALUES IN ('');
CREATE TABLE stats_intake_daily_feed PARTITION OF stats_intake_daily FOR VALUES IN ('feed');
CREATE TABLE stats_intake_daily_channel PARTITION OF stats_intake_daily FOR VALUES IN ('channel');
CREATE TABLE stats_intake_daily_category PARTITION OF stats_intake_daily
    FOR VALUES IN ('category');
CREATE TABLE stats_intake_daily_district PARTITION OF stats_intake_daily
    FOR VALUES IN ('district');

CREATE VIEW stats_rollup AS
SELECT dim, day, dept_code, value,
  sum(received)::int AS received,
  sum(dispatched)::int AS dispatched,
  sum(pending)::int AS pending,
  sum(direct_closed)::int AS direct_closed,
  sum(linked)::int AS linked,
  sum(accepted)::int AS accepted,
  sum(returned)::int AS returned,
  sum(escalated)::int AS escalated,
  sum(replied)::int AS replied,
  sum(extended)::int AS extended,
  sum(reopened)::int AS reopened,
  sum(callback_calls)::int AS callback_calls,
  sum(satisfied)::int AS satisfied,
  sum(basically_satisfied)::int AS basically_satisfied,
  sum(unsatisfied)::int AS unsatisfied,
  sum(unrated)::int AS unrated,
  sum(closed)::int AS closed,
  sum(accepted_on_time)::int AS accepted_on_time,
  sum(accepted_late)::int AS accepted_late,
  sum(replied_on_time)::int AS replied_on_time,
  sum(replied_late)::int AS replied_late,
  sum(due_soon)::int AS due_soon,
  sum(overdue)::int AS overdue,
  sum(handled)::int AS handled,
  sum(handled_seconds)::int8 AS handled_seconds,
  sum(hist_1h)::int AS hist_1h,
  sum(hist_2h)::int AS hist_2h,
  sum(hist_4h)::int AS hist_4h,
  sum(hist_8h)::int AS hist_8h,
  sum(hist_12h)::int AS hist_12h,
  sum(hist_1d)::int AS hist_1d,
  sum(hist_2d)::int AS hist_2d,
  sum(hist_3d)::int AS hist_3d,
  sum(hist_4d)::int AS hist_4d,
  sum(hist_5d)::int AS hist_5d,
  sum(hist_7d)::int AS hist_7d,
  sum(hist_10d)::int AS hist_10d,
  sum(hist_15d)::int AS hist_15d,
  sum(hist_30d)::int AS hist_30d,
  sum(hist_60d)::int AS hist_60d,
  sum(hist_more)::int AS hist_more
FROM (
  SELECT * FROM stats_daily
  UNION ALL
  SELECT dim, day, dept_code, value,
    received, dispatched, pending, direct_closed, linked, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, closed, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0
  FROM stats_intake_daily
) u
GROUP BY dim, day, dept_code, value;
