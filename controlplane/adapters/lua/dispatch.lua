-- IN-3: pick the next (call, agent) pair and reserve both in one atomic step.
-- Calls: highest queue priority first, then the longest waiting (lowest score
-- = entered the contact center first). Agents: among `available` members of
-- the queue's teams, the one available the longest. The call leaves its queue,
-- the agent becomes `reserved` with the offer, the interaction `ringing`.
--
-- KEYS: none fixed; every key is built from ARGV[1], the datacenter's prefix
-- with its hash tag, so all of them live in one cluster slot.
-- ARGV[1] key prefix ('cp:{dc}:'), ARGV[2] tenant, ARGV[3] now (ms),
-- ARGV[4] number of queues, then per queue: id, priority, team count, teams...
-- Returns {interaction id, agent id, queue id} or an empty array.
local prefix, tenant, now = ARGV[1], ARGV[2], ARGV[3]
local nqueues = tonumber(ARGV[4])
local candidates = {}
local i = 5
for _ = 1, nqueues do
  local qid, prio, nteams = ARGV[i], tonumber(ARGV[i + 1]), tonumber(ARGV[i + 2])
  local teams = {}
  for t = 1, nteams do teams[t] = ARGV[i + 2 + t] end
  i = i + 3 + nteams
  local head = redis.call('ZRANGE', prefix .. 'queue:' .. tenant .. ':' .. qid, 0, 0, 'WITHSCORES')
  if #head > 0 then
    table.insert(candidates, {qid = qid, prio = prio, ix = head[1], score = tonumber(head[2]), teams = teams})
  end
end
table.sort(candidates, function(a, b)
  if a.prio ~= b.prio then return a.prio > b.prio end
  return a.score < b.score
end)
for _, c in ipairs(candidates) do
  while true do
    local best, best_score, best_team = nil, nil, nil
    for _, team in ipairs(c.teams) do
      local top = redis.call('ZRANGE', prefix .. 'avail:' .. tenant .. ':' .. team, 0, 0, 'WITHSCORES')
      if #top > 0 and (best_score == nil or tonumber(top[2]) < best_score) then
        best, best_score, best_team = top[1], tonumber(top[2]), team
      end
    end
    if best == nil then break end
    local akey = prefix .. 'agent:' .. tenant .. ':' .. best
    redis.call('ZREM', prefix .. 'avail:' .. tenant .. ':' .. best_team, best)
    if redis.call('HGET', akey, 'state') == 'available' then
      local ixkey = prefix .. 'ix:' .. c.ix
      redis.call('ZREM', prefix .. 'queue:' .. tenant .. ':' .. c.qid, c.ix)
      redis.call('HSET', akey, 'state', 'reserved', 'previous', 'available', 'reason', 'offer',
        'since', now, 'offer', c.ix)
      redis.call('HSET', ixkey, 'status', 'ringing', 'agent', best)
      redis.call('HINCRBY', ixkey, 'offers', 1)
      return {c.ix, best, c.qid}
    end
    -- a stale member (state changed without the set being updated): drop it, look again
  end
end
return {}
