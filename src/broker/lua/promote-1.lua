--[[
  promote: move delayed messages (countdown, eta, retry backoff) whose time has come to their queues.

  KEYS[1]   the delayed sorted set (celeriac:delayed), score = due time in ms
  ARGV[1]   now in ms
  ARGV[2]   the most messages to move
  ARGV[3]   the key prefix
  ARGV[4]   the priority separator

  Returns { moved, nextDueMs or -1 }.

  Guarantee: delayed messages live in Redis, not in a worker's memory (Celery keeps ETA tasks in
  memory and re-delivers them after visibility_timeout: kombu#337), so they survive restarts and
  run once: ZREM and LPUSH happen in one script, whichever worker runs it.
]]
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[2]))
for _, raw in ipairs(due) do
  local ok, msg = pcall(cjson.decode, raw)
  local queue = 'celery'
  local priority = 0
  if ok and type(msg) == 'table' and type(msg.properties) == 'table' then
    local info = msg.properties.delivery_info
    if type(info) == 'table' and type(info.routing_key) == 'string' then queue = info.routing_key end
    if type(msg.properties.priority) == 'number' then priority = msg.properties.priority end
  elseif not ok then
    -- cjson refuses nesting past its 1,000 levels (JSON.parse and the worker read it): read the
    -- queue and priority from the text, the last of each (properties come last, as in
    -- recover-3.lua), anchored so a miss stays linear. Without this such a message went to
    -- 'celery' at priority 0, off its own queue.
    queue = string.match(raw, '^.*"routing_key"%s*:%s*"([^"]+)"') or queue
    priority = tonumber(string.match(raw, '^.*"priority"%s*:%s*(%d+)') or '0')
  end
  local bucket = 0
  if priority >= 9 then bucket = 9 elseif priority >= 6 then bucket = 6 elseif priority >= 3 then bucket = 3 end
  local key = ARGV[3] .. queue
  if bucket > 0 then key = key .. ARGV[4] .. bucket end
  redis.call('LPUSH', key, raw)
  redis.call('ZREM', KEYS[1], raw)
end
local nextDue = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
if nextDue[2] then return { #due, tonumber(nextDue[2]) } end
return { #due, -1 }
