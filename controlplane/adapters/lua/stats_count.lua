-- SUP-1, SUP-3: count what an event makes, at the point where it happens.
-- KEYS[1] the interaction's marks (a hash; '' fields), KEYS[2] the tenant's
-- day totals, KEYS[3] the day's 15-minute buckets.
-- ARGV[1] the mark that guards these counts ('' = no mark: counts that may
-- repeat), ARGV[2] the marks' lifetime (s), ARGV[3] the counts' lifetime (s),
-- then pairs: key index (2 or 3), field. Each field is incremented by 1.
-- Returns 1 when counted, 0 when the mark was already set (counted before).
if ARGV[1] ~= '' then
  if redis.call('HSETNX', KEYS[1], ARGV[1], '1') == 0 then return 0 end
  redis.call('EXPIRE', KEYS[1], ARGV[2])
end
local touched = {}
for i = 4, #ARGV, 2 do
  local key = KEYS[tonumber(ARGV[i])]
  redis.call('HINCRBY', key, ARGV[i + 1], 1)
  touched[key] = true
end
for key, _ in pairs(touched) do redis.call('EXPIRE', key, ARGV[3]) end
return 1
