--[[
  The dispatch fence of a run: a coordinator's jobs go out only while no newer coordinator (a larger lease epoch)
  has claimed the run. A coordinator claims with its epoch before it reads the run's jobs and stream, and again
  before each flush of jobs.
  KEYS[1]: the run's epoch key. ARGV[1]: the coordinator's epoch; ARGV[2]: ttl in seconds.
  Returns 0 when the claim holds (the key then holds this epoch), else the newer epoch.
]]
local stored = tonumber(redis.call('GET', KEYS[1]) or '0')
local mine = tonumber(ARGV[1])
if stored > mine then
  return stored
end
redis.call('SET', KEYS[1], mine, 'EX', tonumber(ARGV[2]))
return 0
