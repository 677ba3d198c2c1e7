-- OD-4, OD-8, LIM-1..3: start an outbound call in one atomic step: admit it
-- against the datacenter's and the tenant's limits, reserve the agent
-- (compare-and-set against the states an outbound call may start from) and
-- create the interaction. Either all of it happens or nothing does, so an
-- attempt that loses (limit full, agent taken by an inbound offer) leaves no
-- slot, no reservation and no record behind.
--
-- The limits are checked first: an attempt over a limit is refused with its
-- code (26, 27) whatever the agent's state.
--
-- KEYS[1] agent hash, KEYS[2] the agent's team `available` zset,
-- KEYS[3] datacenter slots, KEYS[4] tenant slots, KEYS[5] busy devices set,
-- KEYS[6] interaction hash, KEYS[7] active interactions set,
-- KEYS[8] the outbound record hash of the interaction
-- ARGV[1] agent id, ARGV[2] allowed states (comma separated), ARGV[3] now (ms),
-- ARGV[4] lease expiry (ms), ARGV[5] datacenter limit, ARGV[6] tenant limit,
-- ARGV[7] interaction id, ARGV[8] the agent's reason ('outdial'),
-- ARGV[9] n = number of interaction field/value pairs, then those pairs,
-- then the outbound record's field/value pairs.
-- Returns {'ok', previous state, previous reason, sequence number},
-- {'limit', 26|27}, {'agent', current state} or {'device', current state}.
redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', ARGV[3])
redis.call('ZREMRANGEBYSCORE', KEYS[4], '-inf', ARGV[3])
if redis.call('ZCARD', KEYS[3]) >= tonumber(ARGV[5]) then
  return {'limit', 26}
end
if redis.call('ZCARD', KEYS[4]) >= tonumber(ARGV[6]) then
  return {'limit', 27}
end
local current = redis.call('HGET', KEYS[1], 'state') or 'logged_out'
local ok = false
for s in string.gmatch(ARGV[2], '[^,]+') do
  if s == current then ok = true end
end
if not ok then
  return {'agent', current}
end
local extension = redis.call('HGET', KEYS[1], 'extension') or ''
if extension ~= '' and redis.call('SISMEMBER', KEYS[5], extension) == 1 then
  return {'device', current}
end
local reason = redis.call('HGET', KEYS[1], 'reason') or ''
local ix = ARGV[7]
redis.call('ZADD', KEYS[3], ARGV[4], ix)
redis.call('ZADD', KEYS[4], ARGV[4], ix)
redis.call('HSET', KEYS[1], 'state', 'reserved', 'previous', current, 'reason', ARGV[8],
  'since', ARGV[3], 'offer', ix)
redis.call('ZREM', KEYS[2], ARGV[1])
local seq = redis.call('HINCRBY', KEYS[1], 'seq', 1)
local n = tonumber(ARGV[9])
redis.call('DEL', KEYS[6])
for i = 10, 9 + 2 * n, 2 do
  redis.call('HSET', KEYS[6], ARGV[i], ARGV[i + 1])
end
redis.call('SADD', KEYS[7], ix)
redis.call('DEL', KEYS[8])
for i = 10 + 2 * n, #ARGV, 2 do
  redis.call('HSET', KEYS[8], ARGV[i], ARGV[i + 1])
end
redis.call('HSET', KEYS[8], 'before_state', current, 'before_reason', reason)
return {'ok', current, reason, seq}
