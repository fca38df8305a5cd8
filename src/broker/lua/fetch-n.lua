--[[
  fetch: move up to ARGV[1] messages from the queue keys into this consumer's processing list.

  KEYS[1]      the consumer's processing list (celeriac:processing:<name>)
  KEYS[2]      the redelivery counter hash (celeriac:redeliveries)
  KEYS[3..n]   keys in the order they are served: redelivered lists, then every queue's priority 0, 3, 6, 9
  ARGV[1]      the most messages to take

  Returns a flat array of triples: raw, redeliveries, index of the key it came from (1 = KEYS[3]).

  Guarantee: a message is in exactly one of its queue or this processing list at every instant,
  because pop and push happen in one script. kombu's BRPOP-then-HSET leaves a gap in which a
  crash loses the message (kombu#305); this has none.
]]
local out = {}
local want = tonumber(ARGV[1])
local taken = 0
local counted = redis.call('HLEN', KEYS[2]) > 0
for i = 3, #KEYS do
  if taken >= want then break end
  local items = redis.call('RPOP', KEYS[i], want - taken)
  if items then
    redis.call('LPUSH', KEYS[1], unpack(items))
    for _, raw in ipairs(items) do
      local n = 0
      if counted then
        local tag = string.match(raw, '"delivery_tag"%s*:%s*"([^"]+)"')
        if tag then n = tonumber(redis.call('HGET', KEYS[2], tag) or '0') end
      end
      out[#out + 1] = raw
      out[#out + 1] = n
      out[#out + 1] = i - 2
    end
    taken = taken + #items
  end
end
return out
