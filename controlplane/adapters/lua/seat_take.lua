-- A supervisors' browser-phone seat (KEYS[1], a hash: session, owner,
-- since): take it for the session ARGV[2] of the owner ARGV[3] at ARGV[4]
-- (ms), only if its holder is still ARGV[1] (the session the choice was made
-- on; "" for none). Returns 1 when taken, 0 when another sign-in took it
-- meanwhile (the caller chooses again).
local holder = redis.call('HGET', KEYS[1], 'session') or ''
if holder ~= ARGV[1] then return 0 end
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], 'session', ARGV[2], 'owner', ARGV[3], 'since', ARGV[4])
return 1
