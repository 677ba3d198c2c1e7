-- LIM-1..3: admit a call against its datacenter's and its tenant's limits in
-- one atomic step. A slot is a lease keyed by the call (a sorted-set member
-- scored by its expiry, ms): freed when the call ends, renewed while the
-- call lives, and reclaimed here once expired (its owner is gone).
--
-- KEYS[1] datacenter slots, KEYS[2] tenant slots
-- ARGV[1] call id, ARGV[2] now (ms), ARGV[3] lease expiry (ms),
-- ARGV[4] datacenter limit, ARGV[5] tenant limit, ARGV[6..] the writes to
-- make if the call is admitted (its record saved in the same atomic step):
-- each as its argument count followed by the command and its arguments
-- Returns 0 (admitted, or already holding a slot), 26 (datacenter full) or
-- 27 (tenant full); a refused call writes nothing.
local function admitted()
  local i = 6
  while i <= #ARGV do
    local n = tonumber(ARGV[i])
    redis.call(unpack(ARGV, i + 1, i + n))
    i = i + n + 1
  end
  return 0
end

redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', ARGV[2])
if redis.call('ZSCORE', KEYS[2], ARGV[1]) then
  redis.call('ZADD', KEYS[1], ARGV[3], ARGV[1])
  redis.call('ZADD', KEYS[2], ARGV[3], ARGV[1])
  return admitted()
end
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[4]) then
  return 26
end
if redis.call('ZCARD', KEYS[2]) >= tonumber(ARGV[5]) then
  return 27
end
redis.call('ZADD', KEYS[1], ARGV[3], ARGV[1])
redis.call('ZADD', KEYS[2], ARGV[3], ARGV[1])
return admitted()
