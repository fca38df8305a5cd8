--[[
  release: let go of a held message named only by its envelope (the consumer has no handle for
  it: held before this process knew it, or by a consumer another connection fetched for).

  KEYS[1]   the consumer's processing list (celeriac:processing:<name>): blocking fetches land
            there, and so did every fetch before held hashes (a worker upgraded mid-flight)
  KEYS[2]   the consumer's held hash (celeriac:held:<name>)
  ARGV[1]   the raw envelope

  Returns 1 if the message was held and is let go, 0 if it was not held.

  Only the rare paths come here; an ack with a handle is a plain HDEL.
]]
local raw = ARGV[1]
if redis.call('LREM', KEYS[1], -1, raw) > 0 then return 1 end
local tag = string.match(raw, '^.*"delivery_tag"%s*:%s*"([^"]+)"')
if tag and redis.call('HGET', KEYS[2], tag) == raw then
  redis.call('HDEL', KEYS[2], tag)
  return 1
end
-- A duplicate held under a made-up handle: find it by value (at most the consumer's prefetch).
local all = redis.call('HGETALL', KEYS[2])
for i = 1, #all, 2 do
  if all[i + 1] == raw then
    redis.call('HDEL', KEYS[2], all[i])
    return 1
  end
end
return 0
