-- SUP-6: update a kept interaction record (the wrap-up reason comes after
-- the end); nothing when there is no record.
-- KEYS[1] the record hash; ARGV: field/value pairs. Returns HSET's count or 0.
if redis.call('EXISTS', KEYS[1]) == 1 then return redis.call('HSET', KEYS[1], unpack(ARGV)) end return 0
