-- caller_history: a caller's tickets, newest first, one page of them, as one JSON
-- document; the look-up itself is written to caller_lookups in the same statement
-- (who, which number, when, how many tickets it showed).
-- Indexes: tickets_caller_idx (caller_phone, created_at DESC, ticket_id DESC).
--
-- $1 caller_phone  text
-- $2 limit         int4   1..100
-- $3 offset        int4
-- $4 user_name     text   who looked
-- $5 at_ms         int8   when (unix ms)
-- > page  text  JSON {"caller_phone", "limit", "offset", "more", "tickets": [...]}
WITH page AS (
  SELECT t.ticket_no, t.state, t.category, t.content, t.dept_code, t.rating,
    t.created_at, t.closed_at, t.ticket_id
  FROM tickets t WHERE t.caller_phone = $1
  ORDER BY t.created_at DESC, t.ticket_id DESC
  LIMIT $2::int + 1 OFFSET $3::int
), shown AS (
  SELECT * FROM page ORDER BY created_at DESC, ticket_id DESC LIMIT $2::int
), audit AS (
  INSERT INTO caller_lookups (user_name, caller_phone, shown, at)
  SELECT $4, $1, (SELECT count(*) FROM shown), to_timestamp($5::float8 / 1000)
)
SELECT json_build_object('caller_phone', $1::text, 'limit', $2::int, 'offset', $3::int,
  'more', (SELECT count(*) FROM page) > $2::int,
  'tickets', (SELECT COALESCE(json_agg(json_build_object('ticket_no', s.ticket_no,
      'state', s.state, 'category', s.category, 'content', s.content,
      'dept_code', s.dept_code, 'rating', s.rating,
      'created_at', api_time(s.created_at), 'closed_at', api_time(s.closed_at))
    ORDER BY s.created_at DESC, s.ticket_id DESC), '[]'::json) FROM shown s))::text AS page
