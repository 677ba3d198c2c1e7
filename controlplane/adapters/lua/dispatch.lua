-- IN-3: pick the next (call, agent) pair and reserve both in one atomic step.
-- Calls: highest queue priority first, then the longest waiting (lowest score
-- = entered the contact center first). Agents: among `available` members of
-- the queue's teams whose phone is idle (ST-4), the one available the longest.
-- The call leaves its queue, the agent becomes `reserved` with the offer, the
-- interaction `ringing`.
--
-- KEYS: none fixed; every key is built from ARGV[1], the datacenter's prefix
-- with its hash tag, so all of them live in one cluster slot.
-- ARGV[1] key prefix ('cp:{dc}:'), ARGV[2] tenant, ARGV[3] now (ms),
-- ARGV[4] the statuses an interaction is offered from (comma separated, from
-- the interaction status table: `status_sources(ringing, offer)`),
-- ARGV[5] how a consult request's leg ID starts its kind ('-' and the
-- consult legs' letter, `LegKind.CONSULT`),
-- ARGV[6] number of queues, then per queue: id, priority, team count, teams...
-- Returns {interaction id, agent id, queue id, the agent's state sequence
-- number, the extension the agent is logged in with ('' if none)} or an
-- empty array.
--
-- TR-4: an interaction may name agents it must never be offered to again
-- (the set 'ix:<id>:exclude'); when a queue's first call excludes every
-- available agent, the calls behind it (up to 10) are tried.
-- CO-1: a queue may also hold consult requests, by their leg ID
-- ('<interaction id>-k<n>'): the agent is reserved for the request, and the
-- consulting interaction's record is left as it is.
-- A queued interaction whose status the table does not let ring (it moved on
-- while its queue entry stayed) leaves the queue instead of being offered.
local prefix, tenant, now = ARGV[1], ARGV[2], ARGV[3]
local offerable = {}
for s in string.gmatch(ARGV[4], '[^,]+') do offerable[s] = true end
local request_mark = ARGV[5]
local nqueues = tonumber(ARGV[6])
local candidates = {}
local i = 7
for _ = 1, nqueues do
  local qid, prio, nteams = ARGV[i], tonumber(ARGV[i + 1]), tonumber(ARGV[i + 2])
  local teams = {}
  for t = 1, nteams do teams[t] = ARGV[i + 2 + t] end
  i = i + 3 + nteams
  local qkey = prefix .. 'queue:' .. tenant .. ':' .. qid
  local head = redis.call('ZRANGE', qkey, 0, 0, 'WITHSCORES')
  if #head > 0 and redis.call('EXISTS', prefix .. 'ix:' .. head[1] .. ':exclude') == 1 then
    head = redis.call('ZRANGE', qkey, 0, 9, 'WITHSCORES')
  end
  for h = 1, #head, 2 do
    table.insert(candidates, {qid = qid, prio = prio, ix = head[h], score = tonumber(head[h + 1]), teams = teams})
  end
end
table.sort(candidates, function(a, b)
  if a.prio ~= b.prio then return a.prio > b.prio end
  return a.score < b.score
end)
-- The agent available the longest among the teams, skipping agents whose
-- phone is still busy (ST-4); stale members (state changed without the set
-- being updated) are dropped on the way.
local function longest_available(teams, ix)
  local best, best_score, best_team = nil, nil, nil
  local excluded = prefix .. 'ix:' .. ix .. ':exclude'
  for _, team in ipairs(teams) do
    local akey_set = prefix .. 'avail:' .. tenant .. ':' .. team
    local offset = 0
    while true do
      local page = redis.call('ZRANGE', akey_set, offset, offset + 19, 'WITHSCORES')
      if #page == 0 then break end
      local found = false
      for j = 1, #page, 2 do
        local agent, score = page[j], tonumber(page[j + 1])
        local akey = prefix .. 'agent:' .. tenant .. ':' .. agent
        local state = redis.call('HGET', akey, 'state')
        if state ~= 'available' then
          redis.call('ZREM', akey_set, agent)
          offset = offset - 1
        elseif redis.call('SISMEMBER', prefix .. 'busy_devices',
            redis.call('HGET', akey, 'extension') or '') == 0
            and redis.call('SISMEMBER', excluded, agent) == 0 then
          if best_score == nil or score < best_score then
            best, best_score, best_team = agent, score, team
          end
          found = true
          break
        end
      end
      if found then break end
      offset = offset + 20
    end
  end
  return best, best_team
end

for _, c in ipairs(candidates) do
  local request = string.find(c.ix, request_mark, 1, true) ~= nil
  local ixkey = prefix .. 'ix:' .. c.ix
  local agent, team = nil, nil
  if request or offerable[redis.call('HGET', ixkey, 'status') or ''] then
    agent, team = longest_available(c.teams, c.ix)
  else
    redis.call('ZREM', prefix .. 'queue:' .. tenant .. ':' .. c.qid, c.ix)
  end
  if agent ~= nil then
    local akey = prefix .. 'agent:' .. tenant .. ':' .. agent
    redis.call('ZREM', prefix .. 'avail:' .. tenant .. ':' .. team, agent)
    redis.call('ZREM', prefix .. 'queue:' .. tenant .. ':' .. c.qid, c.ix)
    redis.call('HSET', akey, 'state', 'reserved', 'previous', 'available',
      'reason', request and 'consult' or 'offer', 'since', now, 'offer', c.ix)
    if not request then
      redis.call('HSET', ixkey, 'status', 'ringing', 'agent', agent)
      redis.call('HINCRBY', ixkey, 'offers', 1)
    end
    local seq = redis.call('HINCRBY', akey, 'seq', 1)
    return {c.ix, agent, c.qid, seq, redis.call('HGET', akey, 'extension') or ''}
  end
end
return {}
