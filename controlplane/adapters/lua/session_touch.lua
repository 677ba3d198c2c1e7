-- Use a session: its fields, with its TTL renewed (idle timeout, never past
-- its absolute end); nothing when it has ended.
-- KEYS[1] the session hash; ARGV[1] now (ms), [2] idle timeout (ms).
local fields = redis.call('HGETALL', KEYS[1])
if #fields == 0 then return fields end
local expires
for i = 1, #fields, 2 do
  if fields[i] == 'expires' then expires = tonumber(fields[i + 1]) end
end
local ttl = math.min(tonumber(ARGV[2]), (expires or 0) - tonumber(ARGV[1]))
if ttl <= 0 then
  redis.call('DEL', KEYS[1])
  return {}
end
redis.call('PEXPIRE', KEYS[1], ttl)
return fields
