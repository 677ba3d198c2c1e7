-- IN-1: the offer's agent leg, written only while the offer stands. The
-- interaction must still be `ringing` for the reserved agent (a job of the
-- interaction may have ended it or put it back since the routing step); then
-- its agent leg's channel ID ('<interaction id>-a<offers>') is written to the
-- interaction (that one field) and indexed, so that the leg leads to its
-- interaction before Asterisk has it (REL-1, reconciliation). A customer's
-- call (not a callback, whose customer is dialled only once the agent
-- answered) without a bridge yet is given its bridge's ID (its direct one or,
-- to be recorded, its shared one: IN-2), so that its end destroys the bridge
-- that is created beside the offer.
--
-- KEYS[1] the interaction's hash, KEYS[2] the channel index's key prefix
-- ('cp:{dc}:chan:', same hash tag).
-- ARGV[1] the reserved agent, ARGV[2] the status an offer rings in,
-- ARGV[3] the leg ID's start ('<interaction id>-a'), ARGV[4] the interaction
-- ID, ARGV[5] the index's lifetime (seconds), ARGV[6] the bridge's ID.
-- Returns {1, field, value, ...} (the interaction after the write) when the
-- offer stands ({2, ...} when its bridge was named by this write), {0, field, value, ...} (as it is) when not, {} when there is
-- no such interaction.
local raw = redis.call('HGETALL', KEYS[1])
if #raw == 0 then return {} end
local f = {}
for i = 1, #raw, 2 do f[raw[i]] = raw[i + 1] end
if f['status'] ~= ARGV[2] or f['agent'] ~= ARGV[1] then
  table.insert(raw, 1, 0)
  return raw
end
local channel = ARGV[3] .. (f['offers'] or '0')
local stands = 1
if (f['bridge'] or '') == '' and (f['kind'] or 'call') == 'call' then
  redis.call('HSET', KEYS[1], 'agent_channel', channel, 'bridge', ARGV[6])
  stands = 2
else
  redis.call('HSET', KEYS[1], 'agent_channel', channel)
end
redis.call('SET', KEYS[2] .. channel, ARGV[4], 'EX', ARGV[5])
local now = redis.call('HGETALL', KEYS[1])
table.insert(now, 1, stands)
return now
