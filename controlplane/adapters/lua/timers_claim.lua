-- Durable timers: claim up to ARGV[2] timers due at ARGV[1] (ms): remove
-- them from the sorted set KEYS[1] and return them, so that exactly one
-- replica runs each.
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, ARGV[2])
for _, member in ipairs(due) do
  redis.call('ZREM', KEYS[1], member)
end
return due
