-- CAD-3/CAD-4/CAD-7: save call-associated variables in one atomic step.
-- The save is allowed only while the interaction is in one of the given
-- statuses and, for an agent, only by the interaction's agent. Each variable
-- names the version the save is based on: if any stored version differs,
-- nothing is written and the conflicts are returned (the first save wins).
-- The flow's saves name no version and overwrite.
--
-- KEYS[1] interaction hash, KEYS[2] its variables hash
--   (fields val:<name>, ver:<name>, src:<name>, by:<name>, at:<name>)
-- ARGV[1] agent who must be the interaction's agent ('' = no check: the flow)
-- ARGV[2] statuses in which the save is allowed (comma separated)
-- ARGV[3] source ('agent' or 'flow'), ARGV[4] now (ms)
-- ARGV[5..] per variable: name, based-on version ('' = none),
--   '1' = set to the value / '0' = clear, value
-- Returns {'ok', name, new version, ...}
--      or {'gone'} / {'status', status} / {'party', status}
--      or {'conflict', name, current version, '1'|'0' (has a value), value, ...}
local status = redis.call('HGET', KEYS[1], 'status')
if not status then
  return {'gone'}
end
local allowed = false
for s in string.gmatch(ARGV[2], '[^,]+') do
  if s == status then allowed = true end
end
if not allowed then
  return {'status', status}
end
if ARGV[1] ~= '' and (redis.call('HGET', KEYS[1], 'agent') or '') ~= ARGV[1] then
  return {'party', status}
end
local conflicts = {'conflict'}
for i = 5, #ARGV, 4 do
  local name, based_on = ARGV[i], ARGV[i + 1]
  if based_on ~= '' then
    local current = redis.call('HGET', KEYS[2], 'ver:' .. name) or '0'
    if tonumber(current) ~= tonumber(based_on) then
      local value = redis.call('HGET', KEYS[2], 'val:' .. name)
      table.insert(conflicts, name)
      table.insert(conflicts, current)
      table.insert(conflicts, value and '1' or '0')
      table.insert(conflicts, value or '')
    end
  end
end
if #conflicts > 1 then
  return conflicts
end
local saved = {'ok'}
for i = 5, #ARGV, 4 do
  local name = ARGV[i]
  if ARGV[i + 2] == '1' then
    redis.call('HSET', KEYS[2], 'val:' .. name, ARGV[i + 3])
  else
    redis.call('HDEL', KEYS[2], 'val:' .. name)
  end
  local version = redis.call('HINCRBY', KEYS[2], 'ver:' .. name, 1)
  redis.call('HSET', KEYS[2], 'src:' .. name, ARGV[3], 'by:' .. name, ARGV[1], 'at:' .. name, ARGV[4])
  table.insert(saved, name)
  table.insert(saved, tostring(version))
end
return saved
