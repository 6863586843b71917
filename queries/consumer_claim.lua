-- consumer_claim: a department consumer takes over entries other consumers have
-- held longer than the redelivery time (a consumer that vanished or went silent),
-- never its own: XAUTOCLAIM would hand a consumer back the very tickets it holds
-- unacknowledged, filling its window with copies. Looks at the first 1000 pending
-- entries. The reply has XAUTOCLAIM's shape: {'0-0', entries, {}}.
-- It also deletes the other consumers that hold nothing and were idle longer than
-- the redelivery time: those of closed connections and of dead daemons, which
-- nothing else ever removes (one more per department connection, for ever). A
-- consumer with pending entries is kept (XGROUP DELCONSUMER would drop them); a live
-- one reads at least every half redelivery time, and XREADGROUP creates it again if
-- it was deleted anyway (a stalled loop).
--
-- KEYS[1] stream     hotline:dept:CODE
-- ARGV[1] group      hotline
-- ARGV[2] consumer   this connection's consumer
-- ARGV[3] idle_ms    redeliver_after_ms
-- ARGV[4] count      most entries to take
local p = redis.pcall('XPENDING', KEYS[1], ARGV[1], 'IDLE', ARGV[3], '-', '+', 1000)
if p.err then return p end
local consumers = redis.call('XINFO', 'CONSUMERS', KEYS[1], ARGV[1])
for _, c in ipairs(consumers) do
  local f = {}
  for i = 1, #c, 2 do f[c[i]] = c[i + 1] end
  if f.name ~= ARGV[2] and f.pending == 0 and f.idle > tonumber(ARGV[3]) then
    redis.call('XGROUP', 'DELCONSUMER', KEYS[1], ARGV[1], f.name)
  end
end
local ids = {}
for _, e in ipairs(p) do
  if e[2] ~= ARGV[2] then ids[#ids + 1] = e[1] end
  if #ids >= tonumber(ARGV[4]) then break end
end
if #ids == 0 then return {'0-0', {}, {}} end
return {'0-0', redis.call('XCLAIM', KEYS[1], ARGV[1], ARGV[2], ARGV[3], unpack(ids)), {}}
