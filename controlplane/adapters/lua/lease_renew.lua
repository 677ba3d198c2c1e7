-- The event-stream lease: renew it (KEYS[1] for ARGV[2] ms) only if this
-- replica (ARGV[1]) still holds it. Returns 1 when renewed, else 0.
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
