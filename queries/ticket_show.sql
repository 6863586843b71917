-- ticket_show: one ticket as the HTTP API shows it (docs/http-api.md), with its
-- whole audit trail oldest first, as one JSON document built here.
-- Indexes: tickets' ticket_no key, ticket_events_pkey (ticket_id, event_id).
--
-- $1 ticket_no  text
-- > ticket  text  JSON; no row: no such ticket
SELECT json_build_object(
  'ticket_no', t.ticket_no, 'state', t.state, 'feed', t.feed_code,
  'external_id', t.external_id, 'channel', t.channel, 'caller_phone', t.caller_phone,
  'caller_name', t.caller_name, 'category', t.category, 'content', t.content,
  'district', t.district, 'address', t.address,
  'priority', CASE t.priority WHEN 2 THEN 'urgent' WHEN 3 THEN 'critical' ELSE 'normal' END,
  'lat', t.lat, 'lon', t.lon, 'origin_number', t.origin_number,
  'dept_code', t.dept_code, 'route_rule', t.route_rule,
  'deadline_at', api_time(t.deadline_at), 'reply', t.reply, 'rating', t.rating,
  'resolved_on_call', t.resolved_on_call, 'ruled', t.ruled,
  'return_count', t.return_count, 'reopen_count', t.reopen_count,
  'extend_count', t.extend_count, 'callback_attempts', t.callback_attempts,
  'parent_ticket_no', p.ticket_no,
  'created_at', api_time(t.created_at), 'received_at', api_time(t.received_at),
  'dispatched_at', api_time(t.dispatched_at), 'closed_at', api_time(t.closed_at),
  'updated_at', api_time(t.updated_at),
  'events', (SELECT COALESCE(json_agg(json_build_object('kind', e.kind,
      'from_state', e.from_state, 'to_state', e.to_state, 'actor', e.actor,
      'detail', e.detail, 'at', api_time(e.at)) ORDER BY e.event_id), '[]'::json)
    FROM ticket_events e WHERE e.ticket_id = t.ticket_id))::text AS ticket
FROM tickets t LEFT JOIN tickets p ON p.ticket_id = t.parent_ticket_id
WHERE t.ticket_no = $1
