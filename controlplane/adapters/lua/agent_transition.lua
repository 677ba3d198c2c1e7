-- Change an agent's state if, and only if, it is still in one of the expected
-- states (and, when given, still holds the expected offer). Keeps the team's
-- "available" sorted set (score = available since, ms) in step with the state.
--
-- KEYS[1] agent hash, KEYS[2] the team's available zset
-- ARGV[1] agent id, ARGV[2] expected states (comma separated),
-- ARGV[3] expected offer ('' = any), ARGV[4] new state, ARGV[5] reason,
-- ARGV[6] now (ms), ARGV[7] '1' = keep the earlier available-since,
-- ARGV[8..] field/value pairs to set ('' value = delete the field)
-- Returns {1, previous state, sequence number of this change} or
-- {0, current state, current sequence number}. The sequence number orders an
-- agent's state events however they travel.
local current = redis.call('HGET', KEYS[1], 'state') or 'logged_out'
local ok = false
for s in string.gmatch(ARGV[2], '[^,]+') do
  if s == current then ok = true end
end
if ok and ARGV[3] ~= '' then
  ok = (redis.call('HGET', KEYS[1], 'offer') or '') == ARGV[3]
end
if not ok then
  return {0, current, tonumber(redis.call('HGET', KEYS[1], 'seq') or '0')}
end
local new = ARGV[4]
redis.call('HSET', KEYS[1], 'state', new, 'previous', current, 'reason', ARGV[5], 'since', ARGV[6])
for i = 8, #ARGV, 2 do
  if ARGV[i + 1] == '' then
    redis.call('HDEL', KEYS[1], ARGV[i])
  else
    redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1])
  end
end
if new == 'available' then
  local since = ARGV[6]
  if ARGV[7] == '1' then
    since = redis.call('HGET', KEYS[1], 'available_since') or since
  end
  redis.call('HSET', KEYS[1], 'available_since', since)
  redis.call('ZADD', KEYS[2], since, ARGV[1])
else
  redis.call('ZREM', KEYS[2], ARGV[1])
end
local seq = redis.call('HINCRBY', KEYS[1], 'seq', 1)
return {1, current, seq}
