-- stream_depths: for /metrics, the length of each stream and how many of its
-- entries its consumer group has handed out and not had acknowledged. A stream or
-- group that does not exist (yet) counts 0. Read-only; O(1) per stream.
-- Returns 2 integers per stream, in order: length, pending.
--
-- KEYS[1..] streams  hotline:dept:CODE, hotline:callbacks, ...
-- ARGV[1..] groups   the consumer group of the stream of the same index
local out = {}
for i, key in ipairs(KEYS) do
  local len = 0
  local pending = 0
  if redis.call('EXISTS', key) == 1 then
    len = redis.call('XLEN', key)
    local ok, summary = pcall(redis.call, 'XPENDING', key, ARGV[i])
    if ok and type(summary) == 'table' then
      pending = summary[1]
    end
  end
  out[#out + 1] = len
  out[#out + 1] = pending
end
return out
