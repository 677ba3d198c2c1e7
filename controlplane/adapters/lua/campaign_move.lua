-- PC-3: a contact's state moves on only from the state expected.
-- KEYS[1] state hash, KEYS[2] ready zset, KEYS[3] order hash, KEYS[4] previews
-- zset, KEYS[5] the agent's preview key.
-- ARGV[1] contact, [2] expected state, [3] new state ('ready', 'done:<ix>'
-- or 'preview:<agent>'), [4] preview value, [5] preview expiry (ms), [6] ttl.
if redis.call('HGET', KEYS[1], ARGV[1]) ~= ARGV[2] then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])
if ARGV[3] == 'ready' then
  redis.call('ZADD', KEYS[2], redis.call('HGET', KEYS[3], ARGV[1]) or 0, ARGV[1])
elseif string.sub(ARGV[3], 1, 8) == 'preview:' then
  redis.call('ZADD', KEYS[4], ARGV[5], ARGV[1])
  redis.call('SET', KEYS[5], ARGV[4], 'PX', ARGV[6])
end
return 1
