-- Create a session and make it the agent's one; answers the handle of the
-- session it replaced ("" when none).
-- KEYS[1] the session hash, KEYS[2] the agent's pointer to their session;
-- ARGV[1] session ttl (ms), [2] pointer ttl (ms), [3] the session key,
-- [4] the session keys' prefix, then the session's field/value pairs.
local old = redis.call('GET', KEYS[2])
local replaced = ''
if old and old ~= ARGV[3] then
  local old_key = ARGV[4] .. old
  replaced = redis.call('HGET', old_key, 'handle') or ''
  redis.call('DEL', old_key)
end
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], unpack(ARGV, 5))
redis.call('PEXPIRE', KEYS[1], ARGV[1])
redis.call('SET', KEYS[2], ARGV[3], 'PX', ARGV[2])
return replaced
