-- SUP-6: keep the record of an interaction that ended, and drop records
-- older than the retention, in one step.
-- KEYS[1] the tenant's index (sorted set: interaction id -> ended at, ms),
-- KEYS[2] the record (hash).
-- ARGV[1] interaction id, ARGV[2] ended at (ms), ARGV[3] oldest end time
-- kept (ms), ARGV[4] the record's lifetime (s), ARGV[5] the record hash's
-- key prefix (the id is appended), then field/value pairs.
redis.call('DEL', KEYS[2])
local fields = {}
for i = 6, #ARGV do fields[#fields + 1] = ARGV[i] end
if #fields > 0 then redis.call('HSET', KEYS[2], unpack(fields)) end
redis.call('EXPIRE', KEYS[2], ARGV[4])
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[1])
-- trim: at most 200 old records per call, so the step stays short
local old = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', '(' .. ARGV[3], 'LIMIT', 0, 200)
for _, id in ipairs(old) do
  redis.call('DEL', ARGV[5] .. id)
  redis.call('ZREM', KEYS[1], id)
end
return #old
