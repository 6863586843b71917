-- 010_stats: the statistics' rollups, kept in the transactions that write the events.
--
-- stats_daily has, per local day and department, one row for the department's
-- total (dim '') and one per value of each other dimension of the ticket (dim
-- 'feed', 'channel', 'category', 'district'), with one count column per counter of
-- the state machine (enum ticket_counter, lib/ticket_state.h: each move says which
-- of them it moves) and what the KPIs need besides (lib/kpi.h): sign-for and reply
-- timeliness verdicts, the watcher's marks, and the handling time of closed tickets
-- as a sum and a histogram. A move adds to five rows: its department's total and
-- its ticket's feed, channel, category and district under that department. Not the
-- full cross product: at a city's scale that has about as many rows as tickets
-- (measured: 3.2 rows per ticket), while a report groups by one dimension at a
-- time; this way a year has at most days x departments x (1 + the values of the
-- four dimensions) rows, and a report reads only its dimension's.
--
-- The statements that write the events add to it in the same statement
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
    dim                  text NOT NULL,   -- '' the department's total, or the dimension
    day                  date NOT NULL,
    dept_code            text NOT NULL,
    value                text NOT NULL,   -- the dimension's value ('' for dim '')
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
    PRIMARY KEY (dim, day, dept_code, value)
) PARTITION BY LIST (dim);

-- A report reads one dimension over a range of days: each dimension's rows in a
-- table of their own, so a year by department reads the totals' few megabytes
-- rather than pages shared with every feed's and district's rows (measured on
-- 200,000 tickets: 354 ms for the year by department with one table).
CREATE TABLE stats_daily_total PARTITION OF stats_daily FOR VALUES IN ('');
CREATE TABLE stats_daily_feed PARTITION OF stats_daily FOR VALUES IN ('feed');
CREATE TABLE stats_daily_channel PARTITION OF stats_daily FOR VALUES IN ('channel');
CREATE TABLE stats_daily_category PARTITION OF stats_daily FOR VALUES IN ('category');
CREATE TABLE stats_daily_district PARTITION OF stats_daily FOR VALUES IN ('district');

-- hotline-stats live: open tickets by department and state, with what the board
-- shows of them; also the open side of the report's reconciliation (created_at).
CREATE INDEX tickets_open_idx ON tickets (dept_code, state)
    INCLUDE (created_at, dispatched_at, deadline_at) WHERE state <> 'CLOSED';

-- The reconciliation: tickets closed after an instant (still open at it).
CREATE INDEX tickets_closed_idx ON tickets (closed_at) INCLUDE (created_at)
    WHERE closed_at IS NOT NULL;

-- hotline-stats live: intake per feed in the last minute and hour; the
-- reconciliation: tickets created before an instant and closed after it.
CREATE INDEX tickets_created_idx ON tickets (created_at) INCLUDE (closed_at);

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
  -- per event's day, department and ticket dimensions first (the events are many),
  -- then each such row adds to its five rollup rows
  WITH c AS (
    SELECT d.day, d.dept_code, t.feed_code, COALESCE(t.channel, '') AS channel,
      COALESCE(t.category, '') AS category, COALESCE(t.district, '') AS district,
      count(*) FILTER (WHERE e.kind = 'INTAKE') AS received,
      count(*) FILTER (WHERE d.dispatches) AS dispatched,
      count(*) FILTER (WHERE e.kind = 'ROUTE_NONE') AS pending,
      count(*) FILTER (WHERE e.kind = 'DIRECT_CLOSE') AS direct_closed,
      count(*) FILTER (WHERE e.kind IN ('LINK', 'DESK_DUPLICATE')) AS linked,
      count(*) FILTER (WHERE e.kind = 'ACCEPT') AS accepted,
      count(*) FILTER (WHERE e.kind = 'RETURN') AS returned,
      count(*) FILTER (WHERE e.kind = 'RETURN' AND e.to_state = 'ESCALATED') AS escalated,
      count(*) FILTER (WHERE e.kind = 'REPLY') AS replied,
      count(*) FILTER (WHERE e.kind = 'EXTEND') AS extended,
      count(*) FILTER (WHERE e.kind = 'CALLBACK_UNSATISFIED') AS reopened,
      count(*) FILTER (WHERE starts_with(e.kind, 'CALLBACK_')) AS callback_calls,
      count(*) FILTER (WHERE e.kind = 'CALLBACK_SATISFIED') AS satisfied,
      count(*) FILTER (WHERE e.kind = 'CALLBACK_BASICALLY_SATISFIED') AS basically_satisfied,
      count(*) FILTER (WHERE e.kind = 'CALLBACK_UNSATISFIED') AS unsatisfied,
      count(*) FILTER (WHERE e.kind = 'CALLBACK_UNREACHABLE' AND d.closes) AS unrated,
      count(*) FILTER (WHERE d.closes) AS closed,
      count(*) FILTER (WHERE e.kind = 'ACCEPT' AND e.on_time) AS accepted_on_time,
      count(*) FILTER (WHERE e.kind = 'ACCEPT' AND NOT e.on_time) AS accepted_late,
      count(*) FILTER (WHERE e.kind = 'REPLY' AND e.on_time) AS replied_on_time,
      count(*) FILTER (WHERE e.kind = 'REPLY' AND NOT e.on_time) AS replied_late,
      count(*) FILTER (WHERE e.kind = 'DUE_SOON') AS due_soon,
      count(*) FILTER (WHERE e.kind = 'OVERDUE') AS overdue,
      count(*) FILTER (WHERE d.handled) AS handled,
      COALESCE(sum(d.seconds) FILTER (WHERE d.handled), 0) AS handled_seconds,
      count(*) FILTER (WHERE d.handled AND d.bucket = 0) AS hist_1h,
      count(*) FILTER (WHERE d.handled AND d.bucket = 1) AS hist_2h,
      count(*) FILTER (WHERE d.handled AND d.bucket = 2) AS hist_4h,
      count(*) FILTER (WHERE d.handled AND d.bucket = 3) AS hist_8h,
      count(*) FILTER (WHERE d.handled AND d.bucket = 4) AS hist_12h,
      count(*) FILTER (WHERE d.handled AND d.bucket = 5) AS hist_1d,
      count(*) FILTER (WHERE d.handled AND d.bucket = 6) AS hist_2d,
      count(*) FILTER (WHERE d.handled AND d.bucket = 7) AS hist_3d,
      count(*) FILTER (WHERE d.handled AND d.bucket = 8) AS hist_4d,
      count(*) FILTER (WHERE d.handled AND d.bucket = 9) AS hist_5d,
      count(*) FILTER (WHERE d.handled AND d.bucket = 10) AS hist_7d,
      count(*) FILTER (WHERE d.handled AND d.bucket = 11) AS hist_10d,
      count(*) FILTER (WHERE d.handled AND d.bucket = 12) AS hist_15d,
      count(*) FILTER (WHERE d.handled AND d.bucket = 13) AS hist_30d,
      count(*) FILTER (WHERE d.handled AND d.bucket = 14) AS hist_60d,
      count(*) FILTER (WHERE d.handled AND d.bucket = 15) AS hist_more
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
        GREATEST(floor(extract(epoch FROM e.at - t.created_at)), 0)::int8 AS seconds,
        width_bucket(GREATEST(floor(extract(epoch FROM e.at - t.created_at)), 0)::float8,
          bounds) AS bucket
    ) d
    WHERE d.day BETWEEN from_day AND to_day
    GROUP BY 1, 2, 3, 4, 5, 6
  )
  SELECT x.dim, c.day, c.dept_code, x.value,
    sum(c.received)::int,
    sum(c.dispatched)::int,
    sum(c.pending)::int,
    sum(c.direct_closed)::int,
    sum(c.linked)::int,
    sum(c.accepted)::int,
    sum(c.returned)::int,
    sum(c.escalated)::int,
    sum(c.replied)::int,
    sum(c.extended)::int,
    sum(c.reopened)::int,
    sum(c.callback_calls)::int,
    sum(c.satisfied)::int,
    sum(c.basically_satisfied)::int,
    sum(c.unsatisfied)::int,
    sum(c.unrated)::int,
    sum(c.closed)::int,
    sum(c.accepted_on_time)::int,
    sum(c.accepted_late)::int,
    sum(c.replied_on_time)::int,
    sum(c.replied_late)::int,
    sum(c.due_soon)::int,
    sum(c.overdue)::int,
    sum(c.handled)::int,
    sum(c.handled_seconds)::int8,
    sum(c.hist_1h)::int,
    sum(c.hist_2h)::int,
    sum(c.hist_4h)::int,
    sum(c.hist_8h)::int,
    sum(c.hist_12h)::int,
    sum(c.hist_1d)::int,
    sum(c.hist_2d)::int,
    sum(c.hist_3d)::int,
    sum(c.hist_4d)::int,
    sum(c.hist_5d)::int,
    sum(c.hist_7d)::int,
    sum(c.hist_10d)::int,
    sum(c.hist_15d)::int,
    sum(c.hist_30d)::int,
    sum(c.hist_60d)::int,
    sum(c.hist_more)::int
  FROM c CROSS JOIN LATERAL (VALUES ('', ''), ('feed', c.feed_code), ('channel', c.channel),
    ('category', c.category), ('district', c.district)) x(dim, value)
  GROUP BY 1, 2, 3, 4
$$;
