-- IN-2: the bridge an interaction's parties moved to, written (that one
-- field) only while the interaction's record exists and has not ended, so
-- that a step that raced the end writes nothing.
--
-- KEYS[1] the interaction's hash.
-- ARGV[1] the bridge's ID, ARGV[2] the status of an ended interaction.
-- Returns 1 when written, 0 when not.
local status = redis.call('HGET', KEYS[1], 'status')
if not status or status == ARGV[2] then return 0 end
redis.call('HSET', KEYS[1], 'bridge', ARGV[1])
return 1
