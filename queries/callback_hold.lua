-- callback_hold: checks that an agent's consumer still holds a callback entry and,
-- if so, restarts its idle clock, atomically, so nobody can take it while its
-- result is being stored. Returns 1 held, 0 not (another agent took it, or it is
-- gone).
--
-- KEYS[1] stream     hotline:callbacks
-- ARGV[1] group      agents
-- ARGV[2] consumer   the agent connection's consumer
-- ARGV[3] entry_id
local p = redis.call('XPENDING', KEYS[1], ARGV[1], ARGV[3], ARGV[3], 1, ARGV[2])
if #p == 0 then return 0 end
redis.call('XCLAIM', KEYS[1], ARGV[1], ARGV[2], 0, ARGV[3], 'JUSTID')
return 1
