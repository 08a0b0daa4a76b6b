--[[
  The watchdog's one read of Redis per tick, atomic so that what it says of the jobs and of the stream agrees:
  whether the run's watch mark was still there (gone: Redis lost the run's data), the id of the stream's last
  entry, and which jobs exist. A job missing here whose step the coordinator still sees in flight once it has read
  the stream up to that id is lost: a worker sends a job's events before the job completes.
  KEYS[1]: the run's watch mark; KEYS[2]: the run's event stream; KEYS[3..]: job hashes.
  ARGV[1]: the mark's ttl in seconds (it is set again).
  Returns { mark was there (0/1), last stream id or '', then 0/1 per job }.
]]
local marked = redis.call('EXISTS', KEYS[1])
redis.call('SET', KEYS[1], '1', 'EX', tonumber(ARGV[1]))
local last = ''
if redis.call('EXISTS', KEYS[2]) == 1 then
  local entry = redis.call('XREVRANGE', KEYS[2], '+', '-', 'COUNT', 1)[1]
  if entry then last = entry[1] end
end
local reply = { marked, last }
for i = 3, #KEYS do
  reply[#reply + 1] = redis.call('EXISTS', KEYS[i])
end
return reply
