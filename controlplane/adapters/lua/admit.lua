-- LIM-1..3: admit a call against its datacenter's and its tenant's limits in
-- one atomic step. A slot is a lease keyed by the call (a sorted-set member
-- scored by its expiry, ms): freed when the call ends, renewed while the
-- call lives, and reclaimed here once expired (its owner is gone).
--
-- KEYS[1] datacenter slots, KEYS[2] tenant slots
-- ARGV[1] call id, ARGV[2] now (ms), ARGV[3] lease expiry (ms),
-- ARGV[4] datacenter limit, ARGV[5] tenant limit
-- Returns 0 (admitted, or already holding a slot), 26 (datacenter full) or
-- 27 (tenant full).
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', ARGV[2])
if redis.call('ZSCORE', KEYS[2], ARGV[1]) then
  redis.call('ZADD', KEYS[1], ARGV[3], ARGV[1])
  redis.call('ZADD', KEYS[2], ARGV[3], ARGV[1])
  return 0
end
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[4]) then
  return 26
end
if redis.call('ZCARD', KEYS[2]) >= tonumber(ARGV[5]) then
  return 27
end
redis.call('ZADD', KEYS[1], ARGV[3], ARGV[1])
redis.call('ZADD', KEYS[2], ARGV[3], ARGV[1])
return 0
