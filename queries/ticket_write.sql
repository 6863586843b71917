-- ticket_write: stores one move of one ticket, as the state machine decided it
-- (lib/ticket_state.h: the next status and struct ticket_effects): the ticket's new
-- status, its audit row, the TicketUpdate owed to its feed, the outbox row the new
-- state needs (a dispatch for a department, a callback for an agent), and the same
-- move of its linked repeat complaints (and, for a duplicate closed from the desk,
-- links it to the ticket it duplicates, which it then follows). The UPDATE carries
-- "AND version = $2", so nothing is written when someone changed the ticket since
-- it was read (the caller reads and decides again); every other part selects from
-- its RETURNING. This statement decides nothing: each effect is a parameter. Every
-- time it writes is the move's instant ($16). The audit rows carry the department
-- the move is counted to ($33) and the timeliness verdict ($32), and all of them,
-- its linked tickets' too, this write's key ($31). The statistics' rollup is not
-- written here: daemon/transition.c sends the writes of many moves in one
-- transaction and ends it with ticket_write_stats.sql, which counts the moves
-- that transaction made, in key order (one statement: rows locked in one order).
-- A write that committed but whose confirmation was lost changes nothing when sent
-- again (its version moved on) and the re-read finds its key ($31): a move is
-- never counted twice. Indexes: tickets' primary key and ticket_no key,
-- tickets_parent_idx.
--
-- $1 ticket_id          int8
-- $2 version            int4    as read
-- $3 state              text    the new state
-- $4 dept_code          text    '' = none
-- $5 deadline_ms        int8    0 = none
-- $6 return_count       int4
-- $7 reopen_count       int4
-- $8 extend_count       int4
-- $9 callback_attempts  int4
-- $10 rating            text    '' = none
-- $11 reply             text    NULL keeps the stored reply
-- $12 event             text    the audit row's kind
-- $13 from_state        text
-- $14 actor             text    dept:CODE, agent:ID, ...
-- $15 detail            text    reason, reply, note; NULL = none
-- $16 at_ms             int8    the move's instant (daemon/clock.h)
-- $17 reset_marks       bool    the deadline moved or went: due-soon and overdue marks go
-- $18 set_dispatched    bool    dispatched_at = the instant
-- $19 set_closed        bool    closed_at = the instant
-- $20 feed_update       bool    the ticket's feed is told
-- $21 update_reply      bool    ... with the reply text
-- $22 outbox_kind       text    '' none, dispatch (to dept_code) or callback
-- $23 outbox_delay_ms   int8    the outbox row is due after this long
-- $24 child_state       text    linked repeat complaints move to it ('' = they stay)
-- $25 child_event       text    ... by this event
-- $26 child_reply       bool    ... sharing the reply
-- $27 child_closed      bool    ... closed at the instant
-- $28 quiet_feeds       text[]  the feeds owed no TicketUpdates (the agents', Open311
--                               clients': no connection of theirs takes them)
-- $29 ruled             bool    dispatched by a ruling: no RETURN
-- $30 parent_no         text    DESK_DUPLICATE: the ticket it joins ('' = none); it must
--                               still be open and not linked itself, else nothing is
--                               written; its version moves, so a concurrent move of it
--                               decides again and takes this new child along
-- $31 write_key         int8    this write's key, unique per transition (kept in tickets.last_write
--                               and in its audit row, 013): found on a
--                               re-read, it says the write committed (011_write_key)
-- $32 on_time           bool    ACCEPT / REPLY: in time (lib/kpi.h); NULL: no verdict
-- $33 stats_dept        text    the department the move is counted to ('' = none)
-- > feed_code  text  the feed the ticket came from; no row: the version changed
WITH p AS (
  UPDATE tickets SET version = version + 1
  WHERE $30 <> '' AND ticket_no = $30 AND state NOT IN ('CLOSED', 'LINKED')
    AND parent_ticket_id IS NULL AND ticket_id <> $1
  RETURNING ticket_id, reply
), u AS (
  UPDATE tickets SET state = $3, dept_code = NULLIF($4, ''),
    deadline_at = CASE WHEN $5::int8 = 0 THEN NULL
      ELSE to_timestamp($5::int8::float8 / 1000) END,
    return_count = $6, reopen_count = $7, extend_count = $8, callback_attempts = $9,
    rating = NULLIF($10, ''), reply = COALESCE($11, (SELECT reply FROM p), reply),
    ruled = $29, last_write = $31,
    parent_ticket_id = CASE WHEN $30 <> '' THEN (SELECT ticket_id FROM p)
      ELSE parent_ticket_id END,
    closed_at = CASE WHEN $19 THEN to_timestamp($16::float8 / 1000) ELSE closed_at END,
    dispatched_at = CASE WHEN $18 THEN to_timestamp($16::float8 / 1000)
      ELSE dispatched_at END,
    due_soon_at = CASE WHEN $17 THEN NULL ELSE due_soon_at END,
    overdue_at = CASE WHEN $17 THEN NULL ELSE overdue_at END,
    version = version + 1, updated_at = to_timestamp($16::float8 / 1000)
  WHERE ticket_id = $1 AND version = $2 AND ($30 = '' OR EXISTS (SELECT 1 FROM p))
  RETURNING ticket_id, ticket_no, feed_code, external_id, state, reply, dept_code,
    updated_at, created_at, channel, category, district
), e AS (
  INSERT INTO ticket_events (ticket_id, kind, from_state, to_state, actor, detail, at,
    dept_code, on_time, write_key)
  SELECT ticket_id, $12, $13, state, $14, $15, updated_at, NULLIF($33, ''), $32, $31 FROM u
), f AS (
  INSERT INTO feed_updates (feed_code, ticket_id, ticket_no, external_id, state, reply, at)
  SELECT feed_code, ticket_id, ticket_no, external_id, state,
    CASE WHEN $21 THEN reply END, updated_at
  FROM u WHERE $20 AND feed_code <> ALL($28::text[])
), o AS (
  INSERT INTO outbox (ticket_id, kind, dept_code, relay_after)
  SELECT ticket_id, $22, CASE WHEN $22 = 'dispatch' THEN dept_code END,
    now() + make_interval(secs => $23::float8 / 1000)
  FROM u WHERE $22 <> ''
), k AS (
  UPDATE tickets k SET state = $24,
    reply = CASE WHEN $26 THEN u.reply ELSE k.reply END,
    closed_at = CASE WHEN $27 THEN u.updated_at ELSE k.closed_at END,
    version = k.version + 1, updated_at = u.updated_at
  FROM u WHERE $24 <> '' AND k.parent_ticket_id = u.ticket_id AND k.state = 'LINKED'
  RETURNING k.ticket_id, k.ticket_no, k.feed_code, k.external_id, k.state, k.reply,
    u.ticket_no AS parent_no, k.updated_at, k.created_at, k.channel, k.category,
    k.district
), ke AS (
  INSERT INTO ticket_events (ticket_id, kind, from_state, to_state, actor, detail, at,
    write_key)
  SELECT ticket_id, $25, 'LINKED', state, $14, 'parent:' || parent_no, updated_at, $31
  FROM k
), kf AS (
  INSERT INTO feed_updates (feed_code, ticket_id, ticket_no, external_id, state, reply, at)
  SELECT feed_code, ticket_id, ticket_no, external_id, state, reply, updated_at FROM k
  WHERE feed_code <> ALL($28::text[])
)
SELECT feed_code FROM u
