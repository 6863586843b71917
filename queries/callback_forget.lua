-- callback_forget: deletes an agent connection's consumer from the group when it
-- holds nothing (XGROUP DELCONSUMER would drop its pending entries: a consumer still
-- holding some is kept, so they are taken over after the timeout, not lost).
--
-- KEYS[1] stream     hotline:callbacks
-- ARGV[1] group      agents
-- ARGV[2] consumer
local p = redis.call('XPENDING', KEYS[1], ARGV[1], '-', '+', 1, ARGV[2])
if #p > 0 then return 0 end
return redis.call('XGROUP', 'DELCONSUMER', KEYS[1], ARGV[1], ARGV[2])
