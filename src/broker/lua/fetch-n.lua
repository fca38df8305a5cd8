--[[
  fetch: move up to ARGV[1] messages from the queue keys into this consumer's held hash.

  KEYS[1]      the consumer's held hash (celeriac:held:<name>): handle -> raw envelope
  KEYS[2]      the redelivery counter hash (celeriac:redeliveries)
  KEYS[3..n]   keys in the order they are served: redelivered lists, then every queue's priority 0, 3, 6, 9
  ARGV[1]      the most messages to take

  Returns a flat array, empty when nothing was taken: first 1 if redeliveries are counted (the
  counter hash is not empty) else 0; then, for each key that gave messages, its index (1 =
  KEYS[3]) and how many it gave, followed by each message's raw envelope and handle (the hash
  field it is held under), and its redeliveries only when counted. A quadruple per message with
  both numbers in it cost the worker two decoded integers a message (issue 21), for figures that
  are nearly always 0 and the same key for a whole run.

  The handle is the envelope's properties.delivery_tag, as kombu keys its `unacked` hash, so an ack
  sends the tag (HDEL) instead of the whole message (LREM). A message with no tag, or whose tag is
  already held (the same envelope sent twice), gets a handle made unique with the server's clock.
  The tag is the envelope's last "delivery_tag" key (the greedy `.*`): properties come last in
  kombu's envelope and ours, after headers, and a task's own headers may hold that key too. The
  pattern is anchored (`^`): unanchored, a miss (no string tag: another producer's envelope, a
  numeric tag) retried it from every start position, quadratic in the message's size, and held
  Redis in this script for ~41 s on an 80 KB message (test/broker/redis-tag-scan.test.ts). The
  same pattern, anchored for the same reason, is in release-2.lua and replace-held-2.lua.

  Guarantee: a message is in exactly one of its queue or this hash at every instant, because pop
  and store happen in one script. kombu's BRPOP-then-HSET leaves a gap in which a crash loses the
  message (kombu#305); this has none.
]]
local out = { 0 }
local want = tonumber(ARGV[1])
local taken = 0
local counted = redis.call('HLEN', KEYS[2]) > 0
if counted then out[1] = 1 end
local now = nil
local seq = 0

local function hold(raw, tag)
  if tag and redis.call('HSETNX', KEYS[1], tag, raw) == 1 then return tag end
  if not now then
    local t = redis.call('TIME')
    now = t[1] .. '.' .. t[2]
  end
  local handle
  repeat
    seq = seq + 1
    handle = (tag or '') .. '#' .. now .. '.' .. seq
  until redis.call('HSETNX', KEYS[1], handle, raw) == 1
  return handle
end

for i = 3, #KEYS do
  if taken >= want then break end
  local items = redis.call('RPOP', KEYS[i], want - taken)
  if items then
    out[#out + 1] = i - 2
    out[#out + 1] = #items
    for _, raw in ipairs(items) do
      local tag = string.match(raw, '^.*"delivery_tag"%s*:%s*"([^"]+)"')
      out[#out + 1] = raw
      out[#out + 1] = hold(raw, tag)
      if counted then
        local n = 0
        if tag then n = tonumber(redis.call('HGET', KEYS[2], tag) or '0') end
        out[#out + 1] = n
      end
    end
    taken = taken + #items
  end
end
if taken == 0 then return {} end
return out
