-- PC-2 skip / PC-3 call: the agent's preview of (campaign, contact) ends.
-- ARGV[1] prefix, [2] tenant, [3] agent, [4] campaign, [5] contact,
-- [6] 'skip' (to the end of the list) or 'call:<interaction id>'.
-- Returns 1, or 0 when that is not the agent's preview.
local prefix, tenant, agent, cid, c, what = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6]
local pkey = prefix .. 'preview:' .. tenant .. ':' .. agent
if redis.call('GET', pkey) ~= cid .. '|' .. c then return 0 end
local base = prefix .. 'campaign:' .. tenant .. ':' .. cid
redis.call('DEL', pkey)
redis.call('ZREM', base .. ':previews', c)
if what == 'skip' then
  redis.call('HSET', base .. ':state', c, 'ready')
  redis.call('ZADD', base .. ':ready', redis.call('INCR', base .. ':seq'), c)
else
  redis.call('HSET', base .. ':state', c, 'dialing:' .. string.sub(what, 6))
end
return 1
