-- stream_trim: removes from a department stream the entries every consumer group has
-- read and acknowledged, with one XTRIM MINID instead of an XDEL per acknowledged
-- entry (issue 16). Run by each consumer now and then after it sent XACKs.
--
-- The floor: for each group of the stream, its oldest pending entry (XPENDING's
-- summary) or, when it holds none, the id just above its last-delivered-id; the
-- lowest of these over all groups. Below it every entry was handed out by every
-- group (groups hand out '>' in id order, and XADD ids only grow) and is in no
-- pending list (all pending ids are at or above it): read and acknowledged, done.
-- Entries not yet delivered to any consumer are above last-delivered-id, and pending
-- ones (held by a connection, by "orphans", by a dead daemon's consumer) are at or
-- above the oldest pending id: neither is ever trimmed. A stream with no group (no
-- department has read it yet; or Redis lost the group) is left whole.
--
-- One entry held for long (a department that never acknowledges it) holds the floor
-- down, and every entry acknowledged after it would stay. So when more than ARGV[2]
-- acknowledged entries sit above the floor (the stream's length less the pending and
-- the undelivered, XINFO's lag), they are deleted one by one: those no pending list
-- names among the first ARGV[2] + pending entries from the floor up to
-- last-delivered-id. Only when the
-- stream has our group alone and its lag is known (no deletions above
-- last-delivered-id, Redis >= 7.0).
-- Returns {entries trimmed, entries deleted one by one}.
--
-- KEYS[1] stream     hotline:dept:CODE
-- ARGV[1] group      hotline
-- ARGV[2] keep_max   acknowledged entries kept above the floor before deleting them
local key, group, keep_max = KEYS[1], ARGV[1], tonumber(ARGV[2])

-- ids "MS-SEQ": compare as numbers of any length (decimal strings, no leading zeros)
local function num_less(a, b)
  if #a ~= #b then return #a < #b end
  return a < b
end
local function id_less(a, b)
  local ams, aseq = string.match(a, '^(%d+)-(%d+)$')
  local bms, bseq = string.match(b, '^(%d+)-(%d+)$')
  if ams ~= bms then return num_less(ams, bms) end
  return num_less(aseq, bseq)
end
-- the id just above id: SEQ + 1, in decimal, carrying (never overflows 64 bits
-- in practice: SEQ counts the entries added within one millisecond)
local function id_next(id)
  local ms, seq = string.match(id, '^(%d+)-(%d+)$')
  local digits, i = {}, #seq
  for c in string.gmatch(seq, '%d') do digits[#digits + 1] = c end
  while i >= 1 and digits[i] == '9' do
    digits[i] = '0'
    i = i - 1
  end
  if i >= 1 then
    digits[i] = string.char(string.byte(digits[i]) + 1)
  else
    table.insert(digits, 1, '1')
  end
  return ms .. '-' .. table.concat(digits)
end

local groups = redis.pcall('XINFO', 'GROUPS', key)
if type(groups) ~= 'table' or groups.err or #groups == 0 then
  return {0, 0}
end
local floor, ours, others = nil, nil, 0
for _, g in ipairs(groups) do
  local f = {}
  for i = 1, #g, 2 do f[g[i]] = g[i + 1] end
  local summary = redis.call('XPENDING', key, f.name)
  local low = summary[1] > 0 and summary[2] or id_next(f['last-delivered-id'])
  if floor == nil or id_less(low, floor) then floor = low end
  if f.name == group then
    ours = { last = f['last-delivered-id'], pending = summary[1], lag = f.lag }
  else
    others = others + 1
  end
end
local trimmed = redis.call('XTRIM', key, 'MINID', floor)

local deleted = 0
if ours and others == 0 and type(ours.lag) == 'number' and ours.pending > 0 then
  local kept = redis.call('XLEN', key) - ours.pending - ours.lag
  if kept > keep_max then
    -- keep_max entries not pending, at least, unless the range ends first
    local entries = redis.call('XRANGE', key, floor, ours.last, 'COUNT', keep_max + ours.pending)
    if #entries > 0 then
      local last = entries[#entries][1]
      -- every pending id in [floor, last]: there are at most ours.pending
      local held = {}
      for _, p in ipairs(redis.call('XPENDING', key, group, floor, last, ours.pending)) do
        held[p[1]] = true
      end
      local ids = {}
      for _, e in ipairs(entries) do
        if not held[e[1]] then ids[#ids + 1] = e[1] end
      end
      for i = 1, #ids, 500 do -- unpack has a limit
        deleted = deleted + redis.call('XDEL', key, unpack(ids, i, math.min(i + 499, #ids)))
      end
    end
  end
end
return {trimmed, deleted}
