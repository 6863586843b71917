-- ticket_read: what the state machine needs to decide a move on a stored ticket
-- (lib/ticket_state.h struct ticket_status), its version for the guarded write,
-- what a new deadline is computed from, and when it was dispatched (the sign-for
-- verdict of an ACCEPT, lib/kpi.h). Indexes: tickets' ticket_no key; ticket_events'
-- primary key (ticket_id, event_id) for wrote, a ticket's few audit rows.
--
-- $1 ticket_no  text
-- $2 write_key  int8  a transition's key when it reads again after a failed send (0: first read)
-- > ticket_id          int8
-- > state              text
-- > dept_code          text  '' = none
-- > deadline_ms        int8  0 = none
-- > return_count       int4
-- > reopen_count       int4
-- > extend_count       int4
-- > callback_attempts  int4
-- > rating             text  '' = none
-- > version            int4
-- > category           text
-- > priority           int2
-- > ruled              bool
-- > parent_ticket_id   int8  0 = none
-- > last_write         int8  the key of the write that last moved it (0 = none)
-- > feed_code          text
-- > dispatched_ms      int8  0 = never dispatched
-- > wrote              bool  an audit row of this ticket carries write_key: that send committed
SELECT ticket_id, state, COALESCE(dept_code, '') AS dept_code,
  COALESCE((extract(epoch FROM deadline_at) * 1000)::int8, 0) AS deadline_ms, return_count,
  reopen_count, extend_count, callback_attempts, COALESCE(rating, '') AS rating, version,
  COALESCE(category, '') AS category, priority, ruled,
  COALESCE(parent_ticket_id, 0) AS parent_ticket_id, COALESCE(last_write, 0) AS last_write,
  feed_code, COALESCE((extract(epoch FROM dispatched_at) * 1000)::int8, 0) AS dispatched_ms,
  CASE WHEN $2::int8 = 0 THEN false
    ELSE EXISTS (SELECT 1 FROM ticket_events e
                 WHERE e.ticket_id = tickets.ticket_id AND e.write_key = $2::int8) END AS wrote
FROM tickets WHERE ticket_no = $1
