-- bench/stats_history.sql - a year of synthetic tickets with realistic histories,
-- bulk-loaded (generate_series, no daemon) into tickets and ticket_events for
-- bench/stats. psql variables: :tickets (how many), :seed (0..1, setseed).
--
-- The year 2025 in Asia/Shanghai; intake 08:00-20:00 spread evenly over the days;
-- 24 feeds (the first takes most), channel mostly phone, 5 categories, 10
-- districts, 40 departments (the first ones take most). Histories, as the daemon
-- writes them (kinds, states, the department the move is counted to, timeliness
-- verdicts): 4 % resolved on the call, 6 % repeat complaints (closed with their
-- parent days later), 3 % to the manual desk and 5 % returned by the department
-- to it (dispatched by hand a day later, then accepted, replied and closed
-- satisfied within days, as the desk will once it is built); the rest are accepted
-- (within 0-40 h), due 5 days after dispatch (marked due soon 2 h before and
-- overdue at it when the reply comes later), replied 0-8 days after the accept,
-- and called back 0-2 days later: 70 % satisfied, 15 % basically satisfied, 8 %
-- unsatisfied (reopened, accepted, replied and then satisfied), 7 % unreachable
-- twice (closed unrated). Events after 2025-12-31 20:00 have not happened yet: the
-- tickets they belong to are still open.
\set ON_ERROR_STOP on
SELECT setseed(:seed);

CREATE TEMP TABLE gen AS
SELECT i AS ticket_id,
  timestamptz '2025-01-01 08:00:00+08'
    + make_interval(days => ((i - 1)::int8 * 365 / :tickets)::int)
    + make_interval(secs => random() * 43200) AS t0,
  'f' || lpad(floor(24 * random() ^ 3)::int::text, 2, '0') AS feed_code,
  (ARRAY['phone', 'phone', 'phone', 'phone', 'phone', 'phone', 'web', 'web', 'app', 'wechat'])
    [1 + floor(random() * 10)::int] AS channel,
  (ARRAY['complaint', 'complaint', 'complaint', 'complaint', 'consultation', 'consultation',
    'consultation', 'request', 'request', 'suggestion'])[1 + floor(random() * 10)::int] AS category,
  (ARRAY['崇川区', '通州区', '海门区', '如皋市', '海安市', '如东县', '启东市', '开发区',
    '苏锡通园区', '通州湾'])[1 + floor(10 * random() ^ 1.5)::int] AS district,
  'd' || lpad(floor(40 * random() ^ 2)::int::text, 2, '0') AS dept,
  random() AS path, random() ^ 2 * 40 AS accept_h, random() ^ 1.5 * 8 AS reply_d,
  random() * 2 AS callback_d, random() AS outcome, 2 + random() * 4 AS parent_d
FROM generate_series(1, :tickets) i;

CREATE TEMP TABLE ev AS
WITH p AS (
  SELECT g.*,
    g.t0 + make_interval(secs => g.accept_h * 3600) AS ta,
    g.t0 + interval '5 days' AS deadline,
    g.t0 + make_interval(secs => g.accept_h * 3600 + g.reply_d * 86400) AS tr,
    g.t0 + make_interval(secs => g.accept_h * 3600 + (g.reply_d + g.callback_d) * 86400) AS tc
  FROM gen g
), raw AS (
  SELECT ticket_id, 1 AS seq, t0 AS at, 'INTAKE' AS kind, NULL AS from_state,
    'RECEIVED' AS to_state, 'feed:' || feed_code AS actor,
    CASE WHEN path >= 0.13 THEN dept END AS dept_code, NULL::bool AS on_time FROM p
  UNION ALL
  SELECT ticket_id, 2, t0, CASE WHEN path < 0.04 THEN 'DIRECT_CLOSE' WHEN path < 0.10 THEN 'LINK'
      WHEN path < 0.13 THEN 'ROUTE_NONE' ELSE 'ROUTE_MATCHED' END, 'RECEIVED',
    CASE WHEN path < 0.04 THEN 'CLOSED' WHEN path < 0.10 THEN 'LINKED'
      WHEN path < 0.13 THEN 'PENDING_DISPATCH' ELSE 'DISPATCHED' END,
    CASE WHEN path < 0.04 THEN 'feed:' || feed_code ELSE 'router' END,
    CASE WHEN path >= 0.13 THEN dept END, NULL FROM p
  UNION ALL -- a repeat complaint closes with its parent
  SELECT ticket_id, 3, t0 + make_interval(secs => parent_d * 86400), 'PARENT_CLOSED', 'LINKED',
    'CLOSED', 'agent:bench', NULL, NULL FROM p WHERE path >= 0.04 AND path < 0.10
  UNION ALL -- returned: to the manual desk
  SELECT ticket_id, 3, ta, 'RETURN', 'DISPATCHED', 'PENDING_DISPATCH', 'dept:' || dept, dept, NULL
  FROM p WHERE path >= 0.13 AND path < 0.18
  UNION ALL
  SELECT ticket_id, 3, ta, 'ACCEPT', 'DISPATCHED', 'ACCEPTED', 'dept:' || dept, dept,
    accept_h <= 24 FROM p WHERE path >= 0.18
  UNION ALL
  SELECT ticket_id, 4, deadline - interval '2 hours', 'DUE_SOON', 'ACCEPTED', 'ACCEPTED', 'watcher',
    dept, NULL FROM p WHERE path >= 0.18 AND tr > deadline - interval '2 hours' AND ta < deadline - interval '2 hours'
  UNION ALL
  SELECT ticket_id, 5, deadline, 'OVERDUE', 'ACCEPTED', 'ACCEPTED', 'watcher', dept, NULL
  FROM p WHERE path >= 0.18 AND tr > deadline AND ta < deadline
  UNION ALL
  SELECT ticket_id, 6, tr, 'REPLY', 'ACCEPTED', 'REPLIED', 'dept:' || dept, dept, tr <= deadline
  FROM p WHERE path >= 0.18
  UNION ALL
  SELECT ticket_id, 7, tc, CASE WHEN outcome < 0.70 THEN 'CALLBACK_SATISFIED'
      WHEN outcome < 0.85 THEN 'CALLBACK_BASICALLY_SATISFIED'
      WHEN outcome < 0.93 THEN 'CALLBACK_UNSATISFIED' ELSE 'CALLBACK_UNREACHABLE' END,
    'REPLIED', CASE WHEN outcome < 0.85 THEN 'CLOSED' WHEN outcome < 0.93 THEN 'DISPATCHED'
      ELSE 'REPLIED' END, 'agent:bench', dept, NULL FROM p WHERE path >= 0.18
  UNION ALL -- unreachable twice: closed unrated
  SELECT ticket_id, 8, tc + interval '4 hours', 'CALLBACK_UNREACHABLE', 'REPLIED', 'CLOSED',
    'agent:bench', dept, NULL FROM p WHERE path >= 0.18 AND outcome >= 0.93
  UNION ALL -- the manual desk dispatches a day later; handled quickly then
  SELECT ticket_id, 11, CASE WHEN path < 0.13 THEN t0 ELSE ta END + interval '1 day',
    'MANUAL_DISPATCH', 'PENDING_DISPATCH', 'DISPATCHED', 'desk', dept, NULL
  FROM p WHERE path >= 0.10 AND path < 0.18
  UNION ALL
  SELECT ticket_id, 12, CASE WHEN path < 0.13 THEN t0 ELSE ta END + interval '26 hours',
    'ACCEPT', 'DISPATCHED', 'ACCEPTED', 'dept:' || dept, dept, true
  FROM p WHERE path >= 0.10 AND path < 0.18
  UNION ALL
  SELECT ticket_id, 13, CASE WHEN path < 0.13 THEN t0 ELSE ta END + interval '3 days',
    'REPLY', 'ACCEPTED', 'REPLIED', 'dept:' || dept, dept, true
  FROM p WHERE path >= 0.10 AND path < 0.18
  UNION ALL
  SELECT ticket_id, 14, CASE WHEN path < 0.13 THEN t0 ELSE ta END + interval '4 days',
    'CALLBACK_SATISFIED', 'REPLIED', 'CLOSED', 'agent:bench', dept, NULL
  FROM p WHERE path >= 0.10 AND path < 0.18
  UNION ALL -- reopened (重办): accepted, replied, satisfied
  SELECT ticket_id, 8, tc + interval '4 hours', 'ACCEPT', 'DISPATCHED', 'ACCEPTED', 'dept:' || dept,
    dept, true FROM p WHERE path >= 0.18 AND outcome >= 0.85 AND outcome < 0.93
  UNION ALL
  SELECT ticket_id, 9, tc + interval '2 days', 'REPLY', 'ACCEPTED', 'REPLIED', 'dept:' || dept,
    dept, true FROM p WHERE path >= 0.18 AND outcome >= 0.85 AND outcome < 0.93
  UNION ALL
  SELECT ticket_id, 10, tc + interval '3 days', 'CALLBACK_SATISFIED', 'REPLIED', 'CLOSED',
    'agent:bench', dept, NULL FROM p WHERE path >= 0.18 AND outcome >= 0.85 AND outcome < 0.93
)
SELECT * FROM raw WHERE at <= timestamptz '2025-12-31 20:00:00+08';

INSERT INTO ticket_events (ticket_id, at, kind, from_state, to_state, actor, detail, dept_code,
  on_time)
SELECT ticket_id, at, kind, from_state, to_state, actor, NULL, dept_code, on_time
FROM ev ORDER BY ticket_id, seq;

INSERT INTO tickets (ticket_id, ticket_no, feed_code, external_id, received_at, created_at,
  channel, caller_phone, category, content, district, priority, state, dept_code, deadline_at,
  dispatched_at, closed_at, due_soon_at, overdue_at, reopen_count, return_count,
  callback_attempts, rating, resolved_on_call, parent_ticket_id, updated_at, version)
SELECT g.ticket_id,
  to_char(g.t0 AT TIME ZONE 'Asia/Shanghai', 'YYYYMMDD') || '-' || lpad(g.ticket_id::text, 8, '0'),
  g.feed_code, 'bench-' || g.ticket_id, g.t0, g.t0, g.channel,
  '139' || lpad((g.ticket_id % 100000000)::text, 8, '0'), g.category, '合成工单', g.district, 1,
  l.to_state,
  CASE WHEN l.to_state IN ('PENDING_DISPATCH', 'LINKED') OR g.path < 0.10 THEN NULL ELSE g.dept END,
  CASE WHEN l.to_state IN ('DISPATCHED', 'ACCEPTED', 'REPLIED', 'CLOSED') AND g.path >= 0.10
    THEN g.t0 + interval '5 days' END,
  CASE WHEN g.path >= 0.10 AND l.to_state <> 'PENDING_DISPATCH' THEN g.t0 END,
  c.at, s.due_soon, s.overdue,
  s.reopens, CASE WHEN g.path >= 0.13 AND g.path < 0.18 THEN 1 ELSE 0 END, 0,
  CASE l.kind WHEN 'CALLBACK_SATISFIED' THEN 'SATISFIED'
    WHEN 'CALLBACK_BASICALLY_SATISFIED' THEN 'BASICALLY_SATISFIED'
    WHEN 'CALLBACK_UNREACHABLE' THEN CASE WHEN l.to_state = 'CLOSED' THEN 'UNRATED' END END,
  g.path < 0.04, CASE WHEN g.path >= 0.04 AND g.path < 0.10 THEN g.ticket_id END, l.at, 1
FROM gen g
JOIN (SELECT DISTINCT ON (ticket_id) ticket_id, at, kind, to_state FROM ev
      ORDER BY ticket_id, seq DESC) l USING (ticket_id)
LEFT JOIN (SELECT ticket_id, at FROM ev WHERE to_state = 'CLOSED' AND from_state IS DISTINCT FROM 'CLOSED') c
  USING (ticket_id)
LEFT JOIN (SELECT ticket_id, max(at) FILTER (WHERE kind = 'DUE_SOON') AS due_soon,
    max(at) FILTER (WHERE kind = 'OVERDUE') AS overdue,
    count(*) FILTER (WHERE kind = 'CALLBACK_UNSATISFIED')::int AS reopens
  FROM ev GROUP BY ticket_id) s USING (ticket_id);

SELECT setval('ticket_seq', :tickets);
