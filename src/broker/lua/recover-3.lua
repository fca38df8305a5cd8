--[[
  recover: give the messages of every consumer whose lease has lapsed back to their queues.

  KEYS[1]   the set of consumer names (celeriac:holders)
  KEYS[2]   the redelivery counter hash (celeriac:redeliveries)
  KEYS[3]   the set workers before held hashes registered in (celeriac:consumers), read for one
            release so that an upgrade mid-flight loses nothing those workers held
  ARGV[1]   the key prefix (kombu global_keyprefix)
  ARGV[2]   the calling consumer's name, or '' (a consumer leaving, which has no lease to keep)
  ARGV[3]   the calling consumer's lease in ms (with ARGV[2])
  ARGV[4]   the time now in ms, stored in the lease as renewLease does (with ARGV[2])

  Returns the number of messages given back.

  Guarantee: the caller renews its own lease before anything else and is never recovered: a
  Redis restart longer than the lease expires every lease at once, and a live worker whose
  recovery check ran before its next renewal used to hand back its own running tasks (issue 15
  item 7). A worker that renews its lease never loses a message to this script; one that
  stopped renewing (SIGKILL, a frozen event loop past leaseMs) has every message it held (its
  held hash and its processing list), started or not, pushed to its queue's redelivered list
  (celeriac:redelivered:<queue>), which consumers read before the queue itself, so it runs next. Each give-back bumps the message's redelivery
  count, which the worker uses to dead-letter a message that keeps killing workers instead of
  looping on it forever.
]]
local prefix = ARGV[1]
local self = ARGV[2]
if self ~= '' then
  redis.call('SET', prefix .. 'celeriac:lease:' .. self, ARGV[4], 'PX', ARGV[3])
  redis.call('SADD', KEYS[1], self)
end
local moved = 0
local names = redis.call('SUNION', KEYS[1], KEYS[3])
for _, name in ipairs(names) do
  if name ~= self and redis.call('EXISTS', prefix .. 'celeriac:lease:' .. name) == 0 then
    -- Blocking fetches hold in the processing list, the others in the held hash. Before held
    -- hashes every fetch used the list, so a worker upgraded mid-flight still finds them there.
    local processing = prefix .. 'celeriac:processing:' .. name
    local held = prefix .. 'celeriac:held:' .. name
    local listed = redis.call('LRANGE', processing, 0, -1)
    local items = {}
    for i = #listed, 1, -1 do items[#items + 1] = listed[i] end -- oldest (the tail) first
    for _, raw in ipairs(redis.call('HVALS', held)) do items[#items + 1] = raw end
    for _, raw in ipairs(items) do
      local ok, msg = pcall(cjson.decode, raw)
      local queue = 'celery'
      local tag = nil
      if ok and type(msg) == 'table' and type(msg.properties) == 'table' then
        local info = msg.properties.delivery_info
        if type(info) == 'table' and type(info.routing_key) == 'string' then queue = info.routing_key end
        tag = msg.properties.delivery_tag
      elseif not ok then
        -- cjson refuses what it cannot decode (nesting past its 1,000 levels, which JSON.parse
        -- and the worker read): read the queue and tag from the text, the last of each as
        -- fetch-n.lua reads the tag (properties come last), anchored so a miss stays linear.
        -- Without this such a message went to 'celery' with no redelivery counted, so one that
        -- kept killing workers was never dead-lettered.
        queue = string.match(raw, '^.*"routing_key"%s*:%s*"([^"]+)"') or queue
        tag = string.match(raw, '^.*"delivery_tag"%s*:%s*"([^"]+)"')
      end
      redis.call('RPUSH', prefix .. 'celeriac:redelivered:' .. queue, raw)
      if type(tag) == 'string' then redis.call('HINCRBY', KEYS[2], tag, 1) end
      moved = moved + 1
    end
    redis.call('DEL', processing, held)
    redis.call('SREM', KEYS[1], name)
    redis.call('SREM', KEYS[3], name)
  end
end
return moved
