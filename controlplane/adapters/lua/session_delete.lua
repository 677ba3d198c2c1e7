-- End a session; the agent's pointer too when it still names it.
-- KEYS[1] the session hash, KEYS[2] the agent's pointer; ARGV[1] the session key.
redis.call('DEL', KEYS[1])
if redis.call('GET', KEYS[2]) == ARGV[1] then redis.call('DEL', KEYS[2]) end
return 1
