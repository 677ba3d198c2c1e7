-- SUP-1..SUP-3: everything the console's live view needs, in one read.
-- ARGV[1] key prefix ('cp:{dc}:'), ARGV[2] tenant, ARGV[3] now + 1 (ms: slots
-- whose lease runs past now count),
-- ARGV[4] the day totals' key, ARGV[5] number of queues, the queue ids,
-- then the number of agents and the agent ids.
-- Returns {queues, agents, calls, dc_used, tenant_used, day}:
--   queues: per queue {waiting, oldest entry (ms) or ''};
--   agents: per agent {state, previous, reason, since, extension, offer, interaction};
--   calls: per agent {status, queue, direction, kind, entered_at, connected_at, held}
--     of its interaction (or offer), or {} when it has none;
--   day: the day's totals as a flat field/value list.
local prefix, tenant, now = ARGV[1], ARGV[2], ARGV[3]
local nqueues = tonumber(ARGV[5])
local queues, agents, calls = {}, {}, {}
for i = 1, nqueues do
  local key = prefix .. 'queue:' .. tenant .. ':' .. ARGV[5 + i]
  local head = redis.call('ZRANGE', key, 0, 0, 'WITHSCORES')
  queues[i] = {redis.call('ZCARD', key), head[2] or ''}
end
local base = 6 + nqueues
local nagents = tonumber(ARGV[base])
for i = 1, nagents do
  local a = redis.call('HMGET', prefix .. 'agent:' .. tenant .. ':' .. ARGV[base + i],
    'state', 'previous', 'reason', 'since', 'extension', 'offer', 'interaction')
  for j = 1, 7 do if a[j] == false then a[j] = '' end end
  agents[i] = a
  local ix = a[7] ~= '' and a[7] or a[6]
  if ix ~= '' then
    local c = redis.call('HMGET', prefix .. 'ix:' .. ix,
      'status', 'queue', 'direction', 'kind', 'entered_at', 'connected_at', 'held')
    for j = 1, 7 do if c[j] == false then c[j] = '' end end
    calls[i] = c
  else
    calls[i] = {}
  end
end
local dc_used = redis.call('ZCOUNT', prefix .. 'slots:dc', now, '+inf')
local tenant_used = redis.call('ZCOUNT', prefix .. 'slots:tenant:' .. tenant, now, '+inf')
return {queues, agents, calls, dc_used, tenant_used, redis.call('HGETALL', ARGV[4])}
