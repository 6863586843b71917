-- publish: appends several tickets to their streams in one call (one script run,
-- one round trip, one reply for up to BUS_PUBLISH_MAX tickets), each guarded by its
-- publish marker, so that publishing the same dispatch (or callback) again, from
-- whichever outbox row, is a no-op. With n tickets, for ticket i (from 1):
-- KEYS[i] its stream; ARGV[i] its marker (a field of hotline:published:HOUR:
-- pub:TICKET_NO:RETURNS.REOPENS or cb:TICKET_NO:REOPENS.ATTEMPTS); ARGV[n+2i-1] its
-- ticket_no; ARGV[n+2i] its serialized hotline.v1.Ticket.
-- Returns {status, first_error}: status has one character per ticket, '+' appended,
-- '=' not appended because the marker says it was published before (in this hour's
-- or the previous hour's hash, or earlier in the same call), '!' refused by XADD (a
-- stream key of the wrong type; READONLY on a demoted primary), which leaves no marker
-- while the others go on; first_error is the first refusal's error, or nil. One
-- string rather than an entry id per ticket: the ids were never used, and every one
-- was a reply element for Redis to write and hotlined to allocate and free.
-- Per call, not per ticket: one HMGET on each of the two hashes, one HSET of the
-- new markers, one EXPIRE. HOUR is unix time / 3600 by Redis's own clock (TIME), so
-- daemons with skewed clocks share one bucket; TIME before a write is fine with
-- effects replication (the only kind in Redis 7). The hash lives 2 hours after its
-- last write, so a marker is seen for at least 1 hour. The hashes are keys the
-- script makes up, not in KEYS: fine on one Redis, not on a Redis Cluster.
-- XADD makes the stream; its group is made (at 0) by the first consumer.
--
-- KEYS[1..] streams     one per ticket
-- ARGV[1..] markers     then ticket_no and ticket bytes per ticket
local n = #KEYS
local hour = math.floor(tonumber(redis.call('TIME')[1]) / 3600)
local bucket = 'hotline:published:' .. string.format('%d', hour)
local previous = 'hotline:published:' .. string.format('%d', hour - 1)
local in_bucket = redis.call('HMGET', bucket, unpack(ARGV, 1, n))
local in_previous = redis.call('HMGET', previous, unpack(ARGV, 1, n))
local status, first_error, seen, marks = {}, false, {}, {}
for i = 1, n do
  local mark = ARGV[i]
  if in_bucket[i] or in_previous[i] or seen[mark] then
    status[i] = '='
  else
    local id = redis.pcall('XADD', KEYS[i], '*', 'ticket_no', ARGV[n + 2 * i - 1], 'ticket', ARGV[n + 2 * i])
    if type(id) == 'table' and id.err then
      status[i] = '!'
      first_error = first_error or id
    else
      status[i] = '+'
      seen[mark] = true
      marks[#marks + 1] = mark
      marks[#marks + 1] = '1'
    end
  end
end
if #marks > 0 then
  redis.call('HSET', bucket, unpack(marks))
  redis.call('EXPIRE', bucket, 7200)
end
return {table.concat(status), first_error}
