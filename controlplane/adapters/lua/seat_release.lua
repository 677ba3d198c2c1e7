-- A supervisors' browser-phone seat (KEYS[1]): give it back only if the
-- session ARGV[1] still holds it. Returns 1 when released, else 0.
if redis.call('HGET', KEYS[1], 'session') == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
