--[[
  recover: give the messages of every consumer whose lease has lapsed back to their queues.

  KEYS[1]   the set of consumer names (celeriac:consumers)
  KEYS[2]   the redelivery counter hash (celeriac:redeliveries)
  ARGV[1]   the key prefix (kombu global_keyprefix)
  ARGV[2]   the priority separator (\x06\x16)

  Returns the number of messages given back.

  Guarantee: a worker that renews its lease never loses a message to this script; one that
  stopped renewing (SIGKILL, a frozen event loop past leaseMs) has every message it held, started
  or not, pushed to the *front* of its queue (RPUSH: consumers pop from the right), so it runs
  next. Each give-back bumps the message's redelivery count, which the worker uses to dead-letter
  a message that keeps killing workers instead of looping on it forever.
]]
local prefix = ARGV[1]
local sep = ARGV[2]
local moved = 0
for _, name in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  if redis.call('EXISTS', prefix .. 'celeriac:lease:' .. name) == 0 then
    local processing = prefix .. 'celeriac:processing:' .. name
    local items = redis.call('LRANGE', processing, 0, -1)
    for i = #items, 1, -1 do
      local raw = items[i]
      local ok, msg = pcall(cjson.decode, raw)
      local queue = 'celery'
      local priority = 0
      local tag = nil
      if ok and type(msg) == 'table' and type(msg.properties) == 'table' then
        local info = msg.properties.delivery_info
        if type(info) == 'table' and type(info.routing_key) == 'string' then queue = info.routing_key end
        if type(msg.properties.priority) == 'number' then priority = msg.properties.priority end
        tag = msg.properties.delivery_tag
      end
      local bucket = 0
      if priority >= 9 then bucket = 9 elseif priority >= 6 then bucket = 6 elseif priority >= 3 then bucket = 3 end
      local key = prefix .. queue
      if bucket > 0 then key = key .. sep .. bucket end
      redis.call('RPUSH', key, raw)
      if type(tag) == 'string' then redis.call('HINCRBY', KEYS[2], tag, 1) end
      moved = moved + 1
    end
    redis.call('DEL', processing)
    redis.call('SREM', KEYS[1], name)
  end
end
return moved
