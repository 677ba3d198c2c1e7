-- The event-stream lease: give it up (KEYS[1]) only if this replica
-- (ARGV[1]) still holds it. Returns 1 when released, else 0.
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
