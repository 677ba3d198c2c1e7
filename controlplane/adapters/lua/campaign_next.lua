-- PC-2: the agent's current preview, or the next ready contact of the first
-- campaign (in the order given) that has one. Previews that lapsed are made
-- ready again first.
-- ARGV[1] prefix, [2] tenant, [3] agent, [4] now (ms), [5] preview ms, then campaign ids.
-- Returns {} or {campaign id, contact id}.
local prefix, tenant, agent = ARGV[1], ARGV[2], ARGV[3]
local now, ttl = tonumber(ARGV[4]), tonumber(ARGV[5])
local pkey = prefix .. 'preview:' .. tenant .. ':' .. agent
local current = redis.call('GET', pkey)
if current then
  local sep = string.find(current, '|', 1, true)
  return {string.sub(current, 1, sep - 1), string.sub(current, sep + 1)}
end
for i = 6, #ARGV do
  local cid = ARGV[i]
  local base = prefix .. 'campaign:' .. tenant .. ':' .. cid
  local lapsed = redis.call('ZRANGEBYSCORE', base .. ':previews', '-inf', now)
  for _, c in ipairs(lapsed) do
    redis.call('ZREM', base .. ':previews', c)
    local state = redis.call('HGET', base .. ':state', c) or ''
    if string.sub(state, 1, 8) == 'preview:' then
      redis.call('HSET', base .. ':state', c, 'ready')
      redis.call('ZADD', base .. ':ready', redis.call('HGET', base .. ':order', c) or 0, c)
      redis.call('DEL', prefix .. 'preview:' .. tenant .. ':' .. string.sub(state, 9))
    end
  end
  local head = redis.call('ZPOPMIN', base .. ':ready')
  if #head > 0 then
    local c = head[1]
    redis.call('HSET', base .. ':state', c, 'preview:' .. agent)
    redis.call('ZADD', base .. ':previews', now + ttl, c)
    redis.call('SET', pkey, cid .. '|' .. c, 'PX', ttl)
    return {cid, c}
  end
end
return {}
