-- 010_stats: the statistics' rollups, kept in the transactions that write the events.
--
-- stats_daily has one row per (local day, department, feed, channel, category,
-- district) and one count column per counter of the state machine (enum
-- ticket_counter, lib/ticket_state.h: each move says which of them it moves), plus
-- what the KPIs need besides (lib/kpi.h): sign-for and reply timeliness verdicts,
-- the watcher's marks, and the handling time of closed tickets as a sum and a
-- histogram. The statements that write the events add to it in the same statement
-- (queries/intake.sql, ticket_write.sql, escalate_*.sql), so it cannot drift from
-- the audit trail; `hotline-stats check` recomputes it from ticket_events to prove
-- it, and `hotline-stats rebuild` recomputes it (run it once after this migration:
-- the history before it is not in the rollup yet).
--
-- The day is the event's local date in [postgres] timezone (the ticket number's
-- date). The department is the one the move is counted to: the one holding the
-- ticket before the move, else the one it goes to ('' = none). Empty channel,
-- category and district are ''.

-- The audit row says what the rollup needs to be recomputed from it alone: the
-- department the move was counted to, and the timeliness verdict of an ACCEPT
-- (within [stats] sign_for of the dispatch) or a REPLY (by the deadline in force).
-- NULL in rows written before this migration.
ALTER TABLE ticket_events
    ADD COLUMN dept_code text,
    ADD COLUMN on_time boolean;

CREATE TABLE stats_daily (
    day                  date NOT NULL,
    dept_code            text NOT NULL,
    feed_code            text NOT NULL,
    channel              text NOT NULL,
    category             text NOT NULL,
    district             text NOT NULL,
    -- enum ticket_counter, in its order
    received             integer NOT NULL DEFAULT 0,
    dispatched           integer NOT NULL DEFAULT 0,
    pending              integer NOT NULL DEFAULT 0,
    direct_closed        integer NOT NULL DEFAULT 0,
    linked               integer NOT NULL DEFAULT 0,
    accepted             integer NOT NULL DEFAULT 0,
    returned             integer NOT NULL DEFAULT 0,
    escalated            integer NOT NULL DEFAULT 0,
    replied              integer NOT NULL DEFAULT 0,
    extended             integer NOT NULL DEFAULT 0,
    reopened             integer NOT NULL DEFAULT 0,
    callback_calls       integer NOT NULL DEFAULT 0,
    satisfied            integer NOT NULL DEFAULT 0,
    basically_satisfied  integer NOT NULL DEFAULT 0,
    unsatisfied          integer NOT NULL DEFAULT 0,
    unrated              integer NOT NULL DEFAULT 0,
    closed               integer NOT NULL DEFAULT 0,
    -- timeliness verdicts (ticket_events.on_time)
    accepted_on_time     integer NOT NULL DEFAULT 0,
    accepted_late        integer NOT NULL DEFAULT 0,
    replied_on_time      integer NOT NULL DEFAULT 0,
    replied_late         integer NOT NULL DEFAULT 0,
    -- the watcher's marks (督办)
    due_soon             integer NOT NULL DEFAULT 0,
    overdue              integer NOT NULL DEFAULT 0,
    -- closes other than on the call: intake to close
    handled              integer NOT NULL DEFAULT 0,
    handled_seconds      bigint NOT NULL DEFAULT 0,
    -- ... as a histogram: hist_X counts handling times below X and at or above
    -- the previous bound (lib/kpi.h KPI_HIST_BOUNDS); hist_more: 60 days and more
    hist_1h              integer NOT NULL DEFAULT 0,
    hist_2h              integer NOT NULL DEFAULT 0,
    hist_4h              integer NOT NULL DEFAULT 0,
    hist_8h              integer NOT NULL DEFAULT 0,
    hist_12h             integer NOT NULL DEFAULT 0,
    hist_1d              integer NOT NULL DEFAULT 0,
    hist_2d              integer NOT NULL DEFAULT 0,
    hist_3d              integer NOT NULL DEFAULT 0,
    hist_4d              integer NOT NULL DEFAULT 0,
    hist_5d              integer NOT NULL DEFAULT 0,
    hist_7d              integer NOT NULL DEFAULT 0,
    hist_10d             integer NOT NULL DEFAULT 0,
    hist_15d             integer NOT NULL DEFAULT 0,
    hist_30d             integer NOT NULL DEFAULT 0,
    hist_60d             integer NOT NULL DEFAULT 0,
    hist_more            integer NOT NULL DEFAULT 0,
    PRIMARY KEY (day, dept_code, feed_code, channel, category, district)
);

-- hotline-stats live: open tickets by department and state, with what the board
-- shows of them; also the open side of the report's reconciliation (created_at).
CREATE INDEX tickets_open_idx ON tickets (dept_code, state)
    INCLUDE (created_at, dispatched_at, deadline_at) WHERE state <> 'CLOSED';

-- The reconciliation: tickets closed after an instant (still open at it).
CREATE INDEX tickets_closed_idx ON tickets (closed_at) INCLUDE (created_at)
    WHERE closed_at IS NOT NULL;

-- hotline-stats live: intake per feed in the last minute and hour.
CREATE INDEX tickets_created_idx ON tickets (created_at);

-- The rollup's rows for the local days from_day..to_day recomputed from the audit
-- trail alone (each ticket's dimensions from tickets, which never change them):
-- the other way to the same numbers, for `hotline-stats check` (compares),
-- `rebuild` (replaces) and `report --source audit`. It scans all of ticket_events.
-- Each column is the event kinds and states that move it, read back from the
-- state machine's table (lib/ticket_state.c effects_of()); bounds are the
-- handling-time histogram's bounds in seconds (lib/kpi.h). Rows written before
-- this migration carry no department: a department's own action is counted to it
-- (actor dept:CODE), anything else to none; and no timeliness verdict.
CREATE FUNCTION stats_audit(from_day date, to_day date, tz text, bounds float8[])
RETURNS SETOF stats_daily LANGUAGE sql STABLE AS $$
  SELECT d.day, d.dept_code, t.feed_code, COALESCE(t.channel, ''),
    COALESCE(t.category, ''), COALESCE(t.district, ''),
    count(*) FILTER (WHERE e.kind = 'INTAKE')::int,
    count(*) FILTER (WHERE d.dispatches)::int,
    count(*) FILTER (WHERE e.kind = 'ROUTE_NONE')::int,
    count(*) FILTER (WHERE e.kind = 'DIRECT_CLOSE')::int,
    count(*) FILTER (WHERE e.kind = 'LINK')::int,
    count(*) FILTER (WHERE e.kind = 'ACCEPT')::int,
    count(*) FILTER (WHERE e.kind = 'RETURN')::int,
    count(*) FILTER (WHERE e.kind = 'RETURN' AND e.to_state = 'ESCALATED')::int,
    count(*) FILTER (WHERE e.kind = 'REPLY')::int,
    count(*) FILTER (WHERE e.kind = 'EXTEND')::int,
    count(*) FILTER (WHERE e.kind = 'CALLBACK_UNSATISFIED')::int,
    count(*) FILTER (WHERE starts_with(e.kind, 'CALLBACK_'))::int,
    count(*) FILTER (WHERE e.kind = 'CALLBACK_SATISFIED')::int,
    count(*) FILTER (WHERE e.kind = 'CALLBACK_BASICALLY_SATISFIED')::int,
    count(*) FILTER (WHERE e.kind = 'CALLBACK_UNSATISFIED')::int,
    count(*) FILTER (WHERE e.kind = 'CALLBACK_UNREACHABLE' AND d.closes)::int,
    count(*) FILTER (WHERE d.closes)::int,
    count(*) FILTER (WHERE e.kind = 'ACCEPT' AND e.on_time)::int,
    count(*) FILTER (WHERE e.kind = 'ACCEPT' AND NOT e.on_time)::int,
    count(*) FILTER (WHERE e.kind = 'REPLY' AND e.on_time)::int,
    count(*) FILTER (WHERE e.kind = 'REPLY' AND NOT e.on_time)::int,
    count(*) FILTER (WHERE e.kind = 'DUE_SOON')::int,
    count(*) FILTER (WHERE e.kind = 'OVERDUE')::int,
    count(*) FILTER (WHERE d.handled)::int,
    COALESCE(sum(d.seconds) FILTER (WHERE d.handled), 0)::int8,
    count(*) FILTER (WHERE d.handled AND d.bucket = 0)::int,
    count(*) FILTER (WHERE d.handled AND d.bucket = 1)::int,
    count(*) FILTER (WHERE d.handled AND d.bucket = 2)::int,
    count(*) FILTER (WHERE d.handled AND d.bucket = 3)::int,
    count(*) FILTER (WHERE d.handled AND d.bucket = 4)::int,
    count(*) FILTER (WHERE d.handled AND d.bucket = 5)::int,
    count(*) FILTER (WHERE d.handled AND d.bucket = 6)::int,
    count(*) FILTER (WHERE d.handled AND d.bucket = 7)::int,
    count(*) FILTER (WHERE d.handled AND d.bucket = 8)::int,
    count(*) FILTER (WHERE d.handled AND d.bucket = 9)::int,
    count(*) FILTER (WHERE d.handled AND d.bucket = 10)::int,
    count(*) FILTER (WHERE d.handled AND d.bucket = 11)::int,
    count(*) FILTER (WHERE d.handled AND d.bucket = 12)::int,
    count(*) FILTER (WHERE d.handled AND d.bucket = 13)::int,
    count(*) FILTER (WHERE d.handled AND d.bucket = 14)::int,
    count(*) FILTER (WHERE d.handled AND d.bucket = 15)::int
  FROM ticket_events e
  JOIN tickets t USING (ticket_id)
  CROSS JOIN LATERAL (
    SELECT (e.at AT TIME ZONE tz)::date AS day,
      COALESCE(e.dept_code,
        CASE WHEN starts_with(e.actor, 'dept:') THEN substr(e.actor, 6) END, '') AS dept_code,
      e.to_state = 'DISPATCHED' AND e.from_state IS DISTINCT FROM 'DISPATCHED' AS dispatches,
      e.to_state = 'CLOSED' AND e.from_state IS DISTINCT FROM 'CLOSED' AS closes,
      e.to_state = 'CLOSED' AND e.from_state IS DISTINCT FROM 'CLOSED'
        AND e.kind <> 'DIRECT_CLOSE' AS handled,
      floor(extract(epoch FROM e.at - t.created_at))::int8 AS seconds,
      width_bucket(floor(extract(epoch FROM e.at - t.created_at))::float8, bounds) AS bucket
  ) d
  WHERE d.day BETWEEN from_day AND to_day
  GROUP BY 1, 2, 3, 4, 5, 6
$$;
