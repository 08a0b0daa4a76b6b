--[[
  Stores output values unless a newer attempt of their step already wrote them: a worker presumed lost (frozen, cut
  off) that comes back must not overwrite the output of the attempt that replaced it.
  KEYS: value and attempt keys, in pairs.
  ARGV[1]: ttl in seconds (0: none); then, per pair, the encoded bytes and the attempt.
  Returns how many values were written. One call for all the values a worker sends in one pipeline.
]]
local ttl = tonumber(ARGV[1])
local written = 0
for i = 1, #KEYS, 2 do
  local bytes, attempt = ARGV[i + 1], ARGV[i + 2]
  local current = redis.call('GET', KEYS[i + 1])
  if not current or tonumber(current) <= tonumber(attempt) then
    if ttl > 0 then
      redis.call('SET', KEYS[i], bytes, 'EX', ttl)
      redis.call('SET', KEYS[i + 1], attempt, 'EX', ttl)
    else
      redis.call('SET', KEYS[i], bytes)
      redis.call('SET', KEYS[i + 1], attempt)
    end
    written = written + 1
  end
end
return written
