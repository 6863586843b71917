-- open311_requests: Open311 GET requests and GET requests/{id} (docs/http-api.md "Open311"):
-- the tickets that came in through an Open311 client (channel 'open311' and a client
-- feed of the configuration), as the spec's JSON array, newest first. Either the
-- tickets named by $6 (the spec: service_request_id "overrides all other
-- arguments"), or those requested (created) within [$8, $9] of the services asked
-- for and the statuses wanted, at most $12. Nothing that names or reaches the caller
-- (phone, name) is shown: the API is public. The service of a ticket is the
-- configured service whose category is the ticket's (one per category, checked by
-- the config); the agency is its department's name (mirrored from the config).
-- Indexes: tickets_open311_idx (the window), tickets' ticket_no key (the ids),
-- departments' primary key.
--
-- $1 clients             text[]  the Open311 client feeds
-- $2 service_codes       text[]  every [service.CODE], with its
-- $3 service_names       text[]  ... service_name,
-- $4 service_categories  text[]  ... category,
-- $5 service_notices     text[]  ... and notice ('' = none)
-- $6 ids                 text[]  service_request_id list; NULL: the window's
-- $7 categories          text[]  the categories of the services asked for; NULL: all
-- $8 start_ms            int8    requested at or after (unix ms)
-- $9 end_ms              int8    ... and at or before
-- $10 want_open          bool
-- $11 want_closed        bool
-- $12 limit              int4    most requests of the window
-- $13 utc_offset_minutes int4    the city's, for the times written
-- > requests  text  JSON array of requests (the spec's fields, in its order)
WITH s AS (
  SELECT * FROM unnest($2::text[], $3::text[], $4::text[], $5::text[])
    AS s(service_code, service_name, category, notice)
), r AS (
  SELECT t.ticket_id, t.ticket_no, t.state, t.reply, t.category, t.content, t.dept_code,
    t.created_at, t.updated_at, t.closed_at, t.deadline_at, t.address, t.lat, t.lon
  FROM tickets t
  WHERE $6::text[] IS NOT NULL AND t.ticket_no = ANY($6::text[])
    AND t.channel = 'open311' AND t.feed_code = ANY($1::text[])
  UNION ALL
  (SELECT t.ticket_id, t.ticket_no, t.state, t.reply, t.category, t.content, t.dept_code,
     t.created_at, t.updated_at, t.closed_at, t.deadline_at, t.address, t.lat, t.lon
   FROM tickets t
   WHERE $6::text[] IS NULL AND t.channel = 'open311' AND t.feed_code = ANY($1::text[])
     AND t.created_at >= to_timestamp($8::int8::float8 / 1000)
     AND t.created_at <= to_timestamp($9::int8::float8 / 1000)
     AND ($7::text[] IS NULL OR t.category = ANY($7::text[]))
     AND CASE WHEN t.state = 'CLOSED' THEN $11::bool ELSE $10::bool END
   ORDER BY t.created_at DESC, t.ticket_id DESC
   LIMIT $12::int)
)
SELECT COALESCE(json_agg(json_build_object(
    'service_request_id', r.ticket_no,
    'status', CASE WHEN r.state = 'CLOSED' THEN 'closed' ELSE 'open' END,
    'status_notes', r.reply,
    'service_name', s.service_name,
    'service_code', s.service_code,
    'description', r.content,
    'agency_responsible', d.name,
    'service_notice', NULLIF(s.notice, ''),
    'requested_datetime', w3c_time(r.created_at, $13::int),
    'updated_datetime', w3c_time(CASE WHEN r.state = 'CLOSED'
      THEN COALESCE(r.closed_at, r.updated_at) ELSE r.updated_at END, $13::int),
    'expected_datetime', w3c_time(r.deadline_at, $13::int),
    'address', r.address,
    'address_id', NULL::text,
    'zipcode', NULL::text,
    'lat', r.lat,
    'long', r.lon,
    'media_url', NULL::text)
  ORDER BY r.created_at DESC, r.ticket_id DESC), '[]'::json)::text AS requests
FROM r LEFT JOIN s ON s.category = r.category
LEFT JOIN departments d ON d.dept_code = r.dept_code
