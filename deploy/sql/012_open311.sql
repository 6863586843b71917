-- 012_open311: what the Open311 GeoReport v2 API (docs/http-api.md "Open311") reads.
--
-- Its GET requests lists the tickets that came in through an Open311 client,
-- newest first within a window of requested_datetime (created_at). Those tickets
-- are stored with channel 'open311'; a partial index holds them alone, so the
-- listing reads only them, and every other ticket's intake pays nothing for it
-- (the predicate is checked, no index entry written).
CREATE INDEX tickets_open311_idx ON tickets (created_at, ticket_id)
    WHERE channel = 'open311';

-- How the Open311 API writes a time: W3C date and time at the city's offset from
-- UTC, whole seconds, "2026-12-07T09:00:00+08:00" ("...Z" at offset 0). Seconds are
-- cut, not rounded, as dates_format_iso() does.
CREATE FUNCTION w3c_time(t timestamptz, offset_minutes int) RETURNS text
IMMUTABLE STRICT PARALLEL SAFE LANGUAGE sql
AS $$
  SELECT to_char(t AT TIME ZONE 'UTC' + make_interval(mins => offset_minutes),
                 'YYYY-MM-DD"T"HH24:MI:SS')
    || CASE WHEN offset_minutes = 0 THEN 'Z'
       ELSE CASE WHEN offset_minutes < 0 THEN '-' ELSE '+' END
         || lpad((abs(offset_minutes) / 60)::text, 2, '0') || ':'
         || lpad((abs(offset_minutes) % 60)::text, 2, '0') END
$$;
