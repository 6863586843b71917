-- desk_list: the tickets waiting for a person (PENDING_DISPATCH, ESCALATED),
-- oldest first, each with why it is there and every return it went through, as
-- one JSON document. "returned": the last move into the desk was a department's
-- RETURN; otherwise routing found no rule ("no_rule").
-- waiting_since is when it last entered its state.
-- Indexes: tickets_desk_idx, ticket_events_pkey (a ticket's trail).
--
-- $1 limit  int4  1..500
-- > desk  text  JSON {"tickets": [...]}
WITH d AS (
  SELECT t.ticket_id, t.ticket_no, t.state, t.category, t.district, t.content,
    t.created_at, t.return_count
  FROM tickets t WHERE t.state IN ('PENDING_DISPATCH', 'ESCALATED')
  ORDER BY t.created_at, t.ticket_id LIMIT $1::int
)
SELECT json_build_object('tickets', COALESCE(json_agg(json_build_object(
    'ticket_no', d.ticket_no, 'state', d.state,
    'why', CASE WHEN r.n > 0 THEN 'returned' ELSE 'no_rule' END,
    'category', d.category, 'district', d.district, 'content', d.content,
    'created_at', api_time(d.created_at), 'waiting_since', api_time(COALESCE(w.at, d.created_at)),
    'return_count', d.return_count, 'returns', COALESCE(r.list, '[]'::json))
  ORDER BY d.created_at, d.ticket_id), '[]'::json))::text AS desk
FROM d LEFT JOIN LATERAL (
  SELECT count(*) AS n, json_agg(json_build_object('dept_code', e.actor_dept,
      'reason', e.detail, 'at', api_time(e.at)) ORDER BY e.event_id) AS list
  FROM (SELECT substr(ev.actor, 6) AS actor_dept, ev.detail, ev.at, ev.event_id
        FROM ticket_events ev WHERE ev.ticket_id = d.ticket_id AND ev.kind = 'RETURN') e
) r ON true
LEFT JOIN LATERAL (
  SELECT max(ev.at) AS at FROM ticket_events ev
  WHERE ev.ticket_id = d.ticket_id AND ev.to_state = d.state
) w ON true
